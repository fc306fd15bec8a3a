package crypt

// An internal test: the memo of indexers is unexported, and what matters
// about it (entries die with their handles, a stale entry is never served)
// cannot be seen from outside.

import (
	"context"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
	"unsafe"
	"weak"

	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/local"
)

type cachedContact struct {
	ID       string `crypt:"id"`
	TenantID string `crypt:"scope"`
	Email    string `crypt:"encrypt,class=pii"`
	EmailIdx string `crypt:"blind=Email,transform=lower,bits=32"`
	DomainIx string `crypt:"blind=Email,transform=emaildomain,bits=16"`
}

func testKeyring(t *testing.T) *keyring.Keyring {
	t.Helper()
	uri, err := local.CreateInsecureKeyFile(filepath.Join(t.TempDir(), "kek.json"))
	if err != nil {
		t.Fatal(err)
	}
	opener := kms.NewOpener()
	opener.Register(local.Scheme, local.OpenFunc(nil))
	kr, err := keyring.New(keyring.Config{Store: keyring.NewMemoryStore(), Opener: opener, DefaultKEK: uri})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kr.Close() })
	return kr
}

// len counts the sets held: one per handle and index.
func (c *indexerCache) len() int {
	n := 0
	c.m.Range(func(_ uintptr, h handleSets) bool {
		n += len(h.sets)
		return true
	})
	return n
}

// TestIndexerCacheForgetsReloadedKeysets: every index-key rotation gives
// the Encryptor a new index handle; the entries of the old handles go once
// the keyring has dropped them, so the memo does not grow with reloads.
func TestIndexerCacheForgetsReloadedKeysets(t *testing.T) {
	ctx := context.Background()
	kr := testKeyring(t)
	e := New(kr, nil)
	id := keyring.KeysetID{Scope: "acme", Class: "pii", Purpose: keyring.PurposeIndex}
	const rotations = 20
	for i := range rotations {
		c := cachedContact{ID: "c-1", TenantID: "acme", Email: "ada@example.com"}
		if err := e.Encrypt(ctx, &c); err != nil {
			t.Fatalf("Encrypt() after %d rotations err = %v", i, err)
		}
		keyID, err := keyring.NewManager(kr).AddKey(ctx, id)
		if err != nil {
			t.Fatalf("AddKey() err = %v", err)
		}
		if err := keyring.NewManager(kr).PromoteKey(ctx, id, keyID); err != nil {
			t.Fatalf("PromoteKey() err = %v", err)
		}
	}
	// The live handle is the keyring's current one; it has no entries yet
	// (no Encrypt since the last rotation). Cleanups run after a GC, on
	// their own goroutine.
	deadline := time.Now().Add(10 * time.Second)
	for e.indexers.len() > 0 && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if n := e.indexers.len(); n > 0 {
		t.Errorf("after %d rotations and GC, the memo holds %d entries, want 0", rotations, n)
	}
	// And the Encryptor still works, under the current keyset.
	c := cachedContact{ID: "c-1", TenantID: "acme", Email: "ada@example.com"}
	if err := e.Encrypt(ctx, &c); err != nil {
		t.Fatalf("Encrypt() err = %v", err)
	}
	if n := e.indexers.len(); n != 2 {
		t.Errorf("after one Encrypt the memo holds %d entries, want 2 (one per index)", n)
	}
}

// TestIndexerCacheStaleAddress: an entry filed under a handle's address
// whose weak pointer names another handle (as when the collector freed
// the first and the allocator reused its memory before the cleanup ran) is
// a miss, never served.
func TestIndexerCacheStaleAddress(t *testing.T) {
	ctx := context.Background()
	kr := testKeyring(t)
	ik, err := kr.IndexKeys(ctx, "acme", "pii")
	if err != nil {
		t.Fatal(err)
	}
	other, err := kr.IndexKeys(ctx, "globex", "pii")
	if err != nil {
		t.Fatal(err)
	}
	c := newIndexerCache()
	ix := &indexField{}
	stale := &indexers{}
	c.m.Store(uintptr(unsafe.Pointer(ik)), handleSets{keys: weak.Make(other), sets: []derivedSet{{ix: ix, set: stale}}})

	fresh := &indexers{}
	derived := 0
	derive := func() (*indexers, error) { derived++; return fresh, nil }
	for range 2 {
		got, err := c.get(nil, ik, ix, derive)
		if err != nil || got != fresh {
			t.Fatalf("get() = %p, %v; want the freshly derived %p (stale %p)", got, err, fresh, stale)
		}
	}
	if derived != 1 {
		t.Errorf("derive ran %d times, want 1 (a miss, then a hit)", derived)
	}
	runtime.KeepAlive(other)
}

// TestDroppedEncryptorIsCollected: an Encryptor and its keyring, once
// dropped, are collected with every keyset they cached. The indexer memo's
// cleanups must not reach them: a cleanup that reaches its own object keeps
// it, and everything it reaches, alive for good.
func TestDroppedEncryptorIsCollected(t *testing.T) {
	ctx := context.Background()
	uri, err := local.CreateInsecureKeyFile(filepath.Join(t.TempDir(), "kek.json"))
	if err != nil {
		t.Fatal(err)
	}
	store := keyring.NewMemoryStore()
	opener := kms.NewOpener()
	opener.Register(local.Scheme, local.OpenFunc(nil))
	use := func() (weak.Pointer[keyring.Keyring], weak.Pointer[Encryptor]) {
		kr, err := keyring.New(keyring.Config{Store: store, Opener: opener, DefaultKEK: uri})
		if err != nil {
			t.Fatal(err)
		}
		e := New(kr, nil)
		c := cachedContact{ID: "c-1", TenantID: "acme", Email: "ada@example.com"}
		if err := e.Encrypt(ctx, &c); err != nil { // caches data and index keysets, and the indexers
			t.Fatal(err)
		}
		if e.indexers.len() == 0 {
			t.Fatal("the indexer memo is empty after Encrypt; the test would prove nothing")
		}
		if err := kr.Close(); err != nil {
			t.Fatal(err)
		}
		return weak.Make(kr), weak.Make(e)
	}
	wk, we := use()
	deadline := time.Now().Add(10 * time.Second)
	for (wk.Value() != nil || we.Value() != nil) && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if wk.Value() != nil || we.Value() != nil {
		t.Fatalf("a dropped keyring (collected: %v) and Encryptor (collected: %v) stay alive", wk.Value() == nil, we.Value() == nil)
	}
}

// TestPooledOpKeepsNoDroppedKeyring: a pooled per-record state keeps the
// last record's scope view for the next, but never one that the next
// record's Encryptor would not use. A keyring that was used once, closed
// and dropped is collected while another Encryptor, whose key source is
// not a *keyring.Keyring (so it never looks a scope up), goes on taking
// the same pooled state for record after record: with one P the pool
// hands back the same op every time, which is what kept the view alive.
func TestPooledOpKeepsNoDroppedKeyring(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	ctx := context.Background()
	uri, err := local.CreateInsecureKeyFile(filepath.Join(t.TempDir(), "kek.json"))
	if err != nil {
		t.Fatal(err)
	}
	opener := kms.NewOpener()
	opener.Register(local.Scheme, local.OpenFunc(nil))
	use := func() weak.Pointer[keyring.Keyring] {
		kr, err := keyring.New(keyring.Config{Store: keyring.NewMemoryStore(), Opener: opener, DefaultKEK: uri})
		if err != nil {
			t.Fatal(err)
		}
		c := cachedContact{ID: "c-1", TenantID: "acme", Email: "ada@example.com"}
		if err := New(kr, nil).Encrypt(ctx, &c); err != nil {
			t.Fatal(err)
		}
		if err := kr.Close(); err != nil {
			t.Fatal(err)
		}
		return weak.Make(kr)
	}
	wk := use()
	other := New(struct{ KeySource }{testKeyring(t)}, nil)
	if other.keyring != nil {
		t.Fatal("the other Encryptor sees a *keyring.Keyring; the test would prove nothing")
	}
	for i := 0; i < 50 && wk.Value() != nil; i++ {
		c := cachedContact{ID: "c-2", TenantID: "globex", Email: "grace@example.com"}
		if err := other.Encrypt(ctx, &c); err != nil {
			t.Fatal(err)
		}
		runtime.GC()
	}
	if wk.Value() != nil {
		t.Fatal("a closed, dropped keyring stays alive in the pooled state another Encryptor keeps using")
	}
}

// TestIndexerCacheConcurrentMisses: goroutines missing at once on one
// handle, for several indexes, all get the one set kept per index, and the
// cache holds exactly one set per index.
func TestIndexerCacheConcurrentMisses(t *testing.T) {
	ctx := context.Background()
	kr := testKeyring(t)
	ik, err := kr.IndexKeys(ctx, "acme", "pii")
	if err != nil {
		t.Fatal(err)
	}
	c := newIndexerCache()
	ixs := []*indexField{{}, {}, {}}
	const workers = 8
	got := make([][]*indexers, workers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := range workers {
		wg.Go(func() {
			<-start
			for _, ix := range ixs {
				set, err := c.get(nil, ik, ix, func() (*indexers, error) { return &indexers{}, nil })
				if err != nil {
					t.Error(err)
					return
				}
				got[w] = append(got[w], set)
			}
		})
	}
	close(start)
	wg.Wait()
	for w := 1; w < workers; w++ {
		for i := range ixs {
			if got[w][i] != got[0][i] {
				t.Errorf("worker %d got another set for index %d than worker 0", w, i)
			}
		}
	}
	if n := c.len(); n != len(ixs) {
		t.Errorf("the cache holds %d sets, want %d", n, len(ixs))
	}
}

// TestIndexerCacheHint: a record's hint serves only the handle it was
// filled for: another handle's index gets that handle's set, and an index
// the hinted entry lacks is derived once and then served.
func TestIndexerCacheHint(t *testing.T) {
	ctx := context.Background()
	kr := testKeyring(t)
	acme, err := kr.IndexKeys(ctx, "acme", "pii")
	if err != nil {
		t.Fatal(err)
	}
	globex, err := kr.IndexKeys(ctx, "globex", "pii")
	if err != nil {
		t.Fatal(err)
	}
	c := newIndexerCache()
	ix, other := &indexField{}, &indexField{}
	sets := map[*keyring.IndexKeys]*indexers{acme: {}, globex: {}}
	derived := 0
	deriveFor := func(ik *keyring.IndexKeys) func() (*indexers, error) {
		return func() (*indexers, error) { derived++; return sets[ik], nil }
	}
	var hint memoHint
	for _, ik := range []*keyring.IndexKeys{acme, globex, acme, globex} {
		got, err := c.get(&hint, ik, ix, deriveFor(ik))
		if err != nil || got != sets[ik] {
			t.Fatalf("get(%p) = %p, %v; want its own set %p", ik, got, err, sets[ik])
		}
	}
	if derived != 2 {
		t.Errorf("derive ran %d times for two handles, want 2", derived)
	}
	otherSet := &indexers{}
	for range 2 {
		got, err := c.get(&hint, globex, other, func() (*indexers, error) { derived++; return otherSet, nil })
		if err != nil || got != otherSet {
			t.Fatalf("get(other index) = %p, %v; want %p", got, err, otherSet)
		}
	}
	if derived != 3 {
		t.Errorf("derive ran %d times, want 3 (the second index once)", derived)
	}
	// A hint taken before another record added an index to the entry: the
	// index is found in the entry, not derived again.
	var early memoHint
	if _, err := c.get(&early, acme, ix, deriveFor(acme)); err != nil {
		t.Fatal(err)
	}
	third, thirdSet := &indexField{}, &indexers{}
	if _, err := c.get(nil, acme, third, func() (*indexers, error) { return thirdSet, nil }); err != nil {
		t.Fatal(err)
	}
	got, err := c.get(&early, acme, third, func() (*indexers, error) {
		t.Error("an index another record added was derived again")
		return &indexers{}, nil
	})
	if err != nil || got != thirdSet {
		t.Errorf("get(third index) through an early hint = %p, %v; want %p", got, err, thirdSet)
	}
}
