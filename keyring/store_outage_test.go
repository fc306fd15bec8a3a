//go:build unix

package keyring_test

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/fieldcrypt/fieldcrypt/internal/testenv"
	"github.com/fieldcrypt/fieldcrypt/internal/teststores"
	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/keyring/sqlstore"
)

// TestStoreOutageServesStale cuts the keyset store off: a TCP proxy
// between the keyring and a real PostgreSQL is closed, so every
// connection ends and every new one is refused. As through a KEK outage,
// a cached keyset keeps serving for the stale period, and what cannot be
// served fails with ErrKEKUnavailable (transient, worth retrying): a
// keyset never loaded, and the cached one once the stale period is over.
func TestStoreOutageServesStale(t *testing.T) {
	ctx := context.Background()
	_, schema := teststores.PostgresSchema(t)
	dsn, err := url.Parse(testenv.PostgresDSN)
	if err != nil {
		t.Fatal(err)
	}
	proxy := startLatencyProxy(t, dsn.Host)
	dsn.Host = proxy.Addr()
	db, err := sql.Open("pgx", dsn.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	store, err := sqlstore.New(db, sqlstore.Postgres, &sqlstore.Options{Table: schema + ".fieldcrypt_keysets"})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t)
	kr := f.keyring(t, func(c *keyring.Config) { c.Store = store; c.LoadTimeout = 5 * time.Second })
	t.Cleanup(func() { kr.Close() })
	if _, err := kr.DataKeys(ctx, "acme", "pii"); err != nil {
		t.Fatal(err)
	}

	proxy.close()
	f.clock.Advance(2 * time.Minute) // past CacheTTL (1 min), within StalePeriod (10 min)
	for i := range 3 {
		if _, err := kr.DataKeys(ctx, "acme", "pii"); err != nil {
			t.Fatalf("DataKeys %d during the store outage, within the stale period: err = %v, want the cached keyset", i, err)
		}
		waitFor(t, "the background reload to fail", func() bool { return kr.Stats().LoadErrors > int64(i) })
		f.clock.Advance(2 * time.Second) // past RetryBackoff: the next call reloads again
	}
	if s := kr.Stats(); s.StaleServed == 0 {
		t.Errorf("Stats().StaleServed = 0 after serving through the outage")
	}
	if _, err := kr.DataKeys(ctx, "globex", "pii"); !errors.Is(err, keyring.ErrKEKUnavailable) {
		t.Errorf("DataKeys(a keyset never loaded) during the outage: err = %v, want ErrKEKUnavailable", err)
	}
	f.clock.Advance(10 * time.Minute)
	if _, err := kr.DataKeys(ctx, "acme", "pii"); !errors.Is(err, keyring.ErrKEKUnavailable) {
		t.Errorf("DataKeys past the stale period: err = %v, want ErrKEKUnavailable", err)
	}
}
