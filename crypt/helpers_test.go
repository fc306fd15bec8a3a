package crypt_test

import (
	"path/filepath"
	"testing"

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
