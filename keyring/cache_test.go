package keyring_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// waitFor polls cond for up to 15 seconds of real time.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 15s for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// thrashKeyring returns a keyring over f that caches max keysets and logs
// as text into the returned buffer.
func thrashKeyring(t *testing.T, f *fixture, max int) (*keyring.Keyring, *syncBuffer) {
	t.Helper()
	logs := new(syncBuffer)
	kr := f.keyring(t, func(c *keyring.Config) {
		c.MaxKeysets = max
		c.Logger = slog.New(slog.NewTextHandler(logs, nil))
	})
	return kr, logs
}

func TestCacheStaysWithinMaxKeysets(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	const max = 50
	kr := f.keyring(t, func(c *keyring.Config) { c.MaxKeysets = max })
	for i := range 400 {
		if _, err := kr.DataKeys(ctx, fmt.Sprintf("t%d", i), "pii"); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, fmt.Sprintf("CachedKeysets <= %d", max), func() bool { return kr.Stats().CachedKeysets <= max })
	s := kr.Stats()
	if s.Evictions < 400-max {
		t.Errorf("Evictions = %d, want at least %d", s.Evictions, 400-max)
	}
	if s.CachedKeysets == 0 {
		t.Error("the cache holds nothing")
	}
}

// TestHotKeysetsSurviveAScan plays a batch job that touches thousands of
// cold tenants once each while a few hot tenants keep serving requests,
// fewer than one per cache-full of cold tenants: the hot keysets stay
// cached, so their requests make no KMS call. An LRU cache of the same
// size would have evicted every one of them between two of their requests.
func TestHotKeysetsSurviveAScan(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	const size = 100
	kr := f.keyring(t, func(c *keyring.Config) { c.MaxKeysets = size })
	lookup := func(scope string) {
		t.Helper()
		if _, err := kr.DataKeys(ctx, scope, "pii"); err != nil {
			t.Fatal(err)
		}
	}
	// The service has been up a while: the cache is full.
	for i := range size {
		lookup(fmt.Sprintf("earlier%d", i))
	}
	hotRound := func() {
		f.clock.Advance(10 * time.Millisecond) // requests come over time
		for i := range 10 {
			lookup(fmt.Sprintf("hot%d", i))
		}
	}
	for range 300 {
		hotRound()
	}
	var hotLoads, hotCalls int64
	for i := range 3000 {
		lookup(fmt.Sprintf("cold%d", i))
		if i%(size+size/2) == 0 {
			before := kr.Stats()
			hotRound()
			after := kr.Stats()
			hotLoads += after.Loads - before.Loads
			hotCalls += after.KMSCalls - before.KMSCalls
		}
	}
	if hotLoads != 0 || hotCalls != 0 {
		t.Errorf("during a scan of 3000 cold tenants, hot tenants loaded %d times with %d KMS calls, want 0", hotLoads, hotCalls)
	}
	waitFor(t, "the cache back within MaxKeysets", func() bool { return kr.Stats().CachedKeysets <= size })
}

// TestThrashWarning drives a round robin over more tenants than the cache
// holds: every lookup after the first round reloads a keyset the cache
// evicted. The counters say so and the keyring warns, once a minute,
// naming the setting to raise.
func TestThrashWarning(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	kr, logs := thrashKeyring(t, f, 20)
	roundRobin := func(rounds int) {
		for range rounds {
			for i := range 60 {
				if _, err := kr.DataKeys(ctx, fmt.Sprintf("t%d", i), "pii"); err != nil {
					t.Fatal(err)
				}
			}
			// Let the maintenance pass evict before the next round.
			waitFor(t, "the cache back within MaxKeysets", func() bool { return kr.Stats().CachedKeysets <= 20 })
		}
	}
	roundRobin(1)
	if strings.Contains(logs.String(), "thrashing") {
		t.Fatalf("warned before any evicted keyset was needed again:\n%s", logs.String())
	}
	first := kr.Stats()
	roundRobin(3)
	s := kr.Stats()
	if s.Reloads < 60 {
		t.Errorf("Reloads = %d after 3 more rounds over 60 tenants with room for 20, want at least 60", s.Reloads)
	}
	if s.Evictions <= first.Evictions {
		t.Errorf("Evictions went from %d to %d, want a rise", first.Evictions, s.Evictions)
	}
	if got := s.KMSCalls - first.KMSCalls; got < s.Reloads-first.Reloads {
		t.Errorf("%d KMS calls for %d reloads: each reload unwraps", got, s.Reloads-first.Reloads)
	}
	out := logs.String()
	if n := strings.Count(out, "thrashing"); n != 1 {
		t.Fatalf("%d thrash warnings, want 1 (at most one a minute):\n%s", n, out)
	}
	for _, want := range []string{"level=WARN", "Config.MaxKeysets", "max_keysets=20", "reloads="} {
		if !strings.Contains(out, want) {
			t.Errorf("the warning lacks %q:\n%s", want, out)
		}
	}
	f.clock.Advance(2 * time.Minute)
	roundRobin(1)
	if n := strings.Count(logs.String(), "thrashing"); n != 2 {
		t.Errorf("%d thrash warnings after another minute of thrashing, want 2", n)
	}
}

// TestCacheFitsNoThrash: a working set that fits makes no eviction, no
// reload and no warning, and after warm-up no KMS call.
func TestCacheFitsNoThrash(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	kr, logs := thrashKeyring(t, f, 200)
	var warm keyring.Stats
	for round := range 5 {
		for i := range 100 {
			for _, class := range []string{"pii", "support"} {
				if _, err := kr.DataKeys(ctx, fmt.Sprintf("t%d", i), class); err != nil {
					t.Fatal(err)
				}
			}
		}
		if round == 0 {
			warm = kr.Stats()
		}
	}
	s := kr.Stats()
	if s.KMSCalls != warm.KMSCalls || s.Loads != warm.Loads {
		t.Errorf("after warm-up: %d KMS calls, %d loads; want 0", s.KMSCalls-warm.KMSCalls, s.Loads-warm.Loads)
	}
	if s.Evictions != 0 || s.Reloads != 0 || s.CachedKeysets != 200 {
		t.Errorf("Evictions %d, Reloads %d, CachedKeysets %d; want 0, 0, 200", s.Evictions, s.Reloads, s.CachedKeysets)
	}
	if strings.Contains(logs.String(), "thrashing") {
		t.Errorf("warned with a cache that fits:\n%s", logs.String())
	}
}

func TestKMSCallsPerSecond(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	kr := f.keyring(t, nil)
	if r := kr.Stats().KMSCallsPerSecond; r != 0 {
		t.Fatalf("KMSCallsPerSecond = %v before any call", r)
	}
	for i := range 30 {
		if _, err := kr.DataKeys(ctx, fmt.Sprintf("t%d", i), "pii"); err != nil {
			t.Fatal(err)
		}
	}
	calls := kr.Stats().KMSCalls // a create wraps once
	f.clock.Advance(10 * time.Second)
	if r, want := kr.Stats().KMSCallsPerSecond, float64(calls)/10; r != want {
		t.Errorf("KMSCallsPerSecond = %v after %d calls in 10s, want %v", r, calls, want)
	}
	// A minute later, with no calls, the rate falls to zero.
	f.clock.Advance(70 * time.Second)
	if r := kr.Stats().KMSCallsPerSecond; r != 0 {
		t.Errorf("KMSCallsPerSecond = %v a minute after the last call, want 0", r)
	}
}
