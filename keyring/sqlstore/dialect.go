package sqlstore

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Dialect is the SQL database a [Store] talks to.
type Dialect int

// The dialects.
const (
	// Postgres is PostgreSQL, through any database/sql driver whose errors
	// have an SQLState method (github.com/jackc/pgx/v5/stdlib, lib/pq).
	Postgres Dialect = iota + 1
	// SQLite is SQLite through modernc.org/sqlite (driver name "sqlite").
	SQLite
	// MySQL is MySQL or MariaDB through github.com/go-sql-driver/mysql.
	MySQL
)

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

// createTable returns the statement that creates the table if it is missing.
// table is already quoted.
func (d Dialect) createTable(table string) string {
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

// rebind rewrites the '?' placeholders of query for the dialect.
func (d Dialect) rebind(query string) string {
	if d != Postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// quote quotes an identifier that validTable has accepted.
func (d Dialect) quote(ident string) string {
	if d == MySQL {
		return "`" + ident + "`"
	}
	return `"` + ident + `"`
}

// sqliteTime is how SQLite rows hold times: UTC text with microseconds,
// which sorts as time and which SQLite's date functions read.
const sqliteTime = "2006-01-02T15:04:05.000000Z"

// timeArg returns t as a query argument: NULL for the zero time, otherwise
// t in UTC truncated to the microsecond, the precision of every dialect's
// column (truncated here so that no database rounds it instead).
func (d Dialect) timeArg(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	t = t.UTC().Truncate(time.Microsecond)
	if d == SQLite {
		return t.Format(sqliteTime)
	}
	return t
}

// SQLite extended result codes for a violated primary key or unique index.
const (
	sqliteConstraintPrimaryKey = 1555
	sqliteConstraintUnique     = 2067
)

// isDuplicate reports whether err is the driver's error for a duplicate
// primary key.
func (d Dialect) isDuplicate(err error) bool {
	if err == nil {
		return false
	}
	switch d {
	case Postgres:
		var pgErr interface{ SQLState() string } // *pgconn.PgError, *pq.Error
		return errors.As(err, &pgErr) && pgErr.SQLState() == "23505"
	case SQLite:
		var liteErr interface{ Code() int } // *sqlite.Error
		if !errors.As(err, &liteErr) {
			return false
		}
		c := liteErr.Code()
		return c == sqliteConstraintPrimaryKey || c == sqliteConstraintUnique
	case MySQL:
		var myErr *mysql.MySQLError
		return errors.As(err, &myErr) && myErr.Number == 1062 // ER_DUP_ENTRY
	}
	return false
}
