package sqlcrypt

import "github.com/fieldcrypt/fieldcrypt/internal/sqldialect"

// Dialect is the SQL database a [Lookup] condition is written for. It is
// the Dialect of package reencrypt and keyring/sqlstore: a value of one is
// a value of the others.
type Dialect = sqldialect.Dialect

// The dialects.
const (
	// Postgres is PostgreSQL, through pgx or its database/sql driver:
	// $n parameters, and the index values as one text[] parameter.
	Postgres = sqldialect.Postgres
	// SQLite is SQLite: ? parameters, one per index value.
	SQLite = sqldialect.SQLite
	// MySQL is MySQL or MariaDB: ? parameters, one per index value.
	MySQL = sqldialect.MySQL
)
