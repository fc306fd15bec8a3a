package crypt_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// countingKeys is a KeySource that wraps a keyring and counts lookups, as
// a service tracing its key lookups would.
type countingKeys struct {
	*keyring.Keyring
	writes, reads atomic.Int64
}

func (c *countingKeys) DataKeys(ctx context.Context, scope, class string) (*keyring.DataKeys, error) {
	c.writes.Add(1)
	return c.Keyring.DataKeys(ctx, scope, class)
}

func (c *countingKeys) ExistingDataKeys(ctx context.Context, scope, class string) (*keyring.DataKeys, error) {
	c.reads.Add(1)
	return c.Keyring.ExistingDataKeys(ctx, scope, class)
}

func (c *countingKeys) IndexKeys(ctx context.Context, scope, class string) (*keyring.IndexKeys, error) {
	c.writes.Add(1)
	return c.Keyring.IndexKeys(ctx, scope, class)
}

func (c *countingKeys) ExistingIndexKeys(ctx context.Context, scope, class string) (*keyring.IndexKeys, error) {
	c.reads.Add(1)
	return c.Keyring.ExistingIndexKeys(ctx, scope, class)
}

// TestKeySource: an Encryptor takes its keys from any KeySource, asking
// once per class of a record, with the write lookups for Encrypt and the
// read lookups for Decrypt and queries; its values are the keyring's own.
func TestKeySource(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	keys := &countingKeys{Keyring: e.keyring}
	enc := crypt.New(keys, nil)
	if enc.Keys() != crypt.KeySource(keys) {
		t.Errorf("Keys() = %v, want the source New was given", enc.Keys())
	}
	if enc.Keyring() != nil {
		t.Errorf("Keyring() = %p, want nil for a source that is not a *keyring.Keyring", enc.Keyring())
	}
	if e.enc.Keyring() != e.keyring {
		t.Errorf("Keyring() = %p, want the keyring %p New was given", e.enc.Keyring(), e.keyring)
	}

	c := sampleContact()
	if err := enc.Encrypt(ctx, c); err != nil {
		t.Fatalf("Encrypt() err = %v", err)
	}
	// pii data, support data, pii index: once each, however many fields.
	if w, r := keys.writes.Load(), keys.reads.Load(); w != 3 || r != 0 {
		t.Errorf("Encrypt() made %d write and %d read lookups, want 3 and 0", w, r)
	}
	if err := e.enc.Decrypt(ctx, c); err != nil {
		t.Fatalf("Decrypt() by the keyring's own Encryptor err = %v", err)
	}
	want := sampleContact()
	if c.Name != want.Name || string(c.Notes) != string(want.Notes) {
		t.Errorf("Decrypt() = %q, %q; want %q, %q", c.Name, c.Notes, want.Name, want.Notes)
	}

	if err := e.enc.Encrypt(ctx, c); err != nil {
		t.Fatalf("Encrypt() err = %v", err)
	}
	if err := enc.Decrypt(ctx, c); err != nil || c.Name != want.Name {
		t.Fatalf("Decrypt() through the source = %q, %v; want %q", c.Name, err, want.Name)
	}
	vals, err := enc.BlindIndexValues(ctx, &Contact{TenantID: "acme", Email: want.Email}, "EmailIdx")
	if err != nil || len(vals) != 1 || vals[0] != c.EmailIdx {
		t.Errorf("BlindIndexValues() = %v, %v; want [%s]", vals, err, c.EmailIdx)
	}
	if w, r := keys.writes.Load(), keys.reads.Load(); w != 3 || r != 3 {
		t.Errorf("after a Decrypt and a lookup: %d write and %d read lookups, want 3 and 3", w, r)
	}
}
