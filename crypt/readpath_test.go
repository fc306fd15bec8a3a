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

	// After a shred, the tenant's rows fail the same way, and stay failed.
	if _, err := e.keyring.Shred(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	shredded := *c
	if err := e.enc.Decrypt(ctx, &shredded); !errors.Is(err, crypt.ErrKeyNotFound) {
		t.Errorf("Decrypt(shredded tenant) err = %v, want ErrKeyNotFound", err)
	}
	if recs, _ := e.store.List(ctx, "acme"); len(recs) != 0 {
		t.Errorf("Decrypt recreated %d keysets of the shredded tenant", len(recs))
	}
}
