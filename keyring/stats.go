package keyring

import "sync/atomic"

// Stats are the keyring's counters since it was created.
type Stats struct {
	KMSCalls    int64 // calls to any KEK (wrap and unwrap)
	CacheHits   int64 // keyset lookups served from the cache
	CacheMisses int64 // keyset lookups that had to load
	Loads       int64 // keyset loads from the store (after singleflight)
	StaleServed int64 // lookups served past CacheTTL because reloading failed
	LoadErrors  int64 // failed loads
}

type counters struct {
	hits, misses, loads, stale, loadErrors atomic.Int64
}

// Stats returns a snapshot of the keyring's counters.
func (k *Keyring) Stats() Stats {
	return Stats{
		KMSCalls:    k.kmsCalls(),
		CacheHits:   k.stats.hits.Load(),
		CacheMisses: k.stats.misses.Load(),
		Loads:       k.stats.loads.Load(),
		StaleServed: k.stats.stale.Load(),
		LoadErrors:  k.stats.loadErrors.Load(),
	}
}
