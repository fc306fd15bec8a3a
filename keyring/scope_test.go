package keyring_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// TestScopeKeysServesWhatTheKeyringServes checks that a ScopeKeys hands out
// the keyring's own cached keysets, counted as hits, with no load, and that
// classes it does not hold are asked of the keyring (a write creates one).
func TestScopeKeysServesWhatTheKeyringServes(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	kr := f.keyring(t, nil)
	pii, err := kr.DataKeys(ctx, "acme", "pii")
	require.NoError(t, err)
	ix, err := kr.IndexKeys(ctx, "acme", "pii")
	require.NoError(t, err)

	before := kr.Stats()
	s := kr.Scope("acme")
	got, err := s.ExistingDataKeys(ctx, "pii")
	require.NoError(t, err)
	assert.Same(t, pii, got)
	got, err = s.DataKeys(ctx, "pii")
	require.NoError(t, err)
	assert.Same(t, pii, got)
	gotIx, err := s.ExistingIndexKeys(ctx, "pii")
	require.NoError(t, err)
	assert.Same(t, ix, gotIx)
	gotIx, err = s.IndexKeys(ctx, "pii")
	require.NoError(t, err)
	assert.Same(t, ix, gotIx)
	after := kr.Stats()
	assert.Equal(t, int64(4), after.CacheHits-before.CacheHits, "hits")
	assert.Equal(t, before.Loads, after.Loads, "loads")

	// A class the view does not hold: a read finds nothing and creates
	// nothing; a write creates it.
	_, err = s.ExistingDataKeys(ctx, "support")
	require.ErrorIs(t, err, keyring.ErrKeysetNotFound)
	_, err = f.store.Get(ctx, keyring.KeysetID{Scope: "acme", Class: "support", Purpose: keyring.PurposeData})
	require.ErrorIs(t, err, keyring.ErrKeysetNotFound, "a read through a ScopeKeys created a keyset")
	support, err := s.DataKeys(ctx, "support")
	require.NoError(t, err)
	again, err := kr.ExistingDataKeys(ctx, "acme", "support")
	require.NoError(t, err)
	assert.Same(t, support, again)

	// A scope with no keysets at all.
	none := kr.Scope("nobody")
	_, err = none.ExistingDataKeys(ctx, "pii")
	require.ErrorIs(t, err, keyring.ErrKeysetNotFound)
	_, err = none.ExistingIndexKeys(ctx, "pii")
	require.ErrorIs(t, err, keyring.ErrKeysetNotFound)
}

// TestScopeKeysHonoursTheTTL checks that a ScopeKeys made after a keyset's
// CacheTTL does not serve the cached keyset as fresh: past the stale period
// it is loaded again, and with the KEK down that load fails rather than
// the expired keyset being used.
func TestScopeKeysHonoursTheTTL(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	kr := f.keyring(t, nil) // CacheTTL 1m, StalePeriod 10m
	_, err := kr.DataKeys(ctx, "acme", "pii")
	require.NoError(t, err)

	f.clock.Advance(12 * time.Minute) // past TTL and stale period
	f.kek.down.Store(true)
	s := kr.Scope("acme")
	_, err = s.ExistingDataKeys(ctx, "pii")
	require.ErrorIs(t, err, keyring.ErrKEKUnavailable, "an expired keyset was served")

	f.kek.down.Store(false)
	f.clock.Advance(2 * time.Second) // past RetryBackoff
	before := kr.Stats().Loads
	s = kr.Scope("acme")
	_, err = s.ExistingDataKeys(ctx, "pii")
	require.NoError(t, err)
	assert.Equal(t, before+1, kr.Stats().Loads, "the expired keyset was not loaded again")
}

// TestScopeKeysSeesKeyChangesAndShreds checks that a ScopeKeys made after a
// rotation serves the new primary, and one made after a shred serves no
// key of the scope.
func TestScopeKeysSeesKeyChangesAndShreds(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	kr := f.keyring(t, nil)
	m := keyring.NewManager(kr)
	id := keyring.KeysetID{Scope: "acme", Class: "pii", Purpose: keyring.PurposeData}
	old, err := kr.DataKeys(ctx, "acme", "pii")
	require.NoError(t, err)

	newKey, err := m.AddKey(ctx, id)
	require.NoError(t, err)
	require.NoError(t, m.PromoteKey(ctx, id, newKey))
	s := kr.Scope("acme")
	dk, err := s.DataKeys(ctx, "pii")
	require.NoError(t, err)
	assert.NotEqual(t, old.PrimaryID(), dk.PrimaryID())
	assert.Equal(t, newKey, dk.PrimaryID())

	_, err = m.Shred(ctx, "acme")
	require.NoError(t, err)
	s = kr.Scope("acme")
	_, err = s.ExistingDataKeys(ctx, "pii")
	require.ErrorIs(t, err, keyring.ErrScopeShredded)
	_, err = s.DataKeys(ctx, "pii")
	require.ErrorIs(t, err, keyring.ErrScopeShredded)
	_, err = s.IndexKeys(ctx, "pii")
	require.ErrorIs(t, err, keyring.ErrScopeShredded)
}

// TestScopeKeysMadeBeforeAChange checks that a ScopeKeys made before a key
// change or a shred does not serve what the change replaced: the change
// has returned, so every later lookup sees it, through an older ScopeKeys
// too. A record in flight across a shred must fail, not be written under
// destroyed keys.
func TestScopeKeysMadeBeforeAChange(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	kr := f.keyring(t, nil)
	m := keyring.NewManager(kr)
	id := keyring.KeysetID{Scope: "acme", Class: "pii", Purpose: keyring.PurposeData}
	old, err := kr.DataKeys(ctx, "acme", "pii")
	require.NoError(t, err)
	_, err = kr.IndexKeys(ctx, "acme", "pii")
	require.NoError(t, err)

	s := kr.Scope("acme")
	newKey, err := m.AddKey(ctx, id)
	require.NoError(t, err)
	require.NoError(t, m.PromoteKey(ctx, id, newKey))
	dk, err := s.DataKeys(ctx, "pii")
	require.NoError(t, err)
	assert.Equal(t, newKey, dk.PrimaryID(), "a ScopeKeys made before a promotion served the old primary")
	assert.NotEqual(t, old.PrimaryID(), dk.PrimaryID())

	s = kr.Scope("acme")
	_, err = s.ExistingIndexKeys(ctx, "pii") // served from the view: it is in use
	require.NoError(t, err)
	_, err = m.Shred(ctx, "acme")
	require.NoError(t, err)
	_, err = s.DataKeys(ctx, "pii")
	require.ErrorIs(t, err, keyring.ErrScopeShredded, "a ScopeKeys made before a shred served a shredded keyset")
	_, err = s.ExistingIndexKeys(ctx, "pii")
	require.ErrorIs(t, err, keyring.ErrScopeShredded)
}

// TestScopeKeysDoesNotFreezeTime checks that a ScopeKeys judges freshness
// by the clock at each lookup, not when it was made: kept past the TTL and
// stale period, it serves nothing from its list.
func TestScopeKeysDoesNotFreezeTime(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	kr := f.keyring(t, nil) // CacheTTL 1m, StalePeriod 10m
	_, err := kr.DataKeys(ctx, "acme", "pii")
	require.NoError(t, err)
	s := kr.Scope("acme")
	f.clock.Advance(12 * time.Minute)
	f.kek.down.Store(true)
	_, err = s.ExistingDataKeys(ctx, "pii")
	require.ErrorIs(t, err, keyring.ErrKEKUnavailable, "a keyset past its TTL and stale period was served")
}

// TestScopeKeysCurrent checks that a ScopeKeys is Current exactly while it
// is what Keyring.Scope would return: for its own keyring and scope only,
// and no longer after any change to the cache (a load, a background
// reload, a promotion, a shred), so that a caller reusing it across
// records never serves from an older cache.
func TestScopeKeysCurrent(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	kr := f.keyring(t, nil) // CacheTTL 1m, StalePeriod 10m
	other := f.keyring(t, nil)
	m := keyring.NewManager(kr)
	first, err := kr.DataKeys(ctx, "acme", "pii")
	require.NoError(t, err)

	s := kr.Scope("acme")
	assert.True(t, s.Current(kr, "acme"), "a ScopeKeys is not Current right after it was made")
	assert.False(t, s.Current(kr, "globex"), "Current for another scope")
	assert.False(t, s.Current(other, "acme"), "Current for another keyring")
	assert.False(t, s.Current(nil, "acme"), "Current for no keyring")
	var zero keyring.ScopeKeys
	assert.False(t, zero.Current(kr, "acme"), "the zero ScopeKeys is Current")
	// Lookups through it change nothing.
	_, err = s.DataKeys(ctx, "pii")
	require.NoError(t, err)
	assert.True(t, s.Current(kr, "acme"), "a hit made the ScopeKeys stale")

	// A load anywhere in the cache, even of another scope.
	_, err = kr.DataKeys(ctx, "globex", "pii")
	require.NoError(t, err)
	assert.False(t, s.Current(kr, "acme"), "Current after a load")

	// A background reload, which replaces the entry without invalidating.
	s = kr.Scope("acme")
	f.clock.Advance(2 * time.Minute) // past the TTL, within the stale period
	loads := kr.Stats().Loads
	stale, err := kr.DataKeys(ctx, "acme", "pii")
	require.NoError(t, err)
	assert.Same(t, first, stale, "the expired keyset was not served stale")
	require.Eventually(t, func() bool { return kr.Stats().Loads > loads && !s.Current(kr, "acme") },
		5*time.Second, time.Millisecond, "Current after a background reload")
	s = kr.Scope("acme")
	reloaded, err := s.DataKeys(ctx, "pii")
	require.NoError(t, err)
	assert.NotSame(t, first, reloaded, "a new ScopeKeys served the keyset the reload replaced")

	// A promotion and a shred.
	s = kr.Scope("acme")
	id := keyring.KeysetID{Scope: "acme", Class: "pii", Purpose: keyring.PurposeData}
	newKey, err := m.AddKey(ctx, id)
	require.NoError(t, err)
	require.NoError(t, m.PromoteKey(ctx, id, newKey))
	assert.False(t, s.Current(kr, "acme"), "Current after a promotion")
	s = kr.Scope("acme")
	_, err = m.Shred(ctx, "acme")
	require.NoError(t, err)
	assert.False(t, s.Current(kr, "acme"), "Current after a shred")
}
