package reencrypt

import (
	"fmt"

	"github.com/fieldcrypt/fieldcrypt/internal/sqldialect"
)

// Dialect is the SQL database a job talks to.
type Dialect = sqldialect.Dialect

// The dialects.
const (
	// Postgres is PostgreSQL through github.com/jackc/pgx/v5/stdlib (or any
	// database/sql driver taking $n placeholders). It coordinates several
	// workers with SELECT ... FOR UPDATE SKIP LOCKED.
	Postgres = sqldialect.Postgres
	// SQLite is SQLite through modernc.org/sqlite. Jobs run with one worker
	// (SQLite has one writer at a time); open it with a busy_timeout.
	SQLite = sqldialect.SQLite
	// MySQL is MariaDB 10.6+ or MySQL 8.0+ through
	// github.com/go-sql-driver/mysql. Both support SKIP LOCKED.
	MySQL = sqldialect.MySQL
)

// ParseDialect reads a dialect name: "postgres" (or "postgresql", "pgx"),
// "sqlite" (or "sqlite3") and "mysql" (or "mariadb"), in any case.
func ParseDialect(name string) (Dialect, error) {
	d, err := sqldialect.Parse(name)
	if err != nil {
		return 0, fmt.Errorf("reencrypt: %w", err)
	}
	return d, nil
}

// checkDialect refuses a value that is not one of the dialects.
func checkDialect(d Dialect) error {
	if !d.Valid() {
		return fmt.Errorf("reencrypt: invalid dialect %v", d)
	}
	return nil
}

// sameValue returns a null-safe, byte-exact equality test of a column with
// the next parameter, for compare-and-swap: NULL equals NULL, and on MySQL
// the comparison is binary, so that a case-insensitive or PAD SPACE
// collation cannot take a concurrent change for the old value.
func sameValue(d Dialect, col string, p *sqldialect.Placeholders) string {
	switch d {
	case Postgres:
		return col + " IS NOT DISTINCT FROM " + p.Next()
	case MySQL:
		return "CAST(" + col + " AS BINARY) <=> CAST(" + p.Next() + " AS BINARY)"
	default: // SQLite: IS is null-safe; COLLATE BINARY overrides a NOCASE column.
		return col + " IS " + p.Next() + " COLLATE BINARY"
	}
}

// nowMillis is an expression for the database server's clock in Unix
// milliseconds. Leases are compared against it, so that workers on several
// machines agree on expiry without trusting each other's clocks.
func nowMillis(d Dialect) string {
	switch d {
	case Postgres:
		return "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)"
	case MySQL:
		return "CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED)"
	default:
		return "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"
	}
}

// bigint casts an aggregate to a 64-bit integer, so that SUM scans into an
// int64 on every database.
func bigint(d Dialect, expr string) string {
	if d == MySQL {
		return "CAST(" + expr + " AS SIGNED)"
	}
	return "CAST(" + expr + " AS BIGINT)"
}

// skipLocked is the clause that makes range claims skip rows another worker
// is claiming at the same moment.
func skipLocked(d Dialect) string {
	if d == SQLite {
		return "" // a single writer: nothing to skip
	}
	return " FOR UPDATE SKIP LOCKED"
}

// forUpdate locks a row read inside a write transaction.
func forUpdate(d Dialect) string {
	if d == SQLite {
		return "" // the write transaction already excludes other writers
	}
	return " FOR UPDATE"
}
