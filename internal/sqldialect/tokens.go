package sqldialect

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Token side tables. A token index of package crypt (a crypt.Tokens field)
// is stored beside its record's table, in a side table of its own:
//
//	<table>_<index> (<key> <key type> NOT NULL, token BIGINT NOT NULL,
//	                 PRIMARY KEY (token, <key>), INDEX (<key>),
//	                 FOREIGN KEY (<key>) REFERENCES <table> (<key>) ON DELETE CASCADE)
//
// where <key> is the record's identity column. sqlcrypt and gormcrypt
// both read and write these tables, so the layout and every statement
// over it are written here, once: a table that one package writes is one
// the other searches.

// TokenColumn is the name of a side table's token column.
const TokenColumn = "token"

// MaxTokenBatch is the most rows one INSERT of a side table writes, and
// the most keys one DELETE names, where the tokens are bound one
// parameter each (two per row): far below every dialect's limit on the
// parameters of a statement (SQLite's is 32766, MySQL's and PostgreSQL's
// 65535).
const MaxTokenBatch = 500

// TokenTable is the side table of one token index.
type TokenTable struct {
	Parent string // the record's table, maybe qualified: "contacts", "crm.contacts"
	Name   string // the side table, in the parent's schema: "contacts_name_prefix", "crm.contacts_name_prefix"
	Key    string // the key column: the parent's identity column, under the same name
	// IntKey is set for integer keys (BIGINT), clear for text keys.
	IntKey bool
	// KeyType is the key column's SQL type in CREATE TABLE; ""
	// for [Dialect.DefaultKeyType].
	KeyType string
	// Bits is the width of the index's tokens, 0 when not known. Only
	// [Dialect.TokenCondition] reads it: see [ScopeTokenBits].
	Bits int
}

// ScopeTokenBits is the narrowest token width at which a search's tokens
// are taken to name rows of the searched scope only. The side table holds
// every scope's tokens, and each scope's are HMACs under its own keys: a
// table of 2^32 token rows holds another scope's copy of a given 48-bit
// token with probability below 2^-16. Narrower tokens (a prefix or
// substring index keeps 8 to 20 bits, so that a token does not name its
// value) are shared by many scopes' rows. Either way the condition is
// exact: this decides only its shape.
const ScopeTokenBits = 48

// TokenTableName returns the side table of the token index whose name,
// as a column, is suffix (the snake_case of the Tokens field's Go name),
// for the record table parent: in parent's schema, named
// "<parent's name>_<suffix>".
func TokenTableName(parent, suffix string) string {
	return parent + "_" + suffix
}

// Check accepts a side table that every statement below can name: the
// parent and the side table plain identifiers, one or two parts (see
// [CheckTable]), in the same schema, and a key column that is a plain
// identifier other than the token column.
func (t TokenTable) Check() error {
	if err := CheckTable(t.Parent); err != nil {
		return err
	}
	if err := CheckTable(t.Name); err != nil {
		return fmt.Errorf("token side table: %w", err)
	}
	if schemaOf(t.Parent) != schemaOf(t.Name) {
		return fmt.Errorf("token side table %q is not in the schema of %q", t.Name, t.Parent)
	}
	if err := CheckIdent(t.Key); err != nil {
		return fmt.Errorf("key column: %w", err)
	}
	if strings.EqualFold(t.Key, TokenColumn) {
		return fmt.Errorf("key column %q: the side table's token column has that name", t.Key)
	}
	return nil
}

// schemaOf returns the schema part of a table name, "" when it has none.
func schemaOf(table string) string {
	s, _, ok := strings.Cut(table, ".")
	if !ok {
		return ""
	}
	return s
}

// baseName returns the table name without its schema.
func baseName(table string) string {
	return table[strings.LastIndexByte(table, '.')+1:]
}

// DefaultKeyType is the key column's type for text keys (intKey false)
// and integer keys: BIGINT for integers everywhere; TEXT for text on
// PostgreSQL and SQLite, and on MySQL VARCHAR(255) CHARACTER SET utf8mb4
// COLLATE utf8mb4_bin, so that keys compare byte for byte. MySQL and
// MariaDB accept a foreign key only between string columns of one
// character set and collation (and integer columns of one size and
// sign): the parent's key column must be declared so too, or KeyType
// given.
func (d Dialect) DefaultKeyType(intKey bool) string {
	switch {
	case intKey:
		return "BIGINT"
	case d == MySQL:
		return "VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
	}
	return "TEXT"
}

// KeyTypeQuery returns the catalogue query that reads the type of the
// side table t's key from its parent's key column, and its arguments; ok
// is false on SQLite, whose side tables take [Dialect.DefaultKeyType]. A
// foreign key needs the two columns compatible: on PostgreSQL a uuid key
// is not a TEXT one, and on MySQL and MariaDB string keys need one
// character set and collation (integer keys one size and sign). Its one
// row, when the column exists, has three columns, to give to
// [KeyTypeOf]; no row means no such table or column.
func (d Dialect) KeyTypeQuery(t TokenTable, question bool) (query string, args []any, ok bool) {
	p := d.Markers(question)
	switch d {
	case Postgres:
		return "SELECT format_type(a.atttypid, a.atttypmod), NULL, NULL FROM pg_catalog.pg_attribute a WHERE a.attrelid = to_regclass(" +
			p.Next() + ") AND a.attname = " + p.Next() + " AND NOT a.attisdropped", []any{d.QuoteTable(t.Parent), t.Key}, true
	case MySQL:
		schema := "DATABASE()"
		name := t.Parent
		if s, n, ok := strings.Cut(t.Parent, "."); ok {
			schema, name = p.Next(), n
			args = append(args, s)
		}
		return "SELECT COLUMN_TYPE, CHARACTER_SET_NAME, COLLATION_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = " +
			schema + " AND TABLE_NAME = " + p.Next() + " AND COLUMN_NAME = " + p.Next(), append(args, name, t.Key), true
	}
	return "", nil, false
}

// OtherParentQuery returns a query for the table that an existing side
// table t's foreign key references, when that is not t.Parent: a row
// means t.Name already holds another table's tokens. Side tables are named
// "<parent>_<index>", so two tables can be given one ("rc" with a token
// index email_domain, and "rc_email" with domain), and each one's writes
// would then delete the other's tokens. No row: t does not exist yet, or
// belongs to t.Parent. question picks ? markers (database/sql on MySQL).
func (d Dialect) OtherParentQuery(t TokenTable, question bool) (query string, args []any) {
	p := d.Markers(question)
	switch d {
	case Postgres:
		return "SELECT c.confrelid::regclass::text FROM pg_catalog.pg_constraint c WHERE c.conrelid = to_regclass(" + p.Next() +
			") AND c.contype = 'f' AND c.confrelid <> to_regclass(" + p.Next() + ") LIMIT 1", []any{d.QuoteTable(t.Name), d.QuoteTable(t.Parent)}
	case MySQL:
		schema := func() string { return "DATABASE()" }
		if s := schemaOf(t.Name); s != "" {
			schema = func() string { args = append(args, s); return p.Next() }
		}
		q := "SELECT CONCAT(REFERENCED_TABLE_SCHEMA, '.', REFERENCED_TABLE_NAME) FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = " + schema()
		args = append(args, baseName(t.Name))
		q += " AND TABLE_NAME = " + p.Next() + " AND REFERENCED_TABLE_NAME IS NOT NULL AND NOT (REFERENCED_TABLE_SCHEMA = " + schema()
		args = append(args, baseName(t.Parent))
		return q + " AND REFERENCED_TABLE_NAME = " + p.Next() + ") LIMIT 1", args
	}
	schema := schemaOf(t.Name)
	if schema == "" {
		schema = "main"
	}
	return `SELECT "table" FROM pragma_foreign_key_list(` + p.Next() + ", " + p.Next() + `) WHERE "table" <> ` + p.Next() + " COLLATE NOCASE LIMIT 1",
		[]any{baseName(t.Name), schema, baseName(t.Parent)}
}

// ShapeQuery returns a query whose one row counts the columns of an
// existing table named t.Name: all of them, and those that are its key or
// its token column. A side table has exactly those two (2, 2); a table
// that does not exist has none (0, 0). Any other count is a table of
// another kind that has the side table's name (an application's
// one-to-one table "contacts_name_prefix", say): a side table's writes,
// which delete a record's rows by key, would delete its rows.
// question picks ? markers (database/sql on MySQL).
func (d Dialect) ShapeQuery(t TokenTable, question bool) (query string, args []any) {
	p := d.Markers(question)
	count := func(name string) string {
		q := "SELECT COUNT(*), COUNT(CASE WHEN " + name + " = " + p.Next() + " OR " + name + " = " + p.Next()
		args = append(args, t.Key, TokenColumn)
		return q + " THEN 1 END)"
	}
	switch d {
	case Postgres:
		q := count("a.attname")
		args = append(args, d.QuoteTable(t.Name))
		return q + " FROM pg_catalog.pg_attribute a WHERE a.attrelid = to_regclass(" + p.Next() + ") AND a.attnum > 0 AND NOT a.attisdropped", args
	case MySQL:
		q := count("COLUMN_NAME")
		schema := "DATABASE()"
		if s := schemaOf(t.Name); s != "" {
			schema = p.Next()
			args = append(args, s)
		}
		args = append(args, baseName(t.Name))
		return q + " FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = " + schema + " AND TABLE_NAME = " + p.Next(), args
	}
	schema := schemaOf(t.Name)
	if schema == "" {
		schema = "main"
	}
	// SQLite compares column names without regard to ASCII case.
	q := "SELECT COUNT(*), COUNT(CASE WHEN name = " + p.Next() + " COLLATE NOCASE OR name = " + p.Next() + " COLLATE NOCASE THEN 1 END)"
	return q + " FROM pragma_table_info(" + p.Next() + ", " + p.Next() + ")", []any{t.Key, TokenColumn, baseName(t.Name), schema}
}

// NotSideTable says why a side table cannot be created: a table of that
// name exists and is not one ([Dialect.ShapeQuery]).
func NotSideTable(t TokenTable) string {
	return "a table named " + t.Name + " exists and is not a token side table (its columns are not exactly " + t.Key + " and " + TokenColumn +
		"): " + t.Parent + "'s token index would write into it, and each write would delete its rows of the records written; rename the Tokens field, whose snake_case names the side table, or the table"
}

// SharedSideTable says why a side table cannot be created: an existing
// table of that name holds the tokens of other, the table its foreign key
// references ([Dialect.OtherParentQuery]).
func SharedSideTable(t TokenTable, other string) string {
	return "the side table " + t.Name + " already holds the tokens of " + other + " (its foreign key references it): " + t.Parent +
		"'s token index would share it, and each table's writes would delete the other's tokens; rename the Tokens field, whose snake_case names the side table"
}

// KeyTypeOf returns the key type of a row of [Dialect.KeyTypeQuery]: the
// column's type, and on MySQL its character set and collation when it
// has them ("varchar(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin").
func KeyTypeOf(typ string, charset, collation *string) string {
	if charset != nil && collation != nil {
		return typ + " CHARACTER SET " + *charset + " COLLATE " + *collation
	}
	return typ
}

// NoKeyColumn says why a [Dialect.KeyTypeQuery] found no row: the side
// table's parent, or its key column, does not exist (yet, or under that
// spelling: quoted names are case-sensitive).
func NoKeyColumn(t TokenTable) string {
	return "the table " + t.Parent + " does not exist or has no column " + t.Key + " (names are case-sensitive): create the table first"
}

// CreateTokenTable returns the statements that create the side table t
// and its index on the key, when they do not exist yet: one CREATE TABLE
// on MySQL (where the index is declared in it), a CREATE TABLE and a
// CREATE INDEX elsewhere. Check t first.
//
// SQLite enforces the foreign key, and so deletes a row's tokens with
// the row, only on a connection with PRAGMA foreign_keys = ON; its
// REFERENCES names the parent without its schema, as SQLite requires
// (the parent is in the side table's schema).
func (d Dialect) CreateTokenTable(t TokenTable) []string {
	keyType := t.KeyType
	if keyType == "" {
		keyType = d.DefaultKeyType(t.IntKey)
	}
	key, tok := d.QuoteIdent(t.Key), d.QuoteIdent(TokenColumn)
	parent := d.QuoteTable(t.Parent)
	if d == SQLite {
		parent = d.QuoteIdent(baseName(t.Parent))
	}
	var b strings.Builder
	b.WriteString("CREATE TABLE IF NOT EXISTS " + d.QuoteTable(t.Name) + " (" +
		key + " " + keyType + " NOT NULL, " + tok + " BIGINT NOT NULL, PRIMARY KEY (" + tok + ", " + key + "), ")
	if d == MySQL {
		b.WriteString("INDEX " + d.QuoteIdent(tokenIndexName(t)) + " (" + key + "), ")
	}
	b.WriteString("FOREIGN KEY (" + key + ") REFERENCES " + parent + " (" + key + ") ON DELETE CASCADE)")
	if d == SQLite {
		b.WriteString(" WITHOUT ROWID")
	}
	stmts := []string{b.String()}
	if d != MySQL {
		// The index lives in the table's schema: PostgreSQL names it
		// without one (it takes the table's), SQLite with one.
		name := d.QuoteIdent(tokenIndexName(t))
		table := d.QuoteTable(t.Name)
		if d == SQLite {
			if s := schemaOf(t.Name); s != "" {
				name = d.QuoteIdent(s) + "." + name
			}
			table = d.QuoteIdent(baseName(t.Name))
		}
		stmts = append(stmts, "CREATE INDEX IF NOT EXISTS "+name+" ON "+table+" ("+key+")")
	}
	return stmts
}

// tokenIndexName names the side table's index on its key: the table's
// name and "_key", or for a name that would be longer than an identifier
// may be, its start and a hash of the whole.
func tokenIndexName(t TokenTable) string {
	name := baseName(t.Name) + "_key"
	if len(name) <= MaxIdentLen {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	h := "_" + hex.EncodeToString(sum[:4]) + "_key"
	return baseName(t.Name)[:MaxIdentLen-len(h)] + h
}

// Stmt is a statement and its arguments.
type Stmt struct {
	SQL  string
	Args []any
}

// Markers returns a new parameter counter for one statement: the
// dialect's own ([Dialect.Placeholders]), or ? whatever the dialect when
// question is set, for a library that rebinds markers itself (GORM).
func (d Dialect) Markers(question bool) *Placeholders {
	if question {
		return &Placeholders{d: MySQL}
	}
	return d.Placeholders()
}

// TokenRows are the tokens of some records for one side table: the
// records' keys (strings, or int64 for an IntKey table), and each one's
// tokens, sorted and without repeats as crypt.Tokens holds them.
type TokenRows struct {
	Keys   []any
	Tokens [][]int64
}

// ReplaceTokens returns the statements that replace the tokens of the
// records rows holds in the side table t: a DELETE of every row of their
// keys, then INSERTs of their tokens. Run them in order, in the
// transaction that writes the records.
//
// With arrays (PostgreSQL, through pgx or its database/sql driver, which
// bind a Go slice as an array) and integer keys there is one DELETE and
// at most one INSERT, whatever the number of records and tokens: keys and
// tokens go as a bigint[] parameter each. Otherwise each statement names
// at most [MaxTokenBatch] keys or rows, one parameter each, which takes
// its type from its column: a string key may be stored in a uuid column
// (or an enum, or a domain), which a text[] neither compares with nor
// converts to in an INSERT. Each count of keys or rows is a statement of
// its own shape (a driver that caches prepared statements keeps one per
// shape used).
func (d Dialect) ReplaceTokens(t TokenTable, rows TokenRows, arrays, question bool) []Stmt {
	table, key, tok := d.QuoteTable(t.Name), d.QuoteIdent(t.Key), d.QuoteIdent(TokenColumn)
	if len(rows.Keys) == 0 {
		return nil
	}
	var stmts []Stmt
	if arrays && d == Postgres && t.IntKey {
		p := d.Markers(question)
		stmts = append(stmts, Stmt{"DELETE FROM " + table + " WHERE " + key + " = ANY(CAST(" + p.Next() + " AS bigint[]))", []any{intKeys(rows.Keys)}})
		var ks, ts []int64
		for i, toks := range rows.Tokens {
			k, _ := rows.Keys[i].(int64)
			for _, tk := range toks {
				ks = append(ks, k)
				ts = append(ts, tk)
			}
		}
		if len(ts) > 0 {
			p := d.Markers(question)
			stmts = append(stmts, Stmt{"INSERT INTO " + table + " (" + key + ", " + tok + ") SELECT * FROM unnest(CAST(" +
				p.Next() + " AS bigint[]), CAST(" + p.Next() + " AS bigint[]))", []any{ks, ts}})
		}
		return stmts
	}
	for lo := 0; lo < len(rows.Keys); lo += MaxTokenBatch {
		hi := min(lo+MaxTokenBatch, len(rows.Keys))
		p := d.Markers(question)
		var b strings.Builder
		b.WriteString("DELETE FROM " + table + " WHERE " + key)
		if hi-lo == 1 {
			b.WriteString(" = " + p.Next())
		} else {
			b.WriteString(" IN (")
			for i := lo; i < hi; i++ {
				if i > lo {
					b.WriteString(", ")
				}
				b.WriteString(p.Next())
			}
			b.WriteString(")")
		}
		stmts = append(stmts, Stmt{b.String(), append([]any(nil), rows.Keys[lo:hi]...)})
	}
	var b strings.Builder
	var args []any
	var p *Placeholders
	flush := func() {
		if len(args) > 0 {
			stmts = append(stmts, Stmt{b.String(), args})
		}
		b.Reset()
		args = nil
	}
	for i, toks := range rows.Tokens {
		for _, tk := range toks {
			if len(args) == 0 {
				p = d.Markers(question)
				b.WriteString("INSERT INTO " + table + " (" + key + ", " + tok + ") VALUES ")
			} else {
				b.WriteString(", ")
			}
			b.WriteString("(" + p.Next() + ", " + p.Next() + ")")
			args = append(args, rows.Keys[i], tk)
			if len(args) == 2*MaxTokenBatch {
				flush()
			}
		}
	}
	flush()
	return stmts
}

func intKeys(keys []any) []int64 {
	out := make([]int64, len(keys))
	for i, k := range keys {
		out[i], _ = k.(int64)
	}
	return out
}

// TokenQuery is one query of a token search (crypt/blind.Query): a row is
// a candidate when it holds every token of All (when All is not empty),
// or any token of Any. Both are sorted, without repeats.
type TokenQuery struct {
	All, Any []int64
}

// TokenCondition writes the condition that a row of t's parent holds the
// tokens of one of queries in the side table t, with its arguments, the
// markers taken from p:
//
//	"id" IN (SELECT "id" FROM "contacts_name_prefix" WHERE "token" = ANY($2)
//	         UNION ALL
//	         SELECT "id" FROM "contacts_name_prefix" WHERE "token" = ANY($3)
//	         GROUP BY "id" HAVING COUNT(*) = 4)
//
// On PostgreSQL, when t.Bits is at least [ScopeTokenBits] (a range
// index's tokens are 64 bits), the candidates are the scope's own rows,
// and the keys are gathered first, "id" = ANY(ARRAY(SELECT ...)), so that
// the parent is read through its key, candidate by candidate. The array
// is built whole in the backend's memory (8 bytes a BIGINT key, the
// key's length and a header for text), outside work_mem, and PostgreSQL
// caps an array at 1 GB; the planner estimates a handful of matches
// whatever the array holds. A search whose candidates run to millions of
// rows (an open range over a huge scope) is better split into narrower
// ranges, searched one after another.
//
// The tokens of every Any, and every All of one token, are looked up
// together; each longer All is a branch of its own that counts a key's
// rows among its tokens (the side table holds a key's token once). With
// arrays (PostgreSQL) each set of tokens is one bigint[] parameter, =
// ANY($n); otherwise an IN list of one parameter per token.
//
// When no query holds a token, the condition matches no row: with
// arrays, the same shape with one empty array; otherwise "1 = 0", with no
// arguments. ok reports whether some query held a token.
//
// outer is the parent's key as the condition compares it, "" for the
// quoted key column; outerArgs are its arguments, which come first (GORM's
// "?" with a clause.Column qualified by the statement's table, say).
func (d Dialect) TokenCondition(t TokenTable, p *Placeholders, queries []TokenQuery, arrays bool, outer string, outerArgs ...any) (cond string, args []any, ok bool) {
	arrays = arrays && d == Postgres
	var anyToks []int64
	var alls [][]int64
	for _, q := range queries {
		anyToks = append(anyToks, q.Any...)
		switch len(q.All) {
		case 0:
		case 1:
			anyToks = append(anyToks, q.All[0])
		default:
			alls = append(alls, q.All)
		}
	}
	anyToks = sortedSet(anyToks)
	empty := len(anyToks) == 0 && len(alls) == 0
	if empty {
		if !arrays {
			return "1 = 0", nil, false
		}
		anyToks = []int64{}
	}
	table, key, tok := d.QuoteTable(t.Name), d.QuoteIdent(t.Key), d.QuoteIdent(TokenColumn)
	if outer == "" {
		outer = key
	}
	args = append(args, outerArgs...) // outer comes first, once
	in := func(tokens []int64) string {
		if arrays {
			args = append(args, tokens)
			return tok + " = ANY(" + p.Next() + ")"
		}
		var b strings.Builder
		if len(tokens) == 1 {
			b.WriteString(tok + " = " + p.Next())
		} else {
			b.WriteString(tok + " IN (")
			for i := range tokens {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString(p.Next())
			}
			b.WriteString(")")
		}
		for _, tk := range tokens {
			args = append(args, tk)
		}
		return b.String()
	}
	// One IN over a UNION ALL of the subqueries, not an OR of INs: the
	// planner turns a single IN into a semi-join that probes the parent's
	// key for each candidate, where an OR of subqueries makes PostgreSQL
	// scan every row of the tenant against hashed subplans (47 times the
	// plaintext query for a substring search on a million rows).
	var parts []string
	if len(anyToks) > 0 || empty {
		parts = append(parts, "SELECT "+key+" FROM "+table+" WHERE "+in(anyToks))
	}
	for _, all := range alls {
		parts = append(parts, "SELECT "+key+" FROM "+table+" WHERE "+in(all)+
			" GROUP BY "+key+" HAVING COUNT(*) = "+strconv.Itoa(len(all)))
	}
	sub := strings.Join(parts, " UNION ALL ")
	// = ANY(ARRAY(subquery)) runs the subquery first and probes the
	// parent's key with every candidate; IN (subquery) leaves the planner
	// to choose where to start (internal/tokenbench/RESULTS.md has both
	// measured). With wide tokens the candidates are the scope's rows
	// that match, and gathering them first is the plan of a plaintext
	// range scan: a month of a tenant's million rows, which IN plans as a
	// hash join over the tenant's whole table with PostgreSQL's default
	// costs, took 0.4 of the time, and the searches of wide_tokens.sql
	// 0.3 to 0.7. With truncated tokens
	// the candidates are every scope's rows whose tokens collide, so ANY
	// probes them all, and was several times slower for a tenant of 2,000
	// rows among 2,000,000 (105-186 ms against 21-25 ms); IN starts from
	// the tenant's rows.
	if d == Postgres && t.Bits >= ScopeTokenBits {
		return outer + " = ANY(ARRAY(" + sub + "))", args, !empty
	}
	return outer + " IN (" + sub + ")", args, !empty
}

// sortedSet sorts s and drops its repeats, in place.
func sortedSet(s []int64) []int64 {
	if len(s) < 2 {
		return s
	}
	slices.Sort(s)
	out := s[:1]
	for _, v := range s[1:] {
		if v != out[len(out)-1] {
			out = append(out, v)
		}
	}
	return out
}
