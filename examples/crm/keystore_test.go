package main

import (
	"errors"
	"testing"
	"time"

	gosqlite "github.com/glebarez/go-sqlite"

	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/keyring/sqlstore"
	"github.com/fieldcrypt/fieldcrypt/keyring/storetest"
)

// openSQLiteDatabase opens the service's SQLite database in a fresh data
// directory, as newServer does.
func openSQLiteDatabase(t *testing.T) *database {
	t.Helper()
	d, err := openDatabase(t.Context(), Config{DataDir: t.TempDir()}, time.Now)
	if err != nil {
		t.Fatalf("openDatabase: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// TestKeysetStoreOnGORMsSQLiteDriver: the keyset store shares GORM's
// connection pool, whose SQLite driver is github.com/glebarez/go-sqlite
// (registered as "sqlite"), not modernc.org/sqlite, which the binary must
// not import as well (both register "sqlite": the second panics at init).
// sqlstore tells a duplicate key, the loser of two concurrent creates of
// one keyset, by the driver error's Code method and SQLite's extended
// result codes; glebarez's error has that method and the driver turns
// extended codes on. keyring/storetest (concurrent creates included) runs
// on that pool here.
func TestKeysetStoreOnGORMsSQLiteDriver(t *testing.T) {
	var _ interface{ Code() int } = (*gosqlite.Error)(nil)

	storetest.Run(t, func(t *testing.T) keyring.Store {
		d := openSQLiteDatabase(t)
		store, err := sqlstore.New(d.pool, d.dialect, nil)
		if err != nil {
			t.Fatalf("sqlstore.New: %v", err)
		}
		if err := store.Migrate(t.Context()); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
		return store
	})

	t.Run("duplicate key", func(t *testing.T) {
		d := openSQLiteDatabase(t)
		store, err := sqlstore.New(d.pool, d.dialect, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := store.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		insert := `INSERT INTO fieldcrypt_keysets (scope, class, purpose, kek_uri, encrypted_keyset, metadata, version)
			VALUES ('acme', 'pii', 'data', 'local:///k', x'00', x'00', 1)`
		if _, err := d.pool.ExecContext(t.Context(), insert); err != nil {
			t.Fatalf("first INSERT: %v", err)
		}
		_, err = d.pool.ExecContext(t.Context(), insert)
		var liteErr *gosqlite.Error
		if !errors.As(err, &liteErr) || !sqlstore.SQLite.IsDuplicate(err) {
			t.Errorf("second INSERT err = %v (%T), want a *sqlite.Error that sqlstore.SQLite.IsDuplicate classifies as a duplicate key", err, err)
		}
	})
}
