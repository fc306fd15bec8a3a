package keyring

import (
	"sync"
	"sync/atomic"
	"time"
)

// cache holds unwrapped keysets by ID, bounded in size. Expiry decisions
// are the keyring's; the cache only stores, finds and evicts.
//
// Reads take no lock: they go through view, an immutable two-level index
// (scope, then a short list of class and purpose) that writers replace
// copy-on-write under mu. Writes happen once per keyset load; reads happen
// for every field of every record.
type cache struct {
	max int

	view atomic.Pointer[map[string]*scopeSlots]

	mu       sync.Mutex
	entries  map[KeysetID]*entry  // the same entries, for writers
	failures map[KeysetID]failure // recent load failures, for RetryBackoff
}

// scopeSlots holds the cached keysets of one scope.
type scopeSlots struct {
	slots atomic.Pointer[[]slot]
}

type slot struct {
	class   string
	purpose Purpose
	e       *entry
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
	c := &cache{max: max, entries: make(map[KeysetID]*entry), failures: make(map[KeysetID]failure)}
	c.view.Store(&map[string]*scopeSlots{})
	return c
}

func (c *cache) get(id KeysetID) *entry {
	ss := (*c.view.Load())[id.Scope]
	if ss == nil {
		return nil
	}
	for _, s := range *ss.slots.Load() {
		if s.class == id.Class && s.purpose == id.Purpose {
			return s.e
		}
	}
	return nil
}

// setSlot publishes e (or, when e is nil, the absence of id) in the read
// view. c.mu must be held.
func (c *cache) setSlot(id KeysetID, e *entry) {
	view := *c.view.Load()
	ss := view[id.Scope]
	if ss == nil {
		if e == nil {
			return
		}
		next := make(map[string]*scopeSlots, len(view)+1)
		for k, v := range view {
			next[k] = v
		}
		ss = &scopeSlots{}
		ss.slots.Store(&[]slot{})
		next[id.Scope] = ss
		c.view.Store(&next)
	}
	old := *ss.slots.Load()
	slots := make([]slot, 0, len(old)+1)
	for _, s := range old {
		if s.class != id.Class || s.purpose != id.Purpose {
			slots = append(slots, s)
		}
	}
	if e != nil {
		slots = append(slots, slot{class: id.Class, purpose: id.Purpose, e: e})
	}
	ss.slots.Store(&slots)
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
		c.setSlot(oldest, nil)
	}
	c.entries[id] = e
	c.setSlot(id, e)
}

// remove drops the cached keyset id and any remembered load failure, after
// the keyset changed or failed for good.
func (c *cache) remove(id KeysetID) {
	c.mu.Lock()
	delete(c.entries, id)
	delete(c.failures, id)
	c.setSlot(id, nil)
	c.mu.Unlock()
}

// removeScope drops every cached keyset of scope.
func (c *cache) removeScope(scope string) {
	c.mu.Lock()
	defer c.mu.Unlock()
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
	view := *c.view.Load()
	if _, ok := view[scope]; ok {
		next := make(map[string]*scopeSlots, len(view))
		for k, v := range view {
			if k != scope {
				next[k] = v
			}
		}
		c.view.Store(&next)
	}
}

func (c *cache) fail(id KeysetID, err error, until int64) {
	c.mu.Lock()
	c.failures[id] = failure{err: err, until: until}
	c.mu.Unlock()
}

// recentFailure returns the error of a load that failed less than
// RetryBackoff ago.
func (c *cache) recentFailure(id KeysetID, now int64) error {
	c.mu.Lock()
	f, ok := c.failures[id]
	c.mu.Unlock()
	if ok && now < f.until {
		return f.err
	}
	return nil
}

func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
