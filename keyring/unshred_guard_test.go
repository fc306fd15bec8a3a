package keyring_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fieldcrypt/fieldcrypt/internal/teststores"
	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// lagAnchor is a MemoryAnchor that records shred marks but, while lag is
// set, fails to record keyset versions: the "anchor lagging" state a shred
// leaves when the anchor database drops out after the scope was marked, or
// when the shredding process is killed between writing a tombstone and
// advancing the anchor.
type lagAnchor struct {
	keyring.MemoryAnchor
	lag atomic.Bool
}

func (a *lagAnchor) Advance(ctx context.Context, id keyring.KeysetID, v uint64) error {
	if a.lag.Load() && (id.Purpose == keyring.PurposeData || id.Purpose == keyring.PurposeIndex) {
		return errors.New("anchor database unreachable")
	}
	return a.MemoryAnchor.Advance(ctx, id, v)
}

// shreddedData encrypts a value under acme's pii data keyset, as the
// tenant's data was before its shred.
func shreddedData(t *testing.T, kr *keyring.Keyring) []byte {
	t.Helper()
	dk, err := kr.DataKeys(context.Background(), "acme", "pii")
	if err != nil {
		t.Fatal(err)
	}
	ct, err := dk.Encrypt([]byte("secret"), []byte("ad"))
	if err != nil {
		t.Fatal(err)
	}
	return ct
}

// stillShredded fails t if kr serves a keyset of acme/class under which
// ct, a value of the shredded tenant, decrypts.
func stillShredded(t *testing.T, kr *keyring.Keyring, class string, ct []byte, who string) {
	t.Helper()
	dk, err := kr.ExistingDataKeys(context.Background(), "acme", class)
	if err != nil {
		return // refused: the tenant's old data stays unreadable
	}
	if pt, err := dk.Decrypt(ct, []byte("ad")); err == nil {
		t.Errorf("%s: the shredded tenant's %s data decrypts again (%d bytes): its old keyset came back", who, class, len(pt))
	}
}

// TestUnshredDoesNotReviveKeysetPutBackWhileMarked plays a store writer
// against a shred whose tombstone versions the anchor missed (its writes
// failed after it marked the scope: "anchor lagging"). The writer puts the
// pre-shred keyset back over its tombstone. Loads refuse it while the
// anchor marks the scope shredded; the tenant is later brought back with
// Unshred, which must give that keyset new keys like every tombstone, not
// leave it in place and clear the mark that was refusing it.
func TestUnshredDoesNotReviveKeysetPutBackWhileMarked(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *storeWorld) {
		ctx := context.Background()
		anchor := &lagAnchor{}
		w.anchor = anchor
		admin := w.keyring(t, nil)
		if err := keyring.NewManager(admin).CreateKeysets(ctx, "acme", "pii"); err != nil {
			t.Fatal(err)
		}
		ct := shreddedData(t, admin)
		preShred := w.get(t, dataID("acme", "pii"))

		anchor.lag.Store(true)
		if _, err := keyring.NewManager(w.keyring(t, nil)).Shred(ctx, "acme"); err != nil {
			t.Fatalf("Shred() err = %v", err)
		}
		anchor.lag.Store(false)
		if !strings.Contains(w.logs.String(), `"event":"anchor lagging"`) {
			t.Fatal("the shred did not leave the anchor lagging, so this test shows nothing")
		}

		teststores.Overwrite(t, w.store, preShred) // the attacker
		stillShredded(t, w.keyring(t, nil), "pii", ct, "a fresh process before Unshred")

		if _, err := keyring.NewManager(w.keyring(t, nil)).Unshred(ctx, "acme"); err != nil {
			t.Fatalf("Unshred() err = %v", err)
		}
		w.clock.Advance(2 * time.Minute)
		stillShredded(t, w.keyring(t, nil), "pii", ct, "a fresh process after Unshred")
		if _, err := w.keyring(t, nil).DataKeys(ctx, "acme", "pii"); err != nil {
			t.Errorf("DataKeys after Unshred err = %v, want new keys", err)
		}
	})
}

// TestUnshredRefusesWhileSeenKeysetIsMissing plays a store writer who
// hides a tenant's support keysets from a shred run by a process without
// the support KEK (so they get no tombstone: the anchor recorded them,
// and its mark refuses them), keeps them hidden while an administrator
// runs Unshred, and puts them back afterwards at the version the anchor
// holds. Unshred must not clear the mark while a keyset the anchor lists
// is missing from the store.
func TestUnshredRefusesWhileSeenKeysetIsMissing(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *storeWorld) {
		ctx := context.Background()
		w.anchor = teststores.SQLiteAnchor(t)
		_, ct := supportTicket(t, w)
		hidden := []*keyring.Record{w.get(t, dataID("acme", "support")),
			w.get(t, keyring.KeysetID{Scope: "acme", Class: "support", Purpose: keyring.PurposeIndex})}
		w.deleteRecords(t, hidden)

		piiOnly := w.keyring(t, func(c *keyring.Config) { c.KEKs, c.AcceptKEKs = map[string]string{"pii": w.pii}, nil })
		if n, err := keyring.NewManager(piiOnly).Shred(ctx, "acme"); err != nil || n != 2 {
			t.Fatalf("Shred() by a process without the support KEK = %d, %v; want the two pii keysets", n, err)
		}

		_, err := keyring.NewManager(w.keyring(t, nil)).Unshred(ctx, "acme")
		if err == nil {
			t.Errorf("Unshred() while the anchor's support keysets are missing err = nil, want an error")
		} else if !errors.Is(err, keyring.ErrRollback) {
			t.Errorf("Unshred() while the anchor's support keysets are missing err = %v, want ErrRollback", err)
		}
		w.putRecords(t, hidden) // the attacker
		w.clock.Advance(2 * time.Minute)
		stillShredded(t, w.keyring(t, nil), "support", ct, "a fresh process after Unshred")

		// The way out the error names: shred again with every KEK, then
		// Unshred; the support keysets get new keys.
		full := keyring.NewManager(w.keyring(t, nil))
		if _, err := full.Shred(ctx, "acme"); err != nil {
			t.Fatalf("Shred() again with every KEK err = %v", err)
		}
		if n, err := full.Unshred(ctx, "acme"); err != nil || n != 4 {
			t.Fatalf("Unshred() after the second shred = %d, %v; want 4 keysets", n, err)
		}
		w.clock.Advance(2 * time.Minute)
		stillShredded(t, w.keyring(t, nil), "support", ct, "a fresh process after the second Unshred")
		if _, err := w.keyring(t, nil).DataKeys(ctx, "acme", "support"); err != nil {
			t.Errorf("DataKeys(support) after the second Unshred err = %v, want new keys", err)
		}
	})
}
