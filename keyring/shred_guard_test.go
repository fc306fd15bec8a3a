package keyring_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/fieldcrypt/fieldcrypt/internal/teststores"
	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// The tests in this file play a store writer against the shred guarantees
// of docs/SECURITY.md that the attack tests of integrity_test.go and
// integrity_edges_test.go leave at their edges: a keyset brought to
// exactly the tombstone's version, a key operation on a tombstone, and
// CreateKeysets on a keyset put back into a scope the anchor marks
// shredded.

// TestShredMemoryNotFooledByKeysetAtTombstoneVersion: a process that saw a
// shred forgets it only when every tombstone is replaced by a keyset that
// authenticates at a *newer* version (Unshred). A store writer who puts the
// pre-shred keysets back and gets a fresh process (no anchor, no memory of
// the shred, which is the documented limit) to rotate each of them once
// brings them to exactly the tombstones' versions: authentic, but not
// newer. The shredding process must go on refusing the tenant's old keys.
func TestShredMemoryNotFooledByKeysetAtTombstoneVersion(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *storeWorld) {
		ctx := context.Background()
		shredder := w.keyring(t, nil)
		m := keyring.NewManager(shredder)
		if err := m.CreateKeysets(ctx, "acme", "pii"); err != nil {
			t.Fatal(err)
		}
		dk, err := shredder.DataKeys(ctx, "acme", "pii")
		if err != nil {
			t.Fatal(err)
		}
		ct, err := dk.Encrypt([]byte("secret"), []byte("ad"))
		if err != nil {
			t.Fatal(err)
		}
		pre, err := w.store.List(ctx, "acme")
		if err != nil || len(pre) != 2 {
			t.Fatalf("List(acme) = %d records, %v; want the data and index keysets", len(pre), err)
		}
		if _, err := m.Shred(ctx, "acme"); err != nil {
			t.Fatal(err)
		}
		tombVersion := map[keyring.KeysetID]uint64{}
		for _, r := range pre {
			v, tomb := keyringState(t, w.get(t, r.ID))
			if !tomb {
				t.Fatalf("%v holds no tombstone after Shred", r.ID)
			}
			tombVersion[r.ID] = v
		}

		// The attacker puts the pre-shred keysets back over the
		// tombstones; a process that never saw the shred rotates each
		// until it reaches its tombstone's version.
		w.putRecords(t, pre)
		other := keyring.NewManager(w.keyring(t, nil))
		for _, r := range pre {
			for {
				v, _ := keyringState(t, w.get(t, r.ID))
				if v >= tombVersion[r.ID] {
					break
				}
				if _, err := other.AddKey(ctx, r.ID); err != nil {
					t.Fatalf("AddKey(%v) by a process without the shred err = %v", r.ID, err)
				}
			}
			if v, tomb := keyringState(t, w.get(t, r.ID)); v != tombVersion[r.ID] || tomb {
				t.Fatalf("%v is at version %d (tombstone %v), want a live keyset at the tombstone's version %d", r.ID, v, tomb, tombVersion[r.ID])
			}
		}

		w.clock.Advance(2 * time.Minute)
		got, err := shredder.ExistingDataKeys(ctx, "acme", "pii")
		if err == nil {
			pt, derr := got.Decrypt(ct, []byte("ad"))
			t.Errorf("the shredding process served the shredded tenant's keyset (its old data decrypts: %v)", derr == nil && string(pt) == "secret")
		} else if !errors.Is(err, keyring.ErrScopeShredded) && !errors.Is(err, keyring.ErrRollback) {
			t.Errorf("the shredding process: DataKeys err = %v, want ErrScopeShredded", err)
		}
		if _, err := shredder.ExistingIndexKeys(ctx, "acme", "pii"); !errors.Is(err, keyring.ErrScopeShredded) && !errors.Is(err, keyring.ErrRollback) {
			t.Errorf("the shredding process: IndexKeys err = %v, want ErrScopeShredded", err)
		}
		if _, err := shredder.DataKeys(ctx, "acme", "support"); !errors.Is(err, keyring.ErrScopeShredded) {
			t.Errorf("the shredding process: DataKeys(new class) err = %v, want ErrScopeShredded", err)
		}
	})
}

// TestKeyOperationsRefuseTombstone: every key operation on a shredded
// keyset fails with ErrScopeShredded and leaves the tombstone as it is:
// nothing turns a tombstone back into a keyset but Unshred.
func TestKeyOperationsRefuseTombstone(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *storeWorld) {
		ctx := context.Background()
		admin := w.keyring(t, nil)
		m := keyring.NewManager(admin)
		if err := m.CreateKeysets(ctx, "acme", "pii"); err != nil {
			t.Fatal(err)
		}
		keys, err := m.Keys(ctx, dataID("acme", "pii"))
		if err != nil || len(keys) != 1 {
			t.Fatalf("Keys() = %v, %v; want one key", keys, err)
		}
		keyID := keys[0].ID
		if _, err := m.Shred(ctx, "acme"); err != nil {
			t.Fatal(err)
		}
		before := w.get(t, dataID("acme", "pii"))
		ops := map[string]func(*keyring.Manager) error{
			"add":     func(m *keyring.Manager) error { _, err := m.AddKey(ctx, dataID("acme", "pii")); return err },
			"promote": func(m *keyring.Manager) error { return m.PromoteKey(ctx, dataID("acme", "pii"), keyID) },
			"disable": func(m *keyring.Manager) error { return m.DisableKey(ctx, dataID("acme", "pii"), keyID) },
			"enable":  func(m *keyring.Manager) error { return m.EnableKey(ctx, dataID("acme", "pii"), keyID) },
			"destroy": func(m *keyring.Manager) error { return m.DestroyKey(ctx, dataID("acme", "pii"), keyID) },
		}
		for name, op := range ops {
			// The shredding process, and one that never saw the shred.
			for who, mgr := range map[string]*keyring.Manager{"shredder": m, "fresh": keyring.NewManager(w.keyring(t, nil))} {
				if err := op(mgr); !errors.Is(err, keyring.ErrScopeShredded) {
					t.Errorf("%s on a tombstone (%s process) err = %v, want ErrScopeShredded", name, who, err)
				}
			}
		}
		after := w.get(t, dataID("acme", "pii"))
		if !bytes.Equal(after.Metadata, before.Metadata) || !bytes.Equal(after.EncryptedKeyset, before.EncryptedKeyset) {
			t.Errorf("refused key operations changed the tombstone: state %s, want %s", after.Metadata, before.Metadata)
		}
		if _, tomb := keyringState(t, after); !tomb {
			t.Error("the tombstone is no longer one")
		}
	})
}

// TestCreateKeysetsRefusesKeysetOfShreddedScope: a store writer hides a
// tenant's keysets while it is shredded (made before the anchor was
// configured, so nothing lists them) and puts them back. The anchor marks
// the scope shredded, so loads refuse them; `keys init` (CreateKeysets)
// must not report them as valid keysets of a live tenant either.
func TestCreateKeysetsRefusesKeysetOfShreddedScope(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *storeWorld) {
		ctx := context.Background()
		if err := keyring.NewManager(w.keyring(t, nil)).CreateKeysets(ctx, "acme", "support"); err != nil {
			t.Fatal(err)
		}
		hidden, err := w.store.List(ctx, "acme")
		if err != nil || len(hidden) != 2 {
			t.Fatalf("List(acme) = %d records, %v; want the support data and index keysets", len(hidden), err)
		}
		w.deleteRecords(t, hidden)
		w.anchor = teststores.SQLiteAnchor(t)
		if _, err := keyring.NewManager(w.keyring(t, nil)).Shred(ctx, "acme"); err != nil {
			t.Fatal(err)
		}
		w.putRecords(t, hidden)
		w.clock.Advance(2 * time.Minute)

		fresh := w.keyring(t, nil)
		if _, err := fresh.ExistingDataKeys(ctx, "acme", "support"); !errors.Is(err, keyring.ErrScopeShredded) {
			t.Fatalf("DataKeys(keyset put back into a shredded scope) err = %v, want ErrScopeShredded", err)
		}
		if err := keyring.NewManager(fresh).CreateKeysets(ctx, "acme", "support"); !errors.Is(err, keyring.ErrScopeShredded) {
			t.Errorf("CreateKeysets(keysets put back into a scope the anchor marks shredded) err = %v, want ErrScopeShredded", err)
		}
	})
}

// TestShredNotStoppedByPlantedKeyset plays a store writer who wants a
// tenant's data to stay readable after the operator shreds it (no anchor):
// they plant a row for the tenant under a class that sorts first and that
// the shredding tool has no KEK for. The shred cannot give that row a
// tombstone and must say so, but it must still shred every keyset it can.
func TestShredNotStoppedByPlantedKeyset(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *storeWorld) {
		ctx := context.Background()
		admin := w.keyring(t, nil)
		if err := keyring.NewManager(admin).CreateKeysets(ctx, "acme", "pii"); err != nil {
			t.Fatal(err)
		}
		ct := shreddedData(t, admin)
		planted := *w.get(t, dataID("acme", "pii"))
		planted.ID.Class = "aaa"
		teststores.Overwrite(t, w.store, &planted)

		_, err := keyring.NewManager(w.keyring(t, nil)).Shred(ctx, "acme")
		if !errors.Is(err, keyring.ErrNoAccess) {
			t.Errorf("Shred() with a planted keyset of a class without a KEK err = %v, want ErrNoAccess", err)
		}
		for _, p := range []keyring.Purpose{keyring.PurposeData, keyring.PurposeIndex} {
			id := keyring.KeysetID{Scope: "acme", Class: "pii", Purpose: p}
			if _, tomb := keyringState(t, w.get(t, id)); !tomb {
				t.Errorf("after Shred() %v is still a live keyset, want a tombstone", id)
			}
		}
		w.clock.Advance(2 * time.Minute)
		stillShredded(t, w.keyring(t, nil), "pii", ct, "a fresh process after the shred")
	})
}
