package blind_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/prf"
	prfsubtle "github.com/tink-crypto/tink-go/v2/prf/subtle"

	"github.com/fieldcrypt/fieldcrypt/crypt/blind"
)

// fixedPRF returns Tink's HMAC-SHA-256 PRF under the given key bytes.
func fixedPRF(t testing.TB, key []byte) prf.PRF {
	t.Helper()
	p, err := prfsubtle.NewHMACPRF("SHA256", key)
	if err != nil {
		t.Fatalf("NewHMACPRF err = %v", err)
	}
	return p
}

// keysetPRF returns the primary PRF of a fresh keyset made from the key
// template the keyring uses for "index" keysets.
func keysetPRF(t testing.TB) prf.PRF {
	t.Helper()
	h, err := keyset.NewHandle(prf.HMACSHA256PRFKeyTemplate())
	if err != nil {
		t.Fatalf("keyset.NewHandle err = %v", err)
	}
	set, err := prf.NewPRFSet(h)
	if err != nil {
		t.Fatalf("prf.NewPRFSet err = %v", err)
	}
	return set.PRFs[set.PrimaryID]
}

func mustSubkey(t testing.TB, p prf.PRF, recordType, indexName string) []byte {
	t.Helper()
	k, err := blind.DeriveSubkey(p, recordType, indexName)
	if err != nil {
		t.Fatalf("DeriveSubkey(%q, %q) err = %v", recordType, indexName, err)
	}
	return k
}

func TestDeriveSubkeyMatchesConstruction(t *testing.T) {
	key := bytes.Repeat([]byte{0x42}, 32)
	got := mustSubkey(t, fixedPRF(t, key), "Contact", "email")
	// The documented input, written out byte by byte.
	input := []byte("\x00\x00\x00\x19fieldcrypt blind index v1" +
		"\x00\x00\x00\x07Contact" +
		"\x00\x00\x00\x05email")
	mac := hmac.New(sha256.New, key)
	mac.Write(input)
	if want := mac.Sum(nil); !bytes.Equal(got, want) {
		t.Errorf("DeriveSubkey = %x, want HMAC-SHA-256(key, input) = %x", got, want)
	}
	if len(got) != blind.SubkeySize {
		t.Errorf("len(DeriveSubkey) = %d, want %d", len(got), blind.SubkeySize)
	}
}

func TestDeriveSubkeySeparation(t *testing.T) {
	p1 := keysetPRF(t)
	p2 := keysetPRF(t)
	base := mustSubkey(t, p1, "Contact", "email")
	if again := mustSubkey(t, p1, "Contact", "email"); !bytes.Equal(base, again) {
		t.Fatalf("DeriveSubkey is not deterministic: %x then %x", base, again)
	}
	others := map[string][]byte{
		"other record type":      mustSubkey(t, p1, "Lead", "email"),
		"other index name":       mustSubkey(t, p1, "Contact", "email_domain"),
		"other PRF key":          mustSubkey(t, p2, "Contact", "email"),
		"names shifted":          mustSubkey(t, p1, "Contac", "temail"),
		"names swapped":          mustSubkey(t, p1, "email", "Contact"),
		"empty record type":      mustSubkey(t, p1, "", "Contactemail"),
		"case of the index":      mustSubkey(t, p1, "Contact", "Email"),
		"trailing space in name": mustSubkey(t, p1, "Contact ", "email"),
	}
	seen := map[string]string{hex.EncodeToString(base): "base"}
	for name, k := range others {
		if prev, dup := seen[hex.EncodeToString(k)]; dup {
			t.Errorf("DeriveSubkey for %s equals the one for %s", name, prev)
		}
		seen[hex.EncodeToString(k)] = name
	}
}

func TestDeriveSubkeyErrors(t *testing.T) {
	if _, err := blind.DeriveSubkey(nil, "Contact", "email"); !errors.Is(err, blind.ErrNilPRF) {
		t.Errorf("DeriveSubkey(nil) err = %v, want ErrNilPRF", err)
	}
	// AES-CMAC gives 16 bytes of output: too short for a subkey.
	h, err := keyset.NewHandle(prf.AESCMACPRFKeyTemplate())
	if err != nil {
		t.Fatalf("keyset.NewHandle err = %v", err)
	}
	set, err := prf.NewPRFSet(h)
	if err != nil {
		t.Fatalf("prf.NewPRFSet err = %v", err)
	}
	k, err := blind.DeriveSubkey(set.PRFs[set.PrimaryID], "Contact", "email")
	if err == nil {
		t.Fatalf("DeriveSubkey(AES-CMAC PRF) = %x, nil; want error", k)
	}
	for _, name := range []string{"Contact", "email"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("DeriveSubkey err = %q, want it to name %q", err, name)
		}
	}
}
