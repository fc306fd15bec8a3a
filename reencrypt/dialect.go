package reencrypt

import (
	"fmt"
	"strconv"
	"strings"
)

// Dialect is the SQL database a job talks to.
type Dialect int

// The dialects.
const (
	// Postgres is PostgreSQL through github.com/jackc/pgx/v5/stdlib (or any
	// database/sql driver taking $n placeholders). It coordinates several
	// workers with SELECT ... FOR UPDATE SKIP LOCKED.
	Postgres Dialect = iota + 1
	// SQLite is SQLite through modernc.org/sqlite. Jobs run with one worker
	// (SQLite has one writer at a time); open it with a busy_timeout.
	SQLite
	// MySQL is MariaDB 10.6+ or MySQL 8.0+ through
	// github.com/go-sql-driver/mysql. Both support SKIP LOCKED.
	MySQL
)

// ParseDialect reads a dialect name: "postgres" (or "postgresql", "pgx"),
// "sqlite" (or "sqlite3") and "mysql" (or "mariadb"), in any case.
func ParseDialect(name string) (Dialect, error) {
	switch strings.ToLower(name) {
	case "postgres", "postgresql", "pgx":
		return Postgres, nil
	case "sqlite", "sqlite3":
		return SQLite, nil
	case "mysql", "mariadb":
		return MySQL, nil
	}
	return 0, fmt.Errorf("reencrypt: unknown dialect %q (want postgres, sqlite or mysql)", name)
}

// String returns the database's name.
func (d Dialect) String() string {
	switch d {
	case Postgres:
		return "PostgreSQL"
	case SQLite:
		return "SQLite"
	case MySQL:
		return "MySQL"
	}
	return "Dialect(" + strconv.Itoa(int(d)) + ")"
}

func (d Dialect) valid() bool { return d == Postgres || d == SQLite || d == MySQL }

func (d Dialect) check() error {
	if !d.valid() {
		return fmt.Errorf("reencrypt: invalid dialect %v", d)
	}
	return nil
}

// quoteIdent quotes one identifier: "x" with doubled quotes on PostgreSQL
// and SQLite, `x` with doubled backquotes on MySQL. Config validation has
// rejected empty names and control characters.
func (d Dialect) quoteIdent(name string) string {
	if d == MySQL {
		return "`" + strings.ReplaceAll(name, "`", "``") + "`"
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// quoteTable quotes a table name that may be qualified by a schema (or, on
// MySQL, a database): "crm.contacts" becomes "crm"."contacts".
func (d Dialect) quoteTable(name string) string {
	parts := strings.Split(name, ".")
	for i, p := range parts {
		parts[i] = d.quoteIdent(p)
	}
	return strings.Join(parts, ".")
}

// placeholders numbers the parameters of one statement.
type placeholders struct {
	d Dialect
	n int
}

// next returns the next parameter marker: $n on PostgreSQL, ? elsewhere.
func (p *placeholders) next() string {
	p.n++
	if p.d == Postgres {
		return "$" + strconv.Itoa(p.n)
	}
	return "?"
}

// sameValue returns a null-safe, byte-exact equality test of a column with
// the next parameter, for compare-and-swap: NULL equals NULL, and on MySQL
// the comparison is binary, so that a case-insensitive or PAD SPACE
// collation cannot take a concurrent change for the old value.
func (d Dialect) sameValue(col string, p *placeholders) string {
	switch d {
	case Postgres:
		return col + " IS NOT DISTINCT FROM " + p.next()
	case MySQL:
		return "CAST(" + col + " AS BINARY) <=> CAST(" + p.next() + " AS BINARY)"
	default: // SQLite: IS is null-safe; COLLATE BINARY overrides a NOCASE column.
		return col + " IS " + p.next() + " COLLATE BINARY"
	}
}

// nowMillis is an expression for the database server's clock in Unix
// milliseconds. Leases are compared against it, so that workers on several
// machines agree on expiry without trusting each other's clocks.
func (d Dialect) nowMillis() string {
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
func (d Dialect) bigint(expr string) string {
	if d == MySQL {
		return "CAST(" + expr + " AS SIGNED)"
	}
	return "CAST(" + expr + " AS BIGINT)"
}

// skipLocked is the clause that makes range claims skip rows another worker
// is claiming at the same moment.
func (d Dialect) skipLocked() string {
	if d == SQLite {
		return "" // a single writer: nothing to skip
	}
	return " FOR UPDATE SKIP LOCKED"
}

// forUpdate locks a row read inside a write transaction.
func (d Dialect) forUpdate() string {
	if d == SQLite {
		return "" // the write transaction already excludes other writers
	}
	return " FOR UPDATE"
}
