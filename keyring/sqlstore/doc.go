// Package sqlstore keeps wrapped keysets in one SQL table. It implements
// [keyring.Store] on PostgreSQL, SQLite and MySQL or MariaDB through
// database/sql, so a fleet of application instances can share one keyring.
//
//	db, err := sql.Open("pgx", dsn) // github.com/jackc/pgx/v5/stdlib
//	...
//	store, err := sqlstore.New(db, sqlstore.Postgres, &sqlstore.Options{Table: "crypto.fieldcrypt_keysets"})
//	...
//	err = store.Migrate(ctx) // once, at deployment; idempotent
//
// # Databases
//
//   - [Postgres]: PostgreSQL through github.com/jackc/pgx/v5/stdlib (driver
//     "pgx") or any driver whose errors have an SQLState method.
//   - [SQLite]: modernc.org/sqlite (driver "sqlite"). Open the database with
//     _pragma=busy_timeout(10000) (and preferably journal_mode(WAL)) so that
//     concurrent writers wait for each other instead of failing with
//     SQLITE_BUSY.
//   - [MySQL]: MySQL or MariaDB (InnoDB) through
//     github.com/go-sql-driver/mysql. Use parseTime=true; without it the
//     times are read back as text taken to be UTC, which is right only for
//     the driver's default loc=UTC.
//
// The package imports no driver but go-sql-driver/mysql (for its error
// type); the program registers the one it uses.
//
// # Table
//
// The table is named by [Options.Table] (default "fieldcrypt_keysets"),
// optionally qualified by a schema or database. [Store.Migrate] creates it
// if it is missing; on PostgreSQL:
//
//	CREATE TABLE IF NOT EXISTS "fieldcrypt_keysets" (
//		scope            TEXT        NOT NULL,
//		class            TEXT        NOT NULL,
//		purpose          TEXT        NOT NULL,  -- 'data' or 'index'
//		kek_uri          TEXT        NOT NULL,
//		encrypted_keyset BYTEA       NOT NULL,  -- Tink EncryptedKeyset, binary
//		metadata         BYTEA       NOT NULL,  -- JSON, kept byte for byte
//		version          BIGINT      NOT NULL,  -- 1 after Create, +1 per Update
//		created_at       TIMESTAMPTZ NULL,      -- NULL is the zero time
//		updated_at       TIMESTAMPTZ NULL,
//		PRIMARY KEY (scope, class, purpose)
//	)
//
// SQLite uses BLOB for the bytes and TEXT for the times (UTC, RFC 3339 with
// microseconds). MySQL uses VARBINARY(200) for scope and class,
// VARBINARY(16) for purpose, LONGBLOB for the bytes and DATETIME(6) for
// the times. The key columns are binary because the binary collations of
// MySQL and MariaDB ignore trailing spaces, and "a" and "a " are two
// scopes; 200 bytes is keyring's bound on a name. Every database gets
// times truncated to the microsecond (MySQL would otherwise round them).
//
// List sorts in Go, by byte order as [keyring.CompareIDs] does, since
// database collations order text in other ways.
//
// # Anchor
//
// [Anchor] keeps the latest state version of every keyset in a table of
// its own (default "fieldcrypt_keyset_anchor"), for keyring.Config.Anchor:
// with it, a keyset rolled back or deleted in the store is refused across
// restarts. Put it in a database the store's writers cannot write. Besides
// one row per keyset, the keyring keeps one row per shredded scope (class
// "", purpose "scope-shred"), whose version is odd while the scope is
// shredded.
//
//	anchor, err := sqlstore.NewAnchor(anchorDB, sqlstore.Postgres, nil)
//	...
//	err = anchor.Migrate(ctx)
//
// # Concurrency
//
// A Store is safe for concurrent use, and its guarantees hold across every
// process and machine that uses the same table, because the database
// enforces them:
//
//   - Create is an INSERT; the primary key makes exactly one of several
//     concurrent creates succeed, and the others' duplicate-key error
//     (PostgreSQL 23505, SQLite SQLITE_CONSTRAINT_PRIMARYKEY, MySQL 1062)
//     becomes [keyring.ErrKeysetExists].
//   - Update is one statement, UPDATE ... WHERE scope = ? AND class = ? AND
//     purpose = ? AND version = ?, so the database decides which of several
//     updates from the same version wins. When no row matched, a read tells
//     [keyring.ErrKeysetNotFound] from [keyring.ErrVersionConflict].
//
// No call opens a transaction, and every call passes its context to the
// driver.
package sqlstore
