package sqlstore_test

import (
	"context"
	"database/sql"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"github.com/fieldcrypt/fieldcrypt/internal/testenv"
	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/keyring/sqlstore"
	"github.com/fieldcrypt/fieldcrypt/keyring/storetest"
)

// sqlstore finds PostgreSQL's duplicate-key error through this method.
var _ interface{ SQLState() string } = (*pgconn.PgError)(nil)

// openPostgres opens a pool on the test server, or stops the test as
// testenv.Require says when the server is unreachable.
func openPostgres(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err == nil {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		err = db.PingContext(ctx)
		cancel()
	}
	testenv.Require(t, "PostgreSQL", err)
	t.Cleanup(func() { db.Close() })
	return db
}

// newSchema creates a schema of the test's own and drops it at cleanup.
func newSchema(t *testing.T, db *sql.DB) string {
	t.Helper()
	schema := randomName()
	if _, err := db.ExecContext(t.Context(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("CREATE SCHEMA: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("DROP SCHEMA %s: %v", schema, err)
		}
	})
	return schema
}

func TestPostgres(t *testing.T) {
	db := openPostgres(t, testenv.PostgresDSN)
	newStore := func(t *testing.T) (*sqlstore.Store, *sql.DB, string) {
		table := newSchema(t, db) + ".fieldcrypt_keysets"
		return migrated(t, db, sqlstore.Postgres, &sqlstore.Options{Table: table}), db, table
	}
	storetest.Run(t, func(t *testing.T) keyring.Store {
		s, _, _ := newStore(t)
		return s
	})
	runDialectTests(t, sqlstore.Postgres, newStore)
}

// TestPostgresSearchPath uses the default, unqualified table name in a pool
// whose search_path is the test's schema.
func TestPostgresSearchPath(t *testing.T) {
	admin := openPostgres(t, testenv.PostgresDSN)
	schema := newSchema(t, admin)
	u, err := url.Parse(testenv.PostgresDSN)
	if err != nil {
		t.Fatalf("PostgresDSN is not a URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	db := openPostgres(t, u.String())

	s := migrated(t, db, sqlstore.Postgres, nil)
	rec := testRecord()
	if err := s.Create(t.Context(), rec); err != nil {
		t.Fatalf("Create err = %v", err)
	}
	var n int
	err = admin.QueryRowContext(t.Context(), "SELECT count(*) FROM "+schema+"."+sqlstore.DefaultTable).Scan(&n)
	if err != nil || n != 1 {
		t.Errorf("rows in %s.%s = %d, %v, want 1", schema, sqlstore.DefaultTable, n, err)
	}
}
