package keyring_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// FuzzImport feeds arbitrary documents to Import: it must never panic, and
// it must either store keysets that Export gives back or fail without
// storing anything.
func FuzzImport(f *testing.F) {
	ctx := context.Background()
	seed := newFixture(f)
	kr := seed.keyring(f, nil)
	m := keyring.NewManager(kr)
	if err := m.CreateKeysets(ctx, "acme", "pii"); err != nil {
		f.Fatal(err)
	}
	var export bytes.Buffer
	if _, err := m.Export(ctx, &export, ""); err != nil {
		f.Fatal(err)
	}
	f.Add(export.Bytes())
	f.Add([]byte(`{"format":"fieldcrypt-keysets-v2","keysets":[]}`))
	f.Add([]byte(`{"format":"fieldcrypt-keysets-v2","keysets":[{"scope":"a","class":"b","purpose":"data","kek_uri":"test://kek","encrypted_keyset":"AAAA","state":"eyJmb3JtYXQiOiJmaWVsZGNyeXB0LWtleXNldC1zdGF0ZS12MiIsInZlcnNpb24iOjF9"}]}`))
	f.Add([]byte(`{"format":"fieldcrypt-keysets-v2","keysets":[{"scope":"a/b","class":"","purpose":"x"}]}`))
	f.Add([]byte(`{"format":"fieldcrypt-keysets-v1","keysets":[]}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		store := keyring.NewMemoryStore()
		target := seed.keyring(t, func(c *keyring.Config) { c.Store, c.DisableAutoCreate = store, true })
		defer target.Close()
		n, err := keyring.NewManager(target).Import(ctx, bytes.NewReader(doc), keyring.ImportOptions{})
		stored, lerr := store.List(ctx, "")
		if lerr != nil {
			t.Fatal(lerr)
		}
		if err != nil {
			if n != 0 || len(stored) != 0 {
				t.Fatalf("Import() failed (%v) but stored %d keysets", err, len(stored))
			}
			var kerr *keyring.Error
			if !errors.Is(err, keyring.ErrBadExport) && !errors.As(err, &kerr) {
				t.Fatalf("Import() err = %v (%T), want ErrBadExport or *keyring.Error", err, err)
			}
			return
		}
		if n != len(stored) {
			t.Fatalf("Import() = %d, but the store holds %d keysets", n, len(stored))
		}
	})
}

// FuzzKeysetState replaces the state document of a stored keyset with
// arbitrary bytes: loading must never panic, and any bytes but the
// authentic ones must fail closed with ErrIntegrity, whatever they claim.
func FuzzKeysetState(f *testing.F) {
	ctx := context.Background()
	seed := newFixture(f)
	kr := seed.keyring(f, nil)
	id := keyring.KeysetID{Scope: "acme", Class: "pii", Purpose: keyring.PurposeData}
	if _, err := kr.DataKeys(ctx, "acme", "pii"); err != nil {
		f.Fatal(err)
	}
	authentic, err := seed.store.Get(ctx, id)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(authentic.Metadata)
	f.Add([]byte(`{"format":"fieldcrypt-keyset-state-v2","version":2}`))
	f.Add([]byte(`{"format":"fieldcrypt-keyset-state-v2","version":1,"shredded_at":"2026-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"format":"fieldcrypt-keyset-state-v2","version":18446744073709551615}`))
	f.Add([]byte(`{"created":{"1":"2026-01-01T00:00:00Z"},"destroyed":[1]}`))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, state []byte) {
		store := keyring.NewMemoryStore()
		rec := *authentic
		rec.Metadata = state
		if err := store.Create(ctx, &rec); err != nil {
			t.Fatal(err)
		}
		target := seed.keyring(t, func(c *keyring.Config) { c.Store, c.DisableAutoCreate = store, true })
		defer target.Close()
		_, err := target.ExistingDataKeys(ctx, "acme", "pii")
		switch {
		case bytes.Equal(state, authentic.Metadata):
			if err != nil {
				t.Fatalf("DataKeys(authentic state) err = %v", err)
			}
		case !errors.Is(err, keyring.ErrIntegrity):
			t.Fatalf("DataKeys(state %q) err = %v, want ErrIntegrity", state, err)
		}
	})
}
