package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for the admin connection
)

// PostgresSchema creates a schema of its own for the test on the
// PostgreSQL server (prefix followed by random hex) and returns
// PostgresDSN with its search_path set to it. The schema is dropped, with
// everything in it, when the test ends: close the pools opened on the DSN
// in cleanups registered after this call, which run first. A server that
// does not answer stops the test as [Require] says.
func PostgresSchema(t testing.TB, prefix string) string {
	t.Helper()
	admin := openAdmin(t, "PostgreSQL", "pgx", PostgresDSN)
	schema := prefix + "_" + randomHex()
	if _, err := admin.ExecContext(context.Background(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("CREATE SCHEMA %s: %v", schema, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("DROP SCHEMA %s: %v", schema, err)
		}
	})
	u, err := url.Parse(PostgresDSN)
	if err != nil {
		t.Fatalf("PostgresDSN is not a URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// MySQLDatabase creates a database of its own for the test on the MariaDB
// or MySQL server (prefix followed by random hex) and returns the
// connection settings of MySQLDSN with DBName set to it, to adjust and
// format. The database is dropped when the test ends, after the cleanups
// registered later (close pools in those).
func MySQLDatabase(t testing.TB, prefix string) *mysql.Config {
	t.Helper()
	cfg, err := mysql.ParseDSN(MySQLDSN)
	if err != nil {
		t.Fatalf("MySQLDSN: %v", err)
	}
	admin := openAdmin(t, "MariaDB", "mysql", cfg.FormatDSN())
	name := prefix + "_" + randomHex()
	if _, err := admin.ExecContext(context.Background(), "CREATE DATABASE "+name); err != nil {
		t.Fatalf("CREATE DATABASE %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE "+name); err != nil {
			t.Errorf("DROP DATABASE %s: %v", name, err)
		}
	})
	cfg.DBName = name
	return cfg
}

// openAdmin opens and pings a pool for creating and dropping the test's
// schema or database; it is closed when the test ends, last.
func openAdmin(t testing.TB, service, driver, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = db.PingContext(ctx)
		cancel()
		if err != nil {
			db.Close()
		}
	}
	Require(t, service, err)
	t.Cleanup(func() { db.Close() })
	return db
}

func randomHex() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
