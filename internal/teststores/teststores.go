// Package teststores gives tests the real keyset stores and anchors that an
// attacker with write access to the keyset store would face: a directory
// (keyring/filestore), SQLite and PostgreSQL (keyring/sqlstore). Each call
// makes its own directory, database file or PostgreSQL schema and removes
// it when the test ends. PostgreSQL follows testenv.Require: it fails under
// CI when the server is missing, and skips elsewhere.
package teststores

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver

	"github.com/fieldcrypt/fieldcrypt/internal/testenv"
	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/keyring/filestore"
	"github.com/fieldcrypt/fieldcrypt/keyring/sqlstore"
)

// Kind names one real store.
type Kind struct {
	Name string
	// New returns an empty store of this kind, removed at the test's end.
	New func(t testing.TB) keyring.Store
}

// Kinds returns the durable stores: file, sqlite, postgres.
func Kinds() []Kind {
	return []Kind{
		{"file", File},
		{"sqlite", SQLite},
		{"postgres", Postgres},
	}
}

// File returns a store in a new directory.
func File(t testing.TB) keyring.Store {
	t.Helper()
	s, err := filestore.Open(filepath.Join(t.TempDir(), "keysets"))
	if err != nil {
		t.Fatalf("filestore.Open() err = %v", err)
	}
	return s
}

// SQLite returns a store in a new SQLite database file.
func SQLite(t testing.TB) keyring.Store {
	t.Helper()
	s, err := sqlstore.New(SQLiteDB(t), sqlstore.SQLite, nil)
	if err != nil {
		t.Fatalf("sqlstore.New(sqlite) err = %v", err)
	}
	migrate(t, s.Migrate)
	return s
}

// Postgres returns a store in a new PostgreSQL schema.
func Postgres(t testing.TB) keyring.Store {
	t.Helper()
	db, schema := PostgresSchema(t)
	s, err := sqlstore.New(db, sqlstore.Postgres, &sqlstore.Options{Table: schema + ".fieldcrypt_keysets"})
	if err != nil {
		t.Fatalf("sqlstore.New(postgres) err = %v", err)
	}
	migrate(t, s.Migrate)
	return s
}

// SQLiteAnchor returns an anchor in a new SQLite database file: a database
// apart from any store's.
func SQLiteAnchor(t testing.TB) *sqlstore.Anchor {
	t.Helper()
	a, err := sqlstore.NewAnchor(SQLiteDB(t), sqlstore.SQLite, nil)
	if err != nil {
		t.Fatalf("sqlstore.NewAnchor(sqlite) err = %v", err)
	}
	migrate(t, a.Migrate)
	return a
}

// PostgresAnchor returns an anchor in a new PostgreSQL schema.
func PostgresAnchor(t testing.TB) *sqlstore.Anchor {
	t.Helper()
	db, schema := PostgresSchema(t)
	a, err := sqlstore.NewAnchor(db, sqlstore.Postgres, &sqlstore.AnchorOptions{Table: schema + ".fieldcrypt_keyset_anchor"})
	if err != nil {
		t.Fatalf("sqlstore.NewAnchor(postgres) err = %v", err)
	}
	migrate(t, a.Migrate)
	return a
}

func migrate(t testing.TB, m func(context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := m(ctx); err != nil {
		t.Fatalf("Migrate() err = %v", err)
	}
}

// SQLiteDB opens a new SQLite database in a temporary file.
func SQLiteDB(t testing.TB) *sql.DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "db.sqlite")
	dsn := "file:" + path + "?" + url.Values{"_pragma": {"busy_timeout(10000)", "journal_mode(WAL)"}}.Encode()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatalf("sql.Open(sqlite) err = %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// PostgresSchema opens the test server and creates a schema of the test's
// own, dropped at cleanup.
func PostgresSchema(t testing.TB) (*sql.DB, string) {
	t.Helper()
	db, err := sql.Open("pgx", testenv.PostgresDSN)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = db.PingContext(ctx)
		cancel()
	}
	testenv.Require(t, "PostgreSQL", err)
	t.Cleanup(func() { db.Close() })
	schema := "fc_" + randomHex(8)
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("CREATE SCHEMA: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("DROP SCHEMA %s: %v", schema, err)
		}
	})
	return db, schema
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Overwrite puts rec into store as it is, whatever is stored under its ID:
// what a writer of the store's database or directory can do. It goes
// through the store's own Delete and Create, which for the SQL stores are
// plain DELETE and INSERT statements.
func Overwrite(t testing.TB, store keyring.Store, rec *keyring.Record) {
	t.Helper()
	ctx := context.Background()
	if err := store.Delete(ctx, rec.ID); err != nil && !isNotFound(err) {
		t.Fatalf("attacker: Delete(%v) err = %v", rec.ID, err)
	}
	c := *rec
	if err := store.Create(ctx, &c); err != nil {
		t.Fatalf("attacker: Create(%v) err = %v", rec.ID, err)
	}
}

func isNotFound(err error) bool { return errors.Is(err, keyring.ErrKeysetNotFound) }
