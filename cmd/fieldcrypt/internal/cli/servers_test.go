package cli_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/fieldcrypt/fieldcrypt/internal/testenv"
	"github.com/fieldcrypt/fieldcrypt/keyring/sqlstore"
)

func randomName() string {
	b := make([]byte, 6)
	rand.Read(b)
	return "fieldcrypt_cli_" + hex.EncodeToString(b)
}

// openServer opens a pool on a test server, or stops the test as
// testenv.Require says when it is unreachable.
func openServer(t *testing.T, service, driver, dsn string) *sql.DB {
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

// postgresSchema creates a PostgreSQL schema of the test's own, dropped at
// its end, and returns a DSN whose search_path is it and a pool on it.
func postgresSchema(t *testing.T) (string, *sql.DB) {
	t.Helper()
	admin := openServer(t, "PostgreSQL", "pgx", testenv.PostgresDSN)
	schema := randomName()
	if _, err := admin.ExecContext(t.Context(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("DROP SCHEMA %s: %v", schema, err)
		}
	})
	u, err := url.Parse(testenv.PostgresDSN)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), openServer(t, "PostgreSQL", "pgx", u.String())
}

// TestPostgres runs the keys commands and the job with the keyset store,
// the contacts table and the job tables in a PostgreSQL schema of the
// test's own, named through the DSN's search_path.
func TestPostgres(t *testing.T) {
	dsn, db := postgresSchema(t)

	h := newHarness(t)
	h.writeConfig(t, fmt.Sprintf("store: %s\nkeks:\n  pii: %s\n  support: %s\ncache_ttl: 100ms\npropagation_margin: 0s\n%s",
		dsn, h.keks["pii"], h.keks["support"], contactsTables))
	h.mustRun(t, "keys", "init", "--scope", "acme")
	if keys := h.list(t); len(keys) != 4 {
		t.Fatalf("keys list on PostgreSQL: %+v, want 4 keys", keys)
	}
	if _, err := db.ExecContext(t.Context(), `CREATE TABLE contacts (id TEXT PRIMARY KEY, tenant TEXT NOT NULL, email TEXT, email_idx TEXT, notes TEXT)`); err != nil {
		t.Fatal(err)
	}
	kr := openKeyringDB(t, db, sqlstore.Postgres, "", h.keks)
	for i := range 40 {
		ct := encryptContact(t, kr, fmt.Sprintf("acme-%03d", i), "acme", fmt.Sprintf("p%d@acme.example", i))
		if _, err := db.ExecContext(t.Context(), `INSERT INTO contacts VALUES ($1, $2, $3, $4, $5)`, ct.ID, ct.Tenant, ct.Email, ct.EmailIdx, ct.Notes); err != nil {
			t.Fatal(err)
		}
	}
	h.mustRun(t, "keys", "rotate", "--scope", "acme", "--purpose", "all")
	if s := h.status(t); s.NotPrimary != 80 {
		t.Errorf("status after rotating every acme keyset: not_primary = %d, want 80 (e-mail and notes of 40 rows)", s.NotPrimary)
	}
	// --concurrency 1: reencrypt's claim counter races with several
	// goroutines (reported); verify below runs two.
	r := h.mustRun(t, "reencrypt", "--json", "--concurrency", "1", "--batch-size", "9", "--job", "pg-test", "--worker", "w1")
	if sum := parseSummary(t, r.stdout); sum.Outcome != "done" || sum.Tables[0].Rewritten != 40 {
		t.Errorf("reencrypt on PostgreSQL: %+v, want done with 40 rewritten", sum)
	}
	if s := h.status(t); s.NotPrimary != 0 {
		t.Errorf("status after the job: not_primary = %d, want 0", s.NotPrimary)
	}
	h.mustRun(t, "verify", "--concurrency", "2")
}

// TestMySQL proves the mysql:// DSN mapping: init, list, export and import
// against MariaDB or MySQL.
func TestMySQL(t *testing.T) {
	cfg, err := mysql.ParseDSN(testenv.MySQLDSN)
	if err != nil {
		t.Fatalf("MySQLDSN: %v", err)
	}
	admin := openServer(t, "MySQL", "mysql", cfg.FormatDSN())
	name := randomName()
	if _, err := admin.ExecContext(t.Context(), "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE "+name); err != nil {
			t.Errorf("DROP DATABASE %s: %v", name, err)
		}
	})
	u := &url.URL{Scheme: "mysql", Host: cfg.Addr, Path: "/" + name}
	if cfg.Passwd != "" {
		u.User = url.UserPassword(cfg.User, cfg.Passwd)
	} else {
		u.User = url.User(cfg.User)
	}
	h := newHarness(t)
	store := u.String()
	h.mustRun(t, "--store", store, "--store-table", "keysets", "keys", "init", "--scope", "acme", "--class", "pii")
	keys := h.list(t, "--store", store, "--store-table", "keysets")
	if len(keys) != 2 {
		t.Fatalf("keys list on MySQL: %+v, want 2 keys", keys)
	}
	backup := filepath.Join(h.dir, "mysql-backup.json")
	h.mustRun(t, "--store", store, "--store-table", "keysets", "keys", "export", "--out", backup)
	h.mustRun(t, "--store", store, "--store-table", "keysets_restored", "keys", "import", "--in", backup, "--verify")
	if restored := h.list(t, "--store", store, "--store-table", "keysets_restored"); len(restored) != 2 || restored[0].KeyID != keys[0].KeyID {
		t.Errorf("keys restored on MySQL = %+v, want %+v", restored, keys)
	}
}
