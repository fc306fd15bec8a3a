package sqldialect

import (
	"fmt"
	"strconv"
	"strings"
)

// Dialect is the SQL database a statement is written for. The zero value
// is no dialect: [Dialect.Valid] reports false.
type Dialect int

// The dialects.
const (
	// Postgres is PostgreSQL: "double-quoted" identifiers, $n parameters.
	Postgres Dialect = iota + 1
	// SQLite is SQLite: "double-quoted" identifiers, ? parameters.
	SQLite
	// MySQL is MySQL or MariaDB: `backquoted` identifiers, ? parameters.
	MySQL
)

// String returns the database's name: "PostgreSQL", "SQLite", "MySQL", or
// "Dialect(n)" for another value.
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

// Valid reports whether d is one of the dialects above.
func (d Dialect) Valid() bool { return d == Postgres || d == SQLite || d == MySQL }

// Parse reads a dialect name: "postgres" (or "postgresql", "pgx"),
// "sqlite" (or "sqlite3") and "mysql" (or "mariadb"), in any case.
func Parse(name string) (Dialect, error) {
	switch strings.ToLower(name) {
	case "postgres", "postgresql", "pgx":
		return Postgres, nil
	case "sqlite", "sqlite3":
		return SQLite, nil
	case "mysql", "mariadb":
		return MySQL, nil
	}
	return 0, fmt.Errorf("unknown dialect %q (want postgres, sqlite or mysql)", name)
}
