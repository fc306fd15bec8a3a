package keyring

import "context"

// ScopeKeys looks up the keysets of one scope for one record. It reads the
// cache's list for the scope once, when it is made, so a record with fields
// of several classes pays one cache lookup rather than one per class
// (BENCHMARKS.md, "Against the floor").
//
// Its methods are those of the [Keyring] with the scope left out, and give
// what the keyring's would give at the time of the call: a keyset is served
// from the list only while no keyset of the keyring has been invalidated
// since the ScopeKeys was made (by a key change, a shred, a rewrap or a
// restore) and only while it is within its CacheTTL by the keyring clock
// read at the call. Anything else is asked of the keyring, which serves it
// stale, reloads or creates it, or fails, as always. So a shred that has
// returned fails every later lookup, through a ScopeKeys made before it too.
//
// Get one per record, or per small batch. To use one for later records of
// the same scope, check [ScopeKeys.Current] first: it saves nothing once
// the cache has changed.
//
// The zero value is not usable; get one from [Keyring.Scope].
type ScopeKeys struct {
	k       *Keyring
	scope   string
	epoch   uint64 // the cache's invalidation count when made
	changes uint64 // the cache's count of slot-list changes when made
	slots   []slot // the scope's cached keysets then
}

// Scope returns the keysets of scope, to look up once per record.
func (k *Keyring) Scope(scope string) ScopeKeys {
	// The counts are read before the slots: an invalidation after the
	// epoch makes the slots unused, and a change to any list after the
	// change count makes the ScopeKeys no longer Current, whether or not
	// the slots were read before it.
	epoch := k.cache.epoch.Load()
	changes := k.cache.changes.Load()
	return ScopeKeys{k: k, scope: scope, epoch: epoch, changes: changes, slots: k.cache.scope(scope)}
}

// Current reports whether s was made by k for scope and nothing has
// changed since that could make k.Scope(scope) return another list: no
// keyset has been invalidated, and no scope's list of cached keysets has
// changed (a load, a reload, an eviction). It is conservative: a change
// to any scope makes every ScopeKeys stale, and for the moment between a
// list's publication and the count's increment it may still report true
// for the list just replaced, which then holds keysets the cache held an
// instant before. What a lookup through s may serve does not rest on
// Current: each lookup checks the invalidation count and the keyset's
// expiry again. A caller that keeps a ScopeKeys from one record to the
// next of the same scope uses it again only while it is Current, and so
// skips the scope's lookup without serving anything a new one would not.
func (s *ScopeKeys) Current(k *Keyring, scope string) bool {
	return s.k == k && k != nil && s.scope == scope &&
		k.cache.changes.Load() == s.changes && k.cache.epoch.Load() == s.epoch
}

// DataKeys is [Keyring.DataKeys] for this scope.
func (s *ScopeKeys) DataKeys(ctx context.Context, class string) (*DataKeys, error) {
	if v := s.cached(class, PurposeData); v != nil {
		return v.(*DataKeys), nil
	}
	return s.k.DataKeys(ctx, s.scope, class)
}

// ExistingDataKeys is [Keyring.ExistingDataKeys] for this scope.
func (s *ScopeKeys) ExistingDataKeys(ctx context.Context, class string) (*DataKeys, error) {
	if v := s.cached(class, PurposeData); v != nil {
		return v.(*DataKeys), nil
	}
	return s.k.ExistingDataKeys(ctx, s.scope, class)
}

// IndexKeys is [Keyring.IndexKeys] for this scope.
func (s *ScopeKeys) IndexKeys(ctx context.Context, class string) (*IndexKeys, error) {
	if v := s.cached(class, PurposeIndex); v != nil {
		return v.(*IndexKeys), nil
	}
	return s.k.IndexKeys(ctx, s.scope, class)
}

// ExistingIndexKeys is [Keyring.ExistingIndexKeys] for this scope.
func (s *ScopeKeys) ExistingIndexKeys(ctx context.Context, class string) (*IndexKeys, error) {
	if v := s.cached(class, PurposeIndex); v != nil {
		return v.(*IndexKeys), nil
	}
	return s.k.ExistingIndexKeys(ctx, s.scope, class)
}

// cached returns the cached keyset of (class, purpose) if the keyring's own
// lookup would serve it now as fresh: counted as a hit and told to the
// eviction policy. Anything else is left to the keyring.
func (s *ScopeKeys) cached(class string, purpose Purpose) any {
	sl := findSlot(s.slots, class, purpose)
	if sl == nil || s.k.cache.epoch.Load() != s.epoch {
		return nil
	}
	now := s.k.clock()
	if now >= sl.expires {
		return nil
	}
	s.k.cache.touch(KeysetID{Scope: s.scope, Class: class, Purpose: purpose}, sl.e, now)
	s.k.stats.hits.Add(1)
	return sl.value
}
