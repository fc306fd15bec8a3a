package keyring_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/internal/teststores"
	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// The tests in this file restore keyset-store backups through
// `keys import` (Manager.Import) the way the security team runs it: from a
// fresh process, which remembers nothing. TestImportRefusesRollbackAndResurrection
// imports from the process that made the changes; each check of Import
// must hold on its own.

// TestImportRefusesOlderKeysetFromFreshProcess: `keys import --overwrite`
// run as a new process without an anchor never replaces a keyset with an
// older copy of it: the store's own version refuses it.
func TestImportRefusesOlderKeysetFromFreshProcess(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *storeWorld) {
		ctx := context.Background()
		m := keyring.NewManager(w.keyring(t, nil))
		if err := m.CreateKeysets(ctx, "globex", "pii"); err != nil {
			t.Fatal(err)
		}
		var backup bytes.Buffer
		if _, err := m.Export(ctx, &backup, "globex"); err != nil {
			t.Fatal(err)
		}
		if _, err := m.AddKey(ctx, dataID("globex", "pii")); err != nil { // a rotation after a leak
			t.Fatal(err)
		}
		before, _ := w.store.List(ctx, "")

		cli := keyring.NewManager(w.keyring(t, nil)) // `fieldcrypt keys import --overwrite`
		if _, err := cli.Import(ctx, bytes.NewReader(backup.Bytes()), keyring.ImportOptions{Overwrite: true}); !errors.Is(err, keyring.ErrRollback) {
			t.Errorf("Import(--overwrite, backup from before the rotation) in a fresh process err = %v, want ErrRollback", err)
		}
		if after, _ := w.store.List(ctx, ""); !sameRecordSet(after, before) {
			t.Error("the refused import changed the store")
		}
	})
}

// TestImportRefusesOlderKeysetIntoEmptyPlace: with an anchor, importing an
// older copy of a keyset the store writer deleted (so no stored version
// compares) is refused as a rollback before anything is written, verified
// or not.
func TestImportRefusesOlderKeysetIntoEmptyPlace(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *storeWorld) {
		ctx := context.Background()
		w.anchor = teststores.SQLiteAnchor(t)
		m := keyring.NewManager(w.keyring(t, nil))
		if err := m.CreateKeysets(ctx, "globex", "pii"); err != nil {
			t.Fatal(err)
		}
		var backup bytes.Buffer
		if _, err := m.Export(ctx, &backup, "globex"); err != nil {
			t.Fatal(err)
		}
		if _, err := m.AddKey(ctx, dataID("globex", "pii")); err != nil {
			t.Fatal(err)
		}
		recs, _ := w.store.List(ctx, "globex")
		w.deleteRecords(t, recs)

		for _, opts := range []keyring.ImportOptions{{}, {Verify: true}} {
			cli := keyring.NewManager(w.keyring(t, nil))
			if _, err := cli.Import(ctx, bytes.NewReader(backup.Bytes()), opts); !errors.Is(err, keyring.ErrRollback) {
				t.Errorf("Import(%+v, older copy of a deleted keyset) with an anchor err = %v, want ErrRollback", opts, err)
			}
			if left, _ := w.store.List(ctx, "globex"); len(left) != 0 {
				t.Fatalf("Import(%+v) refused but stored %d keysets", opts, len(left))
			}
		}
	})
}

// TestImportRefusesLiveKeysetOfShreddedScope: while a scope's tombstones
// are in the store, Import refuses any live keyset of it, even of a class
// whose tombstones the store writer deleted, and even in a fresh process
// without an anchor.
func TestImportRefusesLiveKeysetOfShreddedScope(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *storeWorld) {
		ctx := context.Background()
		m := keyring.NewManager(w.keyring(t, nil))
		if err := m.CreateKeysets(ctx, "acme", "pii", "support"); err != nil {
			t.Fatal(err)
		}
		var backup bytes.Buffer
		if _, err := m.Export(ctx, &backup, "acme"); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Shred(ctx, "acme"); err != nil {
			t.Fatal(err)
		}
		// The attacker deletes the support tombstones and restores the
		// support keysets from the pre-shred backup.
		w.deleteRecords(t, []*keyring.Record{w.get(t, dataID("acme", "support")),
			w.get(t, keyring.KeysetID{Scope: "acme", Class: "support", Purpose: keyring.PurposeIndex})})
		doc := onlyClass(t, backup.Bytes(), "support")

		cli := keyring.NewManager(w.keyring(t, nil))
		if _, err := cli.Import(ctx, bytes.NewReader(doc), keyring.ImportOptions{}); !errors.Is(err, keyring.ErrScopeShredded) {
			t.Errorf("Import(pre-shred support keysets) with pii tombstones in the store err = %v, want ErrScopeShredded", err)
		}
		recs, _ := w.store.List(ctx, "acme")
		for _, r := range recs {
			if _, tomb := keyringState(t, r); !tomb {
				t.Errorf("a refused import stored the live keyset %v in the shredded scope", r.ID)
			}
		}
	})
}

// onlyClass returns the export document reduced to the keysets of class.
func onlyClass(t *testing.T, doc []byte, class string) []byte {
	t.Helper()
	var d map[string]any
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	var kept []any
	for _, k := range d["keysets"].([]any) {
		if k.(map[string]any)["class"] == class {
			kept = append(kept, k)
		}
	}
	d["keysets"] = kept
	out, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
