package crypt_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	"github.com/tink-crypto/tink-go/v2/keyset"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/local"
)

// Contact is the record of the example and of the benchmarks.
type Contact struct {
	ID       string  `crypt:"id"`
	TenantID string  `crypt:"scope"`
	Name     string  `crypt:"encrypt,class=pii"`
	Email    string  `crypt:"encrypt,class=pii"`
	EmailIdx string  `crypt:"blind=Email,transform=lower+trim,bits=32"`
	Phone    *string `crypt:"encrypt,class=pii"`
	PhoneIdx string  `crypt:"blind=Phone,transform=digits+last4,bits=16"`
	Notes    []byte  `crypt:"encrypt,class=support"`
}

type env struct {
	store   *keyring.MemoryStore
	opener  *kms.Opener
	keks    map[string]string
	keyring *keyring.Keyring
	admin   *keyring.Manager // the key operations, on keyring
	enc     *crypt.Encryptor
}

// newEnv builds an Encryptor on a memory store, with one local development
// KEK per class ("pii", "support", "default").
func newEnv(t testing.TB) *env {
	t.Helper()
	dir := t.TempDir()
	e := &env{store: keyring.NewMemoryStore(), opener: kms.NewOpener(), keks: map[string]string{}}
	e.opener.Register(local.Scheme, local.OpenFunc(nil))
	for _, class := range []string{"pii", "support", "default"} {
		uri, err := local.CreateInsecureKeyFile(filepath.Join(dir, class+".json"))
		if err != nil {
			t.Fatal(err)
		}
		e.keks[class] = uri
	}
	e.keyring = e.newKeyring(t, e.keks)
	e.admin = keyring.NewManager(e.keyring)
	e.enc = crypt.New(e.keyring, nil)
	return e
}

// newKeyring returns another keyring (another process) on the same store,
// holding only the given KEKs.
func (e *env) newKeyring(t testing.TB, keks map[string]string) *keyring.Keyring {
	t.Helper()
	kr, err := keyring.New(keyring.Config{Store: e.store, Opener: e.opener, KEKs: keks})
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func ptr[T any](v T) *T { return &v }

func sampleContact() *Contact {
	return &Contact{
		ID:       "c-1",
		TenantID: "acme",
		Name:     "Ada Lovelace",
		Email:    "Ada@Example.com ",
		Phone:    ptr("+44 20 7946 0018"),
		Notes:    []byte("asked about invoice 42"),
	}
}

// Distinctive plaintexts: a test greps error text for them.
const (
	secretName  = "Zebulon Quartermaine-7731"
	secretEmail = "zebulon.q7731@secret-mail.example"
	secretPhone = "+1 555 0100 7731"
	secretNotes = "quartz-notes-7731: customer disputes invoice"
)

// secretContact returns a Contact whose plaintexts are easy to find in text.
func secretContact(id string) *Contact {
	return &Contact{
		ID:       id,
		TenantID: "acme",
		Name:     secretName,
		Email:    secretEmail,
		Phone:    ptr(secretPhone),
		Notes:    []byte(secretNotes),
	}
}

// clone returns a deep copy of c, so that a test can check that a failed
// call left the record exactly as it was.
func clone(c *Contact) *Contact {
	d := *c
	if c.Phone != nil {
		d.Phone = ptr(*c.Phone)
	}
	if c.Notes != nil {
		d.Notes = append([]byte{}, c.Notes...)
	}
	return &d
}

// mustEncrypt encrypts c with e's Encryptor and fails the test on error.
func (e *env) mustEncrypt(t testing.TB, c *Contact) *Contact {
	t.Helper()
	if err := e.enc.Encrypt(context.Background(), c); err != nil {
		t.Fatalf("Encrypt(%s) err = %v", c.ID, err)
	}
	return c
}

// dataID and indexID name the acme keysets of a class.
func dataID(scope, class string) keyring.KeysetID {
	return keyring.KeysetID{Scope: scope, Class: class, Purpose: keyring.PurposeData}
}

func indexID(scope, class string) keyring.KeysetID {
	return keyring.KeysetID{Scope: scope, Class: class, Purpose: keyring.PurposeIndex}
}

// textKeyID returns the key ID of a stored text value.
func textKeyID(t testing.TB, s string) uint32 {
	t.Helper()
	info, err := crypt.InspectText(s)
	if err != nil {
		t.Fatalf("InspectText(%.12q...) err = %v", s, err)
	}
	return info.KeyID
}

// rawKeys unwraps the stored keyset id with the test's own KEK and returns
// the key bytes of its keys, for tests that check nothing prints them.
func (e *env) rawKeys(t testing.TB, id keyring.KeysetID) [][]byte {
	t.Helper()
	ctx := context.Background()
	rec, err := e.store.Get(ctx, id)
	if err != nil {
		t.Fatalf("store.Get(%v) err = %v", id, err)
	}
	kek, err := e.opener.Open(ctx, rec.KEKURI)
	if err != nil {
		t.Fatalf("Open(%s) err = %v", rec.KEKURI, err)
	}
	h, err := keyset.ReadWithContext(ctx, keyset.NewBinaryReader(bytes.NewReader(rec.EncryptedKeyset)), kek, keyring.WrapAssociatedData(id, rec.Metadata))
	if err != nil {
		t.Fatalf("unwrap %v err = %v", id, err)
	}
	return keyBytes(t, insecurecleartextkeyset.KeysetMaterial(h))
}

// goSyntaxHex matches the numbers that %#v writes in hex: pointer
// addresses, as in (*fmt.wrapError)(0xc00a8b81e0), and unsigned fields
// such as KeyID:0x1e0d2c3b.
var goSyntaxHex = regexp.MustCompile(`0x[0-9a-f]+`)

// assertNoSecrets fails if any text form of err contains one of secrets.
// Binary secrets are also looked for in hex and base64.
//
// In the %#v form, hex numbers are masked first: an address or a key ID
// is not a secret, but a short secret made of hex digits ("1e0") is found
// in one by chance often enough to fail a run in a few hundred. %#v does
// not write a string or a byte slice as one hex number (a []byte is a list
// of single bytes, 0x31, 0x65, 0x30), so the mask hides no secret that the
// other forms would show.
func assertNoSecrets(t testing.TB, err error, secrets ...[]byte) {
	t.Helper()
	if err == nil {
		return
	}
	goSyntax := goSyntaxHex.ReplaceAllString(fmt.Sprintf("%#v", err), "0x…")
	texts := []string{err.Error(), fmt.Sprintf("%v", err), fmt.Sprintf("%+v", err), goSyntax, fmt.Sprintf("%q", err)}
	for _, s := range secrets {
		if len(s) == 0 {
			continue
		}
		forms := []string{string(s), hex.EncodeToString(s), strings.ToUpper(hex.EncodeToString(s)),
			base64.StdEncoding.EncodeToString(s), base64.RawStdEncoding.EncodeToString(s),
			base64.URLEncoding.EncodeToString(s), base64.RawURLEncoding.EncodeToString(s)}
		for _, text := range texts {
			for _, f := range forms {
				if strings.Contains(text, f) {
					t.Errorf("error text %q contains a secret (%d bytes)", text, len(s))
				}
			}
		}
	}
}

// plaintextSecrets are the secrets of secretContact, as byte slices.
func plaintextSecrets() [][]byte {
	return [][]byte{[]byte(secretName), []byte(secretEmail), []byte(secretPhone), []byte(secretNotes)}
}

// keyIDError is an error whose %#v form writes a key ID in hex.
type keyIDError struct{ KeyID uint32 }

func (e keyIDError) Error() string { return fmt.Sprintf("key %d", e.KeyID) }

// errorRecorder is a testing.TB that records Errorf calls instead of
// failing the test it wraps.
type errorRecorder struct {
	testing.TB
	failed bool
}

func (r *errorRecorder) Helper()               {}
func (r *errorRecorder) Errorf(string, ...any) { r.failed = true }

// TestAssertNoSecretsIgnoresGoSyntaxHex is the regression test of a flaky
// failure: a pointer address or key ID that %#v writes in hex held a
// short secret made of hex digits. The helper still finds the secret in
// every form where it does appear.
func TestAssertNoSecretsIgnoresGoSyntaxHex(t *testing.T) {
	secret := []byte("1e0")
	r := &errorRecorder{TB: t}
	err := fmt.Errorf("index: %w", keyIDError{KeyID: 0x1e0})
	if !strings.Contains(fmt.Sprintf("%#v", err), "0x1e0") {
		t.Fatalf("%%#v = %#v: the test needs the key ID in hex", err)
	}
	assertNoSecrets(r, err, secret)
	if r.failed {
		t.Errorf("assertNoSecrets flagged a key ID written in hex by %%#v as the secret %q", secret)
	}
	for _, leak := range []error{
		fmt.Errorf("bad value %s", secret),
		fmt.Errorf("bad value %q", secret),
		fmt.Errorf("bad value %x", secret),
		fmt.Errorf("index: %w", fmt.Errorf("bad value %s", secret)),
	} {
		r := &errorRecorder{TB: t}
		assertNoSecrets(r, leak, secret)
		if !r.failed {
			t.Errorf("assertNoSecrets missed the secret in %q", leak)
		}
	}
}
