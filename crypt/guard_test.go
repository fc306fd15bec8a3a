package crypt_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

// TestPlaintextThatLooksEncrypted: no plaintext a user may hold is refused
// on its leading bytes. Only a value that is completely one of this
// scope's stored values, naming a key of the field's keyset, is refused as
// already encrypted (TestEncryptTwice); everything else round-trips.
func TestPlaintextThatLooksEncrypted(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	other := newEnv(t) // another deployment: its values name keys unknown here
	foreign := other.mustEncrypt(t, secretContact("c-9"))

	random := make([]byte, 256)
	if _, err := rand.Read(random); err != nil {
		t.Fatal(err)
	}
	random[0] = 0xFC
	wellFormed := make([]byte, 40) // a Tink-shaped ciphertext with a random key ID
	wellFormed[0] = 0x01
	binary.BigEndian.PutUint32(wellFormed[1:5], 0x5eed1e55)

	texts := map[string]string{
		"fc7 prefix":                       "fc7:hello",
		"fc1 prefix, short":                "fc1:AAAA",
		"fc1 prefix, not base64":           "fc1:not base64 at all!",
		"fc1 prefix, well formed, unknown": "fc1:" + base64.RawURLEncoding.EncodeToString(wellFormed),
		"another deployment's ciphertext":  foreign.Email,
		"fc prefix only":                   "fc:",
	}
	binaries := map[string][]byte{
		"0xFC then random":                random,
		"0xFC 0x01 and a short tail":      {0xFC, 0x01, 0x01, 2, 3},
		"0xFC 0x01, well formed, unknown": append([]byte{0xFC, 0x01}, wellFormed...),
		"0xFC 0x07":                       {0xFC, 0x07, 'x'},
		"another deployment's notes":      foreign.Notes,
	}
	for name, s := range texts {
		t.Run("text/"+name, func(t *testing.T) {
			c := secretContact("c-1")
			c.Email = s
			if err := e.enc.Encrypt(ctx, c); err != nil {
				t.Fatalf("Encrypt(Email %q) err = %v, want it encrypted as plaintext", s, err)
			}
			if c.Email == s {
				t.Fatalf("Encrypt left Email as it was")
			}
			if err := e.enc.Decrypt(ctx, c); err != nil || c.Email != s {
				t.Errorf("round trip of %q = %q, %v", s, c.Email, err)
			}
		})
	}
	for name, b := range binaries {
		t.Run("binary/"+name, func(t *testing.T) {
			c := secretContact("c-1")
			c.Notes = bytes.Clone(b)
			if err := e.enc.Encrypt(ctx, c); err != nil {
				t.Fatalf("Encrypt(Notes %x...) err = %v, want it encrypted as plaintext", b[:2], err)
			}
			if err := e.enc.Decrypt(ctx, c); err != nil || !bytes.Equal(c.Notes, b) {
				t.Errorf("round trip of %x... = %x..., %v", b[:2], c.Notes[:min(2, len(c.Notes))], err)
			}
		})
	}

	// A value stored here is still refused, in every field it could be
	// pasted into, and as an index source.
	stored := e.mustEncrypt(t, secretContact("c-2"))
	c := secretContact("c-3")
	c.Name = stored.Email
	if err := e.enc.Encrypt(ctx, c); err == nil {
		t.Errorf("Encrypt(Name = a stored value of this scope) err = nil, want ErrAlreadyEncrypted")
	} else {
		assertFieldErr(t, "Encrypt(stored value)", err, "Name", crypt.ErrAlreadyEncrypted)
	}
}
