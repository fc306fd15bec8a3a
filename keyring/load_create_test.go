package keyring_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// cycleStore answers every Get of one keyset with the next of a fixed list
// of records, round robin: a store writer who kept two authentic old rows
// of the keyset (any two of its past versions: each rotation leaves one)
// and swaps them in turn with a loop of UPDATEs. Each row is authentic and
// older than the version seen; they differ in their state documents, so
// every second read "moved".
type cycleStore struct {
	keyring.Store
	id   keyring.KeysetID
	recs []*keyring.Record
	n    atomic.Uint32
	gets atomic.Int32
}

func (s *cycleStore) Get(ctx context.Context, id keyring.KeysetID) (*keyring.Record, error) {
	if id != s.id || len(s.recs) == 0 {
		return s.Store.Get(ctx, id)
	}
	s.gets.Add(1)
	c := *s.recs[int(s.n.Add(1)-1)%len(s.recs)]
	return &c, nil
}

// TestAlternatingOldRowsRollbackCostsOneUnwrap: TestFlippingRollbackCostsOneUnwrap
// (a refused rollback is one unwrap, not four, per keyset, per process and
// per RetryBackoff) with a store writer who, rather than rewriting one old
// row's cleartext key list, swaps two authentic old rows. Their state
// documents differ, but neither can ever be accepted (both are older than
// the version seen): the store counts as moved only when it now claims a
// version at least the one seen.
func TestAlternatingOldRowsRollbackCostsOneUnwrap(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	anchor := &keyring.MemoryAnchor{}
	admin := f.keyring(t, func(c *keyring.Config) { c.Anchor = anchor })
	id := dataID("acme", "pii")
	old := pastRows(t, f, admin, 2) // versions 1 and 2; the anchor holds 3
	store := &cycleStore{Store: f.store, id: id, recs: old}
	app := f.keyring(t, func(c *keyring.Config) { c.Anchor = anchor; c.Store = store })
	for round := range 2 {
		calls := f.kek.calls.Load()
		gets := store.gets.Load()
		if _, err := app.ExistingDataKeys(ctx, "acme", "pii"); !errors.Is(err, keyring.ErrRollback) {
			t.Fatalf("round %d: ExistingDataKeys() err = %v, want ErrRollback", round, err)
		}
		if got := f.kek.calls.Load() - calls; got > 1 {
			t.Errorf("round %d: refusing two old rows the store writer swaps in turn made %d KMS calls (%d store reads), want at most 1 unwrap",
				round, got, store.gets.Load()-gets)
		}
		f.clock.Advance(3 * time.Second) // past RetryBackoff: again
	}
}

// createHookStore runs a hook once, inside the first List of one scope
// (checkNotShredded: after a reader's load found no keyset and checked it
// had never been seen), and another once, after the first successful
// Create of one keyset.
type createHookStore struct {
	keyring.Store
	scope    string
	id       keyring.KeysetID
	mu       sync.Mutex
	onList   func()
	onCreate func()
}

func (s *createHookStore) take(h *func()) func() {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := *h
	*h = nil
	return f
}

func (s *createHookStore) List(ctx context.Context, scope string) ([]*keyring.Record, error) {
	recs, err := s.Store.List(ctx, scope)
	if scope == s.scope {
		if h := s.take(&s.onList); h != nil {
			h()
		}
	}
	return recs, err
}

func (s *createHookStore) Create(ctx context.Context, rec *keyring.Record) error {
	err := s.Store.Create(ctx, rec)
	if err == nil && rec.ID == s.id {
		if h := s.take(&s.onCreate); h != nil {
			h()
		}
	}
	return err
}

// TestReadAfterAutoCreationIsNotStaleNotFound: no store writer. A reader
// (ExistingDataKeys) of a keyset that does not exist yet reads the store
// ("not found") and, before it remembers that, a writer in this process
// creates the keyset on first use (DataKeys) and returns it. Meanwhile an
// administrator onboarded another tenant (CreateKeysets: an invalidation,
// so the creating load's put is dropped; a full cache refusing the new
// keyset does the same). The reader's "not found" is a fair answer for the
// racing read, but it must not be remembered for RetryBackoff: a read made
// after DataKeys returned the keyset (the writer has stored rows under it)
// must find it: a creation counts as a change of the scope, after which
// cache.fail drops the failure of a load that read the store before it.
func TestReadAfterAutoCreationIsNotStaleNotFound(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	id := dataID("acme", "pii")
	store := &createHookStore{Store: f.store, scope: "acme", id: id}
	app := f.keyring(t, func(c *keyring.Config) { c.Store = store })
	var createErr, onboardErr error
	created := false
	store.onCreate = func() {
		onboardErr = keyring.NewManager(app).CreateKeysets(ctx, "globex", "pii")
	}
	store.onList = func() {
		_, createErr = app.DataKeys(ctx, "acme", "pii")
		created = true
	}
	if _, err := app.ExistingDataKeys(ctx, "acme", "pii"); err != nil && !errors.Is(err, keyring.ErrKeysetNotFound) {
		t.Fatalf("the read racing the creation: err = %v", err)
	}
	if !created || createErr != nil || onboardErr != nil {
		t.Fatalf("creation ran %v, err = %v; onboarding err = %v", created, createErr, onboardErr)
	}
	// DataKeys has returned the keyset.
	if _, err := app.ExistingDataKeys(ctx, "acme", "pii"); err != nil {
		t.Errorf("a read after DataKeys created and returned the keyset: err = %v; want the keyset", err)
		f.clock.Advance(3 * time.Second) // past RetryBackoff
		_, err = app.ExistingDataKeys(ctx, "acme", "pii")
		t.Logf("after RetryBackoff: err = %v (a remembered failure, not the store, refused the read)", err)
	}
}
