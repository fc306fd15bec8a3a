package keyring

import "context"

// ScopeKeys looks up the keysets of one scope for one record. It reads the
// cache's list for the scope and the clock once, when it is made, so a
// record with fields of several classes pays one cache lookup rather than
// one per class: in a Decrypt of a record with two classes, that was a
// tenth of the time (BENCHMARKS.md, "Against the floor").
//
// Its methods are those of the [Keyring] with the scope left out, and give
// the same results as the keyring's would have given when the ScopeKeys was
// made: a cached keyset past its CacheTTL, or one not cached, is asked of
// the keyring (which serves it stale, reloads or creates it, as always).
// So get one per record, or per small batch, and drop it: one kept for
// minutes would keep serving the keysets it saw, as if no time had passed.
//
// The zero value is not usable; get one from [Keyring.Scope].
type ScopeKeys struct {
	k     *Keyring
	scope string
	now   int64  // the keyring clock when made
	slots []slot // the scope's cached keysets then
}

// Scope returns the keysets of scope, to look up once per record.
func (k *Keyring) Scope(scope string) ScopeKeys {
	return ScopeKeys{k: k, scope: scope, now: k.clock(), slots: k.cache.scope(scope)}
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

// cached returns the cached keyset of (class, purpose) if it is fresh, as
// the keyring's own lookup would: counted as a hit and told to the eviction
// policy. Anything else (not cached, past its TTL) is left to the keyring.
func (s *ScopeKeys) cached(class string, purpose Purpose) any {
	e := findSlot(s.slots, class, purpose)
	if e == nil || s.now >= e.expires {
		return nil
	}
	s.k.cache.touch(KeysetID{Scope: s.scope, Class: class, Purpose: purpose}, e, s.now)
	s.k.stats.hits.Add(1)
	return e.value
}
