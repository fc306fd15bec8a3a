package sqlstore_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/fieldcrypt/fieldcrypt/internal/testenv"
	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/keyring/sqlstore"
	"github.com/fieldcrypt/fieldcrypt/keyring/storetest"
)

// openMySQL opens a pool on the test server with parseTime as given, or
// stops the test as testenv.Require says when the server is unreachable.
func openMySQL(t *testing.T, parseTime bool) *sql.DB {
	t.Helper()
	cfg, err := mysql.ParseDSN(testenv.MySQLDSN)
	if err != nil {
		t.Fatalf("MySQLDSN: %v", err)
	}
	cfg.ParseTime = parseTime
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err == nil {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		err = db.PingContext(ctx)
		cancel()
	}
	testenv.Require(t, "MySQL", err)
	t.Cleanup(func() { db.Close() })
	return db
}

// newDatabase creates a database of the test's own and drops it at cleanup.
func newDatabase(t *testing.T, db *sql.DB) string {
	t.Helper()
	name := randomName()
	if _, err := db.ExecContext(t.Context(), "CREATE DATABASE "+name); err != nil {
		t.Fatalf("CREATE DATABASE: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, "DROP DATABASE "+name); err != nil {
			t.Errorf("DROP DATABASE %s: %v", name, err)
		}
	})
	return name
}

func mysqlStores(db *sql.DB) newStoreFunc {
	return func(t *testing.T) (*sqlstore.Store, *sql.DB, string) {
		table := newDatabase(t, db) + ".fieldcrypt_keysets"
		return migrated(t, db, sqlstore.MySQL, &sqlstore.Options{Table: table}), db, table
	}
}

func TestMySQL(t *testing.T) {
	newStore := mysqlStores(openMySQL(t, true))
	storetest.Run(t, func(t *testing.T) keyring.Store {
		s, _, _ := newStore(t)
		return s
	})
	runDialectTests(t, sqlstore.MySQL, newStore)
}

// TestMySQLTextTimes checks times on a connection without parseTime=true,
// where the driver returns DATETIME columns as text.
func TestMySQLTextTimes(t *testing.T) {
	s, _, _ := mysqlStores(openMySQL(t, false))(t)
	rec := testRecord()
	if err := s.Create(t.Context(), rec); err != nil {
		t.Fatalf("Create err = %v", err)
	}
	got, err := s.Get(t.Context(), rec.ID)
	if err != nil {
		t.Fatalf("Get err = %v", err)
	}
	for _, tc := range []struct {
		name      string
		got, want time.Time
	}{
		{"Created", got.Created, rec.Created.Truncate(time.Microsecond)},
		{"Updated", got.Updated, rec.Updated.Truncate(time.Microsecond)},
	} {
		if !tc.got.Equal(tc.want) {
			t.Errorf("Get(%v).%s = %v, want %v", rec.ID, tc.name, tc.got, tc.want)
		}
	}
}
