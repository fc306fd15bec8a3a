package reencrypt_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/keyring/filestore"
	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/local"
)

// Contact is the application's record, as testdata/contacts.yaml describes
// it to the job.
type Contact struct {
	_        struct{} `crypt:"record=contact"`
	ID       int64    `crypt:"id"`
	TenantID string   `crypt:"scope"`
	Name     string   `crypt:"encrypt,class=pii"`
	Email    string   `crypt:"encrypt,class=pii"`
	EmailIdx string   `crypt:"blind=Email,transform=lower+trim,bits=32"`
	Phone    *string  `crypt:"encrypt,class=pii"`
	PhoneIdx string   `crypt:"blind=Phone,transform=digits+last4,bits=16"`
	Notes    []byte   `crypt:"encrypt,class=support"`
}

// keys is a keyset store in a directory with one local development KEK per
// class: several processes (and the child of the kill test) can share it.
type keys struct {
	Dir  string            `json:"dir"`
	KEKs map[string]string `json:"keks"`
}

var classes = []string{"pii", "support"}

func newKeys(t testing.TB) *keys {
	t.Helper()
	k := &keys{Dir: t.TempDir(), KEKs: map[string]string{}}
	for _, class := range classes {
		uri, err := local.CreateInsecureKeyFile(filepath.Join(k.Dir, class+"-kek.json"))
		if err != nil {
			t.Fatal(err)
		}
		k.KEKs[class] = uri
	}
	return k
}

// keyring opens a keyring (another process's, in effect) holding the KEKs
// of the given classes (every class when none is given).
func (k *keys) keyring(t testing.TB, only ...string) *keyring.Keyring {
	t.Helper()
	kr, err := k.open(only...)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func (k *keys) open(only ...string) (*keyring.Keyring, error) {
	store, err := filestore.Open(filepath.Join(k.Dir, "keysets"))
	if err != nil {
		return nil, err
	}
	opener := kms.NewOpener()
	opener.Register(local.Scheme, local.OpenFunc(nil))
	keks := k.KEKs
	if len(only) > 0 {
		keks = map[string]string{}
		for _, c := range only {
			keks[c] = k.KEKs[c]
		}
	}
	return keyring.New(keyring.Config{Store: store, Opener: opener, KEKs: keks})
}

// encryptor returns an Encryptor on a new keyring of k.
func (k *keys) encryptor(t testing.TB, only ...string) *crypt.Encryptor {
	return crypt.New(k.keyring(t, only...), nil)
}

func (k *keys) marshal(t testing.TB) string {
	b, err := json.Marshal(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func unmarshalKeys(t testing.TB, s string) *keys {
	var k keys
	if err := json.Unmarshal([]byte(s), &k); err != nil {
		t.Fatal(err)
	}
	return &k
}

// primaries maps (scope, class) to the primary key ID of a data keyset.
type primaries map[[2]string]uint32

// dataPrimaries reads the primary data key of every (scope, class).
func dataPrimaries(t testing.TB, kr *keyring.Keyring, scopes []string) primaries {
	t.Helper()
	p := primaries{}
	for _, s := range scopes {
		for _, c := range classes {
			dk, err := kr.DataKeys(context.Background(), s, c)
			if err != nil {
				t.Fatalf("DataKeys(%s, %s) err = %v", s, c, err)
			}
			p[[2]string{s, c}] = dk.PrimaryID()
		}
	}
	return p
}

// rotate adds a key to the given keysets of every scope and makes it
// primary, as the two phases of a rotation do; it returns the new keys.
func rotate(t testing.TB, kr *keyring.Keyring, purpose keyring.Purpose, scopes []string, cls ...string) primaries {
	t.Helper()
	ctx := context.Background()
	m := keyring.NewManager(kr)
	p := primaries{}
	for _, s := range scopes {
		for _, c := range cls {
			id := keyring.KeysetID{Scope: s, Class: c, Purpose: purpose}
			keyID, err := m.AddKey(ctx, id)
			if err != nil {
				t.Fatalf("AddKey(%v) err = %v", id, err)
			}
			if err := m.PromoteKey(ctx, id, keyID); err != nil {
				t.Fatalf("PromoteKey(%v, %d) err = %v", id, keyID, err)
			}
			p[[2]string{s, c}] = keyID
		}
	}
	return p
}
