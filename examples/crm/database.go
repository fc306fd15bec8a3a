package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver

	"github.com/fieldcrypt/fieldcrypt/keyring/sqlstore"
)

// database is the service's connection pool and its SQL dialect. One pool
// holds both the contacts and the wrapped keysets (sqlstore's table).
type database struct {
	*sql.DB
	dialect sqlstore.Dialect
	where   string // what to tell the user: a file path, or "PostgreSQL"
}

// openDatabase opens and pings the database cfg names.
func openDatabase(ctx context.Context, cfg Config) (*database, error) {
	kind, target, err := databaseKind(cfg.DB)
	if err != nil {
		return nil, err
	}
	d := &database{}
	switch kind {
	case "postgres":
		d.dialect, d.where = sqlstore.Postgres, "PostgreSQL at "+redactDSN(target)
		d.DB, err = sql.Open("pgx", target)
	default:
		if target == "" {
			target = filepath.Join(cfg.DataDir, "crm.db")
		}
		d.dialect, d.where = sqlstore.SQLite, "SQLite at "+target
		// WAL and a busy timeout let the admin and support processes share
		// the file; foreign_keys makes deleting a contact delete its history.
		q := url.Values{"_pragma": {"busy_timeout(5000)", "journal_mode(WAL)", "foreign_keys(1)"}}
		d.DB, err = sql.Open("sqlite", "file:"+target+"?"+q.Encode())
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", d.where, err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := d.PingContext(pingCtx); err != nil {
		d.Close()
		return nil, fmt.Errorf("connect to %s: %w", d.where, err)
	}
	return d, nil
}

// redactDSN drops the password from a PostgreSQL URL.
func redactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable DSN)"
	}
	return u.Redacted()
}

// q rewrites the '?' placeholders of query for the dialect.
func (d *database) q(query string) string {
	if d.dialect != sqlstore.Postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// placeholders returns "?, ?, ..." for n values.
func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }

// migrate creates the keyset table and the CRM's tables if they are missing.
func (d *database) migrate(ctx context.Context, store *sqlstore.Store) error {
	if err := store.Migrate(ctx); err != nil {
		return fmt.Errorf("create the keyset table: %w", err)
	}
	ts := "TEXT" // SQLite: UTC text that sorts as time (see timeArg)
	if d.dialect == sqlstore.Postgres {
		ts = "TIMESTAMPTZ"
	}
	for _, stmt := range []string{
		// Every encrypted column holds "fc1:..." text; the index columns
		// hold short hex strings. Empty optional fields stay ''.
		`CREATE TABLE IF NOT EXISTS contacts (
			tenant_id       TEXT NOT NULL,
			id              TEXT NOT NULL,
			name            TEXT NOT NULL,
			email           TEXT NOT NULL,
			email_idx       TEXT NOT NULL,
			phone           TEXT NOT NULL,
			phone_last4_idx TEXT NOT NULL,
			company         TEXT NOT NULL,
			notes           TEXT NOT NULL,
			created_at      ` + ts + ` NOT NULL,
			updated_at      ` + ts + ` NOT NULL,
			PRIMARY KEY (tenant_id, id))`,
		`CREATE INDEX IF NOT EXISTS contacts_by_email ON contacts (tenant_id, email_idx)`,
		`CREATE INDEX IF NOT EXISTS contacts_by_phone_last4 ON contacts (tenant_id, phone_last4_idx)`,
		`CREATE TABLE IF NOT EXISTS interactions (
			tenant_id  TEXT NOT NULL,
			id         TEXT NOT NULL,
			contact_id TEXT NOT NULL,
			channel    TEXT NOT NULL,
			summary    TEXT NOT NULL,
			at         ` + ts + ` NOT NULL,
			PRIMARY KEY (tenant_id, id),
			FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id) ON DELETE CASCADE)`,
		`CREATE INDEX IF NOT EXISTS interactions_by_contact ON interactions (tenant_id, contact_id, at)`,
	} {
		if _, err := d.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("create the CRM tables: %w", err)
		}
	}
	return nil
}

// sqliteTime is how SQLite rows hold times: UTC text with microseconds,
// fixed width so that it sorts as time.
const sqliteTime = "2006-01-02T15:04:05.000000Z"

// timeArg returns t as a query argument for the dialect, truncated to the
// microsecond that both databases keep.
func (d *database) timeArg(t time.Time) any {
	t = t.UTC().Truncate(time.Microsecond)
	if d.dialect == sqlstore.SQLite {
		return t.Format(sqliteTime)
	}
	return t
}

// dbTime scans a time column of either dialect.
type dbTime struct{ t *time.Time }

func (s dbTime) Scan(src any) error {
	switch v := src.(type) {
	case time.Time:
		*s.t = v.UTC()
		return nil
	case string:
		return s.parse(v)
	case []byte:
		return s.parse(string(v))
	}
	return fmt.Errorf("time column holds %T, want a time or text", src)
}

func (s dbTime) parse(v string) error {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return fmt.Errorf("time column: %w", err)
	}
	*s.t = t.UTC()
	return nil
}
