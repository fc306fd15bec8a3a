package crypt_test

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

// decryptTampered decrypts c (whose fields were tampered with) and checks
// that it fails on field with one of wants, leaves c unchanged and leaks no
// plaintext.
func decryptTampered(t *testing.T, e *env, c *Contact, field string, wants ...error) {
	t.Helper()
	before := clone(c)
	err := e.enc.Decrypt(context.Background(), c)
	assertFieldErr(t, "Decrypt(tampered)", err, field, wants...)
	if !assert.Equal(t, before, c, "record after a failed Decrypt") {
		t.FailNow()
	}
	assertNoSecrets(t, err, plaintextSecrets()...)
}

func TestDecryptFlippedBitText(t *testing.T) {
	e := newEnv(t)
	good := e.mustEncrypt(t, secretContact("c-1"))
	for i := range len(good.Email) {
		for bit := range 8 {
			t.Run(fmt.Sprintf("byte %d bit %d", i, bit), func(t *testing.T) {
				c := clone(good)
				b := []byte(c.Email)
				b[i] ^= 1 << bit
				c.Email = string(b)
				// In "fc1:" the value may stop looking encrypted at all, or
				// name another version; in the base64 body a flip breaks the
				// base64, the Tink prefix, the key ID or the authentication.
				wants := []error{crypt.ErrDecrypt, crypt.ErrMalformed, crypt.ErrKeyNotFound}
				if i < len("fc1:") {
					wants = []error{crypt.ErrNotEncrypted, crypt.ErrMalformed}
				}
				decryptTampered(t, e, c, "Email", wants...)
			})
		}
	}
}

func TestDecryptFlippedBitBinary(t *testing.T) {
	e := newEnv(t)
	good := e.mustEncrypt(t, secretContact("c-1"))
	for i := range len(good.Notes) {
		// byte 0: magic; 1: version; 2: Tink prefix; 3-6: key ID; then the
		// AEAD output (nonce, ciphertext, tag).
		var want error
		switch {
		case i == 0:
			want = crypt.ErrNotEncrypted
		case i <= 2:
			want = crypt.ErrMalformed
		case i <= 6:
			want = crypt.ErrKeyNotFound
		default:
			want = crypt.ErrDecrypt
		}
		for bit := range 8 {
			t.Run(fmt.Sprintf("byte %d bit %d", i, bit), func(t *testing.T) {
				c := clone(good)
				c.Notes[i] ^= 1 << bit
				decryptTampered(t, e, c, "Notes", want)
			})
		}
	}
}

func TestDecryptTruncatedText(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	good := e.mustEncrypt(t, secretContact("c-1"))
	for n := range len(*good.Phone) {
		t.Run(fmt.Sprintf("%d of %d bytes", n, len(*good.Phone)), func(t *testing.T) {
			c := clone(good)
			c.Phone = ptr((*c.Phone)[:n])
			switch {
			case n == 0:
				// An empty string is stored as it is: it decrypts to itself.
				if err := e.enc.Decrypt(ctx, c); err != nil {
					t.Fatalf("Decrypt(empty phone) err = %v, want nil", err)
				}
				assert.Equal(t, "", *c.Phone)
			case n < len("fc1:"):
				decryptTampered(t, e, c, "Phone", crypt.ErrNotEncrypted)
			default:
				decryptTampered(t, e, c, "Phone", crypt.ErrMalformed, crypt.ErrDecrypt)
			}
		})
	}
}

func TestDecryptTruncatedBinary(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	good := e.mustEncrypt(t, secretContact("c-1"))
	for n := range len(good.Notes) {
		t.Run(fmt.Sprintf("%d of %d bytes", n, len(good.Notes)), func(t *testing.T) {
			c := clone(good)
			c.Notes = c.Notes[:n]
			switch {
			case n == 0:
				if err := e.enc.Decrypt(ctx, c); err != nil {
					t.Fatalf("Decrypt(empty notes) err = %v, want nil", err)
				}
				assert.Empty(t, c.Notes)
			case n == 1: // a lone 0xFC is not a fieldcrypt value
				decryptTampered(t, e, c, "Notes", crypt.ErrNotEncrypted)
			case n < 2+5: // magic, version, then less than a Tink prefix
				decryptTampered(t, e, c, "Notes", crypt.ErrMalformed)
			default:
				decryptTampered(t, e, c, "Notes", crypt.ErrDecrypt)
			}
		})
	}
}

func TestDecryptGarbageText(t *testing.T) {
	e := newEnv(t)
	good := e.mustEncrypt(t, secretContact("c-1"))
	body := strings.TrimPrefix(good.Email, "fc1:")
	ct, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		t.Fatal(err)
	}
	keyID := binary.BigEndian.Uint32(ct[1:5])
	tink := func(prefix byte, keyID uint32, rest []byte) string {
		b := binary.BigEndian.AppendUint32([]byte{prefix}, keyID)
		return "fc1:" + base64.RawURLEncoding.EncodeToString(append(b, rest...))
	}
	tests := []struct {
		name  string
		value string
		want  error
	}{
		{"plaintext", "hello", crypt.ErrNotEncrypted},
		{"upper-case prefix", "FC1:" + body, crypt.ErrNotEncrypted},
		{"leading space", " " + good.Email, crypt.ErrNotEncrypted},
		{"prefix without colon", "fc1" + body, crypt.ErrNotEncrypted},
		{"wrong version fc2", "fc2:" + body, crypt.ErrMalformed},
		{"wrong version fc0", "fc0:" + body, crypt.ErrMalformed},
		{"wrong version fc10", "fc10:" + body, crypt.ErrMalformed},
		{"prefix only", "fc1:", crypt.ErrMalformed},
		{"not base64", "fc1:!!!!", crypt.ErrMalformed},
		{"standard alphabet", "fc1:" + base64.RawStdEncoding.EncodeToString(slices.Repeat([]byte{0xfb, 0xff}, 20)), crypt.ErrMalformed},
		{"padded base64", "fc1:" + base64.URLEncoding.EncodeToString(ct[:len(ct)-1]), crypt.ErrMalformed},
		{"line break in base64", "fc1:" + body[:10] + "\n" + body[10:], crypt.ErrMalformed},
		{"carriage return in base64", "fc1:" + body[:10] + "\r" + body[10:], crypt.ErrMalformed},
		{"trailing newline", good.Email + "\n", crypt.ErrMalformed},
		{"four bytes", tink(0x01, keyID, nil)[:len("fc1:")+5], crypt.ErrMalformed},
		{"not a Tink prefix", tink(0x02, keyID, make([]byte, 40)), crypt.ErrMalformed},
		{"legacy Tink prefix", tink(0x00, keyID, make([]byte, 40)), crypt.ErrMalformed},
		{"unknown key ID", tink(0x01, keyID^0xffffffff, make([]byte, 40)), crypt.ErrKeyNotFound},
		{"known key ID, zero body", tink(0x01, keyID, make([]byte, 40)), crypt.ErrDecrypt},
		{"known key ID, empty body", tink(0x01, keyID, nil), crypt.ErrDecrypt},
		{"known key ID, body shorter than a nonce", tink(0x01, keyID, make([]byte, 11)), crypt.ErrDecrypt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := clone(good)
			c.Email = tt.value
			decryptTampered(t, e, c, "Email", tt.want)
			if _, err := crypt.InspectText(tt.value); !errors.Is(err, tt.want) && tt.want != crypt.ErrKeyNotFound && tt.want != crypt.ErrDecrypt {
				t.Errorf("InspectText(%q) err = %v, want %v", tt.value, err, tt.want)
			}
		})
	}
}

func TestDecryptGarbageBinary(t *testing.T) {
	e := newEnv(t)
	good := e.mustEncrypt(t, secretContact("c-1"))
	tests := []struct {
		name  string
		value []byte
		want  error
	}{
		{"plaintext", []byte("plain notes"), crypt.ErrNotEncrypted},
		{"magic only", []byte{0xfc}, crypt.ErrNotEncrypted},
		{"magic and version only", []byte{0xfc, 0x01}, crypt.ErrMalformed},
		{"wrong version 2", append([]byte{0xfc, 0x02}, good.Notes[2:]...), crypt.ErrMalformed},
		{"wrong version 0", append([]byte{0xfc, 0x00}, good.Notes[2:]...), crypt.ErrMalformed},
		{"text form in a binary field", []byte("fc1:" + base64.RawURLEncoding.EncodeToString(good.Notes[2:])), crypt.ErrNotEncrypted},
		{"not a Tink prefix", append([]byte{0xfc, 0x01, 0x00}, good.Notes[3:]...), crypt.ErrMalformed},
		{"short Tink prefix", good.Notes[:6], crypt.ErrMalformed},
		{"prefix only", good.Notes[:7], crypt.ErrDecrypt},
		{"trailing byte", append(slices.Clone(good.Notes), 0), crypt.ErrDecrypt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := clone(good)
			c.Notes = tt.value
			decryptTampered(t, e, c, "Notes", tt.want)
			if _, err := crypt.InspectBinary(tt.value); tt.want != crypt.ErrDecrypt && !errors.Is(err, tt.want) {
				t.Errorf("InspectBinary(%x) err = %v, want %v", tt.value, err, tt.want)
			}
		})
	}
}

func TestInspect(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	c := e.mustEncrypt(t, secretContact("c-1"))
	pii, err := e.keyring.DataKeys(ctx, "acme", "pii")
	if err != nil {
		t.Fatal(err)
	}
	support, err := e.keyring.DataKeys(ctx, "acme", "support")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{c.Name, c.Email, *c.Phone} {
		info, err := crypt.InspectText(s)
		if err != nil {
			t.Fatalf("InspectText(%q) err = %v", s, err)
		}
		assert.Equal(t, crypt.ValueInfo{Version: 1, Binary: false, KeyID: pii.PrimaryID()}, info)
	}
	info, err := crypt.InspectBinary(c.Notes)
	if err != nil {
		t.Fatalf("InspectBinary(notes) err = %v", err)
	}
	assert.Equal(t, crypt.ValueInfo{Version: 1, Binary: true, KeyID: support.PrimaryID()}, info)
}
