package keyring_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fieldcrypt/fieldcrypt/internal/teststores"
	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// hookStore runs, on a Get of one keyset, the next of a list of hooks once
// the record has been read: a change that lands between a load's store
// read and its version check. A Get made from inside a hook passes through.
type hookStore struct {
	keyring.Store
	id    keyring.KeysetID
	mu    sync.Mutex
	hooks []func()
	busy  atomic.Bool
}

func (s *hookStore) push(h ...func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hooks = append(s.hooks, h...)
}

func (s *hookStore) Get(ctx context.Context, id keyring.KeysetID) (*keyring.Record, error) {
	rec, err := s.Store.Get(ctx, id)
	if id != s.id || !s.busy.CompareAndSwap(false, true) {
		return rec, err
	}
	defer s.busy.Store(false)
	s.mu.Lock()
	var h func()
	if len(s.hooks) > 0 {
		h, s.hooks = s.hooks[0], s.hooks[1:]
	}
	s.mu.Unlock()
	if h != nil {
		h()
	}
	return rec, err
}

// TestRotationDuringLoadIsNotRollback: no store writer at all. A lookup
// loads a keyset while an administrator rotates it the way ROTATION.md
// says, AddKey and then PromoteKey, each landing between one of the load's
// store reads and its version check. The load must not report ErrRollback
// (the alarm of the attack the anchor exists for), nor leave it remembered
// for RetryBackoff so that reads made after the rotation returned fail.
func TestRotationDuringLoadIsNotRollback(t *testing.T) {
	for _, tc := range []struct {
		name     string
		interval time.Duration
		other    bool // the rotation is run by another process, through a shared anchor
	}{
		{"this process", 0, false},
		{"this process, KEKCheckInterval a day", 24 * time.Hour, false},
		{"another process with an anchor", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t)
			id := dataID("acme", "pii")
			store := &hookStore{Store: f.store, id: id}
			anchor := &keyring.MemoryAnchor{}
			app := f.keyring(t, func(c *keyring.Config) { c.Store = store; c.KEKCheckInterval = tc.interval; c.Anchor = anchor })
			m := keyring.NewManager(app)
			if tc.other {
				m = keyring.NewManager(f.keyring(t, func(c *keyring.Config) { c.Anchor = anchor }))
			}
			if err := m.CreateKeysets(ctx, "acme", "pii"); err != nil {
				t.Fatal(err)
			}
			if _, err := app.ExistingDataKeys(ctx, "acme", "pii"); err != nil {
				t.Fatal(err)
			}
			var newKey uint32
			var hookErr error
			store.push(
				func() { newKey, hookErr = m.AddKey(ctx, id) },
				func() {
					if hookErr == nil {
						hookErr = m.PromoteKey(ctx, id, newKey)
					}
				},
			)
			f.clock.Advance(12 * time.Minute) // past the stale period: the lookup loads in the foreground
			_, err := app.ExistingDataKeys(ctx, "acme", "pii")
			if hookErr != nil {
				t.Fatalf("rotation: %v", hookErr)
			}
			if err != nil {
				t.Errorf("the lookup that raced with AddKey+PromoteKey: err = %v, want the keyset", err)
			}
			// The rotation has returned; nobody touched the store but the keyring.
			dk, err := app.ExistingDataKeys(ctx, "acme", "pii")
			if err != nil {
				t.Fatalf("a read after the rotation returned: err = %v; want the keyset", err)
			}
			if !tc.other && dk.PrimaryID() != newKey {
				t.Errorf("a read after PromoteKey returned has primary %d, want %d", dk.PrimaryID(), newKey)
			}
		})
	}
}

// holdStore holds every Get of one keyset, once armed, after reading the
// record, until released, and counts the Gets it holds: each is one load.
type holdStore struct {
	keyring.Store
	id      keyring.KeysetID
	armed   atomic.Bool
	held    atomic.Int32
	release chan struct{}
}

func (s *holdStore) Get(ctx context.Context, id keyring.KeysetID) (*keyring.Record, error) {
	rec, err := s.Store.Get(ctx, id)
	if id == s.id && s.armed.Load() {
		s.held.Add(1)
		<-s.release
	}
	return rec, err
}

// TestColdKeysetLoadSurvivesUnrelatedInvalidations checks doc.go's promise
// that "concurrent loads of one keyset collapse into one store read and one
// KMS call". Callers of a cold keyset (a tenant after a restart or an
// eviction) arrive while its load waits on a slow store; meanwhile the same
// process onboards other tenants (CreateKeysets, as DisableAutoCreate
// deployments do), which invalidates their keysets. Nothing about acme's
// keyset changed, so the callers must still share one load (a flight named
// by a cache-wide invalidation count split them: N callers, N KMS calls).
func TestColdKeysetLoadSurvivesUnrelatedInvalidations(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	id := dataID("acme", "pii")
	store := &holdStore{Store: f.store, id: id, release: make(chan struct{})}
	app := f.keyring(t, func(c *keyring.Config) { c.Store = store })
	if err := keyring.NewManager(f.keyring(t, nil)).CreateKeysets(ctx, "acme", "pii"); err != nil {
		t.Fatal(err)
	}
	admin := keyring.NewManager(app)
	store.armed.Store(true)
	const callers = 8
	errs := make(chan error, callers)
	for i := range callers {
		misses := app.Stats().CacheMisses
		go func() {
			_, err := app.ExistingDataKeys(ctx, "acme", "pii")
			errs <- err
		}()
		deadline := time.Now().Add(5 * time.Second)
		for app.Stats().CacheMisses == misses || store.held.Load() == 0 {
			if time.Now().After(deadline) {
				t.Fatal("the caller did not reach the load")
			}
			time.Sleep(time.Millisecond)
		}
		time.Sleep(10 * time.Millisecond) // let it reach the flight
		// Onboard an unrelated tenant.
		if err := admin.CreateKeysets(ctx, fmt.Sprintf("tenant%d", i), "pii"); err != nil {
			t.Fatal(err)
		}
	}
	held := store.held.Load()
	calls := f.kek.calls.Load()
	close(store.release)
	for range callers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if held != 1 {
		t.Errorf("%d concurrent callers of one cold keyset made %d loads (store reads), want 1: "+
			"invalidations of other tenants' keysets split them", callers, held)
	}
	if got := f.kek.calls.Load() - calls; got != 1 {
		t.Errorf("%d concurrent callers of one cold keyset made %d KMS calls, want 1", callers, got)
	}
}

// TestKEKCheckIntervalForeverStillCaches: an operator who never wants an
// unchanged keyset re-checked against the KMS sets KEKCheckInterval to the
// largest duration. The expiry cap (unwrap time + KEKCheckInterval) must
// not overflow into the past, which would make every lookup a cache miss.
func TestKEKCheckIntervalForeverStillCaches(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	kr := f.keyring(t, func(c *keyring.Config) { c.KEKCheckInterval = time.Duration(math.MaxInt64) })
	f.clock.Advance(time.Second) // the process has been up a second
	if _, err := kr.DataKeys(ctx, "acme", "pii"); err != nil {
		t.Fatal(err)
	}
	before := kr.Stats()
	for range 100 {
		if _, err := kr.DataKeys(ctx, "acme", "pii"); err != nil {
			t.Fatal(err)
		}
	}
	after := kr.Stats()
	if loads := after.Loads - before.Loads; loads != 0 {
		t.Errorf("100 lookups within CacheTTL of the first made %d loads (store reads), want 0: "+
			"the cached keyset is born expired (misses %d, hits %d)",
			loads, after.CacheMisses-before.CacheMisses, after.CacheHits-before.CacheHits)
	}
}

// TestRollbackRefusalCostsOneUnwrap: a store writer puts back a keyset's
// older row; a fresh process (the anchor knows the newer version) loads it.
// Nothing changes the keyset meanwhile, so the refusal must cost one unwrap:
// the load reads the store again only to see whether it moved.
func TestRollbackRefusalCostsOneUnwrap(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	anchor := &keyring.MemoryAnchor{}
	withAnchor := func(c *keyring.Config) { c.Anchor = anchor }
	old := pastRows(t, f, f.keyring(t, withAnchor), 1)[0]
	teststores.Overwrite(t, f.store, old)
	app := f.keyring(t, withAnchor)
	calls := f.kek.calls.Load()
	if _, err := app.ExistingDataKeys(ctx, "acme", "pii"); !errors.Is(err, keyring.ErrRollback) {
		t.Fatalf("ExistingDataKeys() err = %v, want ErrRollback", err)
	}
	if got := f.kek.calls.Load() - calls; got > 1 {
		t.Errorf("refusing a rolled-back row made %d KMS calls, want at most 1", got)
	}
}

// pastRows creates acme's pii data keyset through admin, adds n keys to it,
// and returns its rows in f's store at versions 1 to n: what a store writer
// keeps to put back. The store, and admin's anchor if it has one, then hold
// version n+1.
func pastRows(t *testing.T, f *fixture, admin *keyring.Keyring, n int) []*keyring.Record {
	t.Helper()
	ctx := context.Background()
	id := dataID("acme", "pii")
	if _, err := admin.DataKeys(ctx, "acme", "pii"); err != nil {
		t.Fatal(err)
	}
	var rows []*keyring.Record
	for range n {
		row, err := f.store.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, row)
		if _, err := keyring.NewManager(admin).AddKey(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	return rows
}
