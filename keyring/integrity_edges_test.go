package keyring_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fieldcrypt/fieldcrypt/internal/teststores"
	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// flakyAnchor is a MemoryAnchor whose writes (or reads) can be made to fail,
// as an unreachable anchor database would.
type flakyAnchor struct {
	keyring.MemoryAnchor
	failWrites, failReads atomic.Bool
}

func (a *flakyAnchor) Latest(ctx context.Context, id keyring.KeysetID) (uint64, error) {
	if a.failReads.Load() {
		return 0, errors.New("anchor database unreachable")
	}
	return a.MemoryAnchor.Latest(ctx, id)
}

func (a *flakyAnchor) Advance(ctx context.Context, id keyring.KeysetID, v uint64) error {
	if a.failWrites.Load() {
		return errors.New("anchor database unreachable")
	}
	return a.MemoryAnchor.Advance(ctx, id, v)
}

// TestShredOfTamperedKeyset: a store writer who makes the keyset fail to
// authenticate (one trailing space in its state) just before a shred must
// not get a tombstone older than the authentic keyset, which it would then
// put back.
func TestShredOfTamperedKeyset(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *storeWorld) {
		ctx := context.Background()
		admin := w.keyring(t, nil)
		m := keyring.NewManager(admin)
		id := dataID("acme", "pii")
		if err := m.CreateKeysets(ctx, "acme", "pii"); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if _, err := m.AddKey(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		authentic := w.get(t, id)
		tampered := *authentic
		tampered.Metadata = append(bytes.Clone(authentic.Metadata), ' ')
		teststores.Overwrite(t, w.store, &tampered)

		shredder := w.keyring(t, nil) // a fresh admin process: it saw no version yet
		if _, err := keyring.NewManager(shredder).Shred(ctx, "acme"); err != nil {
			t.Fatalf("Shred(tampered keyset) err = %v, want the shred to go through", err)
		}
		if v, _ := keyringState(t, w.get(t, id)); v <= 4 {
			t.Errorf("the tombstone is at state version %d, want above the authentic keyset's 4", v)
		}
		teststores.Overwrite(t, w.store, authentic)
		w.clock.Advance(2 * time.Minute)
		if _, err := shredder.DataKeys(ctx, "acme", "pii"); !errors.Is(err, keyring.ErrRollback) {
			t.Errorf("DataKeys in the shredding process after the authentic keyset was put back: err = %v, want ErrRollback", err)
		}
	})
}

// TestShredMemoryNotFooledByFakeKeysets: replacing the tombstones a
// process saw with unauthenticated "newer" records does not make it forget
// the shred.
func TestShredMemoryNotFooledByFakeKeysets(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *storeWorld) {
		ctx := context.Background()
		admin := w.keyring(t, nil)
		m := keyring.NewManager(admin)
		if err := m.CreateKeysets(ctx, "acme", "pii"); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Shred(ctx, "acme"); err != nil {
			t.Fatal(err)
		}
		tombs, _ := w.store.List(ctx, "acme")
		for _, r := range tombs {
			fake := *r
			fake.Metadata = []byte(`{"format":"fieldcrypt-keyset-state-v2","version":99}`)
			teststores.Overwrite(t, w.store, &fake)
		}
		if _, err := admin.DataKeys(ctx, "acme", "support"); !errors.Is(err, keyring.ErrScopeShredded) {
			t.Errorf("DataKeys(new class) after fake newer records err = %v, want ErrScopeShredded", err)
		}
		if recs, _ := w.store.List(ctx, "acme"); len(recs) != len(tombs) {
			t.Errorf("a keyset was created for the shredded tenant: %d records, want %d", len(recs), len(tombs))
		}
	})
}

// TestAnchorMarksShreddedScope: with an anchor, deleting every tombstone
// does not let a fresh process create keysets for the shredded tenant, even
// of a class it never had; Unshred clears the mark.
func TestAnchorMarksShreddedScope(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *storeWorld) {
		ctx := context.Background()
		w.anchor = teststores.SQLiteAnchor(t)
		admin := w.keyring(t, nil)
		m := keyring.NewManager(admin)
		if err := m.CreateKeysets(ctx, "acme", "pii"); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Shred(ctx, "acme"); err != nil {
			t.Fatal(err)
		}
		tombs, _ := w.store.List(ctx, "acme")
		w.deleteRecords(t, tombs)
		fresh := w.keyring(t, nil)
		if _, err := fresh.DataKeys(ctx, "acme", "support"); !errors.Is(err, keyring.ErrScopeShredded) {
			t.Errorf("fresh DataKeys(class never used) after the tombstones were deleted: err = %v, want ErrScopeShredded", err)
		}
		if _, err := fresh.ExistingIndexKeys(ctx, "acme", "support"); !errors.Is(err, keyring.ErrScopeShredded) {
			t.Errorf("fresh ExistingIndexKeys(class never used) err = %v, want ErrScopeShredded", err)
		}
		if recs, _ := w.store.List(ctx, "acme"); len(recs) != 0 {
			t.Errorf("%d keysets were created for the shredded tenant, want 0", len(recs))
		}
		w.putRecords(t, tombs)
		if _, err := m.Unshred(ctx, "acme"); err != nil {
			t.Fatal(err)
		}
		if _, err := w.keyring(t, nil).DataKeys(ctx, "acme", "support"); err != nil {
			t.Errorf("DataKeys(new class) after Unshred err = %v", err)
		}
	})
}

// TestAnchorOutage: a failed anchor write never fails a load or a change
// that is already durable (it is logged, and the next load advances the
// anchor); a failed anchor read is transient, so cached keysets keep
// serving; a retried shred advances an anchor that missed the first run.
func TestAnchorOutage(t *testing.T) {
	ctx := context.Background()
	w := newStoreWorld(t, teststores.SQLite(t))
	anchor := &flakyAnchor{}
	w.anchor = anchor
	admin := w.keyring(t, func(c *keyring.Config) { c.StalePeriod = time.Hour })
	m := keyring.NewManager(admin)
	id := dataID("acme", "pii")
	if _, err := admin.DataKeys(ctx, "acme", "pii"); err != nil {
		t.Fatal(err)
	}
	anchor.failWrites.Store(true)
	if _, err := m.AddKey(ctx, id); err != nil {
		t.Errorf("AddKey with the anchor unwritable err = %v, want the durable change reported as done", err)
	}
	if !strings.Contains(w.logs.String(), `"event":"anchor lagging"`) {
		t.Errorf("a failed anchor write was not logged")
	}
	if _, err := admin.DataKeys(ctx, "acme", "pii"); err != nil {
		t.Errorf("DataKeys with the anchor unwritable err = %v, want a load", err)
	}
	anchor.failWrites.Store(false)
	if _, err := m.Keys(ctx, id); err != nil {
		t.Fatal(err)
	}
	if v, _ := anchor.MemoryAnchor.Latest(ctx, id); v != 2 {
		t.Errorf("after the outage the next load advanced the anchor to %d, want 2", v)
	}

	// Reads fail: transient; the cached keyset keeps serving past its TTL.
	anchor.failReads.Store(true)
	w.clock.Advance(2 * time.Minute)
	if _, err := admin.DataKeys(ctx, "acme", "pii"); err != nil {
		t.Errorf("DataKeys past the TTL during an anchor outage err = %v, want the stale keyset served", err)
	}
	fresh := w.keyring(t, func(c *keyring.Config) { c.Anchor = nil })
	if _, err := fresh.DataKeys(ctx, "acme", "pii"); err != nil {
		t.Fatal(err)
	}
	anchor.failReads.Store(false)

	// A shred that left the anchor behind (run without it, as when its
	// writes failed), then run again with it: the retry, which finds only
	// tombstones, still advances the anchor to them.
	if _, err := keyring.NewManager(w.keyring(t, func(c *keyring.Config) { c.Anchor = nil })).Shred(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	if v, _ := anchor.MemoryAnchor.Latest(ctx, id); v >= 3 {
		t.Fatalf("the anchor is at %d before the retry, want it behind the tombstone", v)
	}
	if _, err := m.Shred(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	tomb, _ := keyringState(t, w.get(t, id))
	if v, _ := anchor.MemoryAnchor.Latest(ctx, id); v != tomb {
		t.Errorf("after a retried shred the anchor is at %d, want the tombstone's %d", v, tomb)
	}
}

// keyringState returns the version of a stored state document, and
// whether it is a tombstone's.
func keyringState(t *testing.T, rec *keyring.Record) (uint64, bool) {
	t.Helper()
	var st struct {
		Version  uint64  `json:"version"`
		Shredded *string `json:"shredded_at"`
	}
	if err := json.Unmarshal(rec.Metadata, &st); err != nil {
		t.Fatal(err)
	}
	return st.Version, st.Shredded != nil
}

// TestAnchorMisconfigured: New reads the anchor once, so an anchor that
// cannot be read fails at start.
func TestAnchorMisconfigured(t *testing.T) {
	w := newStoreWorld(t, keyring.NewMemoryStore())
	a := &flakyAnchor{}
	a.failReads.Store(true)
	cfg := keyring.Config{Store: w.store, Opener: w.opener, KEKs: map[string]string{"pii": w.pii}, Anchor: a}
	if kr, err := keyring.New(cfg); err == nil {
		kr.Close()
		t.Fatal("New(unreadable anchor) err = nil, want an error")
	} else if !strings.Contains(err.Error(), "Anchor") {
		t.Errorf("New(unreadable anchor) err = %q, want it to name Config.Anchor", err)
	}
}

// TestUpgradeLegacyRefusesRollback: a version 1 record put back over a
// keyset seen in the current format is a rollback, not an upgrade.
func TestUpgradeLegacyRefusesRollback(t *testing.T) {
	ctx := context.Background()
	w := newStoreWorld(t, teststores.SQLite(t))
	w.anchor = &keyring.MemoryAnchor{}
	admin := w.keyring(t, nil)
	m := keyring.NewManager(admin)
	id := dataID("acme", "pii")
	if err := m.CreateKeysets(ctx, "acme", "pii"); err != nil {
		t.Fatal(err)
	}
	legacy := *w.get(t, id)
	legacy.Metadata = []byte(`{"created":{}}`) // what a version 1 row held
	teststores.Overwrite(t, w.store, &legacy)
	if _, err := m.UpgradeLegacy(ctx, ""); !errors.Is(err, keyring.ErrRollback) {
		t.Errorf("UpgradeLegacy(v1 row over a v2 keyset) err = %v, want ErrRollback", err)
	}
}

// TestImportUnverifiedDoesNotAdvanceAnchor: an import without Verify does
// not let an unauthenticated version into the anchor, where it would lock
// the authentic keyset out for good.
func TestImportUnverifiedDoesNotAdvanceAnchor(t *testing.T) {
	ctx := context.Background()
	w := newStoreWorld(t, teststores.SQLite(t))
	anchor := &keyring.MemoryAnchor{}
	w.anchor = anchor
	src := w.keyring(t, func(c *keyring.Config) { c.Store = keyring.NewMemoryStore(); c.Anchor = nil })
	srcMgr := keyring.NewManager(src)
	if err := srcMgr.CreateKeysets(ctx, "acme", "pii"); err != nil {
		t.Fatal(err)
	}
	var doc bytes.Buffer
	if _, err := srcMgr.Export(ctx, &doc, ""); err != nil {
		t.Fatal(err)
	}
	// The document's state edited to claim a huge version.
	var d map[string]any
	if err := json.Unmarshal(doc.Bytes(), &d); err != nil {
		t.Fatal(err)
	}
	for _, k := range d["keysets"].([]any) {
		m := k.(map[string]any)
		m["state"] = []byte(`{"format":"fieldcrypt-keyset-state-v2","version":4503599627370496}`)
	}
	edited, _ := json.Marshal(d)
	admin := w.keyring(t, nil)
	if _, err := keyring.NewManager(admin).Import(ctx, bytes.NewReader(edited), keyring.ImportOptions{}); err != nil {
		t.Fatalf("Import(unverified) err = %v", err)
	}
	if v, _ := anchor.Latest(ctx, dataID("acme", "pii")); v != 0 {
		t.Errorf("an unverified import advanced the anchor to %d, want it untouched", v)
	}
	if _, err := admin.DataKeys(ctx, "acme", "pii"); !errors.Is(err, keyring.ErrIntegrity) {
		t.Errorf("DataKeys(imported edited keyset) err = %v, want ErrIntegrity", err)
	}
}

// TestImportAndInitOnShreddedScope: an export holding a tombstone and a
// live keyset of the same scope is refused whole, and `keys init`
// (CreateKeysets) of a shredded scope fails instead of reporting success.
func TestImportAndInitOnShreddedScope(t *testing.T) {
	ctx := context.Background()
	w := newStoreWorld(t, teststores.SQLite(t))
	src := w.keyring(t, func(c *keyring.Config) { c.Store = keyring.NewMemoryStore() })
	srcMgr := keyring.NewManager(src)
	if err := srcMgr.CreateKeysets(ctx, "acme", "pii", "support"); err != nil {
		t.Fatal(err)
	}
	var before bytes.Buffer
	if _, err := srcMgr.Export(ctx, &before, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := srcMgr.Shred(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	var after bytes.Buffer
	if _, err := srcMgr.Export(ctx, &after, ""); err != nil {
		t.Fatal(err)
	}
	// Mix: the tombstones of pii, the live keysets of support.
	var a, b map[string]any
	_ = json.Unmarshal(after.Bytes(), &a)
	_ = json.Unmarshal(before.Bytes(), &b)
	var mixed []any
	for _, k := range a["keysets"].([]any) {
		if k.(map[string]any)["class"] == "pii" {
			mixed = append(mixed, k)
		}
	}
	for _, k := range b["keysets"].([]any) {
		if k.(map[string]any)["class"] == "support" {
			mixed = append(mixed, k)
		}
	}
	a["keysets"] = mixed
	doc, _ := json.Marshal(a)
	admin := w.keyring(t, nil)
	adminMgr := keyring.NewManager(admin)
	if _, err := adminMgr.Import(ctx, bytes.NewReader(doc), keyring.ImportOptions{}); !errors.Is(err, keyring.ErrScopeShredded) {
		t.Errorf("Import(tombstones and live keysets of one scope) err = %v, want ErrScopeShredded", err)
	}
	if recs, _ := w.store.List(ctx, ""); len(recs) != 0 {
		t.Errorf("a refused import stored %d keysets", len(recs))
	}
	if _, err := adminMgr.Import(ctx, bytes.NewReader(after.Bytes()), keyring.ImportOptions{Verify: true}); err != nil {
		t.Fatalf("Import(tombstones) err = %v", err)
	}
	if err := adminMgr.CreateKeysets(ctx, "acme", "pii"); !errors.Is(err, keyring.ErrScopeShredded) {
		t.Errorf("CreateKeysets(shredded scope) err = %v, want ErrScopeShredded", err)
	}
}

// TestHiddenKeysetStaysShredded plays a store writer who hides one of a
// tenant's keysets while the operator shreds it, so that it gets no
// tombstone, and puts it back afterwards, at the version everyone saw.
// The shredded tenant's data must stay unreadable:
//
//   - When the shredding process, or the anchor, saw the keyset, Shred
//     finds it missing, counts it and gives it a tombstone; the keyset put
//     back over it is a rollback, and stays one after an Unshred.
//   - When neither saw it (it was made by a process without the anchor),
//     it is refused on load because its scope is shredded: by the anchor's
//     mark in a fresh process, by its own memory in the shredding one.
//     (An Unshred then clears the mark: docs/SECURITY.md states that
//     limit.)
func TestHiddenKeysetStaysShredded(t *testing.T) {
	setup := func(t *testing.T, w *storeWorld, maker *keyring.Keyring) (ct []byte, hidden *keyring.Record) {
		t.Helper()
		ctx := context.Background()
		if err := keyring.NewManager(maker).CreateKeysets(ctx, "acme", "pii"); err != nil {
			t.Fatal(err)
		}
		dk, err := maker.DataKeys(ctx, "acme", "pii")
		if err != nil {
			t.Fatal(err)
		}
		if ct, err = dk.Encrypt([]byte("secret"), []byte("ad")); err != nil {
			t.Fatal(err)
		}
		hidden = w.get(t, dataID("acme", "pii"))
		w.deleteRecords(t, []*keyring.Record{hidden})
		return ct, hidden
	}
	refused := func(t *testing.T, kr *keyring.Keyring, ct []byte, who string, want ...error) {
		t.Helper()
		dk, err := kr.ExistingDataKeys(context.Background(), "acme", "pii")
		if err == nil {
			pt, derr := dk.Decrypt(ct, []byte("ad"))
			t.Errorf("%s: the shredded tenant's keyset was served (its data decrypts: %v)", who, derr == nil && string(pt) == "secret")
			return
		}
		for _, w := range want {
			if errors.Is(err, w) {
				return
			}
		}
		t.Errorf("%s: err = %v, want one of %v", who, err, want)
	}

	t.Run("seen", func(t *testing.T) {
		forEachStore(t, func(t *testing.T, w *storeWorld) {
			ctx := context.Background()
			w.anchor = teststores.SQLiteAnchor(t)
			ct, hidden := setup(t, w, w.keyring(t, nil))
			shredder := w.keyring(t, nil) // a fresh admin process: the anchor saw the keyset
			m := keyring.NewManager(shredder)
			if n, err := m.Shred(ctx, "acme"); err != nil || n != 2 {
				t.Fatalf("Shred() = %d, %v; want both keysets shredded, the hidden one included", n, err)
			}
			if _, tomb := keyringState(t, w.get(t, hidden.ID)); !tomb {
				t.Fatal("the hidden keyset's place holds no tombstone")
			}
			if !strings.Contains(w.logs.String(), `"event":"keyset missing at shred"`) {
				t.Error("the missing keyset was not reported in the audit log")
			}
			w.putRecords(t, []*keyring.Record{hidden})
			w.clock.Advance(2 * time.Minute)
			refused(t, shredder, ct, "the shredding process", keyring.ErrRollback)
			refused(t, w.keyring(t, nil), ct, "a fresh process with the anchor", keyring.ErrRollback)
			if _, err := m.Unshred(ctx, "acme"); !errors.Is(err, keyring.ErrRollback) {
				t.Errorf("Unshred() err = %v, want the keyset put back refused as a rollback", err)
			}
			refused(t, w.keyring(t, nil), ct, "a fresh process after Unshred", keyring.ErrRollback, keyring.ErrScopeShredded)
		})
	})

	t.Run("default KEK class", func(t *testing.T) {
		forEachStore(t, func(t *testing.T, w *storeWorld) {
			ctx := context.Background()
			w.anchor = teststores.SQLiteAnchor(t)
			onDefault := func(c *keyring.Config) { c.KEKs, c.AcceptKEKs, c.DefaultKEK = nil, nil, w.pii }
			ct, hidden := setup(t, w, w.keyring(t, onDefault))
			shredder := w.keyring(t, onDefault) // pii is no configured class: only the anchor lists it
			if n, err := keyring.NewManager(shredder).Shred(ctx, "acme"); err != nil || n != 2 {
				t.Fatalf("Shred() = %d, %v; want both keysets shredded, the hidden one included", n, err)
			}
			w.putRecords(t, []*keyring.Record{hidden})
			w.clock.Advance(2 * time.Minute)
			if _, err := keyring.NewManager(shredder).Unshred(ctx, "acme"); !errors.Is(err, keyring.ErrRollback) {
				t.Errorf("Unshred() err = %v, want the keyset put back refused as a rollback", err)
			}
			refused(t, w.keyring(t, onDefault), ct, "a fresh process after Unshred", keyring.ErrRollback, keyring.ErrScopeShredded)
		})
	})

	t.Run("class without a KEK here", func(t *testing.T) {
		forEachStore(t, func(t *testing.T, w *storeWorld) {
			ctx := context.Background()
			w.anchor = teststores.SQLiteAnchor(t)
			if err := keyring.NewManager(w.keyring(t, nil)).CreateKeysets(ctx, "acme", "pii", "support"); err != nil {
				t.Fatal(err)
			}
			w.deleteRecords(t, []*keyring.Record{w.get(t, dataID("acme", "support")),
				w.get(t, keyring.KeysetID{Scope: "acme", Class: "support", Purpose: keyring.PurposeIndex})})
			piiOnly := w.keyring(t, func(c *keyring.Config) { c.KEKs, c.AcceptKEKs = map[string]string{"pii": w.pii}, nil })
			if n, err := keyring.NewManager(piiOnly).Shred(ctx, "acme"); err != nil || n != 2 {
				t.Fatalf("Shred() by a process without the support KEK = %d, %v; want the two pii keysets shredded", n, err)
			}
			if !strings.Contains(w.logs.String(), `"event":"keyset missing at shred","scope":"acme","class":"support"`) {
				t.Error("the hidden support keyset was not reported in the audit log")
			}
		})
	})

	t.Run("unseen", func(t *testing.T) {
		forEachStore(t, func(t *testing.T, w *storeWorld) {
			ctx := context.Background()
			anchor := teststores.SQLiteAnchor(t)
			ct, hidden := setup(t, w, w.keyring(t, nil)) // made before the anchor was configured
			w.anchor = anchor
			shredder := w.keyring(t, nil)
			if n, err := keyring.NewManager(shredder).Shred(ctx, "acme"); err != nil || n != 1 {
				t.Fatalf("Shred() = %d, %v; want the listed keyset shredded", n, err)
			}
			w.putRecords(t, []*keyring.Record{hidden})
			w.clock.Advance(2 * time.Minute)
			refused(t, shredder, ct, "the shredding process", keyring.ErrScopeShredded)
			refused(t, w.keyring(t, nil), ct, "a fresh process with the anchor", keyring.ErrScopeShredded)
			if _, err := keyring.NewManager(w.keyring(t, nil)).AddKey(ctx, hidden.ID); !errors.Is(err, keyring.ErrScopeShredded) {
				t.Errorf("AddKey(the keyset put back) err = %v, want ErrScopeShredded", err)
			}
		})
	})
}
