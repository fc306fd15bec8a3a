package keyring_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	tinkpb "github.com/tink-crypto/tink-go/v2/proto/tink_go_proto"
	"google.golang.org/protobuf/proto"

	"github.com/fieldcrypt/fieldcrypt/internal/teststores"
	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// TestFirstCreationDuringLoadIsNotRollback: no store writer at all. A
// keyset does not exist yet; a load of it reads the store ("not found"),
// and before it checks that against the versions seen, the keyset is
// created the ordinary way: by this process (DataKeys, CreateKeysets) or by
// another instance sharing the anchor. The load then finds "missing, but
// version 1 was seen", which looks like a store writer deleting keysets; it
// must read the store again rather than report ErrRollback.
//
// Both lookups here ran concurrently with the creation, so "not found" (or
// the keyset) is a fair answer for the racing one; ErrRollback is not, and
// neither is a later read, made after the creation returned, failing.
func TestFirstCreationDuringLoadIsNotRollback(t *testing.T) {
	for _, tc := range []struct {
		name   string
		create bool // the racing lookup is DataKeys (creating), not ExistingDataKeys
		other  bool // the creation is another process's, through a shared anchor
		admin  bool // the creation is CreateKeysets, not DataKeys
	}{
		{name: "read, this process creates on first use"},
		{name: "read, this process onboards with CreateKeysets", admin: true},
		{name: "read, another process creates, shared anchor", other: true},
		{name: "two instances create on first use, shared anchor", create: true, other: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t)
			id := dataID("acme", "pii")
			store := &hookStore{Store: f.store, id: id}
			anchor := &keyring.MemoryAnchor{}
			app := f.keyring(t, func(c *keyring.Config) { c.Store = store; c.Anchor = anchor })
			creator := app
			if tc.other {
				creator = f.keyring(t, func(c *keyring.Config) { c.Anchor = anchor })
			}
			var hookErr error
			store.push(func() {
				if tc.admin {
					hookErr = keyring.NewManager(creator).CreateKeysets(ctx, "acme", "pii")
				} else {
					_, hookErr = creator.DataKeys(ctx, "acme", "pii")
				}
			})
			var err error
			if tc.create {
				_, err = app.DataKeys(ctx, "acme", "pii")
			} else {
				_, err = app.ExistingDataKeys(ctx, "acme", "pii")
			}
			if hookErr != nil {
				t.Fatalf("creation: %v", hookErr)
			}
			if errors.Is(err, keyring.ErrRollback) {
				t.Errorf("the lookup that raced with the keyset's first creation: err = %v; "+
					"want the keyset or ErrKeysetNotFound, not the rollback alarm", err)
			}
			// The creation has returned; nobody touched the store but keyrings.
			if _, err := app.ExistingDataKeys(ctx, "acme", "pii"); err != nil {
				t.Errorf("a read after the creation returned: err = %v; want the keyset", err)
			}
		})
	}
}

// hookAnchor is a MemoryAnchor that, once armed, runs a hook inside the
// first Advance of one (keyset, version): between a load's rollback check
// and the rest of it.
type hookAnchor struct {
	keyring.MemoryAnchor
	mu      sync.Mutex
	id      keyring.KeysetID
	version uint64
	hook    func()
}

func (a *hookAnchor) arm(id keyring.KeysetID, version uint64, hook func()) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.id, a.version, a.hook = id, version, hook
}

func (a *hookAnchor) Advance(ctx context.Context, id keyring.KeysetID, v uint64) error {
	a.mu.Lock()
	var h func()
	if a.hook != nil && id == a.id && v == a.version {
		h, a.hook = a.hook, nil
	}
	a.mu.Unlock()
	if h != nil {
		h()
	}
	return a.MemoryAnchor.Advance(ctx, id, v)
}

// TestReadAfterUnshredSeesIt: a load of a shredded scope's keyset has
// authenticated the tombstone when an administrator's Unshred, in this
// process, runs and returns. Unshred drops the scope's cached keysets and
// remembered failures (removeScope); the load, which read the store before
// it, must not remember its ErrScopeShredded for RetryBackoff (cache.fail
// heeds the invalidation, as cache.put does). A read made after Unshred
// has returned must see the scope alive.
func TestReadAfterUnshredSeesIt(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	anchor := &hookAnchor{}
	app := f.keyring(t, func(c *keyring.Config) { c.Anchor = anchor })
	m := keyring.NewManager(app)
	id := dataID("acme", "pii")
	if _, err := app.DataKeys(ctx, "acme", "pii"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Shred(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	var hookErr error
	ran := false
	// The tombstone is version 2: the load's observe advances the anchor
	// to it after the rollback check, before it reports the shred.
	anchor.arm(id, 2, func() { ran = true; _, hookErr = m.Unshred(ctx, "acme") })
	if _, err := app.ExistingDataKeys(ctx, "acme", "pii"); !errors.Is(err, keyring.ErrScopeShredded) && err != nil {
		t.Fatalf("the read racing Unshred: err = %v", err)
	}
	if !ran || hookErr != nil {
		t.Fatalf("Unshred ran %v, err = %v", ran, hookErr)
	}
	// Unshred has returned.
	if _, err := app.ExistingDataKeys(ctx, "acme", "pii"); err != nil {
		t.Errorf("a read after Unshred returned: err = %v; want the new keyset", err)
		f.clock.Advance(3 * time.Second) // past RetryBackoff
		_, err = app.ExistingDataKeys(ctx, "acme", "pii")
		t.Logf("after RetryBackoff: err = %v (a remembered failure, not the store, refused the read)", err)
	}
}

// flipStore answers every Get of one keyset with a fresh variant of one
// record: the same authentic ciphertext and state, with the cleartext,
// unauthenticated KeysetInfo of the wrapped-keyset protobuf changed. It is
// a store writer who put back an old row and keeps rewriting it (a loop of
// UPDATEs): every read sees another record digest.
type flipStore struct {
	keyring.Store
	id   keyring.KeysetID
	rec  *keyring.Record
	n    atomic.Uint32
	gets atomic.Int32
}

func (s *flipStore) Get(ctx context.Context, id keyring.KeysetID) (*keyring.Record, error) {
	if id != s.id || s.rec == nil {
		return s.Store.Get(ctx, id)
	}
	s.gets.Add(1)
	var eks tinkpb.EncryptedKeyset
	if err := proto.Unmarshal(s.rec.EncryptedKeyset, &eks); err != nil {
		return nil, err
	}
	if eks.KeysetInfo == nil {
		eks.KeysetInfo = &tinkpb.KeysetInfo{}
	}
	eks.KeysetInfo.PrimaryKeyId = 1_000_000 + s.n.Add(1)
	b, err := proto.Marshal(&eks)
	if err != nil {
		return nil, err
	}
	c := *s.rec
	c.EncryptedKeyset = b
	return &c, nil
}

// TestFlippingRollbackCostsOneUnwrap: TestRollbackRefusalCostsOneUnwrap
// with a store writer who does not hold the old row still but keeps
// rewriting its unauthenticated KeysetInfo, from one backup row. The
// rewrites must not count as the store moving (which would retry every
// refused load up to four times: a KMS-cost multiplier for any store writer
// with one old row).
func TestFlippingRollbackCostsOneUnwrap(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	anchor := &keyring.MemoryAnchor{}
	id := dataID("acme", "pii")
	old := pastRows(t, f, f.keyring(t, func(c *keyring.Config) { c.Anchor = anchor }), 1)[0]
	teststores.Overwrite(t, f.store, old)
	store := &flipStore{Store: f.store, id: id, rec: old}
	app := f.keyring(t, func(c *keyring.Config) { c.Anchor = anchor; c.Store = store })
	calls := f.kek.calls.Load()
	if _, err := app.ExistingDataKeys(ctx, "acme", "pii"); !errors.Is(err, keyring.ErrRollback) {
		t.Fatalf("ExistingDataKeys() err = %v, want ErrRollback", err)
	}
	got := f.kek.calls.Load() - calls
	s := app.Stats()
	if got > 1 {
		t.Errorf("refusing a rolled-back row its writer keeps rewriting made %d KMS calls and %d store reads "+
			"(Stats: Loads %d, LoadErrors %d), want at most 1 unwrap", got, store.gets.Load(), s.Loads, s.LoadErrors)
	}
	// Every RetryBackoff, per keyset and per process, again.
	f.clock.Advance(3 * time.Second)
	calls = f.kek.calls.Load()
	if _, err := app.ExistingDataKeys(ctx, "acme", "pii"); !errors.Is(err, keyring.ErrRollback) {
		t.Fatalf("ExistingDataKeys() err = %v, want ErrRollback", err)
	}
	if got := f.kek.calls.Load() - calls; got > 1 {
		t.Errorf("after RetryBackoff: %d KMS calls, want at most 1", got)
	}
}
