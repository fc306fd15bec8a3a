package keyring_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	tinkpb "github.com/tink-crypto/tink-go/v2/proto/tink_go_proto"
	"google.golang.org/protobuf/proto"

	"github.com/fieldcrypt/fieldcrypt/internal/teststores"
	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/local"
)

// The tests in this file play an attacker who can write the keyset store
// (a DBA, a leaked migration credential, anyone with write access to the
// CRM database that holds it) against each real store: a directory,
// SQLite and PostgreSQL. Every attack must fail closed with a typed error.

// storeWorld is a keyset store with the KEKs of a CRM deployment: pii and
// support, and the support KEK being replaced (oldSupport, accepted for
// the support class only during the move).
type storeWorld struct {
	store                       keyring.Store
	opener                      *kms.Opener
	pii, support, oldSupport    string // KEK URIs
	stranger                    string // a KEK nobody configured
	logs                        *bytes.Buffer
	clock                       *clock
	anchor                      keyring.Anchor // nil: none
	autoCreateOff, acceptForAll bool
}

func newStoreWorld(t *testing.T, store keyring.Store) *storeWorld {
	t.Helper()
	dir := t.TempDir()
	w := &storeWorld{store: store, opener: kms.NewOpener(), logs: new(bytes.Buffer),
		clock: &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}}
	w.opener.Register(local.Scheme, local.OpenFunc(nil))
	for _, p := range []struct {
		uri  *string
		name string
	}{{&w.pii, "pii"}, {&w.support, "support"}, {&w.oldSupport, "support-old"}, {&w.stranger, "stranger"}} {
		uri, err := local.CreateInsecureKeyFile(filepath.Join(dir, p.name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		*p.uri = uri
	}
	return w
}

// keyring returns a new process's keyring on the world's store, configured
// as the security team configures it during the support KEK move.
func (w *storeWorld) keyring(t *testing.T, mod func(*keyring.Config)) *keyring.Keyring {
	t.Helper()
	cfg := keyring.Config{
		Store:      w.store,
		Opener:     w.opener,
		KEKs:       map[string]string{"pii": w.pii, "support": w.support},
		AcceptKEKs: map[string][]string{"support": {w.oldSupport}},
		Anchor:     w.anchor,
		CacheTTL:   time.Minute, StalePeriod: -1, RetryBackoff: time.Nanosecond,
		Logger: slog.New(slog.NewJSONHandler(w.logs, nil)),
	}
	if mod != nil {
		mod(&cfg)
	}
	kr, err := keyring.NewWithClock(cfg, w.clock.Now)
	if err != nil {
		t.Fatalf("keyring.New() err = %v", err)
	}
	t.Cleanup(func() { kr.Close() })
	return kr
}

// forge makes a keyset for id on a scratch store with a keyring that wraps
// class's keysets under kekURI, and returns its record: what an attacker
// holding that KEK can write.
func (w *storeWorld) forge(t *testing.T, id keyring.KeysetID, kekURI string) *keyring.Record {
	t.Helper()
	scratch := keyring.NewMemoryStore()
	kr, err := keyring.New(keyring.Config{Store: scratch, Opener: w.opener, KEKs: map[string]string{id.Class: kekURI}})
	if err != nil {
		t.Fatal(err)
	}
	defer kr.Close()
	if err := keyring.NewManager(kr).CreateKeysets(context.Background(), id.Scope, id.Class); err != nil {
		t.Fatalf("attacker: CreateKeysets() err = %v", err)
	}
	rec, err := scratch.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func (w *storeWorld) get(t *testing.T, id keyring.KeysetID) *keyring.Record {
	t.Helper()
	rec, err := w.store.Get(context.Background(), id)
	if err != nil {
		t.Fatalf("store.Get(%v) err = %v", id, err)
	}
	return rec
}

// deleteRecords deletes recs from the store, as a store writer can.
func (w *storeWorld) deleteRecords(t *testing.T, recs []*keyring.Record) {
	t.Helper()
	for _, r := range recs {
		if err := w.store.Delete(context.Background(), r.ID); err != nil {
			t.Fatalf("attacker: Delete(%v) err = %v", r.ID, err)
		}
	}
}

// putRecords writes recs back into the store as they were.
func (w *storeWorld) putRecords(t *testing.T, recs []*keyring.Record) {
	t.Helper()
	for _, r := range recs {
		teststores.Overwrite(t, w.store, r)
	}
}

func forEachStore(t *testing.T, test func(t *testing.T, w *storeWorld)) {
	for _, kind := range teststores.Kinds() {
		t.Run(kind.Name, func(t *testing.T) { test(t, newStoreWorld(t, kind.New(t))) })
	}
}

func dataID(scope, class string) keyring.KeysetID {
	return keyring.KeysetID{Scope: scope, Class: class, Purpose: keyring.PurposeData}
}

// TestAttackPlantUnderAcceptedKEKOfAnotherClass is finding 1: during the
// support KEK move, an insider who holds only the old support KEK writes a
// pii keyset wrapped by it for a tenant that has none yet. The keyring
// must refuse it on every path, and Rewrap must not make it permanent.
func TestAttackPlantUnderAcceptedKEKOfAnotherClass(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *storeWorld) {
		ctx := context.Background()
		admin := w.keyring(t, nil)
		m := keyring.NewManager(admin)

		// Control: the old support KEK is accepted for support keysets.
		supportID := dataID("acme", "support")
		teststores.Overwrite(t, w.store, w.forge(t, supportID, w.oldSupport))
		if _, err := admin.DataKeys(ctx, "acme", "support"); err != nil {
			t.Fatalf("DataKeys(support keyset under the accepted old support KEK) err = %v, want it accepted", err)
		}

		// A keyset under a KEK nobody configured is refused as well.
		teststores.Overwrite(t, w.store, w.forge(t, dataID("strangeco", "pii"), w.stranger))
		if _, err := admin.DataKeys(ctx, "strangeco", "pii"); !errors.Is(err, keyring.ErrKEKNotAllowed) {
			t.Errorf("DataKeys(keyset under an unconfigured KEK) err = %v, want ErrKEKNotAllowed", err)
		}
		if err := w.store.Delete(ctx, dataID("strangeco", "pii")); err != nil {
			t.Fatal(err)
		}

		plantID := dataID("newco", "pii")
		plant := w.forge(t, plantID, w.oldSupport)
		teststores.Overwrite(t, w.store, plant)

		if _, err := admin.DataKeys(ctx, "newco", "pii"); !errors.Is(err, keyring.ErrKEKNotAllowed) {
			t.Errorf("DataKeys(planted pii keyset) err = %v, want ErrKEKNotAllowed", err)
		}
		if _, err := m.Keys(ctx, plantID); !errors.Is(err, keyring.ErrKEKNotAllowed) {
			t.Errorf("Keys(planted) err = %v, want ErrKEKNotAllowed", err)
		}
		if err := m.CreateKeysets(ctx, "newco", "pii"); !errors.Is(err, keyring.ErrKEKNotAllowed) {
			t.Errorf("CreateKeysets(scope with a planted keyset) err = %v, want ErrKEKNotAllowed, not success", err)
		}
		if _, err := m.AddKey(ctx, plantID); !errors.Is(err, keyring.ErrKEKMismatch) && !errors.Is(err, keyring.ErrKEKNotAllowed) {
			t.Errorf("AddKey(planted) err = %v, want a refusal", err)
		}
		if _, err := m.Rewrap(ctx, "newco"); !errors.Is(err, keyring.ErrKEKNotAllowed) {
			t.Errorf("Rewrap(newco) err = %v, want ErrKEKNotAllowed", err)
		}
		if got := w.get(t, plantID); got.KEKURI != w.oldSupport || !bytes.Equal(got.EncryptedKeyset, plant.EncryptedKeyset) {
			t.Errorf("after Rewrap the planted keyset is wrapped by %s, want it left as planted (%s)", got.KEKURI, w.oldSupport)
		}
		var export bytes.Buffer
		if _, err := m.Export(ctx, &export, ""); !errors.Is(err, keyring.ErrKEKNotAllowed) {
			t.Errorf("Export() err = %v, want ErrKEKNotAllowed", err)
		}
		if export.Len() != 0 {
			t.Errorf("Export() wrote %d bytes, want nothing when a keyset is refused", export.Len())
		}

		// Import into a fresh store: the plant is refused, nothing written.
		withPlant := exportOf(t, w, plant)
		fresh := keyring.NewMemoryStore()
		importer := w.keyring(t, func(c *keyring.Config) { c.Store = fresh })
		if _, err := keyring.NewManager(importer).Import(ctx, bytes.NewReader(withPlant), keyring.ImportOptions{}); !errors.Is(err, keyring.ErrKEKNotAllowed) {
			t.Errorf("Import(export with the plant) err = %v, want ErrKEKNotAllowed", err)
		}
		if recs, _ := fresh.List(ctx, ""); len(recs) != 0 {
			t.Errorf("Import of a refused export stored %d keysets, want 0", len(recs))
		}
	})
}

// exportOf returns an export document holding rec, as the keyring that
// created it would export it.
func exportOf(t *testing.T, w *storeWorld, rec *keyring.Record) []byte {
	t.Helper()
	scratch := keyring.NewMemoryStore()
	c := *rec
	if err := scratch.Create(context.Background(), &c); err != nil {
		t.Fatal(err)
	}
	kr, err := keyring.New(keyring.Config{Store: scratch, Opener: w.opener, KEKs: map[string]string{rec.ID.Class: rec.KEKURI}})
	if err != nil {
		t.Fatal(err)
	}
	defer kr.Close()
	var buf bytes.Buffer
	if _, err := keyring.NewManager(kr).Export(context.Background(), &buf, ""); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestAttackRollback is finding 2: after a data key leaked, the security
// team rotates and destroys the old key; the attacker puts back the keyset
// row from before. A keyring that saw the newer version refuses it; a
// freshly started one refuses it when it has an anchor (and, as
// docs/SECURITY.md says, cannot tell without one).
func TestAttackRollback(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *storeWorld) {
		ctx := context.Background()
		w.anchor = teststores.SQLiteAnchor(t) // a database apart from the store
		admin := w.keyring(t, nil)
		m := keyring.NewManager(admin)
		id := dataID("acme", "pii")
		old, err := admin.DataKeys(ctx, "acme", "pii")
		if err != nil {
			t.Fatal(err)
		}
		leaked := old.PrimaryID()
		before := w.get(t, id) // the attacker's copy

		newID, err := m.AddKey(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.PromoteKey(ctx, id, newID); err != nil {
			t.Fatal(err)
		}
		if err := m.DestroyKey(ctx, id, leaked); err != nil {
			t.Fatal(err)
		}

		teststores.Overwrite(t, w.store, before)

		// In process: the admin keyring saw version 4.
		if _, err := m.Keys(ctx, id); !errors.Is(err, keyring.ErrRollback) {
			t.Errorf("Keys(rolled back) in the same process err = %v, want ErrRollback", err)
		}
		w.clock.Advance(2 * time.Minute) // past the cache TTL
		_, err = admin.DataKeys(ctx, "acme", "pii")
		if !errors.Is(err, keyring.ErrRollback) {
			t.Errorf("DataKeys(rolled back) in the same process err = %v, want ErrRollback", err)
		}
		if err != nil && !strings.Contains(err.Error(), "acme/pii/data") {
			t.Errorf("rollback error %q does not name the keyset", err)
		}

		// Across a restart, with the anchor.
		restarted := w.keyring(t, nil)
		if _, err := restarted.DataKeys(ctx, "acme", "pii"); !errors.Is(err, keyring.ErrRollback) {
			t.Errorf("DataKeys(rolled back) after a restart with the anchor err = %v, want ErrRollback", err)
		}
		if _, err := keyring.NewManager(restarted).AddKey(ctx, id); !errors.Is(err, keyring.ErrRollback) {
			t.Errorf("AddKey(rolled back) err = %v, want ErrRollback", err)
		}

		// Without an anchor a fresh process cannot tell: the documented
		// limit (docs/SECURITY.md), checked so that the table stays true.
		noAnchor := w.keyring(t, func(c *keyring.Config) { c.Anchor = nil })
		dk, err := noAnchor.DataKeys(ctx, "acme", "pii")
		if err != nil || dk.PrimaryID() != leaked {
			t.Errorf("without an anchor a fresh process loaded (%v, %v); the documented limit says it accepts the old keyset", dk, err)
		}

		// Deleting the row instead is caught the same way.
		if err := w.store.Delete(ctx, id); err != nil {
			t.Fatal(err)
		}
		again := w.keyring(t, nil)
		if _, err := again.DataKeys(ctx, "acme", "pii"); !errors.Is(err, keyring.ErrRollback) {
			t.Errorf("DataKeys(deleted keyset) with the anchor err = %v, want ErrRollback (and no new keyset)", err)
		}
		if _, err := w.store.Get(ctx, id); !errors.Is(err, keyring.ErrKeysetNotFound) {
			t.Errorf("after a refused load the store holds a keyset (err = %v), want none created", err)
		}
	})
}

// TestAttackRollbackAnchorInPostgres runs the restart check with the anchor
// in PostgreSQL and the store in SQLite: two databases, as deployed.
func TestAttackRollbackAnchorInPostgres(t *testing.T) {
	ctx := context.Background()
	w := newStoreWorld(t, teststores.SQLite(t))
	w.anchor = teststores.PostgresAnchor(t)
	admin := w.keyring(t, nil)
	m := keyring.NewManager(admin)
	id := dataID("acme", "pii")
	if err := m.CreateKeysets(ctx, "acme", "pii"); err != nil {
		t.Fatal(err)
	}
	before := w.get(t, id)
	if _, err := m.AddKey(ctx, id); err != nil {
		t.Fatal(err)
	}
	teststores.Overwrite(t, w.store, before)
	if _, err := w.keyring(t, nil).DataKeys(ctx, "acme", "pii"); !errors.Is(err, keyring.ErrRollback) {
		t.Errorf("DataKeys(rolled back) after a restart, anchor in PostgreSQL: err = %v, want ErrRollback", err)
	}
}

// TestAttackSteerKeys is finding 3: the attacker edits what the store
// holds in clear so that Keys (behind `keys list`, `status` and
// `promote --newest`) would show the real primary disabled, another key
// primary, a key twice, or a destroyed key alive. Keys must read only what
// the KEK authenticates: the cleartext keyset info is ignored, and any
// edit of the state document is an integrity error.
func TestAttackSteerKeys(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *storeWorld) {
		ctx := context.Background()
		admin := w.keyring(t, nil)
		m := keyring.NewManager(admin)
		id := dataID("acme", "pii")
		if err := m.CreateKeysets(ctx, "acme", "pii"); err != nil {
			t.Fatal(err)
		}
		newer, err := m.AddKey(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		third, err := m.AddKey(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.DisableKey(ctx, id, third); err != nil {
			t.Fatal(err)
		}
		want, err := m.Keys(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		orig := w.get(t, id)

		// Edit the cleartext KeysetInfo: primary shown as the disabled
		// key, the real primary disabled, a key listed twice.
		var eks tinkpb.EncryptedKeyset
		if err := proto.Unmarshal(orig.EncryptedKeyset, &eks); err != nil {
			t.Fatal(err)
		}
		info := eks.GetKeysetInfo()
		realPrimary := info.GetPrimaryKeyId()
		info.PrimaryKeyId = third
		for _, ki := range info.GetKeyInfo() {
			switch ki.GetKeyId() {
			case realPrimary:
				ki.Status = tinkpb.KeyStatusType_DISABLED
			case third:
				ki.Status = tinkpb.KeyStatusType_ENABLED
			}
		}
		info.KeyInfo = append(info.KeyInfo, info.KeyInfo[0])
		steered := *orig
		steered.EncryptedKeyset, err = proto.Marshal(&eks)
		if err != nil {
			t.Fatal(err)
		}
		teststores.Overwrite(t, w.store, &steered)
		got, err := keyring.NewManager(w.keyring(t, nil)).Keys(ctx, id)
		if err != nil {
			t.Fatalf("Keys() after editing the cleartext keyset info err = %v, want the authenticated list", err)
		}
		if !slices.EqualFunc(got, want, sameKey) {
			t.Errorf("Keys() after editing the cleartext keyset info = %+v, want the authenticated %+v", got, want)
		}
		if n := newestEnabled(got); n != newer {
			t.Errorf("the newest enabled key (what promote --newest picks) = %d, want %d", n, newer)
		}

		// Edit the state document: each edit must fail closed.
		edits := map[string]func(string) string{
			"destroyed key made alive": func(s string) string { return strings.Replace(s, `"version":`, `"destroyed":[],"version":`, 1) },
			"version raised":           func(s string) string { return strings.Replace(s, `"version":4`, `"version":99`, 1) },
			"creation time moved":      func(s string) string { return strings.Replace(s, "2026-01-01", "2020-01-01", 1) },
			"tombstone forged": func(s string) string {
				return strings.Replace(s, `"version":4`, `"version":4,"shredded_at":"2026-01-01T00:00:00Z"`, 1)
			},
			"state removed":       func(string) string { return "" },
			"unknown field added": func(s string) string { return strings.Replace(s, `{`, `{"primary":1,`, 1) },
		}
		for name, edit := range edits {
			t.Run(name, func(t *testing.T) {
				tampered := *orig
				tampered.Metadata = []byte(edit(string(orig.Metadata)))
				if bytes.Equal(tampered.Metadata, orig.Metadata) {
					t.Fatalf("edit %q changed nothing in %s", name, orig.Metadata)
				}
				teststores.Overwrite(t, w.store, &tampered)
				fresh := w.keyring(t, nil)
				if _, err := keyring.NewManager(fresh).Keys(ctx, id); !errors.Is(err, keyring.ErrIntegrity) {
					t.Errorf("Keys() after %s err = %v, want ErrIntegrity", name, err)
				}
				if _, err := fresh.DataKeys(ctx, "acme", "pii"); !errors.Is(err, keyring.ErrIntegrity) {
					t.Errorf("DataKeys() after %s err = %v, want ErrIntegrity", name, err)
				}
			})
		}

		// A state document moved from another keyset, with its own valid
		// format, does not fit this keyset's wrap either.
		other := dataID("globex", "pii")
		if err := m.CreateKeysets(ctx, "globex", "pii"); err != nil {
			t.Fatal(err)
		}
		moved := *orig
		moved.Metadata = w.get(t, other).Metadata
		teststores.Overwrite(t, w.store, &moved)
		if _, err := keyring.NewManager(w.keyring(t, nil)).Keys(ctx, id); !errors.Is(err, keyring.ErrIntegrity) {
			t.Errorf("Keys() with another keyset's state err = %v, want ErrIntegrity", err)
		}
	})
}

func sameKey(a, b keyring.KeyInfo) bool {
	return a.ID == b.ID && a.Status == b.Status && a.Primary == b.Primary && a.Created.Equal(b.Created)
}

func newestEnabled(keys []keyring.KeyInfo) uint32 {
	var id uint32
	var at time.Time
	for _, k := range keys {
		if k.Status == keyring.KeyEnabled && !k.Primary && !k.Created.Before(at) {
			id, at = k.ID, k.Created
		}
	}
	return id
}

// TestAttackResurrectShredded is finding 4 at the keyring level: a shred
// leaves authenticated tombstones; reads and writes of the scope fail
// with ErrScopeShredded and create nothing; deleting the tombstones is a
// rollback (in process, and across restarts with an anchor); a forged
// tombstone does not authenticate; only Unshred brings the scope back, with
// new keys.
func TestAttackResurrectShredded(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *storeWorld) {
		ctx := context.Background()
		w.anchor = teststores.SQLiteAnchor(t)
		admin := w.keyring(t, nil)
		adminMgr := keyring.NewManager(admin)
		if err := adminMgr.CreateKeysets(ctx, "acme", "pii", "support"); err != nil {
			t.Fatal(err)
		}
		old, err := admin.DataKeys(ctx, "acme", "pii")
		if err != nil {
			t.Fatal(err)
		}
		preShred := w.get(t, dataID("acme", "pii")) // a backup of the store
		n, err := adminMgr.Shred(ctx, "acme")
		if err != nil || n != 4 {
			t.Fatalf("Shred(acme) = %d, %v; want 4 keysets", n, err)
		}
		tombs, _ := w.store.List(ctx, "acme")
		if len(tombs) != 4 {
			t.Fatalf("after Shred the store holds %d records of acme, want 4 tombstones", len(tombs))
		}
		// The app holds a KEK for billing too, a class acme never used:
		// without one, billing would be ErrNoAccess before the store is
		// read (TestNoAccessWithoutKEKWhateverTheScope).
		app := w.keyring(t, func(c *keyring.Config) { c.KEKs["billing"] = w.pii })
		appMgr := keyring.NewManager(app)
		for _, call := range []struct {
			name string
			do   func() error
		}{
			{"DataKeys", func() error { _, err := app.DataKeys(ctx, "acme", "pii"); return err }},
			{"IndexKeys", func() error { _, err := app.IndexKeys(ctx, "acme", "pii"); return err }},
			{"ExistingIndexKeys", func() error { _, err := app.ExistingIndexKeys(ctx, "acme", "support"); return err }},
			{"DataKeys of a class never used", func() error { _, err := app.DataKeys(ctx, "acme", "billing"); return err }},
			{"CreateKeysets", func() error { return appMgr.CreateKeysets(ctx, "acme", "marketing") }},
			{"AddKey", func() error { _, err := appMgr.AddKey(ctx, dataID("acme", "pii")); return err }},
			{"Keys", func() error { _, err := appMgr.Keys(ctx, dataID("acme", "pii")); return err }},
		} {
			if err := call.do(); !errors.Is(err, keyring.ErrScopeShredded) {
				t.Errorf("%s(shredded scope) err = %v, want ErrScopeShredded", call.name, err)
			}
		}
		if recs, _ := w.store.List(ctx, "acme"); !sameRecordSet(recs, tombs) {
			t.Errorf("calls on a shredded scope changed its records: %d now, want the %d tombstones unchanged", len(recs), len(tombs))
		}

		// The attacker deletes the tombstones.
		w.deleteRecords(t, tombs)
		if _, err := app.DataKeys(ctx, "acme", "pii"); !errors.Is(err, keyring.ErrRollback) && !errors.Is(err, keyring.ErrScopeShredded) {
			t.Errorf("DataKeys after deleting the tombstones, same process: err = %v, want ErrRollback or ErrScopeShredded", err)
		}
		if _, err := w.keyring(t, nil).DataKeys(ctx, "acme", "pii"); !errors.Is(err, keyring.ErrRollback) {
			t.Errorf("DataKeys after deleting the tombstones, restarted with the anchor: err = %v, want ErrRollback", err)
		}
		if recs, _ := w.store.List(ctx, "acme"); len(recs) != 0 {
			t.Errorf("after deleting the tombstones, loads created %d keysets, want 0", len(recs))
		}

		// The attacker restores the pre-shred keyset from a backup instead.
		teststores.Overwrite(t, w.store, preShred)
		w.clock.Advance(time.Second) // past the remembered failure
		if _, err := app.DataKeys(ctx, "acme", "pii"); !errors.Is(err, keyring.ErrRollback) {
			t.Errorf("DataKeys after restoring the pre-shred keyset, same process: err = %v, want ErrRollback", err)
		}
		if _, err := w.keyring(t, nil).DataKeys(ctx, "acme", "pii"); !errors.Is(err, keyring.ErrRollback) {
			t.Errorf("DataKeys after restoring the pre-shred keyset, restarted with the anchor: err = %v, want ErrRollback", err)
		}

		// Restore the tombstones, then forge one for a scope never shredded:
		// it does not authenticate, so the scope fails closed.
		w.putRecords(t, tombs)
		victim := dataID("globex", "pii")
		if _, err := admin.DataKeys(ctx, "globex", "pii"); err != nil {
			t.Fatal(err)
		}
		forged := w.get(t, victim)
		forged.Metadata = []byte(`{"format":"fieldcrypt-keyset-state-v2","version":2,"shredded_at":"2026-01-01T00:00:00Z"}`)
		teststores.Overwrite(t, w.store, forged)
		if _, err := w.keyring(t, nil).DataKeys(ctx, "globex", "pii"); !errors.Is(err, keyring.ErrIntegrity) {
			t.Errorf("DataKeys(forged tombstone) err = %v, want ErrIntegrity", err)
		}

		// Only Unshred brings acme back, with new keys.
		restored, err := adminMgr.Unshred(ctx, "acme")
		if err != nil || restored != 4 {
			t.Fatalf("Unshred(acme) = %d, %v; want 4 keysets", restored, err)
		}
		dk, err := w.keyring(t, nil).DataKeys(ctx, "acme", "pii")
		if err != nil {
			t.Fatalf("DataKeys after Unshred err = %v", err)
		}
		if dk.PrimaryID() == old.PrimaryID() || dk.Status(old.PrimaryID()) != keyring.KeyUnknown {
			t.Errorf("after Unshred the keyset holds the shredded key %d, want only new keys", old.PrimaryID())
		}
		if !strings.Contains(w.logs.String(), `"event":"keyset unshredded"`) {
			t.Errorf("Unshred left no audit event")
		}
	})
}

func sameRecordSet(a, b []*keyring.Record) bool {
	return slices.EqualFunc(a, b, func(x, y *keyring.Record) bool {
		return x.ID == y.ID && x.Version == y.Version && bytes.Equal(x.Metadata, y.Metadata) && bytes.Equal(x.EncryptedKeyset, y.EncryptedKeyset)
	})
}

// TestReadsCreateNothing: lookups on made-up tenants (what an
// unauthenticated search endpoint does) create no keyset, write nothing
// and call no KMS.
func TestReadsCreateNothing(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *storeWorld) {
		ctx := context.Background()
		app := w.keyring(t, nil)
		before := app.Stats().KMSCalls
		for i := range 30 {
			scope := "made-up-" + strings.Repeat("x", i%5) + string(rune('a'+i))
			if _, err := app.ExistingIndexKeys(ctx, scope, "pii"); !errors.Is(err, keyring.ErrKeysetNotFound) {
				t.Fatalf("ExistingIndexKeys(%s) err = %v, want ErrKeysetNotFound", scope, err)
			}
			if _, err := app.ExistingDataKeys(ctx, scope, "pii"); !errors.Is(err, keyring.ErrKeysetNotFound) {
				t.Fatalf("ExistingDataKeys(%s) err = %v, want ErrKeysetNotFound", scope, err)
			}
		}
		if recs, _ := w.store.List(ctx, ""); len(recs) != 0 {
			t.Errorf("30 lookups created %d keysets, want 0", len(recs))
		}
		if calls := app.Stats().KMSCalls - before; calls != 0 {
			t.Errorf("30 lookups made %d KMS calls, want 0", calls)
		}
	})
}

// TestAttackKEKMismatch is finding 5 at the keyring level: a keyring whose
// pii KEK is mistyped as the support KEK must not re-wrap pii keysets
// under it on add, promote, disable, enable or destroy; it refuses with
// ErrKEKMismatch, names both KEKs, leaves the record as it was, and the
// failed operation's audit event names from_kek and to_kek.
func TestAttackKEKMismatch(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *storeWorld) {
		ctx := context.Background()
		admin := w.keyring(t, nil)
		adminMgr := keyring.NewManager(admin)
		id := dataID("t1", "pii")
		if err := adminMgr.CreateKeysets(ctx, "t1", "pii"); err != nil {
			t.Fatal(err)
		}
		second, err := adminMgr.AddKey(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		orig := w.get(t, id)
		typo := w.keyring(t, func(c *keyring.Config) {
			c.KEKs = map[string]string{"pii": w.support, "support": w.support}
			c.AcceptKEKs = map[string][]string{"pii": {w.pii}} // as during a move
		})
		typoMgr := keyring.NewManager(typo)
		w.logs.Reset()
		ops := map[string]func() error{
			"add":     func() error { _, err := typoMgr.AddKey(ctx, id); return err },
			"promote": func() error { return typoMgr.PromoteKey(ctx, id, second) },
			"disable": func() error { return typoMgr.DisableKey(ctx, id, second) },
			"enable":  func() error { return typoMgr.EnableKey(ctx, id, second) },
			"destroy": func() error { return typoMgr.DestroyKey(ctx, id, second) },
		}
		for name, op := range ops {
			err := op()
			if !errors.Is(err, keyring.ErrKEKMismatch) {
				t.Errorf("%s under a mistyped KEK err = %v, want ErrKEKMismatch", name, err)
				continue
			}
			if msg := err.Error(); !strings.Contains(msg, w.pii) || !strings.Contains(msg, w.support) || !strings.Contains(msg, "keys rewrap") {
				t.Errorf("%s error %q does not name both KEKs and `keys rewrap`", name, msg)
			}
		}
		if got := w.get(t, id); got.KEKURI != w.pii || got.Version != orig.Version || !bytes.Equal(got.EncryptedKeyset, orig.EncryptedKeyset) {
			t.Errorf("after refused operations the keyset is wrapped by %s at store version %d, want %s at %d, unchanged", got.KEKURI, got.Version, w.pii, orig.Version)
		}
		logs := w.logs.String()
		if !strings.Contains(logs, `"from_kek":"`+w.pii) || !strings.Contains(logs, `"to_kek":"`+w.support) {
			t.Errorf("audit events of the refused operations lack from_kek and to_kek:\n%s", logs)
		}
		// Rewrap is the one way to move it, and it says so.
		w.logs.Reset()
		if _, err := typoMgr.Rewrap(ctx, "t1"); err != nil {
			t.Fatalf("Rewrap() err = %v", err)
		}
		if got := w.get(t, id); got.KEKURI != w.support {
			t.Errorf("after Rewrap the keyset is wrapped by %s, want %s", got.KEKURI, w.support)
		}
		if logs := w.logs.String(); !strings.Contains(logs, `"from_kek":"`+w.pii) || !strings.Contains(logs, `"to_kek":"`+w.support) {
			t.Errorf("Rewrap's audit event lacks from_kek and to_kek:\n%s", logs)
		}
	})
}

// TestNewChecksKEKURIs: keyring.New opens every KEK it is given, so a
// mistyped scheme or a missing local key file fails at once, naming the
// setting.
func TestNewChecksKEKURIs(t *testing.T) {
	w := newStoreWorld(t, keyring.NewMemoryStore())
	missing := local.URI(filepath.Join(t.TempDir(), "nope.json"))
	tests := []struct {
		name    string
		mod     func(*keyring.Config)
		setting string
	}{
		{"unknown scheme", func(c *keyring.Config) { c.KEKs["pii"] = "hcvalut://transit/keys/pii" }, `KEKs["pii"]`},
		{"missing local file", func(c *keyring.Config) { c.KEKs["support"] = missing }, `KEKs["support"]`},
		{"missing default", func(c *keyring.Config) { c.DefaultKEK = missing }, "DefaultKEK"},
		{"bad accepted", func(c *keyring.Config) { c.AcceptKEKs = map[string][]string{"pii": {"nothing"}} }, `AcceptKEKs["pii"]`},
		{"accepted for a bad class", func(c *keyring.Config) { c.AcceptKEKs = map[string][]string{"a/b": {w.pii}} }, "AcceptKEKs"},
		{"empty", func(c *keyring.Config) { c.KEKs["pii"] = "" }, `KEKs["pii"]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := keyring.Config{Store: w.store, Opener: w.opener, KEKs: map[string]string{"pii": w.pii, "support": w.support}}
			tc.mod(&cfg)
			kr, err := keyring.New(cfg)
			if err == nil {
				kr.Close()
				t.Fatalf("New(%s) err = nil, want an error", tc.name)
			}
			if !strings.Contains(err.Error(), tc.setting) {
				t.Errorf("New(%s) err = %q, want it to name %s", tc.name, err, tc.setting)
			}
		})
	}
}

// TestImportRefusesRollbackAndResurrection: `keys import --overwrite` of a
// backup taken before a rotation or a shred is a rollback by another door.
// Import refuses an older keyset, any keyset of a shredded scope, and
// writes nothing; tombstones survive a KEK move and an export and import.
func TestImportRefusesRollbackAndResurrection(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *storeWorld) {
		ctx := context.Background()
		admin := w.keyring(t, nil)
		m := keyring.NewManager(admin)
		for _, scope := range []string{"acme", "globex"} {
			if err := m.CreateKeysets(ctx, scope, "pii"); err != nil {
				t.Fatal(err)
			}
		}
		var backup bytes.Buffer
		if _, err := m.Export(ctx, &backup, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := m.AddKey(ctx, dataID("globex", "pii")); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Shred(ctx, "acme"); err != nil {
			t.Fatal(err)
		}
		before, _ := w.store.List(ctx, "")

		_, err := m.Import(ctx, bytes.NewReader(backup.Bytes()), keyring.ImportOptions{Overwrite: true})
		if !errors.Is(err, keyring.ErrScopeShredded) && !errors.Is(err, keyring.ErrRollback) {
			t.Errorf("Import(--overwrite, backup from before the shred) err = %v, want ErrScopeShredded or ErrRollback", err)
		}
		if _, err := m.Import(ctx, bytes.NewReader(oldGlobex(t, backup.Bytes())), keyring.ImportOptions{Overwrite: true}); !errors.Is(err, keyring.ErrRollback) {
			t.Errorf("Import(--overwrite, globex from before its rotation) err = %v, want ErrRollback", err)
		}
		if after, _ := w.store.List(ctx, ""); !sameRecordSet(after, before) {
			t.Errorf("refused imports changed the store")
		}

		// A KEK move keeps the tombstones, and they stay authenticated.
		moved := w.keyring(t, func(c *keyring.Config) {
			c.KEKs = map[string]string{"pii": w.stranger}
			c.AcceptKEKs = map[string][]string{"pii": {w.pii}}
		})
		if _, err := keyring.NewManager(moved).Rewrap(ctx, ""); err != nil {
			t.Fatalf("Rewrap() err = %v", err)
		}
		onlyNew := w.keyring(t, func(c *keyring.Config) {
			c.KEKs = map[string]string{"pii": w.stranger}
			c.AcceptKEKs = nil
		})
		if _, err := onlyNew.DataKeys(ctx, "acme", "pii"); !errors.Is(err, keyring.ErrScopeShredded) {
			t.Errorf("after a KEK move, DataKeys(shredded) err = %v, want ErrScopeShredded", err)
		}
	})
}

// oldGlobex returns the export document reduced to its globex keysets.
func oldGlobex(t *testing.T, doc []byte) []byte {
	t.Helper()
	var d map[string]any
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	var kept []any
	for _, k := range d["keysets"].([]any) {
		if k.(map[string]any)["scope"] == "globex" {
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

// TestShredSeenByAnotherProcess: an application instance that has seen a
// tenant's tombstones keeps the tenant shredded even when a store writer
// deletes them (no anchor), and takes the tenant back only after an
// administrator's Unshred.
func TestShredSeenByAnotherProcess(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *storeWorld) {
		ctx := context.Background()
		admin := w.keyring(t, nil)
		m := keyring.NewManager(admin)
		if err := m.CreateKeysets(ctx, "acme", "pii"); err != nil {
			t.Fatal(err)
		}
		app := w.keyring(t, nil)
		if _, err := app.DataKeys(ctx, "acme", "pii"); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Shred(ctx, "acme"); err != nil {
			t.Fatal(err)
		}
		w.clock.Advance(2 * time.Minute) // past the app's cache TTL
		if _, err := app.DataKeys(ctx, "acme", "pii"); !errors.Is(err, keyring.ErrScopeShredded) {
			t.Fatalf("app DataKeys after the shred err = %v, want ErrScopeShredded", err)
		}
		tombs, _ := w.store.List(ctx, "acme")
		w.deleteRecords(t, tombs)
		w.clock.Advance(time.Second)
		if _, err := app.DataKeys(ctx, "acme", "support"); !errors.Is(err, keyring.ErrScopeShredded) {
			t.Errorf("app DataKeys(new class) after the tombstones were deleted err = %v, want ErrScopeShredded", err)
		}
		if recs, _ := w.store.List(ctx, "acme"); len(recs) != 0 {
			t.Errorf("the app created %d keysets for the shredded tenant, want 0", len(recs))
		}
		w.putRecords(t, tombs)
		if _, err := m.Unshred(ctx, "acme"); err != nil {
			t.Fatal(err)
		}
		w.clock.Advance(time.Second)
		if _, err := app.DataKeys(ctx, "acme", "support"); err != nil {
			t.Errorf("app DataKeys(new class) after Unshred err = %v, want the tenant back", err)
		}
	})
}

// TestKeyOperationKMSCalls: authenticating the keyset state adds no KMS
// call to a key operation: each still unwraps once and wraps once, as
// before the state was authenticated. Keys now unwraps (one call), since
// it reads only authenticated state; Shred costs one unwrap and one wrap
// per keyset (the tombstone).
func TestKeyOperationKMSCalls(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	kr := f.keyring(t, nil)
	m := keyring.NewManager(kr)
	id := keyring.KeysetID{Scope: "acme", Class: "pii", Purpose: keyring.PurposeData}
	var newID uint32
	steps := []struct {
		name string
		do   func() error
		want int64
	}{
		{"CreateKeysets (2 keysets)", func() error { return m.CreateKeysets(ctx, "acme", "pii") }, 2},
		{"AddKey", func() (err error) { newID, err = m.AddKey(ctx, id); return err }, 2},
		{"PromoteKey", func() error { return m.PromoteKey(ctx, id, newID) }, 2},
		{"Keys", func() error { _, err := m.Keys(ctx, id); return err }, 1},
		{"Rewrap (2 keysets, no in-place rewrap)", func() error { _, err := m.Rewrap(ctx, "acme"); return err }, 4},
		{"Shred (2 keysets)", func() error { _, err := m.Shred(ctx, "acme"); return err }, 4},
	}
	for _, s := range steps {
		before := kr.Stats().KMSCalls
		if err := s.do(); err != nil {
			t.Fatalf("%s err = %v", s.name, err)
		}
		if got := kr.Stats().KMSCalls - before; got != s.want {
			t.Errorf("%s made %d KMS calls, want %d", s.name, got, s.want)
		}
	}
}
