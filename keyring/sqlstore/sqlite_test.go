package sqlstore_test

import (
	"database/sql"
	"net/url"
	"path/filepath"
	"testing"

	"modernc.org/sqlite"

	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/keyring/sqlstore"
	"github.com/fieldcrypt/fieldcrypt/keyring/storetest"
)

// sqlstore finds SQLite's duplicate-key error through this method.
var _ interface{ Code() int } = (*sqlite.Error)(nil)

// openSQLite opens a new SQLite database in a temporary file. Writers wait
// for each other (busy_timeout) instead of failing with SQLITE_BUSY.
func openSQLite(t *testing.T) *sql.DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keys.db")
	dsn := "file:" + path + "?" + url.Values{"_pragma": {"busy_timeout(10000)", "journal_mode(WAL)"}}.Encode()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatalf("sql.Open(sqlite) err = %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newSQLiteStore(t *testing.T) (*sqlstore.Store, *sql.DB, string) {
	db := openSQLite(t)
	return migrated(t, db, sqlstore.SQLite, nil), db, sqlstore.DefaultTable
}

func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) keyring.Store {
		s, _, _ := newSQLiteStore(t)
		return s
	})
	runDialectTests(t, sqlstore.SQLite, newSQLiteStore)
}
