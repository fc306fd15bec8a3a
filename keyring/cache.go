package keyring

import (
	"sync"
	"sync/atomic"
	"time"
)

// cache holds unwrapped keysets by ID, bounded in size. Expiry decisions
// are the keyring's; the cache only stores, finds and evicts.
type cache struct {
	max int

	mu       sync.RWMutex
	entries  map[KeysetID]*entry
	failures map[KeysetID]failure // recent load failures, for RetryBackoff
}

// entry is one cached keyset.
type entry struct {
	value      any   // *DataKeys or *IndexKeys
	version    int64 // the store version it was unwrapped from
	expires    int64 // fresh until (keyring clock, nanoseconds)
	staleUntil int64 // may serve until, while reloads fail
	lastUsed   atomic.Int64
	refreshing atomic.Bool // a background reload is in flight
	failing    atomic.Bool // the last background reload failed
}

// failure remembers a failed load so that callers within RetryBackoff get
// the same error without another KMS call.
type failure struct {
	err   error
	until int64 // keyring clock
}

// touch records a use of e for the eviction order. It writes at most once
// a second, so that concurrent readers do not fight over the cache line.
func (e *entry) touch(now int64) {
	if now-e.lastUsed.Load() > int64(time.Second) {
		e.lastUsed.Store(now)
	}
}

func newCache(max int) *cache {
	return &cache{max: max, entries: make(map[KeysetID]*entry), failures: make(map[KeysetID]failure)}
}

func (c *cache) get(id KeysetID) *entry {
	c.mu.RLock()
	e := c.entries[id]
	c.mu.RUnlock()
	return e
}

// put stores e under id, evicting the least recently used entry when the
// cache is full, and clears any remembered failure.
func (c *cache) put(id KeysetID, e *entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.failures, id)
	if _, ok := c.entries[id]; !ok && len(c.entries) >= c.max {
		var oldest KeysetID
		var oldestUse int64
		first := true
		for k, v := range c.entries {
			if u := v.lastUsed.Load(); first || u < oldestUse {
				oldest, oldestUse, first = k, u, false
			}
		}
		delete(c.entries, oldest)
	}
	c.entries[id] = e
}

// remove drops the cached keyset id and any remembered load failure, after
// the keyset changed or failed for good.
func (c *cache) remove(id KeysetID) {
	c.mu.Lock()
	delete(c.entries, id)
	delete(c.failures, id)
	c.mu.Unlock()
}

// removeScope drops every cached keyset of scope.
func (c *cache) removeScope(scope string) {
	c.mu.Lock()
	for id := range c.entries {
		if id.Scope == scope {
			delete(c.entries, id)
		}
	}
	for id := range c.failures {
		if id.Scope == scope {
			delete(c.failures, id)
		}
	}
	c.mu.Unlock()
}

func (c *cache) fail(id KeysetID, err error, until int64) {
	c.mu.Lock()
	c.failures[id] = failure{err: err, until: until}
	c.mu.Unlock()
}

// recentFailure returns the error of a load that failed less than
// RetryBackoff ago.
func (c *cache) recentFailure(id KeysetID, now int64) error {
	c.mu.RLock()
	f, ok := c.failures[id]
	c.mu.RUnlock()
	if ok && now < f.until {
		return f.err
	}
	return nil
}

func (c *cache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}
