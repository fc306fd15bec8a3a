// Package sqldialect is what fieldcrypt's SQL code needs to know about the
// three databases it supports, PostgreSQL, SQLite and MySQL or MariaDB,
// written once: the [Dialect] type and its names, identifier quoting,
// parameter markers, and what a driver's error means.
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
// # Drivers
//
// The package imports no driver but github.com/go-sql-driver/mysql (for
// its error type). PostgreSQL errors are recognised through any error with
// an SQLState method (pgx's *pgconn.PgError, lib/pq's *pq.Error), and
// modernc.org/sqlite's *sqlite.Error through its Code method: importing
// that driver would register "sqlite" in every program that uses
// fieldcrypt's SQL packages.
package sqldialect
