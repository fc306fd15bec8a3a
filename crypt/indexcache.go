package crypt

import (
	"runtime"
	"sync"
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
//     map load and an atomic load; weak.Make, which takes a runtime lock on
//     the handle's memory span, runs only on a miss.
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
	m sync.Map // indexerKey → *indexerEntry
}

type indexerKey struct {
	keys uintptr // the handle's address; never turned back into a pointer
	ix   any     // the index: a *indexField or a *tokenField of a plan
}

type indexerEntry struct {
	keys weak.Pointer[keyring.IndexKeys]
	set  any // *indexers for a *indexField, *tokenizers for a *tokenField
}

// get returns the indexers of ix under ik, calling derive on a miss.
// Concurrent misses may both derive; the last one stored stays.
func (c *indexerCache) get(ik *keyring.IndexKeys, ix *indexField, derive func() (*indexers, error)) (*indexers, error) {
	return memo(c, ik, ix, derive)
}

// memo is get for any index: ix is a plan's *indexField or *tokenField,
// and T what computes it, the same type for every call with that ix.
func memo[T any](c *indexerCache, ik *keyring.IndexKeys, ix any, derive func() (T, error)) (T, error) {
	k := indexerKey{keys: uintptr(unsafe.Pointer(ik)), ix: ix}
	if v, ok := c.m.Load(k); ok {
		if e := v.(*indexerEntry); e.keys.Value() == ik {
			return e.set.(T), nil
		}
	}
	set, err := derive()
	if err != nil {
		var zero T
		return zero, err
	}
	e := &indexerEntry{keys: weak.Make(ik), set: set}
	c.m.Store(k, e)
	// The cleanup must not reach ik, or ik would never be collected: it
	// holds the cache, the key (an address and the plan's index) and the
	// entry (a weak pointer and the indexers or tokenizers, which hold
	// derived subkeys only).
	runtime.AddCleanup(ik, func(k indexerKey) { c.m.CompareAndDelete(k, e) }, k)
	return set, nil
}
