package keyring_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/keyset"

	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// FuzzUpgradeLegacyMetadata stores a version 1 keyset record (docs/FORMAT.md
// section 10) with arbitrary bytes as its unauthenticated metadata and runs
// UpgradeLegacy. It must never panic; metadata it refuses is a
// *keyring.Error wrapping ErrIntegrity, with the record left as it was;
// metadata it accepts gives a record that a fresh keyring loads.
func FuzzUpgradeLegacyMetadata(f *testing.F) {
	ctx := context.Background()
	fx := newFixture(f)
	id := keyring.KeysetID{Scope: "acme", Class: "pii", Purpose: keyring.PurposeData}
	h, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	if err != nil {
		f.Fatal(err)
	}
	wrapped := wrapV1(f, h, fx.kek, id)
	now := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

	f.Add([]byte(`{"created":{"1":"2025-06-01T00:00:00Z"},"destroyed":[7]}`))
	f.Add([]byte(``))
	f.Add([]byte(`null`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"created":{"x":"0000-01-01T00:00:00+01:00"},"destroyed":[4294967295,0,0]}`))
	f.Add([]byte(`{"created":{"1":"9999-12-31T23:59:59-23:59"}}`))
	f.Add([]byte(`{"destroyed":[-1]}`))
	f.Add([]byte(`{"created":null,"extra":1} `))
	f.Add([]byte(`{"format":"fieldcrypt-keyset-state-v2","version":1}`))
	f.Fuzz(func(t *testing.T, meta []byte) {
		store := keyring.NewMemoryStore()
		rec := &keyring.Record{ID: id, KEKURI: fx.uri, EncryptedKeyset: wrapped, Metadata: meta, Created: now, Updated: now}
		if err := store.Create(ctx, rec); err != nil {
			t.Fatal(err)
		}
		before, err := store.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		onStore := func(c *keyring.Config) { c.Store, c.DisableAutoCreate = store, true }
		kr := fx.keyring(t, onStore)
		defer kr.Close()
		n, err := keyring.NewManager(kr).UpgradeLegacy(ctx, "")
		after, gerr := store.Get(ctx, id)
		if gerr != nil {
			t.Fatal(gerr)
		}
		if err != nil {
			var kerr *keyring.Error
			if n != 0 || !errors.As(err, &kerr) || !errors.Is(err, keyring.ErrIntegrity) {
				t.Fatalf("UpgradeLegacy(metadata %q) = %d, %T %v; want 0 and a *keyring.Error wrapping ErrIntegrity", meta, n, err, err)
			}
			if after.Version != before.Version || !bytes.Equal(after.Metadata, before.Metadata) || !bytes.Equal(after.EncryptedKeyset, before.EncryptedKeyset) {
				t.Fatalf("UpgradeLegacy(metadata %q) failed (%v) but rewrote the record", meta, err)
			}
			return
		}
		fresh := fx.keyring(t, onStore)
		defer fresh.Close()
		_, lerr := fresh.ExistingDataKeys(ctx, id.Scope, id.Class)
		switch n {
		case 1:
			// Upgraded: the record is in the current format and loads.
			if lerr != nil {
				t.Fatalf("UpgradeLegacy(metadata %q) upgraded the keyset, but it does not load: %v", meta, lerr)
			}
		case 0:
			// Left alone: only a document that parses as a current state
			// is skipped, and it was never authenticated, so it fails
			// closed.
			if bytes.Equal(after.Metadata, before.Metadata) && !errors.Is(lerr, keyring.ErrIntegrity) {
				t.Fatalf("UpgradeLegacy(metadata %q) skipped the record, and loading it gives %v, want ErrIntegrity", meta, lerr)
			}
		default:
			t.Fatalf("UpgradeLegacy() = %d for one record", n)
		}
	})
}
