package keyring

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"
	"github.com/puzpuzpuz/xsync/v4"
)

// cache holds unwrapped keysets by ID, bounded in number. Expiry decisions
// are the keyring's; the cache only stores, finds and evicts.
//
// It has two parts that hold the same entries:
//
//   - front serves reads without a lock: a concurrent map from scope to
//     that scope's short, copy-on-write list of (class, purpose) slots. A
//     read hashes one string and scans a list of two or three.
//   - bound decides what stays: an otter cache (W-TinyLFU: a frequency
//     sketch admits a newcomer only over a colder victim, so a scan or a
//     cyclic working set larger than the cache does not flush the hot
//     keysets, and every operation is O(1) amortised). While the cache is
//     evicting (within pressureWindow of an eviction), a read tells it of
//     its keyset at most once per reportTick (10 ms): the sketch
//     counts the ticks in which a keyset was used, which ranks the keysets
//     at the eviction boundary (used now and then) exactly and saturates
//     for the hot ones. A working set that fits makes no eviction, and
//     then a hit pays one atomic load and never calls into the policy,
//     whose read buffer costs microseconds a hit when every hit feeds it.
//
// Writes to both parts for one keyset run inside bound's per-key Compute,
// so they are ordered; the front list of a scope changes under mu. An
// eviction reaches front through bound's atomic deletion event, which
// removes the slot only if it still holds the evicted entry. Locks are
// taken bound's bucket first, then mu; nothing calls bound while holding
// mu, so they cannot deadlock.
type cache struct {
	clock func() int64               // the keyring clock
	front *xsync.Map[string, []slot] // scope -> its cached keysets; a list is never changed, only replaced
	gens  [genStripes]atomic.Uint64  // invalidations of keysets, by a hash of their scope
	bound *otter.Cache[KeysetID, *entry]

	mu sync.Mutex // orders changes to front's slot lists

	failMu    sync.Mutex
	failures  map[KeysetID]failure // recent load failures, for RetryBackoff
	failSweep int                  // sweep expired failures at this size

	// epoch counts invalidations (remove, removeScope). A load notes it
	// before reading the store, and put refuses to cache what it loaded
	// if an invalidation ran meanwhile: the load may have read the
	// keyset as it was before a key change or a shred that has returned.
	// A ScopeKeys notes it too, and serves from its slot list only while
	// it is unchanged.
	epoch atomic.Uint64

	// changes counts publications of a scope's slot list (setSlot, after
	// the list is stored): while it is unchanged, every scope's list is
	// the one read before. A ScopeKeys notes it, so that it can tell it is
	// still what Keyring.Scope would return.
	changes atomic.Uint64

	evictions atomic.Int64
	reloads   atomic.Int64
	lastEvict atomic.Int64 // keyring clock of the last eviction, +1; 0: none
}

// pressureWindow is how long after an eviction hits keep feeding the
// eviction policy's frequency sketch.
const pressureWindow = int64(time.Minute)

type slot struct {
	class   string
	purpose Purpose
	e       *entry
	// Copies of e's value and expiry, which never change: a lookup
	// through a ScopeKeys reads them here, without reaching e (one cache
	// line fewer a keyset, when a record's tenant was not used lately).
	value   any
	expires int64
}

// entry is one cached keyset.
type entry struct {
	value      any          // *DataKeys or *IndexKeys
	expires    int64        // fresh until (keyring clock, nanoseconds)
	staleUntil int64        // may serve until, while reloads fail
	reported   atomic.Int64 // the reportTick in which a hit was last told to the policy
	refreshing atomic.Bool  // a background reload is in flight
	failing    atomic.Bool  // the last background reload failed
	origin     *origin      // what value was unwrapped from; nil unless Config.KEKCheckInterval exceeds CacheTTL
}

// failure remembers a failed load so that callers within RetryBackoff get
// the same error without another KMS call.
type failure struct {
	err   error
	until int64 // keyring clock
}

func newCache(max int, clock func() int64) (*cache, error) {
	c := &cache{clock: clock, front: xsync.NewMap[string, []slot](), failures: make(map[KeysetID]failure), failSweep: minFailSweep}
	bound, err := otter.New(&otter.Options[KeysetID, *entry]{
		MaximumSize: max,
		// Atomic: front drops an evicted keyset as otter does, with no
		// goroutine per eviction. It runs under otter's bucket lock and
		// takes c.mu; nothing calls otter while holding c.mu.
		OnAtomicDeletion: func(ev otter.DeletionEvent[KeysetID, *entry]) {
			if ev.WasEvicted() {
				c.evicted(ev.Key, ev.Value)
			}
		},
	})
	if err != nil {
		return nil, err
	}
	c.bound = bound
	return c, nil
}

// get returns the cached keyset id, or nil. While the cache is evicting it
// tells the eviction policy of the use, if it has not heard of one at now.
func (c *cache) get(id KeysetID, now int64) *entry {
	e := c.lookup(id)
	if e != nil {
		c.touch(id, e, now)
	}
	return e
}

// touch tells the eviction policy of a use of e, the entry of id, while the
// cache is evicting and if it has not heard of one at now.
func (c *cache) touch(id KeysetID, e *entry, now int64) {
	if last := c.lastEvict.Load(); last != 0 && now-last < pressureWindow {
		c.report(id, e, now)
	}
}

// report tells the eviction policy of a use of e, once per reportTick.
func (c *cache) report(id KeysetID, e *entry, now int64) {
	if tick := now / reportTick; e.reported.Load() != tick {
		e.reported.Store(tick)
		c.bound.GetIfPresent(id) // feeds the frequency sketch
	}
}

// reportTick is the granularity at which hits feed the eviction policy:
// one report per keyset per tick at most.
const reportTick = int64(10 * time.Millisecond)

// lookup is get without telling the eviction policy.
func (c *cache) lookup(id KeysetID) *entry {
	if s := findSlot(c.scope(id.Scope), id.Class, id.Purpose); s != nil {
		return s.e
	}
	return nil
}

// scope returns the cached keysets of scope as they are now, or nil.
func (c *cache) scope(scope string) []slot {
	slots, _ := c.front.Load(scope)
	return slots
}

// findSlot returns the slot of (class, purpose) in slots, or nil.
func findSlot(slots []slot, class string, purpose Purpose) *slot {
	for i := range slots {
		if slots[i].class == class && slots[i].purpose == purpose {
			return &slots[i]
		}
	}
	return nil
}

// setSlot publishes e (or, when e is nil, the absence of id) in front. It
// returns the entry it replaced. c.mu must be held.
func (c *cache) setSlot(id KeysetID, e *entry) (old *entry) {
	cur, _ := c.front.Load(id.Scope)
	if len(cur) == 0 && e == nil {
		return nil
	}
	slots := make([]slot, 0, len(cur)+1)
	for _, s := range cur {
		if s.class == id.Class && s.purpose == id.Purpose {
			old = s.e
		} else {
			slots = append(slots, s)
		}
	}
	if e != nil {
		slots = append(slots, slot{class: id.Class, purpose: id.Purpose, e: e, value: e.value, expires: e.expires})
	}
	if len(slots) == 0 {
		c.front.Delete(id.Scope)
	} else {
		c.front.Store(id.Scope, slots)
	}
	c.changes.Add(1) // after the store: see ScopeKeys.Current
	return old
}

// put stores e under id and clears any remembered failure, unless an
// invalidation ran since epoch (read before the load read the store): then
// it drops id instead and reports false. When the cache is full, the
// eviction policy drops a colder keyset, or e itself if e is colder than
// every resident (e still serves the caller that loaded it).
func (c *cache) put(id KeysetID, e *entry, epoch uint64) (cached bool) {
	c.clearFailure(id)
	c.bound.Compute(id, func(*entry, bool) (*entry, otter.ComputeOp) {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.epoch.Load() != epoch {
			c.setSlot(id, nil)
			return nil, otter.InvalidateOp
		}
		c.setSlot(id, e)
		cached = true
		return e, otter.WriteOp
	})
	return cached
}

// remove drops the cached keyset id and any remembered load failure, after
// the keyset changed or failed for good. A load in flight does not cache
// what it read, and callers from now on do not share it (scopeGen).
func (c *cache) remove(id KeysetID) {
	c.changed(id.Scope)
	c.clearFailure(id)
	c.bound.Compute(id, func(*entry, bool) (*entry, otter.ComputeOp) {
		c.mu.Lock()
		c.epoch.Add(1)
		c.setSlot(id, nil)
		// Again once the slot is gone: a ScopeKeys that read the first
		// count may have read the slot list before the change.
		c.epoch.Add(1)
		c.mu.Unlock()
		return nil, otter.InvalidateOp
	})
}

// genStripes is how many invalidation counts the cache keeps: scopes share
// them by hash, so the memory is fixed however many tenants change keys.
const genStripes = 1024

// gen returns the invalidation count of scope's stripe, chosen by the
// scope's FNV-1a hash: the same stripe in every process and every run, so
// which scopes share one does not change from run to run.
func (c *cache) gen(scope string) *atomic.Uint64 {
	h := uint64(14695981039346656037)
	for i := range len(scope) {
		h = (h ^ uint64(scope[i])) * 1099511628211
	}
	return &c.gens[h%genStripes]
}

// changed counts a change of scope's keysets (an invalidation or a
// creation), before what it clears.
func (c *cache) changed(scope string) { c.gen(scope).Add(1) }

// scopeGen counts the invalidations of scope's keysets (and of the other
// scopes of its stripe): a load started under one count must not answer a
// caller who came under a later one.
func (c *cache) scopeGen(scope string) uint64 { return c.gen(scope).Load() }

// removeScope drops every cached keyset of scope.
func (c *cache) removeScope(scope string) {
	c.changed(scope)
	// Under c.mu, a put either came first (and its slot is in ids) or
	// sees the new epoch and caches nothing.
	var ids []KeysetID
	c.mu.Lock()
	c.epoch.Add(1)
	if slots, ok := c.front.Load(scope); ok {
		for _, s := range slots {
			ids = append(ids, KeysetID{Scope: scope, Class: s.class, Purpose: s.purpose})
		}
	}
	c.mu.Unlock()
	for _, id := range ids {
		c.remove(id)
	}
	c.failMu.Lock()
	for id := range c.failures {
		if id.Scope == scope {
			delete(c.failures, id)
		}
	}
	c.failMu.Unlock()
}

// evicted removes an entry the eviction policy dropped from front, unless
// front already holds a newer one.
func (c *cache) evicted(id KeysetID, e *entry) {
	c.evictions.Add(1)
	c.lastEvict.Store(c.clock() + 1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lookup(id) == e {
		c.setSlot(id, nil)
	}
}

// minFailSweep is the smallest size of the failure map that triggers a
// sweep of expired failures.
const minFailSweep = 1024

// fail remembers until until that a load of id failed with err, unless
// id's scope was invalidated since gen, read before the load read the
// store.
func (c *cache) fail(id KeysetID, err error, until, now int64, gen uint64) {
	c.failMu.Lock()
	defer c.failMu.Unlock()
	if c.scopeGen(id.Scope) != gen {
		// The keyset changed since the load read the store (remove and
		// removeScope count before they clear failures): what failed
		// then says nothing of what callers from now on will find.
		return
	}
	c.failures[id] = failure{err: err, until: until}
	if len(c.failures) >= c.failSweep {
		// Failures outlive RetryBackoff only until here: lookups of
		// ever more unknown scopes must not grow the map for good. The
		// threshold doubles with what survives, so sweeps cost O(1) per
		// failure amortised.
		for k, f := range c.failures {
			if now >= f.until {
				delete(c.failures, k)
			}
		}
		c.failSweep = max(minFailSweep, 2*len(c.failures))
	}
}

func (c *cache) clearFailure(id KeysetID) {
	c.failMu.Lock()
	delete(c.failures, id)
	c.failMu.Unlock()
}

// recentFailure returns the error of a load that failed less than
// RetryBackoff ago.
func (c *cache) recentFailure(id KeysetID, now int64) error {
	c.failMu.Lock()
	f, ok := c.failures[id]
	c.failMu.Unlock()
	if ok && now < f.until {
		return f.err
	}
	return nil
}

func (c *cache) len() int { return c.bound.EstimatedSize() }
