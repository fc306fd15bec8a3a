package sqlcrypt

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/internal/sqldialect"
)

var tokensType = reflect.TypeFor[crypt.Tokens]()

// tokenKinds are the directives of a token index's tag.
var tokenKinds = map[string]bool{"prefix": true, "suffix": true, "substring": true, "range": true, "set": true}

// tokenField is a token index of a record type: a crypt.Tokens field
// tagged with a token directive.
type tokenField struct {
	path   string // the Go path crypt names it by: "NamePrefix", "Billing.ZipPrefix"
	name   string // its name= option, or ""
	index  []int  // the field's index path
	suffix string // the side table's suffix: the snake_case of the path, '.' as '_'
	// sources are its source fields as its tag names them ("Name",
	// "Emails[].Address"), relative to the struct that holds it.
	sources []string
}

// findTokens returns the token indexes of struct type t and of the
// structs it holds (not in slice elements, nor in held records), as the
// planner of package crypt finds them: the fields of an embedded struct
// under the embedding struct's path, those of a named one under its name.
func findTokens(t reflect.Type, prefix []int, path string, seen map[reflect.Type]bool, out []tokenField) []tokenField {
	for i := range t.NumField() {
		f := t.Field(i)
		index := append(append([]int(nil), prefix...), i)
		if f.Type == tokensType {
			if tokenKinds[directive(f)] && f.IsExported() {
				first, opts, _ := strings.Cut(f.Tag.Get("crypt"), ",")
				_, srcs, _ := strings.Cut(first, "=")
				tf := tokenField{path: path + f.Name, index: index, sources: strings.Split(srcs, "+")}
				for opt := range strings.SplitSeq(opts, ",") {
					if name, ok := strings.CutPrefix(opt, "name="); ok {
						tf.name = name
					}
				}
				var parts []string
				for p := range strings.SplitSeq(tf.path, ".") {
					snake, _ := crypt.ColumnOf(reflect.StructField{Name: p})
					parts = append(parts, snake)
				}
				tf.suffix = strings.Join(parts, "_")
				out = append(out, tf)
			}
			continue
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() != reflect.Struct || seen[ft] || isRecord(ft) || directive(f) == "-" {
			continue
		}
		sub := path
		if !f.Anonymous {
			sub = path + f.Name + "."
		}
		seen[ft] = true
		out = findTokens(ft, index, sub, seen, out)
		delete(seen, ft)
	}
	return out
}

// sameSideTable refuses a record type two of whose token indexes would
// share a side table (HomeCity and Home.City both give <table>_home_city):
// each write of one would replace the other's tokens, and searches of
// the first would miss rows.
func sameSideTable(t reflect.Type, tokens []tokenField) error {
	seen := map[string]string{}
	for _, tf := range tokens {
		if prev, ok := seen[tf.suffix]; ok {
			return &TokenStorageError{Type: t, Index: tf.path, Msg: "its side table <table>_" + tf.suffix + " is also that of token index " + prev + "; rename one of the fields"}
		}
		seen[tf.suffix] = tf.path
	}
	return nil
}

// tokenField returns the token index index names: its Go path or its
// name= option.
func (c *columns) tokenField(index string) (*tokenField, bool) {
	for i := range c.tokens {
		if tf := &c.tokens[i]; tf.path == index || tf.name == index {
			return tf, true
		}
	}
	return nil, false
}

// ErrTokenStorage means a record type's token indexes cannot be stored or
// searched as asked: the record has no single identity field, a name is
// not a plain identifier, a record was not encrypted. A
// [*TokenStorageError] matches it.
var ErrTokenStorage = errors.New("sqlcrypt: token index storage refused")

// TokenStorageError reports why the side tables of a record type's token
// indexes cannot be created, written or searched. It names the type and
// the index (or record), never a value. It matches [ErrTokenStorage].
type TokenStorageError struct {
	Type  reflect.Type // the record's struct type
	Index string       // the token index's Go path, or ""
	Msg   string
}

func (e *TokenStorageError) Error() string {
	s := "sqlcrypt: token indexes of " + e.Type.String()
	if e.Index != "" {
		s = "sqlcrypt: token index " + e.Type.String() + "." + e.Index
	}
	return s + ": " + e.Msg
}

func (e *TokenStorageError) Unwrap() error { return ErrTokenStorage }

// tokenKey returns the key column of the record's side tables: its one
// identity field's.
func (c *columns) tokenKey() (int, error) {
	fail := func(msg string) (int, error) {
		return -1, &TokenStorageError{Type: c.typ, Msg: msg}
	}
	switch len(c.ids) {
	case 1:
	case 0:
		return fail(`the record has no identity field (crypt:"id") with a column, which a side table's rows refer to`)
	default:
		return fail(`the record has several identity fields (crypt:"id"): a side table refers to its row by one key column, and records with composite keys cannot store token indexes yet`)
	}
	k := c.ids[0]
	if err := sqldialect.CheckIdent(c.list[k].name); err != nil {
		return fail("the identity column of field " + c.list[k].field + ": " + err.Error())
	}
	if _, ok := keyKind(c.typ.FieldByIndex(c.list[k].index).Type); !ok {
		return fail("the identity field " + c.list[k].field + " is a " + c.typ.FieldByIndex(c.list[k].index).Type.String() + ": a side table's key is a string or an integer")
	}
	return k, nil
}

// keyKind reports whether a key of type t is an integer, and whether it
// is a string or an integer at all.
func keyKind(t reflect.Type) (intKey, ok bool) {
	switch t.Kind() {
	case reflect.String:
		return false, true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true, true
	}
	return false, false
}

// keyValue returns the key a side table stores for the identity field's
// value v: its string, or its integer as an int64. ok is false for a zero
// key, or an unsigned one an int64 cannot hold.
func keyValue(v reflect.Value) (key any, ok bool) {
	switch v.Kind() {
	case reflect.String:
		return v.String(), v.String() != ""
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int(), v.Int() != 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return int64(v.Uint()), v.Uint() != 0 && v.Uint() <= math.MaxInt64
	}
	return nil, false
}

// tokenTable returns the side table of token index tf of a record stored
// in table, checked.
func (c *columns) tokenTable(table string, tf *tokenField) (sqldialect.TokenTable, error) {
	k, err := c.tokenKey()
	if err != nil {
		return sqldialect.TokenTable{}, err
	}
	intKey, _ := keyKind(c.typ.FieldByIndex(c.list[k].index).Type)
	tt := sqldialect.TokenTable{Parent: table, Name: sqldialect.TokenTableName(table, tf.suffix), Key: c.list[k].name, IntKey: intKey}
	if err := tt.Check(); err != nil {
		return tt, &TokenStorageError{Type: c.typ, Index: tf.path, Msg: err.Error()}
	}
	return tt, nil
}

// recordColumns returns the columns of the record type of record, a
// struct or a pointer to one, for an error its type.
func recordColumns(record any) (*columns, error) {
	t := reflect.TypeOf(record)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil, &crypt.InvalidArgumentError{Type: reflect.TypeOf(record)}
	}
	return columnsOf(t)
}

// TokenTableDDL returns the statements that create the side tables of the
// token indexes of record (a struct or a pointer to one, of a type
// tagged for package crypt) stored in table, when they do not exist yet;
// indexes names some of them (by Go path or name= option), none all.
// table may be qualified by a schema ("crm.contacts"): the side tables go
// in the same one. Run them after the table is created:
//
//	CREATE TABLE IF NOT EXISTS "contacts_name_prefix" ("id" TEXT NOT NULL, "token" BIGINT NOT NULL,
//	    PRIMARY KEY ("token", "id"), FOREIGN KEY ("id") REFERENCES "contacts" ("id") ON DELETE CASCADE)
//	CREATE INDEX IF NOT EXISTS "contacts_name_prefix_key" ON "contacts_name_prefix" ("id")
//
// A token index's side table is named after the table and the snake_case
// of the Tokens field's Go name (contacts and NamePrefix give
// contacts_name_prefix; a field of a nested struct Billing.ZipPrefix,
// billing_zip_prefix). Its key column is the record's identity column
// (crypt:"id"), under the same name, which must be the table's primary
// key (or unique): a side table refers to its row by it, and a row's
// tokens are deleted with the row. The key's type follows the identity
// field's Go type: BIGINT for an integer; for a string, TEXT on
// PostgreSQL and SQLite and VARCHAR(255) CHARACTER SET utf8mb4 COLLATE
// utf8mb4_bin on MySQL. A foreign key needs the two columns compatible:
// PostgreSQL refuses a TEXT key for a uuid column, and MySQL and MariaDB
// a string key of another character set or collation (an integer one of
// another size or sign). [CreateTokenTables] reads the key column's type
// from the catalogue and runs the statements with it; or declare the ID
// column as above, or write the statement with your column's type.
//
// On SQLite the foreign key, and so the deletion of a row's tokens with
// the row, holds only on connections with foreign keys on (PRAGMA
// foreign_keys = ON, or _pragma=foreign_keys(1) in modernc.org/sqlite's
// DSN); without it a deleted row's tokens stay, and find nothing (no row
// joins them) until a row with the same key is written, whose
// [ReplaceTokens] replaces them.
//
// A record with no identity field, or with several (a composite key),
// cannot store token indexes yet: a [*TokenStorageError]. A string
// identity field may be stored in a uuid column (a CRM's usual key on
// PostgreSQL): its side tables, created by CreateTokenTables, are keyed
// by a uuid too, and every function of this package reads and writes
// them. Write such a key as PostgreSQL reads it back, in lower case with
// hyphens (uuid.UUID's String gives that form): the identity is bound
// into the record's ciphertexts, and one written "6F1C2A4E-..." reads
// back "6f1c2a4e-...", so its row no longer decrypts (an error, never
// another record's values).
//
// Its statements create a side table only if none of that name exists:
// applied by a migration tool, they do not check, as [CreateTokenTables]
// does, that an existing one is not another table's ("rc" with an index
// email_domain and "rc_email" with domain get one name). Check that no
// two of your tables' side-table names meet.
func TokenTableDDL(d Dialect, table string, record any, indexes ...string) ([]string, error) {
	tts, err := tokenTables(d, table, record, indexes)
	if err != nil {
		return nil, err
	}
	var stmts []string
	for _, tt := range tts {
		stmts = append(stmts, d.CreateTokenTable(tt)...)
	}
	return stmts, nil
}

// tokenTables returns the side tables of the token indexes of record
// stored in table, checked: those named by indexes, none all.
func tokenTables(d Dialect, table string, record any, indexes []string) ([]sqldialect.TokenTable, error) {
	cols, err := recordColumns(record)
	if err != nil {
		return nil, err
	}
	if !d.Valid() {
		return nil, &TokenStorageError{Type: cols.typ, Msg: fmt.Sprintf("invalid dialect %v", d)}
	}
	var fields []*tokenField
	if len(indexes) == 0 {
		for i := range cols.tokens {
			fields = append(fields, &cols.tokens[i])
		}
		if len(fields) == 0 {
			return nil, &TokenStorageError{Type: cols.typ, Msg: "the record has no token index (a crypt.Tokens field)"}
		}
	}
	for _, ix := range indexes {
		tf, ok := cols.tokenField(ix)
		if !ok {
			return nil, fmt.Errorf("%w: %v has no token index %q", crypt.ErrUnknownIndex, cols.typ, ix)
		}
		fields = append(fields, tf)
	}
	var tts []sqldialect.TokenTable
	for _, tf := range fields {
		tt, err := cols.tokenTable(table, tf)
		if err != nil {
			return nil, err
		}
		tts = append(tts, tt)
	}
	return tts, nil
}

// Execer is what [CreateTokenTables] reads the catalogue and creates
// tables through: a *sql.DB, *sql.Conn or *sql.Tx.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// CreateTokenTables creates the side tables of the token indexes of
// record stored in table, when they do not exist yet, as [TokenTableDDL]
// writes them, except that their key has the type of the table's key
// column, read from the catalogue once: on PostgreSQL its type (uuid,
// bigint, text, varchar(64), ...), and on MySQL and MariaDB its type,
// character set and collation, which a foreign key needs compatible. On
// SQLite it runs TokenTableDDL's statements. indexes names some token
// indexes (by Go path or name= option), none all.
//
// Run it after the table is created: a table or key column that does not
// exist (yet, or under that spelling) is a [*TokenStorageError] that says
// so. A side table that exists already is left as it is, whatever its
// key's type, unless its foreign key references another table: side
// tables are named "<table>_<index>", so "rc" with an index email_domain
// and "rc_email" with domain get one, and each table's writes would
// delete the other's tokens. That is a [*TokenStorageError] naming both
// tables; rename the Tokens field. So is an existing table of that name
// whose columns are not exactly the key and token columns (an
// application's one-to-one table "contacts_name_prefix"): ReplaceTokens
// would delete its rows of every record it writes. The statements are
// not one transaction (MySQL commits each
// CREATE TABLE): after an error some side tables may exist, and running
// it again creates the others. Other errors are TokenTableDDL's, and
// those of the database, which name the side table being created.
func CreateTokenTables(ctx context.Context, db Execer, d Dialect, table string, record any, indexes ...string) error {
	return createTokenTables(d, table, record, indexes, func(q string, args []any, dest ...any) error {
		return db.QueryRowContext(ctx, q, args...).Scan(dest...)
	}, func(q string) error {
		_, err := db.ExecContext(ctx, q)
		return err
	})
}

// createTokenTables creates the side tables through scan (one row of a
// query) and exec.
func createTokenTables(d Dialect, table string, record any, indexes []string, scan func(q string, args []any, dest ...any) error, exec func(q string) error) error {
	tts, err := tokenTables(d, table, record, indexes)
	if err != nil {
		return err
	}
	// Every side table is keyed by the one identity column.
	if q, args, ok := d.KeyTypeQuery(tts[0], false); ok {
		var typ string
		var charset, collation *string
		err := scan(q, args, &typ, &charset, &collation)
		if errors.Is(err, sql.ErrNoRows) {
			cols, _ := recordColumns(record) // known good: tokenTables read it
			return &TokenStorageError{Type: cols.typ, Msg: sqldialect.NoKeyColumn(tts[0])}
		}
		if err != nil {
			return fmt.Errorf("sqlcrypt: reading the type of %s's key column %s: %w", table, tts[0].Key, err)
		}
		for i := range tts {
			tts[i].KeyType = sqldialect.KeyTypeOf(typ, charset, collation)
		}
	}
	for _, tt := range tts {
		q, args := d.OtherParentQuery(tt, false)
		var other string
		switch err := scan(q, args, &other); {
		case err == nil:
			cols, _ := recordColumns(record)
			return &TokenStorageError{Type: cols.typ, Msg: sqldialect.SharedSideTable(tt, other)}
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("sqlcrypt: reading the foreign key of the side table %s: %w", tt.Name, err)
		}
		q, args = d.ShapeQuery(tt, false)
		var columns, own int
		if err := scan(q, args, &columns, &own); err != nil {
			return fmt.Errorf("sqlcrypt: reading the columns of the side table %s: %w", tt.Name, err)
		}
		if columns != 0 && (columns != 2 || own != 2) {
			cols, _ := recordColumns(record)
			return &TokenStorageError{Type: cols.typ, Msg: sqldialect.NotSideTable(tt)}
		}
		for _, s := range d.CreateTokenTable(tt) {
			if err := exec(s); err != nil {
				return fmt.Errorf("sqlcrypt: creating the side table %s: %w", tt.Name, err)
			}
		}
	}
	return nil
}

// tokenWrite is what replacing the tokens of some records writes: each
// token index's side table and the records' keys and tokens.
type tokenWrite struct {
	tables []sqldialect.TokenTable
	rows   []sqldialect.TokenRows // per table
	seen   map[any]bool           // the keys added
}

// add appends the key and tokens of the encrypted record rv, the i-th.
func (w *tokenWrite) add(cols *columns, key int, i int, rv reflect.Value) error {
	kv, ok := keyValue(rv.FieldByIndex(cols.list[key].index))
	if !ok {
		return &RowError{Row: i, Err: &TokenStorageError{Type: cols.typ, Msg: "the record's identity field " + cols.list[key].field +
			" is zero (or an unsigned integer above the largest int64): its tokens would refer to no row"}}
	}
	if w.seen[kv] {
		return &RowError{Row: i, Err: &TokenStorageError{Type: cols.typ, Msg: "the record's identity is another record's of the same call: each record's tokens replace the row's, so one would be lost"}}
	}
	if w.seen == nil {
		w.seen = map[any]bool{}
	}
	w.seen[kv] = true
	for j, tf := range cols.tokens {
		fv, err := rv.FieldByIndexErr(tf.index)
		var toks crypt.Tokens
		if err == nil {
			toks = fv.Interface().(crypt.Tokens)
		}
		w.rows[j].Keys = append(w.rows[j].Keys, kv)
		w.rows[j].Tokens = append(w.rows[j].Tokens, toks)
	}
	return nil
}

// newTokenWrite returns the write of the token indexes of the record type
// cols describes, into the side tables of table, and its key column.
func newTokenWrite(cols *columns, table string) (*tokenWrite, int, error) {
	key, err := cols.tokenKey()
	if err != nil {
		return nil, -1, err
	}
	w := &tokenWrite{}
	for i := range cols.tokens {
		tt, err := cols.tokenTable(table, &cols.tokens[i])
		if err != nil {
			return nil, -1, err
		}
		w.tables = append(w.tables, tt)
		w.rows = append(w.rows, sqldialect.TokenRows{})
	}
	return w, key, nil
}

// checkEncrypted refuses a record whose encrypted fields hold plaintext:
// one that was not encrypted, whose Tokens were never computed.
func checkEncrypted(cols *columns, i int, rv reflect.Value) error {
	for _, col := range cols.list {
		if !col.encrypted {
			continue
		}
		fv, err := rv.FieldByIndexErr(col.index)
		if err != nil {
			continue
		}
		for fv.Kind() == reflect.Pointer {
			if fv.IsNil() {
				break
			}
			fv = fv.Elem()
		}
		var bad bool
		switch {
		case fv.Kind() == reflect.String && fv.Len() > 0:
			_, err := crypt.InspectText(fv.String())
			bad = err != nil
		case fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.Uint8 && fv.Len() > 0:
			_, err := crypt.InspectBinary(fv.Bytes())
			bad = err != nil
		}
		if bad {
			return &RowError{Row: i, Err: &TokenStorageError{Type: cols.typ, Msg: "field " + col.field +
				" holds plaintext: write the tokens of the encrypted record (the copy crypt.Encrypted returns, or the record after Encrypt), which holds them"}}
		}
	}
	return nil
}

// sideStmt is a statement over the side table of one token index.
type sideStmt struct {
	table  string  // the side table, which its errors name
	tokens []int64 // the tokens the statements over it write
	sqldialect.Stmt
}

// err is the error of the statement: the database's, with the tokens it
// or the driver may quote withheld (sqldialect.Redact), and the side
// table named.
func (s sideStmt) err(err error, tokens []int64) error {
	return fmt.Errorf("sqlcrypt: writing the token side table %s: %w", s.table, sqldialect.Redact(err, tokens))
}

// prepareTokens returns the statements that replace the tokens of the
// encrypted records in the side tables of table.
func prepareTokens[T any](d Dialect, table string, records []T, arrays bool) ([]sideStmt, error) {
	t, ptr, err := structType[T]()
	if err != nil {
		return nil, err
	}
	cols, err := columnsOf(t)
	if err != nil {
		return nil, err
	}
	if !d.Valid() {
		return nil, &TokenStorageError{Type: t, Msg: fmt.Sprintf("invalid dialect %v", d)}
	}
	if len(cols.tokens) == 0 {
		return nil, nil
	}
	w, key, err := newTokenWrite(cols, table)
	if err != nil {
		return nil, err
	}
	for i := range records {
		p := addr(&records[i], ptr)
		rv := reflect.ValueOf(p)
		if rv.IsNil() {
			return nil, &RowError{Row: i, Err: &crypt.InvalidArgumentError{Type: reflect.TypeFor[T]()}}
		}
		rv = rv.Elem()
		if err := checkEncrypted(cols, i, rv); err != nil {
			return nil, err
		}
		if err := w.add(cols, key, i, rv); err != nil {
			return nil, err
		}
	}
	var stmts []sideStmt
	for j, tt := range w.tables {
		tokens := slices.Concat(w.rows[j].Tokens...)
		for _, s := range d.ReplaceTokens(tt, w.rows[j], arrays, false) {
			stmts = append(stmts, sideStmt{tt.Name, tokens, s})
		}
	}
	return stmts, nil
}

// ReplaceTokens writes the tokens of records, in the transaction tx, into
// the side tables of their token indexes (see [TokenTableDDL]): for every
// token index, it deletes the rows of the records' keys and inserts their
// tokens, so that each record's side-table rows are exactly its Tokens.
// Call it in the transaction that INSERTs or UPDATEs the records, after
// the rows are written (a side table's rows refer to them), with the
// encrypted records that were written:
//
//	e, err := crypt.Encrypted(ctx, enc, &contact)            // fills e's Tokens
//	tx, err := db.BeginTx(ctx, nil)
//	_, err = tx.ExecContext(ctx, "INSERT INTO contacts (...) VALUES (...)", e.ID, ...)
//	err = sqlcrypt.ReplaceTokens(ctx, tx, sqlcrypt.SQLite, "contacts", e)
//	err = tx.Commit()
//
// T is the record type or a pointer to it. A record whose encrypted
// fields hold plaintext (one that was not encrypted, so whose Tokens were
// never computed), whose identity is zero, or whose identity another
// record of the call has, is a [*RowError] wrapping a
// [*TokenStorageError], returned before anything is written; a record
// type that cannot store token indexes (see TokenTableDDL) is a
// *TokenStorageError. A record type without token indexes writes nothing.
//
// On PostgreSQL, with integer keys, each token index costs two
// statements, whatever the number of records and tokens (keys and tokens
// go as arrays); with string keys, and on MySQL and SQLite, a DELETE per
// 500 records and an INSERT per 500 tokens, each key a parameter typed by
// its column (a string key may be stored in a uuid column, which a text[]
// does not convert to). On an error the transaction holds part of the
// writes: roll it back. The error names the side table and withholds the
// tokens the database or the driver quote (MySQL's duplicate entry;
// PostgreSQL's detail: errors.As finds a copy of the *pgconn.PgError
// without it; pgx's refusal to encode a token). The COMMIT is yours: a
// deferred constraint's error there is the database's, detail included.
func ReplaceTokens[T any](ctx context.Context, tx *sql.Tx, d Dialect, table string, records ...T) error {
	stmts, err := prepareTokens(d, table, records, d == Postgres)
	if err != nil {
		return err
	}
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s.SQL, s.Args...); err != nil {
			return s.err(err, s.tokens)
		}
	}
	return nil
}

// Search writes the SQL condition that finds the candidate rows of a
// token search, its arguments, and the [Filter] that drops the candidates
// that do not satisfy the term once decrypted:
//
//	probe := &Contact{TenantID: tenant}
//	cond, args, match, err := sqlcrypt.Search(ctx, enc, sqlcrypt.Postgres, "contacts", probe, "NamePrefix", crypt.HasPrefix("lov"), 1)
//	rows, _ := pool.Query(ctx, "SELECT * FROM contacts WHERE "+cond, args...)
//	found, err := sqlcrypt.CollectRows(ctx, enc, rows, pgx.RowToStructByName[Contact], match)
//
// probe is a pointer to the record type with its scope field set;
// table is the table the records are stored in, whose token side tables
// ([TokenTableDDL]) [ReplaceTokens] wrote; index is the Tokens field's Go
// path or its name= option; term is crypt.HasPrefix, HasSuffix, Contains,
// Between or Equals, of the index's kind (see crypt.Encryptor.Search).
//
// The condition keeps to the probe's scope exactly as [Lookup]'s does on
// every dialect, and asks for the rows whose key the side table lists
// with the search's tokens, under every enabled index key (rows written
// before and after an index-key rotation are both found):
//
//	"tenant_id" = $1 AND "id" IN (SELECT "id" FROM "contacts_name_prefix" WHERE "token" = ANY($2))
//
// A search that needs every token of a set (a substring's n-grams) adds a
// branch that counts them, in the same subquery (one IN, which the
// database runs as a semi-join on the key):
//
//	... AND "id" IN (SELECT "id" FROM "contacts_name_sub" WHERE "token" = ANY($2)
//	                 UNION ALL
//	                 SELECT "id" FROM "contacts_name_sub" WHERE "token" = ANY($3)
//	                 GROUP BY "id" HAVING COUNT(*) = 4)
//
// On MySQL and SQLite the tokens are IN lists. A search that can match no
// row ([crypt.TokenSearch.Empty]: a range that holds no value of the
// domain) gives a condition that matches nothing and is valid SQL: an
// empty array on PostgreSQL, "1 = 0" and no arguments elsewhere.
// Parameters are numbered from firstArg on PostgreSQL, as for Lookup.
//
// The candidates include rows that do not satisfy the term (tokens are
// truncated, range buckets are whole, long values overflow): the filter
// (crypt.TokenSearch.Match) decrypts nothing itself, and keeps the
// decrypted records of the probe's scope whose values satisfy the term.
// Give it to [CollectRows] or [ScanAll], which decrypt first.
//
// On PostgreSQL, for an index whose tokens are at least
// sqldialect.ScopeTokenBits wide (a range index's: 64 bits), the
// candidates are the scope's own rows, and the condition gathers them
// first, "id" = ANY(ARRAY(SELECT ...)): the plan of a plaintext range scan.
// The array is built whole in the backend's memory, outside work_mem
// (8 bytes a BIGINT key; a text key's length and a header), PostgreSQL
// caps it at 1 GB, and the planner estimates a handful of rows from it
// whatever it holds: a range that holds millions of the scope's rows (an
// open range over a huge tenant) is better split into narrower ranges,
// searched one after another.
// For truncated tokens (prefix, suffix, substring, set), which other
// scopes' rows share, the planner chooses whether to start from the scope's
// rows or from the candidates. With its default random_page_cost (4, a
// spinning disk), a search with tens of thousands of candidates in a
// large scope is planned as a hash join over the scope's whole table; on
// SSDs, or with data that fits in memory, set random_page_cost to about
// 1.1 (the usual setting there) and it reads the candidates by key. A
// month of dates among 1,000,000 rows of one tenant, searched with IN
// before range indexes had their own condition, took 214 ms at the median
// with the default and 131 ms with 1.1, against 21 to 38 ms for the same
// query on a plaintext column; with "id" = ANY(ARRAY(...)) it takes 111
// to 117 ms against 60 ms with the default costs
// (internal/tokenbench/RESULTS.md).
//
// Errors are those of Lookup ([*LookupError] for a dialect, firstArg or
// scope column it cannot write), crypt's for the search itself
// (crypt.ErrUnknownIndex, a *crypt.SearchError for a term of another
// kind or a query too short, crypt.ErrNoAccess), and a
// [*TokenStorageError] for a record type that cannot store token
// indexes.
func Search(ctx context.Context, enc *crypt.Encryptor, d Dialect, table string, probe any, index string, term crypt.Term, firstArg int) (cond string, args []any, filter Filter, err error) {
	pv := structValue(probe)
	if !pv.IsValid() {
		return "", nil, nil, &crypt.InvalidArgumentError{Type: reflect.TypeOf(probe)}
	}
	t := pv.Type()
	fail := func(format string, a ...any) (string, []any, Filter, error) {
		return "", nil, nil, &LookupError{Type: t, Index: index, Msg: fmt.Sprintf(format, a...)}
	}
	if !d.Valid() {
		return fail("invalid dialect %v", d)
	}
	if firstArg < 1 {
		return fail("firstArg is %d; parameters are numbered from 1", firstArg)
	}
	cols, err := columnsOf(t)
	if err != nil {
		return "", nil, nil, err
	}
	// The side table is checked before the search is made, by the
	// index's name; crypt's Search names an index it does not know.
	var tt sqldialect.TokenTable
	tf, known := cols.tokenField(index)
	if known {
		if tt, err = cols.tokenTable(table, tf); err != nil {
			return "", nil, nil, err
		}
	}
	ts, err := enc.Search(ctx, probe, index, term)
	if err != nil {
		return "", nil, nil, err
	}
	if !known {
		if tf, known = cols.tokenField(ts.Index); !known {
			return fail("the token index field is not a field of %v or of a struct it holds (outside slices)", t)
		}
		if tt, err = cols.tokenTable(table, tf); err != nil {
			return "", nil, nil, err
		}
	}
	if err := cols.checkScope(); err != nil {
		return fail("%v", err)
	}
	p := d.Placeholders()
	for range firstArg - 1 {
		p.Next()
	}
	var b strings.Builder
	args = cols.writeScope(&b, d, p, pv)
	queries := make([]sqldialect.TokenQuery, len(ts.Queries))
	for i, q := range ts.Queries {
		queries[i] = sqldialect.TokenQuery{All: q.All, Any: q.Any}
	}
	tt.Bits = ts.Bits
	tc, targs, ok := d.TokenCondition(tt, p, queries, d == Postgres, "")
	filter = &indexFilter{keep: ts.Match, index: index, cols: cols, reads: cols.reads(tf.index[:len(tf.index)-1], tf.sources)}
	if !ok && d != Postgres {
		return tc, nil, filter, nil
	}
	b.WriteString(tc)
	return b.String(), append(args, targs...), filter, nil
}
