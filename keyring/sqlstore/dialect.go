package sqlstore

import (
	"time"

	"github.com/fieldcrypt/fieldcrypt/internal/sqldialect"
)

// Dialect is the SQL database a [Store] or an [Anchor] talks to.
type Dialect = sqldialect.Dialect

// The dialects.
const (
	// Postgres is PostgreSQL, through any database/sql driver whose errors
	// have an SQLState method (github.com/jackc/pgx/v5/stdlib, lib/pq).
	Postgres = sqldialect.Postgres
	// SQLite is SQLite through modernc.org/sqlite (driver name "sqlite").
	SQLite = sqldialect.SQLite
	// MySQL is MySQL or MariaDB through github.com/go-sql-driver/mysql.
	MySQL = sqldialect.MySQL
)

// createTable returns the statement that creates the table if it is missing.
// table is already quoted.
func createTable(d Dialect, table string) string {
	switch d {
	case Postgres:
		return `CREATE TABLE IF NOT EXISTS ` + table + ` (
	scope            TEXT        NOT NULL,
	class            TEXT        NOT NULL,
	purpose          TEXT        NOT NULL,
	kek_uri          TEXT        NOT NULL,
	encrypted_keyset BYTEA       NOT NULL,
	metadata         BYTEA       NOT NULL,
	version          BIGINT      NOT NULL,
	created_at       TIMESTAMPTZ NULL,
	updated_at       TIMESTAMPTZ NULL,
	PRIMARY KEY (scope, class, purpose)
)`
	case SQLite:
		return `CREATE TABLE IF NOT EXISTS ` + table + ` (
	scope            TEXT    NOT NULL,
	class            TEXT    NOT NULL,
	purpose          TEXT    NOT NULL,
	kek_uri          TEXT    NOT NULL,
	encrypted_keyset BLOB    NOT NULL,
	metadata         BLOB    NOT NULL,
	version          INTEGER NOT NULL,
	created_at       TEXT    NULL,
	updated_at       TEXT    NULL,
	PRIMARY KEY (scope, class, purpose)
)`
	case MySQL:
		// VARBINARY, not VARCHAR ... COLLATE utf8mb4_bin: binary collations
		// of MySQL and MariaDB are PAD SPACE, so 'a' and 'a ' would be one
		// key. VARBINARY compares bytes, as keyring.KeysetID does, and 200
		// bytes is keyring's bound on scope and class names.
		return `CREATE TABLE IF NOT EXISTS ` + table + ` (
	scope            VARBINARY(200) NOT NULL,
	class            VARBINARY(200) NOT NULL,
	purpose          VARBINARY(16)  NOT NULL,
	kek_uri          TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
	encrypted_keyset LONGBLOB       NOT NULL,
	metadata         LONGBLOB       NOT NULL,
	version          BIGINT         NOT NULL,
	created_at       DATETIME(6)    NULL,
	updated_at       DATETIME(6)    NULL,
	PRIMARY KEY (scope, class, purpose)
) ENGINE=InnoDB`
	}
	return "" // New accepts only the dialects above
}

// sqliteTime is how SQLite rows hold times: UTC text with microseconds,
// which sorts as time and which SQLite's date functions read.
const sqliteTime = "2006-01-02T15:04:05.000000Z"

// timeArg returns t as a query argument: NULL for the zero time, otherwise
// t in UTC truncated to the microsecond, the precision of every dialect's
// column (truncated here so that no database rounds it instead).
func timeArg(d Dialect, t time.Time) any {
	if t.IsZero() {
		return nil
	}
	t = t.UTC().Truncate(time.Microsecond)
	if d == SQLite {
		return t.Format(sqliteTime)
	}
	return t
}
