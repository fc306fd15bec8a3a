package crypt

import (
	"runtime"
	"unsafe"
	"weak"

	"github.com/puzpuzpuz/xsync/v4"

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
	m *xsync.Map[uintptr, handleSets] // by the handle's address
}

func newIndexerCache() *indexerCache {
	return &indexerCache{m: xsync.NewMap[uintptr, handleSets]()}
}

// handleSets is the cache's entry for one index keyset handle: a weak
// pointer to the handle, and what was derived from it so far, one set per
// index. One entry per handle, not per index, keeps the map, the weak
// pointers and the cleanups to one per loaded keyset. An entry is a value
// in the map, never changed: adding a set replaces it, so a lookup reads
// the map's entry and the list, and nothing else it could find changed.
type handleSets struct {
	keys weak.Pointer[keyring.IndexKeys]
	sets []derivedSet
}

// derivedSet is what computes one index under one handle.
type derivedSet struct {
	ix  any // the index: a *indexField or a *tokenField of a plan
	set any // *indexers for a *indexField, *tokenizers for a *tokenField
}

// find returns the set derived for ix, if any.
func (h *handleSets) find(ix any) (any, bool) {
	for i := range h.sets {
		if h.sets[i].ix == ix {
			return h.sets[i].set, true
		}
	}
	return nil, false
}

// memoHint remembers, for one record, the entry of the index keyset handle
// the memo last found, so that the record's indexes under one keyset find
// it once. The op holds the handle for the whole record, so the handle
// cannot die and its address cannot be reused meanwhile; the entry only
// grows, so an index missing from the remembered one is looked up again.
type memoHint struct {
	ik *keyring.IndexKeys
	h  handleSets
}

// get returns the indexers of ix under ik, calling derive on a miss. hint
// may be nil.
func (c *indexerCache) get(hint *memoHint, ik *keyring.IndexKeys, ix *indexField, derive func() (*indexers, error)) (*indexers, error) {
	return memo(c, hint, ik, ix, derive)
}

// memo is get for any index: ix is a plan's *indexField or *tokenField,
// and T what computes it, the same type for every call with that ix.
// Concurrent misses may both derive; the first one added stays.
func memo[T any](c *indexerCache, hint *memoHint, ik *keyring.IndexKeys, ix any, derive func() (T, error)) (T, error) {
	addr := uintptr(unsafe.Pointer(ik))
	if hint != nil && hint.ik == ik && ik != nil {
		if set, ok := hint.h.find(ix); ok {
			return set.(T), nil
		}
	}
	if h, ok := c.m.Load(addr); ok && h.keys.Value() == ik {
		if hint != nil {
			hint.ik, hint.h = ik, h
		}
		if set, ok := h.find(ix); ok {
			return set.(T), nil
		}
	}
	set, err := derive()
	if err != nil {
		var zero T
		return zero, err
	}
	kept, h := c.add(ik, addr, ix, set)
	if hint != nil {
		hint.ik, hint.h = ik, h
	}
	return kept.(T), nil
}

// add records set as derived for ix under ik, and returns the set kept
// (set, or one another goroutine added first) and ik's entry as it now is.
// An entry left at ik's address by a handle that is gone is replaced.
func (c *indexerCache) add(ik *keyring.IndexKeys, addr uintptr, ix, set any) (any, handleSets) {
	kept := set
	var made weak.Pointer[keyring.IndexKeys] // set when a new entry was made
	h, _ := c.m.Compute(addr, func(cur handleSets, loaded bool) (handleSets, xsync.ComputeOp) {
		if loaded && cur.keys.Value() == ik {
			if got, ok := cur.find(ix); ok {
				kept = got
				return cur, xsync.CancelOp
			}
			next := cur
			next.sets = append(cur.sets[:len(cur.sets):len(cur.sets)], derivedSet{ix: ix, set: set})
			return next, xsync.UpdateOp
		}
		made = weak.Make(ik)
		return handleSets{keys: made, sets: []derivedSet{{ix: ix, set: set}}}, xsync.UpdateOp
	})
	if made != (weak.Pointer[keyring.IndexKeys]{}) {
		// The cleanup must not reach ik, or ik would never be collected:
		// it holds the cache, the address and the weak pointer.
		runtime.AddCleanup(ik, func(addr uintptr) { c.delete(addr, made) }, addr)
	}
	return kept, h
}

// delete removes the entry at addr if it is still the one whose weak
// pointer is keys (a later handle at the same address has another).
func (c *indexerCache) delete(addr uintptr, keys weak.Pointer[keyring.IndexKeys]) {
	c.m.Compute(addr, func(cur handleSets, loaded bool) (handleSets, xsync.ComputeOp) {
		if loaded && cur.keys == keys {
			return handleSets{}, xsync.DeleteOp
		}
		return cur, xsync.CancelOp
	})
}
