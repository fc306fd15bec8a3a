package keyring_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/kms"
)

// eventually polls cond every 10 ms for up to 5 s.
func eventually(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCacheClockExpiresOnRealTime checks that cache expiry follows real
// time on the production clock (the coarse one): with a 50 ms TTL and no
// stale period, a keyset used without pause is loaded again once its TTL
// has passed, and again after the clock's ticker stopped for idleness.
func TestCacheClockExpiresOnRealTime(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	kr, err := keyring.New(keyring.Config{Store: f.store, Opener: f.opener, DefaultKEK: f.uri,
		CacheTTL: 50 * time.Millisecond, StalePeriod: -1})
	require.NoError(t, err)
	defer kr.Close()

	_, err = kr.DataKeys(ctx, "acme", "pii")
	require.NoError(t, err)
	loads := kr.Stats().Loads
	start := time.Now()
	for time.Since(start) < 300*time.Millisecond {
		s := kr.Scope("acme")
		_, err := s.ExistingDataKeys(ctx, "pii")
		require.NoError(t, err)
	}
	assert.True(t, keyring.ClockTicking(kr), "a keyring serving hits has no clock ticker")
	// 300 ms of lookups span at least four 50 ms TTLs, even with a clock
	// late by a tick or a scheduling delay.
	assert.GreaterOrEqual(t, kr.Stats().Loads-loads, int64(3), "the cache did not expire on time")

	eventually(t, func() bool { return !keyring.ClockTicking(kr) }, "the clock ticker did not stop after a second without hits")
	loads = kr.Stats().Loads
	s := kr.Scope("acme")
	_, err = s.ExistingDataKeys(ctx, "pii")
	require.NoError(t, err)
	assert.Equal(t, loads+1, kr.Stats().Loads, "with the ticker stopped, an expired keyset was served")
	assert.True(t, keyring.ClockTicking(kr), "a lookup did not start the ticker again")
}

// TestCloseStopsTheCacheClock checks that Close stops the clock's ticker
// for good, and that the keyring's cache still expires afterwards.
func TestCloseStopsTheCacheClock(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	kr, err := keyring.New(keyring.Config{Store: f.store, Opener: f.opener, DefaultKEK: f.uri,
		CacheTTL: 20 * time.Millisecond, StalePeriod: -1})
	require.NoError(t, err)
	_, err = kr.DataKeys(ctx, "acme", "pii")
	require.NoError(t, err)
	_, err = kr.DataKeys(ctx, "acme", "pii")
	require.NoError(t, err)
	require.True(t, keyring.ClockTicking(kr))
	require.NoError(t, kr.Close())
	eventually(t, func() bool { return !keyring.ClockTicking(kr) }, "Close did not stop the clock ticker")

	time.Sleep(30 * time.Millisecond)
	_, err = kr.DataKeys(ctx, "acme", "pii")
	require.Error(t, err, "a keyset past its TTL was served after Close")
	assert.True(t, errors.Is(err, keyring.ErrClosed) || errors.Is(err, kms.ErrClosed), "err = %v, want ErrClosed", err)
	assert.False(t, keyring.ClockTicking(kr), "a lookup after Close started the ticker")
}

// TestStatsDoesNotStartTheClock checks that reading a keyring's statistics
// (a metrics export every few seconds, say) does not keep the cache
// clock's ticker running on a keyring that serves no lookups.
func TestStatsDoesNotStartTheClock(t *testing.T) {
	f := newFixture(t)
	kr, err := keyring.New(keyring.Config{Store: f.store, Opener: f.opener, DefaultKEK: f.uri})
	require.NoError(t, err)
	defer kr.Close()
	_ = kr.Stats()
	assert.False(t, keyring.ClockTicking(kr), "Stats started the cache clock's ticker")
}
