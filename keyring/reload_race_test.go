package keyring_test

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/kms"
)

// revocableKEK is the fixture's KEK with an IAM switch: once revoked, every
// call is refused for good (permission denied), as a KMS does after the
// process's access to the key is revoked.
type revocableKEK struct {
	inner   *switchableKEK
	revoked atomic.Bool
}

func (r *revocableKEK) deny(op string) error {
	return &kms.Error{Code: kms.CodePermissionDenied, Op: op, Backend: "test", Err: errors.New("access to the key was revoked")}
}

func (r *revocableKEK) Encrypt(ctx context.Context, pt, ad []byte) ([]byte, error) {
	if r.revoked.Load() {
		return nil, r.deny("encrypt")
	}
	return r.inner.Encrypt(ctx, pt, ad)
}

func (r *revocableKEK) Decrypt(ctx context.Context, ct, ad []byte) ([]byte, error) {
	if r.revoked.Load() {
		return nil, r.deny("decrypt")
	}
	return r.inner.Decrypt(ctx, ct, ad)
}

func (r *revocableKEK) ErrorCode(_ string, err error) kms.Code { return kms.CodeOf(err) }
func (r *revocableKEK) Close() error                           { return nil }

// TestKEKCheckIntervalBoundsRevocation checks the promise of
// Config.KEKCheckInterval, docs/KMS.md and docs/ROTATION.md: a KEK revoked
// in the KMS is noticed within KEKCheckInterval of the last unwrap. A
// reload that keeps an unchanged keyset shortly before its unwrap turns
// KEKCheckInterval old must not keep it fresh for a whole CacheTTL more.
//
//   - sparse: the settings docs/KMS.md suggests (5-minute TTL, an hour),
//     a tenant used now and then: at t=63m it is still served.
//   - steady: a lookup every minute, KEKCheckInterval 62 minutes (not a
//     multiple of the TTL): the reload at t=60m keeps the keyset until
//     t=65m.
func TestKEKCheckIntervalBoundsRevocation(t *testing.T) {
	for _, tc := range []struct {
		name     string
		interval time.Duration
		lookups  []time.Duration // times of lookups after the revocation at t=0
		check    time.Duration   // the KEK must be refused by then
	}{
		{"sparse", time.Hour, []time.Duration{59 * time.Minute}, 63 * time.Minute},
		{"steady", 62 * time.Minute, minutes(1, 62), 63 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t)
			kek := &revocableKEK{inner: f.kek}
			f.opener.Register("revocable", func(_ context.Context, uri string) (*kms.Keeper, error) { return kms.NewKeeper(uri, kek), nil })
			kr := f.keyring(t, func(c *keyring.Config) {
				c.DefaultKEK = "revocable://kek"
				c.CacheTTL = 5 * time.Minute
				c.KEKCheckInterval = tc.interval
			})
			if _, err := kr.DataKeys(ctx, "acme", "pii"); err != nil { // unwrapped at t=0
				t.Fatal(err)
			}
			kek.revoked.Store(true) // and revoked at t=0
			var now time.Duration
			for _, at := range tc.lookups {
				f.clock.Advance(at - now)
				now = at
				loads := kr.Stats().Loads
				// Refusing the KEK earlier than KEKCheckInterval is fine.
				if _, err := kr.DataKeys(ctx, "acme", "pii"); err != nil && !errors.Is(err, keyring.ErrKEKRefused) {
					t.Fatalf("t=%v: %v", at, err)
				}
				waitIdle(t, kr, loads)
			}
			f.clock.Advance(tc.check - now)
			deadline := time.Now().Add(5 * time.Second)
			for {
				_, err := kr.DataKeys(ctx, "acme", "pii")
				if errors.Is(err, keyring.ErrKEKRefused) {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("t=%v, KEK revoked at t=0, KEKCheckInterval %v: DataKeys() err = %v; want ErrKEKRefused: "+
						"the keyset is still served from an unwrap %v old", tc.check, tc.interval, err, tc.check)
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
}

func minutes(from, to int) []time.Duration {
	var ds []time.Duration
	for m := from; m <= to; m++ {
		ds = append(ds, time.Duration(m)*time.Minute)
	}
	return ds
}

// waitIdle waits a moment for a background reload that a lookup may have
// started (Loads above loads) to finish.
func waitIdle(t *testing.T, kr *keyring.Keyring, loads int64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Millisecond)
	for time.Now().Before(deadline) {
		if kr.Stats().Loads > loads {
			time.Sleep(5 * time.Millisecond) // let it cache what it loaded
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// gateAnchor is a MemoryAnchor whose Advance of one (keyset, version), once
// armed, waits for release: a remote anchor that is slow to answer.
type gateAnchor struct {
	keyring.MemoryAnchor
	mu       sync.Mutex
	id       keyring.KeysetID
	version  uint64
	armed    bool
	entered  chan struct{}
	released chan struct{}
}

func (a *gateAnchor) arm(id keyring.KeysetID, version uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.id, a.version, a.armed = id, version, true
	a.entered, a.released = make(chan struct{}), make(chan struct{})
}

func (a *gateAnchor) Advance(ctx context.Context, id keyring.KeysetID, v uint64) error {
	a.mu.Lock()
	hit := a.armed && id == a.id && v == a.version
	if hit {
		a.armed = false
	}
	entered, released := a.entered, a.released
	a.mu.Unlock()
	if hit {
		close(entered)
		<-released
	}
	return a.MemoryAnchor.Advance(ctx, id, v)
}

// TestReadAfterKeyChangeSeesIt checks the Manager's promise that a change
// "drops the keyring's cached copy of the keyset at once, so the keyring it
// was made from sees the change on its next call". A read (ExistingDataKeys,
// which Decrypt uses) made after DestroyKey has returned must not join a
// background reload that read the store before the change (here one held
// up by a slow anchor): it would be handed the keyset in which the
// destroyed key is alive.
func TestReadAfterKeyChangeSeesIt(t *testing.T) {
	for _, tc := range []struct {
		name     string
		interval time.Duration
	}{{"default", 0}, {"KEKCheckInterval a day", 24 * time.Hour}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t)
			anchor := &gateAnchor{}
			app := f.keyring(t, func(c *keyring.Config) { c.Anchor = anchor; c.KEKCheckInterval = tc.interval })
			m := keyring.NewManager(app)
			id := dataID("acme", "pii")
			if _, err := app.DataKeys(ctx, "acme", "pii"); err != nil {
				t.Fatal(err)
			}
			doomed, err := m.AddKey(ctx, id) // version 2
			if err != nil {
				t.Fatal(err)
			}
			if _, err := app.ExistingDataKeys(ctx, "acme", "pii"); err != nil {
				t.Fatal(err)
			}
			// A background reload of version 2 is slow to advance the
			// anchor (after its rollback check, before it returns).
			anchor.arm(id, 2)
			f.clock.Advance(61 * time.Second)
			if _, err := app.ExistingDataKeys(ctx, "acme", "pii"); err != nil {
				t.Fatal(err)
			}
			select {
			case <-anchor.entered:
			case <-time.After(5 * time.Second):
				t.Fatal("the background reload did not start")
			}
			if err := m.DestroyKey(ctx, id, doomed); err != nil {
				t.Fatal(err)
			}
			// DestroyKey has returned. The next read:
			misses := app.Stats().CacheMisses
			type result struct {
				dk  *keyring.DataKeys
				err error
			}
			res := make(chan result, 1)
			go func() {
				dk, err := app.ExistingDataKeys(ctx, "acme", "pii")
				res <- result{dk, err}
			}()
			for app.Stats().CacheMisses == misses {
				time.Sleep(time.Millisecond)
			}
			time.Sleep(50 * time.Millisecond) // let it reach the flight
			close(anchor.released)
			r := <-res
			if r.err != nil {
				t.Fatalf("the first read after DestroyKey: err = %v", r.err)
			}
			if st := r.dk.Status(doomed); st != keyring.KeyDestroyed {
				t.Fatalf("the first read after DestroyKey returned got key %d with status %v, want %v: "+
					"values under the destroyed key still decrypt in the process that destroyed it",
					doomed, st, keyring.KeyDestroyed)
			}
		})
	}
}

// gateStore blocks Get of one keyset, once armed, after reading the
// stored record: a slow keyset store.
type gateStore struct {
	keyring.Store
	mu       sync.Mutex
	id       keyring.KeysetID
	armed    bool
	once     bool // disarm after the first blocked Get
	entered  chan struct{}
	released chan struct{}
}

func (s *gateStore) arm(id keyring.KeysetID, once bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.id, s.armed, s.once = id, true, once
	s.entered, s.released = make(chan struct{}), make(chan struct{})
}

func (s *gateStore) Get(ctx context.Context, id keyring.KeysetID) (*keyring.Record, error) {
	rec, err := s.Store.Get(ctx, id)
	s.mu.Lock()
	hit := s.armed && id == s.id
	first := false
	if hit {
		select {
		case <-s.entered:
		default:
			first = true
		}
		if first {
			close(s.entered)
		}
		if s.once {
			s.armed = false
		}
	}
	released := s.released
	s.mu.Unlock()
	if hit {
		<-released // a store that does not heed ctx
	}
	return rec, err
}

// TestBackgroundReloadKeepsProfilerLabels checks that a background reload
// carries the profiler labels of the lookup that started it (a tenant, an
// endpoint), so that its store read and KMS unwrap are attributed to them.
// (A pool of reused load goroutines, tried and withdrawn, lost them.)
func TestBackgroundReloadKeepsProfilerLabels(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	store := &gateStore{Store: f.store}
	kr := f.keyring(t, func(c *keyring.Config) { c.Store = store })
	if _, err := kr.DataKeys(ctx, "acme", "pii"); err != nil {
		t.Fatal(err)
	}
	store.arm(dataID("acme", "pii"), true)
	f.clock.Advance(61 * time.Second)
	pprof.Do(ctx, pprof.Labels("review_tenant", "acme"), func(ctx context.Context) {
		if _, err := kr.DataKeys(ctx, "acme", "pii"); err != nil { // stale: reloads in the background
			t.Fatal(err)
		}
	})
	select {
	case <-store.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the background reload did not start")
	}
	defer close(store.released)
	var buf bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&buf, 1); err != nil {
		t.Fatal(err)
	}
	for _, rec := range strings.Split(buf.String(), "\n\n") {
		if strings.Contains(rec, "gateStore).Get") {
			if !strings.Contains(rec, `"review_tenant":"acme"`) {
				t.Fatalf("the background reload started by a lookup labelled review_tenant=acme runs without the label:\n%s", rec)
			}
			return
		}
	}
	t.Fatal("the blocked reload is not in the goroutine profile")
}

// TestAbandonedCallersLeaveNothing checks that a caller whose context ends
// returns and leaves nothing behind while the load it shares goes on:
// requests that give up on a hung load (a store or KMS that does not heed
// its context) must not pile up goroutines. (A pool of reused load
// goroutines, tried and withdrawn, left one per caller.)
func TestAbandonedCallersLeaveNothing(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	store := &gateStore{Store: f.store}
	kr := f.keyring(t, func(c *keyring.Config) { c.Store = store })
	id := dataID("acme", "pii")
	if err := keyring.NewManager(kr).CreateKeysets(ctx, "acme", "pii"); err != nil {
		t.Fatal(err)
	}
	store.arm(id, false)
	defer close(store.released)
	before := runtime.NumGoroutine()
	const requests = 500
	for range requests {
		rctx, cancel := context.WithTimeout(ctx, time.Millisecond)
		_, err := kr.ExistingDataKeys(rctx, "acme", "pii")
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("ExistingDataKeys() err = %v, want the request's deadline", err)
		}
	}
	time.Sleep(100 * time.Millisecond)
	if grown := runtime.NumGoroutine() - before; grown > 20 {
		t.Fatalf("%d requests that gave up on one hung load left %d goroutines behind, want a handful", requests, grown)
	}
}

// TestKeyChangeDuringLoadIsNotRollback: no store writer at all. A lookup
// loads a keyset (the store is a little slow); meanwhile this process, or
// another sharing the anchor, adds a key. The load read the store before
// the change and meets the change's version in the rollback check. It must
// not report ErrRollback (a false alarm of the attack the anchor exists
// for), nor leave that failure remembered for RetryBackoff so that reads
// made after AddKey has returned fail. It holds on the reuse path
// (KEKCheckInterval) too.
func TestKeyChangeDuringLoadIsNotRollback(t *testing.T) {
	for _, tc := range []struct {
		name     string
		interval time.Duration
		other    bool // the key is added by another process, through a shared anchor
	}{{"default", 0, false}, {"KEKCheckInterval a day", 24 * time.Hour, false}, {"another process with an anchor", 0, true}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t)
			store := &gateStore{Store: f.store}
			anchor := &keyring.MemoryAnchor{}
			app := f.keyring(t, func(c *keyring.Config) { c.Store = store; c.KEKCheckInterval = tc.interval; c.Anchor = anchor })
			m := keyring.NewManager(app)
			if tc.other {
				m = keyring.NewManager(f.keyring(t, func(c *keyring.Config) { c.Anchor = anchor }))
			}
			id := dataID("acme", "pii")
			if err := m.CreateKeysets(ctx, "acme", "pii"); err != nil {
				t.Fatal(err)
			}
			if _, err := app.ExistingDataKeys(ctx, "acme", "pii"); err != nil {
				t.Fatal(err)
			}
			store.arm(id, true)
			f.clock.Advance(12 * time.Minute) // past the stale period: the next lookup loads in the foreground
			first := make(chan error, 1)
			go func() {
				_, err := app.ExistingDataKeys(ctx, "acme", "pii")
				first <- err
			}()
			select {
			case <-store.entered:
			case <-time.After(5 * time.Second):
				t.Fatal("the load did not start")
			}
			if _, err := m.AddKey(ctx, id); err != nil {
				t.Fatal(err)
			}
			close(store.released)
			if err := <-first; err != nil {
				t.Errorf("the lookup that raced with AddKey: err = %v, want the keyset", err)
			}
			// AddKey has returned; nobody touched the store but this process.
			if _, err := app.ExistingDataKeys(ctx, "acme", "pii"); err != nil {
				t.Fatalf("a read after AddKey returned: err = %v; want the keyset", err)
			}
		})
	}
}
