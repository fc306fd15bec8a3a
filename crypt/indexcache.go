package crypt

import (
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"
	"weak"

	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// indexerCache memoizes, per loaded index keyset and blind or token index,
// what computes the index: the indexers of a blind index or the tokenizers
// of a token index (one subkey derivation and one keyed HMAC state per
// enabled key), so that subkeys are derived once per keyset load, not once
// per record.
//
// The keyring hands out a new *keyring.IndexKeys every time it loads a
// keyset: on first use, after each cache TTL, after a rotation. A cache that
// held those handles would keep every one of them, and their keys, for as
// long as the Encryptor lives. This one holds them weakly:
//
//   - An entry is keyed by the handle's address, which the garbage collector
//     does not move, and records a weak pointer to the handle. A lookup is a
//     map load, an atomic load and a scan of the handle's few indexes;
//     weak.Make, which takes a runtime lock on the handle's memory span,
//     runs only when a handle is first seen.
//   - A cleanup attached to the handle deletes the entry once the keyring
//     has dropped the handle and the collector has freed it, so the cache
//     holds entries only for live handles (and briefly for dead ones).
//   - The cleanup holds the cache, so the cache is an allocation of its
//     own, holding nothing but the map. Were it a field of the Encryptor,
//     the cleanup would hold the Encryptor, its keyring, the keyring's
//     cache and so the handle itself: a cleanup that reaches its object
//     never runs and keeps the object alive, and a dropped Encryptor and
//     keyring would never be collected (TestDroppedEncryptorIsCollected).
//   - Freed memory may be reused by a new handle before the cleanup has
//     run. Its weak pointer then no longer resolves to the handle in hand
//     (a weak pointer to a freed object stays nil), so the stale entry is a
//     miss and is replaced; the late cleanup deletes only its own entry.
type indexerCache struct {
	m sync.Map // uintptr (a handle's address) → *handleSets
}

// handleSets is the cache's entry for one index keyset handle: a weak
// pointer to the handle, and what was derived from it so far, one set per
// index. One entry per handle, not per index, keeps the map, the weak
// pointers and the cleanups to one per loaded keyset: at 100,000 tenants
// that is 100,000 entries rather than one per tenant and index.
type handleSets struct {
	keys weak.Pointer[keyring.IndexKeys]
	mu   sync.Mutex                   // serializes add
	sets atomic.Pointer[[]derivedSet] // copied on add; read without mu
}

// derivedSet is what computes one index under one handle.
type derivedSet struct {
	ix  any // the index: a *indexField or a *tokenField of a plan
	set any // *indexers for a *indexField, *tokenizers for a *tokenField
}

// find returns the set derived for ix, if any.
func (h *handleSets) find(ix any) (any, bool) {
	if sets := h.sets.Load(); sets != nil {
		for i := range *sets {
			if (*sets)[i].ix == ix {
				return (*sets)[i].set, true
			}
		}
	}
	return nil, false
}

// add records set as derived for ix, unless one was added meanwhile: that
// one is returned and stays.
func (h *handleSets) add(ix, set any) any {
	h.mu.Lock()
	defer h.mu.Unlock()
	if got, ok := h.find(ix); ok {
		return got
	}
	var cur []derivedSet
	if p := h.sets.Load(); p != nil {
		cur = *p
	}
	next := append(cur[:len(cur):len(cur)], derivedSet{ix: ix, set: set})
	h.sets.Store(&next)
	return set
}

// get returns the indexers of ix under ik, calling derive on a miss.
func (c *indexerCache) get(ik *keyring.IndexKeys, ix *indexField, derive func() (*indexers, error)) (*indexers, error) {
	return memo(c, ik, ix, derive)
}

// memo is get for any index: ix is a plan's *indexField or *tokenField,
// and T what computes it, the same type for every call with that ix.
// Concurrent misses may both derive; the first one added stays.
func memo[T any](c *indexerCache, ik *keyring.IndexKeys, ix any, derive func() (T, error)) (T, error) {
	h := c.handle(ik)
	if set, ok := h.find(ix); ok {
		return set.(T), nil
	}
	set, err := derive()
	if err != nil {
		var zero T
		return zero, err
	}
	return h.add(ix, set).(T), nil
}

// handle returns the entry of ik, making it on a miss.
func (c *indexerCache) handle(ik *keyring.IndexKeys) *handleSets {
	addr := uintptr(unsafe.Pointer(ik))
	if v, ok := c.m.Load(addr); ok {
		if h := v.(*handleSets); h.keys.Value() == ik {
			return h
		}
	}
	h := &handleSets{keys: weak.Make(ik)}
	if v, loaded := c.m.LoadOrStore(addr, h); loaded {
		if cur := v.(*handleSets); cur.keys.Value() == ik {
			return cur // made by a concurrent miss
		}
		c.m.Store(addr, h) // a stale entry: its handle is gone
	}
	// The cleanup must not reach ik, or ik would never be collected: it
	// holds the cache, the address and the entry (a weak pointer and the
	// indexers or tokenizers, which hold derived subkeys only).
	runtime.AddCleanup(ik, func(addr uintptr) { c.m.CompareAndDelete(addr, h) }, addr)
	return h
}
