// Package sqlcrypt reads, writes and searches records tagged for package
// crypt with pgx and database/sql, without an ORM: the SQL stays the
// caller's, and sqlcrypt supplies what goes around it.
//
//	type Contact struct {
//		_        struct{} `crypt:"record=contact"`
//		ID       string   `db:"id" crypt:"id"`
//		TenantID string   `db:"tenant_id" crypt:"scope"`
//		Email    string   `db:"email" crypt:"encrypt,class=pii"`
//		EmailIdx string   `db:"email_idx" crypt:"blind=Email,transform=lower+trim,bits=16"`
//		Company  string   `db:"company"`
//	}
//
// # Reading
//
// [CollectRows] is pgx.CollectRows that decrypts; it takes pgx's own
// RowToFunc, so rows are scanned exactly as pgx scans them:
//
//	rows, _ := pool.Query(ctx, "SELECT * FROM contacts WHERE tenant_id = $1", tenant)
//	contacts, err := sqlcrypt.CollectRows(ctx, enc, rows, pgx.RowToStructByName[Contact])
//
// [Decrypting] wraps a RowToFunc for pgx.CollectOneRow and
// pgx.CollectExactlyOneRow. [ScanAll] does for database/sql what
// CollectRows does for pgx, matching result columns to fields by name:
//
//	rows, err := db.QueryContext(ctx, "SELECT * FROM contacts WHERE tenant_id = ?", tenant)
//	contacts, err := sqlcrypt.ScanAll[Contact](ctx, enc, rows)
//
// Each record is decrypted as it is read. The keyring caches each keyset,
// so a result of any size loads a tenant's keysets once. Decryption
// follows crypt.DecryptAll: a record holding fields of a class this
// process cannot read keeps them encrypted and does not stop the others,
// and the first [*crypt.AccessError] is returned with every record.
//
// # Writing
//
// Encrypt a copy with [crypt.Encrypted] (the caller's struct keeps its
// plaintext) and pass its fields to INSERT or UPDATE. [CopyFrom] writes
// many records with pgx's CopyFrom, encrypting each on the way:
//
//	cols := []string{"id", "tenant_id", "email", "email_idx", "company"}
//	n, err := sqlcrypt.CopyFrom(ctx, enc, pool, pgx.Identifier{"contacts"}, cols, contacts)
//
// # Searching
//
// A blind index turns equality on an encrypted column into equality on an
// index column. [Lookup] writes the condition and arguments for the
// dialect, the scope (tenant) column included, under every enabled index
// key so that rows written before and after an index-key rotation are all
// found; the [Match] filter then drops the rows the index found that hold
// another value, with the index's own transforms:
//
//	probe := &Contact{TenantID: tenant, Email: email}
//	cond, args, err := sqlcrypt.Lookup(ctx, enc, sqlcrypt.Postgres, probe, "EmailIdx", 1)
//	rows, _ := pool.Query(ctx, "SELECT * FROM contacts WHERE "+cond, args...)
//	found, err := sqlcrypt.CollectRows(ctx, enc, rows, pgx.RowToStructByName[Contact], sqlcrypt.Match(probe, "EmailIdx"))
//
// On PostgreSQL the condition is "tenant_id" = $1 AND "email_idx" =
// ANY($2), whose shape does not depend on the number of index keys; on
// MySQL and SQLite it is an IN list, with a byte-wise comparison of the
// tenant whatever the column's collation. A probe that can match no row
// gives a condition that matches nothing, not an SQL error.
//
// # Token indexes
//
// A token index (a crypt.Tokens field tagged prefix=, suffix=,
// substring=, range= or set=; see package crypt) keeps an encrypted field
// searchable by prefix, suffix, substring, range or set membership. Its
// tokens are not a column (tag the field db:"-"): each index is stored in
// a side table of its own, <table>_<snake_case of the field's Go name>,
// whose rows (key, token) refer to the record's row by its identity
// column, with a foreign key that deletes them with the row.
// [TokenTableDDL] writes its CREATE TABLE; [CreateTokenTables] (and
// [CreateTokenTablesPgx]) runs it with the key typed as the table's key
// column, which a uuid key on PostgreSQL needs:
//
//	type Contact struct {
//		_          struct{}     `crypt:"record=contact"`
//		ID         string       `db:"id" crypt:"id"`
//		TenantID   string       `db:"tenant_id" crypt:"scope"`
//		LastName   string       `db:"last_name" crypt:"encrypt,class=pii"`
//		NamePrefix crypt.Tokens `db:"-" crypt:"prefix=LastName,len=3..8,bits=20,transform=lower"`
//	}
//
//	ddl, err := sqlcrypt.TokenTableDDL(sqlcrypt.Postgres, "contacts", &Contact{}) // contacts_name_prefix
//	err = sqlcrypt.CreateTokenTablesPgx(ctx, pool, "contacts", &Contact{})      // or create it
//
// Encrypt computes a record's tokens; [ReplaceTokens] (database/sql) and
// [ReplaceTokensPgx] (pgx) write them, in the transaction that writes the
// row, replacing the record's previous ones; [CopyFrom] copies them with
// the records. [Search] writes the condition that finds the candidate
// rows and returns the filter that drops the others once decrypted:
//
//	e, err := crypt.Encrypted(ctx, enc, &contact) // e.NamePrefix holds its tokens
//	tx, err := pool.Begin(ctx)
//	_, err = tx.Exec(ctx, "INSERT INTO contacts (id, tenant_id, last_name) VALUES ($1, $2, $3)", e.ID, e.TenantID, e.LastName)
//	err = sqlcrypt.ReplaceTokensPgx(ctx, tx, "contacts", e)
//	err = tx.Commit(ctx)
//
//	probe := &Contact{TenantID: tenant}
//	cond, args, match, err := sqlcrypt.Search(ctx, enc, sqlcrypt.Postgres, "contacts", probe, "NamePrefix", crypt.HasPrefix("lov"), 1)
//	rows, _ := pool.Query(ctx, "SELECT * FROM contacts WHERE "+cond, args...)
//	found, err := sqlcrypt.CollectRows(ctx, enc, rows, pgx.RowToStructByName[Contact], match)
//
// The condition holds the scope, as Lookup's does, and a subquery on the
// side table under every enabled index key, so that rows written before
// and after an index-key rotation are both found. The side tables'
// layout is gormcrypt's too: records written through either package are
// found through both.
//
// A record with several identity fields (a composite key), or none,
// cannot store token indexes yet: a [*TokenStorageError]. Writing a
// record's row without its tokens (an UPDATE of a source without
// ReplaceTokens) leaves its old tokens, and a search by the new value
// misses it: write both in one transaction. Deleting the row deletes its
// tokens, on SQLite only on connections with foreign keys on
// (_pragma=foreign_keys(1) in modernc.org/sqlite's DSN, or PRAGMA
// foreign_keys = ON).
//
// # Filters
//
// A collector given a filter stops at a record it could not fully decrypt
// (an AccessError): a filter that compares a field left encrypted would
// drop a row that holds the value sought, and a search never misses a row
// silently. For the same reason a collector given the filter of [Match]
// or [Search] refuses, with a [*ColumnError] before any row is read, a
// result read by name that lacks a column the filter compares (the
// index's sources, the scope): a SELECT that leaves out the column
// searched would otherwise drop every row. A result with a column that
// names no field of the record, read by position (pgx.RowToStructByPos,
// a function of the caller's), is the caller's to get right. [Matching]
// filters records read some other way, such as through sqlc's generated
// queries; it sees no result, and cannot check its columns. A
// [FilterFunc] adapts a function of the caller's to a [Filter].
//
// # Column names
//
// A field's column is the one [crypt.ColumnOf] names, as SchemaOf and the
// re-encryption job name it: its db tag, else its gorm column: setting,
// else the snake_case of its Go name ("TenantID" is tenant_id). Fields of
// anonymous embedded structs are columns of the embedding struct, as pgx
// flattens them; fields tagged db:"-" and unexported fields have none.
// [ScanAll], [CopyFrom] and [Lookup] use these names. [CollectRows] scans
// with the RowToFunc it is given; pgx's RowToStructByName reads the same
// columns for every field with a db tag, and for snake_case columns (it
// compares names without underscores, ignoring case): give stored fields
// db tags and both agree by construction.
//
// Result columns match fields by exact name, else ignoring case. A result
// column no field reads, a repeated one, or a result holding an encrypted
// column without the scope and identity columns bound into its
// ciphertexts is a [*ColumnError], returned before any row is read.
//
// # Errors
//
// A failure on one row is a [*RowError] holding the row number. It wraps
// crypt's error, which names the record type and field: errors.Is(err,
// crypt.ErrDecrypt) is true for a value that was tampered with or moved
// from another row, field or tenant. [*ColumnError] and [*LookupError]
// name the type and the column or index. No error of sqlcrypt or crypt
// holds a value, a key or an index value; a scan error in a RowError is
// the driver's own. [*TokenStorageError] names the type and token index
// whose side table cannot be created, written or searched.
package sqlcrypt
