package crypt_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/internal/teststores"
	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/local"
)

// TestShredIsFinal is the finding 4 through the public API, on
// each real store: after `keys shred`, a search, an Encrypt (of a class
// the tenant had, and of one it never used) and a Decrypt all fail with
// ErrScopeShredded and create nothing. Searches on made-up tenants create
// nothing and call no KMS either.
func TestShredIsFinal(t *testing.T) {
	for _, kind := range teststores.Kinds() {
		t.Run(kind.Name, func(t *testing.T) {
			ctx := context.Background()
			store := kind.New(t)
			opener := kms.NewOpener()
			opener.Register(local.Scheme, local.OpenFunc(nil))
			keks := map[string]string{}
			for _, class := range []string{"pii", "support", "default"} {
				uri, err := local.CreateInsecureKeyFile(filepath.Join(t.TempDir(), class+".json"))
				if err != nil {
					t.Fatal(err)
				}
				keks[class] = uri
			}
			kr, err := keyring.New(keyring.Config{Store: store, Opener: opener, KEKs: keks})
			if err != nil {
				t.Fatal(err)
			}
			defer kr.Close()
			enc := crypt.New(kr, nil)

			stored := sampleContact()
			if err := enc.Encrypt(ctx, stored); err != nil {
				t.Fatal(err)
			}
			if _, err := keyring.NewManager(kr).Shred(ctx, "acme"); err != nil {
				t.Fatal(err)
			}
			tombs, _ := store.List(ctx, "acme")
			calls := kr.Stats().KMSCalls

			if _, err := enc.BlindIndexValues(ctx, &Contact{TenantID: "acme", Email: "ada@example.com"}, "EmailIdx"); !errors.Is(err, crypt.ErrScopeShredded) {
				t.Errorf("BlindIndexValues(shredded tenant) err = %v, want ErrScopeShredded", err)
			}
			if err := enc.Encrypt(ctx, sampleContact()); !errors.Is(err, crypt.ErrScopeShredded) {
				t.Errorf("Encrypt(shredded tenant) err = %v, want ErrScopeShredded", err)
			}
			other := &shapeOnlyDefault{ID: "x", Tenant: "acme", Memo: "a memo"} // the default class: never used by acme
			if err := enc.Encrypt(ctx, other); !errors.Is(err, crypt.ErrScopeShredded) {
				t.Errorf("Encrypt(shredded tenant, new class) err = %v, want ErrScopeShredded", err)
			}
			row := clone(stored)
			if err := enc.Decrypt(ctx, row); !errors.Is(err, crypt.ErrScopeShredded) || !errors.Is(err, crypt.ErrKeyDestroyed) {
				t.Errorf("Decrypt(shredded tenant) err = %v, want ErrScopeShredded and ErrKeyDestroyed", err)
			}
			if recs, _ := store.List(ctx, "acme"); !sameRecords(recs, tombs) {
				t.Errorf("after the shred, calls changed the tenant's records: %d now, want the %d tombstones unchanged", len(recs), len(tombs))
			}
			// Loading a tombstone authenticates it (one unwrap per keyset
			// the calls touched), and nothing is ever wrapped.
			if n := kr.Stats().KMSCalls - calls; n > int64(len(tombs)) {
				t.Errorf("calls on the shredded tenant made %d KMS calls, want at most %d (authenticating the tombstones)", n, len(tombs))
			}

			// Thirty searches on made-up tenants.
			all, _ := store.List(ctx, "")
			calls = kr.Stats().KMSCalls
			for i := range 30 {
				q := &Contact{TenantID: fmt.Sprintf("made-up-%d", i), Email: "someone@example.com"}
				vals, err := enc.BlindIndexValues(ctx, q, "EmailIdx")
				if err != nil || len(vals) != 0 {
					t.Fatalf("BlindIndexValues(made-up tenant) = %v, %v; want no values and no error", vals, err)
				}
			}
			if now, _ := store.List(ctx, ""); len(now) != len(all) {
				t.Errorf("30 searches on made-up tenants created %d keysets, want 0", len(now)-len(all))
			}
			if n := kr.Stats().KMSCalls - calls; n != 0 {
				t.Errorf("30 searches on made-up tenants made %d KMS calls, want 0", n)
			}
		})
	}
}

// shapeOnlyDefault has one field in the default class.
type shapeOnlyDefault struct {
	ID     string `crypt:"id"`
	Tenant string `crypt:"scope"`
	Memo   string `crypt:"encrypt"`
}

// sameRecords reports whether two listings hold the same records, byte for
// byte.
func sameRecords(a, b []*keyring.Record) bool {
	return slices.EqualFunc(a, b, func(x, y *keyring.Record) bool {
		return x.ID == y.ID && x.Version == y.Version && x.KEKURI == y.KEKURI &&
			bytes.Equal(x.Metadata, y.Metadata) && bytes.Equal(x.EncryptedKeyset, y.EncryptedKeyset)
	})
}
