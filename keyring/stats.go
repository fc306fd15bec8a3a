package keyring

import (
	"sync"
	"sync/atomic"
	"time"
)

// Stats is a snapshot of a keyring's counters.
type Stats struct {
	KMSCalls    int64 // calls to any KEK (wrap and unwrap)
	CacheHits   int64 // keyset lookups served from the cache
	CacheMisses int64 // keyset lookups that had to load
	Loads       int64 // keyset loads from the store (after singleflight)
	StaleServed int64 // lookups served past CacheTTL because reloading failed
	LoadErrors  int64 // failed loads

	// CachedKeysets is how many unwrapped keysets the cache holds now.
	// The eviction policy trims to Config.MaxKeysets in a maintenance
	// pass, so right after a burst of loads it may be over it briefly.
	CachedKeysets int64
	// Evictions counts keysets dropped to keep the cache within
	// MaxKeysets, including new keysets the eviction policy judged colder
	// than every cached one.
	Evictions int64
	// Reloads counts, once the cache has evicted, loads of keysets this
	// process had loaded before and no longer cached: nearly all were
	// evicted for room (a key change drops its keyset too), and each is
	// a KMS call a larger cache would have saved. A steady rise means the
	// working set exceeds MaxKeysets; the keyring then logs a warning.
	Reloads int64

	// KMSCallsPerSecond is the mean KMS call rate over about the last
	// minute, from the samples that calls of Stats (and the metrics
	// reader) take, or since New when the keyring is younger.
	KMSCallsPerSecond float64
}

type counters struct {
	hits, misses, loads, stale, loadErrors atomic.Int64
}

// Stats returns a snapshot of the keyring's counters.
func (k *Keyring) Stats() Stats {
	calls := k.kmsCalls()
	return Stats{
		KMSCalls:          calls,
		CacheHits:         k.stats.hits.Load(),
		CacheMisses:       k.stats.misses.Load(),
		Loads:             k.stats.loads.Load(),
		StaleServed:       k.stats.stale.Load(),
		LoadErrors:        k.stats.loadErrors.Load(),
		CachedKeysets:     int64(k.cache.len()),
		Evictions:         k.cache.evictions.Load(),
		Reloads:           k.cache.reloads.Load(),
		KMSCallsPerSecond: k.kmsRate.observe(k.clockNoTicker(), calls),
	}
}

// rateWindow turns a monotonic count into a rate over about the last
// minute. It keeps at most one sample a second.
type rateWindow struct {
	mu      sync.Mutex
	samples [rateSamples]rateSample // ring; the zero sample is New
	n, next int
}

type rateSample struct {
	at    int64 // keyring clock
	count int64
}

const (
	rateSpan    = time.Minute
	rateSamples = 64 // > rateSpan/time.Second, so the ring spans a minute
)

// observe records count at now and returns the rate since the newest
// sample at least rateSpan old, or since the oldest sample kept.
func (w *rateWindow) observe(now, count int64) float64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	base := rateSample{} // New: no calls at time zero
	for i := range w.n {
		s := w.samples[(w.next-1-i+2*rateSamples)%rateSamples]
		base = s
		if now-s.at >= int64(rateSpan) {
			break
		}
	}
	if w.n < rateSamples && w.n > 0 && now-base.at < int64(rateSpan) {
		base = rateSample{} // the ring still reaches back to New
	}
	if w.n == 0 || now-w.samples[(w.next-1+rateSamples)%rateSamples].at >= int64(time.Second) {
		w.samples[w.next] = rateSample{at: now, count: count}
		w.next = (w.next + 1) % rateSamples
		w.n = min(w.n+1, rateSamples)
	}
	if now <= base.at {
		return 0
	}
	return float64(count-base.count) / time.Duration(now-base.at).Seconds()
}
