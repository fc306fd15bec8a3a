package keyring_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/fieldcrypt/fieldcrypt/internal/teststores"
	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// reload looks up acme's pii data keys on kr once they are past their
// stale period (the fixture's CacheTTL plus StalePeriod is 11 minutes), so
// that the lookup itself reloads them, and returns its error.
func reload(f *fixture, kr *keyring.Keyring) error {
	f.clock.Advance(12 * time.Minute)
	_, err := kr.DataKeys(context.Background(), "acme", "pii")
	return err
}

// TestKEKCheckIntervalKeepsUnchangedKeysets checks Config.KEKCheckInterval:
// reloads of an unchanged keyset read the store and make no KMS call until
// the last unwrap is KEKCheckInterval old, and a reload that keeps the
// keyset does not make the unwrap younger. By default every reload calls
// the KMS.
func TestKEKCheckIntervalKeepsUnchangedKeysets(t *testing.T) {
	for _, tc := range []struct {
		name     string
		interval time.Duration
		// KMS calls over ten reloads 12 minutes apart, then over one
		// more a day later.
		within, after int64
	}{
		{"default", 0, 10, 1},
		{"shorter than the TTL", time.Second, 10, 1},
		{"an hour", time.Hour, 2, 1}, // at 60 and 120 minutes
		{"a day", 24 * time.Hour, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			kr := f.keyring(t, func(c *keyring.Config) { c.KEKCheckInterval = tc.interval })
			if _, err := kr.DataKeys(context.Background(), "acme", "pii"); err != nil {
				t.Fatal(err)
			}
			calls, loads := f.kek.calls.Load(), kr.Stats().Loads
			for range 10 {
				if err := reload(f, kr); err != nil {
					t.Fatalf("reload err = %v", err)
				}
			}
			if got := kr.Stats().Loads - loads; got != 10 {
				t.Errorf("ten reloads read the store %d times, want 10", got)
			}
			if got := f.kek.calls.Load() - calls; got != tc.within {
				t.Errorf("ten reloads in two hours made %d KMS calls, want %d", got, tc.within)
			}
			calls = f.kek.calls.Load()
			f.clock.Advance(24 * time.Hour)
			if err := reload(f, kr); err != nil {
				t.Fatalf("reload err = %v", err)
			}
			if got := f.kek.calls.Load() - calls; got != tc.after {
				t.Errorf("a reload a day later made %d KMS calls, want %d", got, tc.after)
			}
		})
	}
}

// TestKEKCheckIntervalSeesChanges checks that a keyset changed by another
// process is unwrapped on the first reload, however long KEKCheckInterval
// is: a promotion reaches the process within CacheTTL, as by default.
func TestKEKCheckIntervalSeesChanges(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	app := f.keyring(t, func(c *keyring.Config) { c.KEKCheckInterval = 24 * time.Hour })
	id := dataID("acme", "pii")
	if _, err := app.DataKeys(ctx, "acme", "pii"); err != nil {
		t.Fatal(err)
	}
	m := keyring.NewManager(f.keyring(t, nil))
	newID, err := m.AddKey(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.PromoteKey(ctx, id, newID); err != nil {
		t.Fatal(err)
	}
	calls := f.kek.calls.Load()
	f.clock.Advance(61 * time.Second) // past the TTL: lookups reload in the background
	deadline := time.Now().Add(5 * time.Second)
	for {
		dk, err := app.DataKeys(ctx, "acme", "pii")
		if err == nil && dk.PrimaryID() == newID {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the process did not pick up the promoted key after its TTL (err %v)", err)
		}
		time.Sleep(time.Millisecond)
	}
	if f.kek.calls.Load() == calls {
		t.Errorf("a changed keyset was taken without a KMS call")
	}
}

// TestKEKCheckIntervalRefusesRollback plays a store writer against a
// process that keeps unchanged keysets: after another process added a key
// (the anchor holds version 2), the writer puts back the version 1 row,
// byte for byte the one the process unwrapped. The reload must refuse it,
// though it unwraps nothing.
func TestKEKCheckIntervalRefusesRollback(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	anchor := &keyring.MemoryAnchor{}
	withAnchor := func(c *keyring.Config) { c.Anchor = anchor; c.KEKCheckInterval = 24 * time.Hour }
	app := f.keyring(t, withAnchor)
	id := dataID("acme", "pii")
	if _, err := app.DataKeys(ctx, "acme", "pii"); err != nil {
		t.Fatal(err)
	}
	old, err := f.store.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keyring.NewManager(f.keyring(t, withAnchor)).AddKey(ctx, id); err != nil {
		t.Fatal(err)
	}
	teststores.Overwrite(t, f.store, old)
	f.clock.Advance(61 * time.Second)
	waitForError(t, app, keyring.ErrRollback)
}

// TestKEKCheckIntervalRefusesHiddenKeyset plays the store writer who hides
// a keyset from a shred and puts it back, byte for byte the one a process
// keeps. The anchor never learnt the keyset's version (its writes failed
// while the process created it), so only the anchor's mark on the shredded
// scope can refuse it.
func TestKEKCheckIntervalRefusesHiddenKeyset(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	anchor := &flakyAnchor{}
	withAnchor := func(c *keyring.Config) { c.Anchor = anchor; c.KEKCheckInterval = 24 * time.Hour }
	app := f.keyring(t, withAnchor)
	id := dataID("acme", "pii")
	anchor.failWrites.Store(true)
	if _, err := app.DataKeys(ctx, "acme", "pii"); err != nil {
		t.Fatal(err)
	}
	anchor.failWrites.Store(false)
	hidden, err := f.store.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	admin := keyring.NewManager(f.keyring(t, withAnchor))
	if err := admin.CreateKeysets(ctx, "acme", "support"); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Shred(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	teststores.Overwrite(t, f.store, hidden)
	f.clock.Advance(61 * time.Second)
	waitForError(t, app, keyring.ErrScopeShredded)
}

// waitForError looks up acme's pii data keys until the lookup fails with
// want: a background reload that refused the stored keyset drops it.
func waitForError(t *testing.T, kr *keyring.Keyring, want error) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := kr.DataKeys(context.Background(), "acme", "pii")
		if errors.Is(err, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("DataKeys() err = %v, want %v once the background reload ran", err, want)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestKEKCheckIntervalAfterClose checks that Close stays final for a
// keyring that keeps unchanged keysets: a reload after it fails, though
// the stored keyset did not change and its unwrap is recent.
func TestKEKCheckIntervalAfterClose(t *testing.T) {
	f := newFixture(t)
	kr := f.keyring(t, func(c *keyring.Config) { c.KEKCheckInterval = 24 * time.Hour })
	if _, err := kr.DataKeys(context.Background(), "acme", "pii"); err != nil {
		t.Fatal(err)
	}
	if err := kr.Close(); err != nil {
		t.Fatal(err)
	}
	if err := reload(f, kr); err == nil {
		t.Errorf("a reload after Close kept the keyset; Close is final")
	}
}
