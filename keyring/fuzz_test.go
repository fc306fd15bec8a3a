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
	if err := kr.CreateKeysets(ctx, "acme", "pii"); err != nil {
		f.Fatal(err)
	}
	var export bytes.Buffer
	if _, err := kr.Export(ctx, &export, ""); err != nil {
		f.Fatal(err)
	}
	f.Add(export.Bytes())
	f.Add([]byte(`{"format":"fieldcrypt-keysets-v1","keysets":[]}`))
	f.Add([]byte(`{"format":"fieldcrypt-keysets-v1","keysets":[{"scope":"a","class":"b","purpose":"data","kek_uri":"test://kek","encrypted_keyset":"AAAA","metadata":{"created":{"1":"2026-01-01T00:00:00Z"}}}]}`))
	f.Add([]byte(`{"format":"fieldcrypt-keysets-v1","keysets":[{"scope":"a/b","class":"","purpose":"x"}]}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		store := keyring.NewMemoryStore()
		target := seed.keyring(t, func(c *keyring.Config) { c.Store, c.DisableAutoCreate = store, true })
		defer target.Close()
		n, err := target.Import(ctx, bytes.NewReader(doc), keyring.ImportOptions{})
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
