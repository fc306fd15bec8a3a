// Package sqldialect is what fieldcrypt's SQL code needs to know about the
// three databases it supports, PostgreSQL, SQLite and MySQL or MariaDB,
// written once: the [Dialect] type and its names, identifier quoting,
// parameter markers, what a driver's error means, and the statements over
// the side tables of token indexes.
//
// keyring/sqlstore and the re-encryption job (package reencrypt) both
// build their statements from it; their Dialect types are aliases of
// [Dialect], so a value of one is a value of the other.
//
// # What stays out
//
// SQL that belongs to one package's tables and protocol stays in that
// package, as functions that take a Dialect: the keyset table's CREATE
// TABLE and time columns in sqlstore; the job's tables, its null-safe
// compare-and-swap equality, the server clock its leases use, and its
// FOR UPDATE SKIP LOCKED claims in reencrypt. They are decisions about
// one schema, not about the database, and a reader looking for them finds
// them next to the statements that use them.
//
// The side tables of token indexes are the exception, by design: sqlcrypt
// and gormcrypt both write and search them, and a table one of them wrote
// must be one the other reads, so their layout ([TokenTable],
// [Dialect.CreateTokenTable]) and statements ([Dialect.ReplaceTokens],
// [Dialect.TokenCondition]) are written here once. They take names and
// tokens, not records: each package finds a record's key column and
// tokens its own way (struct tags and crypt.ColumnOf, or GORM's schema),
// and gormcrypt does not import sqlcrypt, whose pgx dependency a GORM
// program need not carry.
//
// # Drivers
//
// The package imports no driver but github.com/go-sql-driver/mysql (for
// its error type). PostgreSQL errors are recognised through any error with
// an SQLState method (pgx's *pgconn.PgError, lib/pq's *pq.Error), and
// modernc.org/sqlite's *sqlite.Error through its Code method: importing
// that driver would register "sqlite" in every program that uses
// fieldcrypt's SQL packages.
package sqldialect
