package sqldialect_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"github.com/fieldcrypt/fieldcrypt/internal/sqldialect"
	"github.com/fieldcrypt/fieldcrypt/internal/testenv"
)

// TestIsDuplicate: each dialect recognises its own driver's duplicate-key
// error, wrapped or not, and nothing else.
func TestIsDuplicate(t *testing.T) {
	pgDup := sqlStateError{"23505"}
	myDup := mysqlError(1062, "23000", "Duplicate entry 'a' for key 'PRIMARY'")
	cases := []struct {
		d    sqldialect.Dialect
		err  error
		want bool
	}{
		{sqldialect.Postgres, pgDup, true},
		{sqldialect.Postgres, fmt.Errorf("sqlstore: create: %w", pgDup), true},
		{sqldialect.Postgres, sqlStateError{"23503"}, false}, // foreign key
		{sqldialect.Postgres, myDup, false},
		{sqldialect.MySQL, myDup, true},
		{sqldialect.MySQL, fmt.Errorf("sqlstore: create: %w", myDup), true},
		{sqldialect.MySQL, mysqlError(1452, "23000", "Cannot add or update a child row"), false},
		{sqldialect.MySQL, pgDup, false},
		{sqldialect.SQLite, pgDup, false},
		{sqldialect.Postgres, errors.New("duplicate key value violates unique constraint"), false},
		{sqldialect.Postgres, nil, false},
		{0, pgDup, false},
	}
	for _, tc := range cases {
		if got := tc.d.IsDuplicate(tc.err); got != tc.want {
			t.Errorf("%v.IsDuplicate(%v) = %v, want %v", tc.d, tc.err, got, tc.want)
		}
	}
}

// TestRealErrors: the errors the drivers really return, from SQLite,
// PostgreSQL and MariaDB, are classified as the tables above say. Each
// database gets a temporary table on one connection, so nothing is left
// behind.
func TestRealErrors(t *testing.T) {
	dbs := map[sqldialect.Dialect]func(t *testing.T) *sql.DB{
		sqldialect.SQLite: func(t *testing.T) *sql.DB {
			return openSQLite(t, "file:"+filepath.Join(t.TempDir(), "dup.db"))
		},
		sqldialect.Postgres: func(t *testing.T) *sql.DB { return openServer(t, "pgx", testenv.PostgresDSN, "PostgreSQL") },
		sqldialect.MySQL: func(t *testing.T) *sql.DB {
			cfg, err := mysql.ParseDSN(testenv.MySQLDSN)
			if err != nil {
				t.Fatalf("MySQLDSN: %v", err)
			}
			return openServer(t, "mysql", cfg.FormatDSN(), "MariaDB")
		},
	}
	for _, d := range []sqldialect.Dialect{sqldialect.SQLite, sqldialect.Postgres, sqldialect.MySQL} {
		t.Run(d.String(), func(t *testing.T) {
			ctx := t.Context()
			conn, err := dbs[d](t).Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			temp := "TEMPORARY"
			if d == sqldialect.Postgres {
				temp = "TEMP"
			}
			table := d.QuoteIdent("fc_dialect_" + d.String())
			exec := func(q string, args ...any) error {
				_, err := conn.ExecContext(ctx, d.Rebind(q), args...)
				return err
			}
			if err := exec("CREATE " + temp + " TABLE " + table + " (k VARCHAR(10) NOT NULL PRIMARY KEY, v VARCHAR(10) NOT NULL, UNIQUE (v))"); err != nil {
				t.Fatal(err)
			}
			if err := exec("INSERT INTO "+table+" (k, v) VALUES (?, ?)", "a", "1"); err != nil {
				t.Fatal(err)
			}
			cases := []struct {
				name      string
				err       error
				duplicate bool
				kind      sqldialect.ErrorKind
			}{
				{"duplicate primary key", exec("INSERT INTO "+table+" (k, v) VALUES (?, ?)", "a", "2"), true, sqldialect.Transient},
				{"duplicate unique key", exec("INSERT INTO "+table+" (k, v) VALUES (?, ?)", "b", "1"), true, sqldialect.Transient},
				{"unknown column", exec("SELECT notes FROM " + table), false, sqldialect.Missing},
				{"unknown table", exec("SELECT k FROM " + d.QuoteIdent("fc_dialect_absent")), false, sqldialect.Missing},
				{"syntax error", exec("SELEKT k FROM " + table), false, sqldialect.Permanent},
			}
			for _, tc := range cases {
				if tc.err == nil {
					t.Errorf("%s: no error", tc.name)
					continue
				}
				err := fmt.Errorf("wrapped: %w", tc.err)
				if got := d.IsDuplicate(err); got != tc.duplicate {
					t.Errorf("%s: IsDuplicate(%v) = %v, want %v", tc.name, tc.err, got, tc.duplicate)
				}
				if got := sqldialect.Classify(err); got != tc.kind {
					t.Errorf("%s: Classify(%v) = %v, want %v", tc.name, tc.err, got, tc.kind)
				}
			}
		})
	}
}

// openServer opens a pool on a test server, or stops the test as
// testenv.Require says when the server is unreachable.
func openServer(t *testing.T, driver, dsn, service string) *sql.DB {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err == nil {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		err = db.PingContext(ctx)
		cancel()
	}
	testenv.Require(t, service, err)
	t.Cleanup(func() { db.Close() })
	return db
}
