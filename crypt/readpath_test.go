package crypt_test

import (
	"context"
	"errors"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// TestDecryptCreatesNoKeyset checks that reading a row whose scope has no
// keysets (a tenant never seen, or shredded) fails with ErrKeyNotFound and
// creates nothing: the scope column of a stored row must not be able to make
// a reader create keysets.
func TestDecryptCreatesNoKeyset(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	c := sampleContact()
	if err := e.enc.Encrypt(ctx, c); err != nil {
		t.Fatal(err)
	}
	before, _ := e.store.List(ctx, "")

	moved := *c
	moved.TenantID = "never-seen"
	err := e.enc.Decrypt(ctx, &moved)
	if !errors.Is(err, crypt.ErrKeyNotFound) || !errors.Is(err, keyring.ErrKeysetNotFound) {
		t.Errorf("Decrypt(row of an unknown scope) err = %v, want ErrKeyNotFound and keyring.ErrKeysetNotFound", err)
	}
	if moved.Email != c.Email {
		t.Errorf("Decrypt(row of an unknown scope) changed the record")
	}
	after, _ := e.store.List(ctx, "")
	if len(after) != len(before) {
		t.Errorf("Decrypt created %d keysets, want none", len(after)-len(before))
	}

	// After a shred, the tenant's rows fail as destroyed, and the store
	// holds only the tombstones the shred left.
	if _, err := e.admin.Shred(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	tombs, _ := e.store.List(ctx, "acme")
	shredded := *c
	if err := e.enc.Decrypt(ctx, &shredded); !errors.Is(err, crypt.ErrKeyDestroyed) || !errors.Is(err, crypt.ErrScopeShredded) {
		t.Errorf("Decrypt(shredded tenant) err = %v, want ErrKeyDestroyed and ErrScopeShredded", err)
	}
	if recs, _ := e.store.List(ctx, "acme"); !sameRecords(recs, tombs) {
		t.Errorf("Decrypt of a shredded tenant wrote to the store: %d records, want the %d tombstones unchanged", len(recs), len(tombs))
	}
}
