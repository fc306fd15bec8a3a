package gormcrypt

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/logger"
	"gorm.io/gorm/schema"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/internal/sqldialect"
)

// Token indexes. A model's crypt.Tokens fields are not columns (gorm:"-"):
// each is stored in a side table of its own, <table>_<snake_case of the
// field's Go name> (key, token), laid out by package sqldialect exactly as
// package sqlcrypt lays it out, so that either package reads what the
// other wrote. The plugin replaces a record's tokens after the statement
// that wrote its row, in GORM's transaction, and Search looks them up.

var tokensType = reflect.TypeFor[crypt.Tokens]()

// tokenKinds are the directives of a token index's tag.
var tokenKinds = map[string]bool{"prefix": true, "suffix": true, "substring": true, "range": true, "set": true}

// tokenIndex is one token index of a model.
type tokenIndex struct {
	path    string          // the Go path crypt names it by: "NamePrefix", "Billing.ZipPrefix"
	name    string          // its name= option, or ""
	index   []int           // the Tokens field's index path in the model's type
	suffix  string          // the side table's suffix: the snake_case of path, '.' as '_'
	sources []*schema.Field // columns of the model: buildTokens refuses any other source
}

// tokenDirective returns the kind of token index a field's crypt tag
// declares, and its sources; kind is "" for another tag.
func tokenDirective(f reflect.StructField) (kind string, sources []string, opts map[string]string) {
	directive, opts := parseTag(f.Tag.Get("crypt"))
	kind, srcs, _ := strings.Cut(directive, "=")
	if !tokenKinds[kind] {
		return "", nil, nil
	}
	return kind, strings.Split(srcs, "+"), opts
}

// walkTokens calls fn for every Tokens field with a token directive of
// struct type t and of the structs it holds (not in slice elements, nor in
// held records), with its Go path and index, as package crypt finds them.
func walkTokens(t reflect.Type, prefix []int, path string, seen map[reflect.Type]bool, fn func(f reflect.StructField, path string, index []int)) {
	for i := range t.NumField() {
		f := t.Field(i)
		index := append(append([]int(nil), prefix...), i)
		if f.Type == tokensType {
			if kind, _, _ := tokenDirective(f); kind != "" && f.IsExported() {
				fn(f, path+f.Name, index)
			}
			continue
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() != reflect.Struct || seen[ft] || isRecordType(ft) || f.Tag.Get("crypt") == "-" {
			continue
		}
		sub := path
		if !f.Anonymous {
			sub = path + f.Name + "."
		}
		seen[ft] = true
		walkTokens(ft, index, sub, seen, fn)
		delete(seen, ft)
	}
}

// isRecordType reports whether struct type t declares a record of its own.
func isRecordType(t reflect.Type) bool {
	f, ok := t.FieldByName("_")
	if !ok {
		return false
	}
	d, _ := parseTag(f.Tag.Get("crypt"))
	return strings.HasPrefix(d, "record=")
}

// gormIgnores reports whether GORM neither reads nor writes field f: its
// gorm tag holds "-" or "-:all".
func gormIgnores(f reflect.StructField) bool {
	for _, s := range strings.Split(f.Tag.Get("gorm"), ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(s), ":")
		if strings.TrimSpace(k) == "-" && (v == "" || strings.EqualFold(strings.TrimSpace(v), "all")) {
			return true
		}
	}
	return false
}

// tokensAsColumn refuses a model type one of whose token indexes GORM
// would read and write as a column: a Tokens field without gorm:"-".
// GORM itself fails to parse such a model ("unsupported data type"); this
// says why, naming the model and the field.
func tokensAsColumn(t reflect.Type) error {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	var err error
	walkTokens(t, nil, "", map[reflect.Type]bool{t: true}, func(f reflect.StructField, path string, _ []int) {
		if err == nil && !gormIgnores(f) {
			err = tokenColumnError(t.String(), path)
		}
	})
	return err
}

// explainTokens adds to a statement that GORM could not parse the reason
// when its model holds a Tokens field GORM would take for a column: GORM
// says only "unsupported data type".
func explainTokens(db *gorm.DB) {
	stmt := db.Statement
	if db.Error == nil {
		return
	}
	for _, v := range []any{stmt.Model, stmt.Dest} {
		if v == nil {
			continue
		}
		if err := tokensAsColumn(reflect.TypeOf(v)); err != nil {
			db.AddError(err)
			return
		}
	}
}

func tokenColumnError(model, path string) error {
	return &Error{Op: "plan", Model: model, Field: path, Err: ErrUnsupportedModel,
		Reason: `the crypt.Tokens field is a token index, stored in a side table of its own (see MigrateTokens), not a column: tag it gorm:"-"`}
}

// buildTokens finds the model's token indexes, and refuses one GORM
// treats as a column, and a model whose rows the side tables could not
// refer to by one key.
func (m *model) buildTokens(s *schema.Schema) error {
	var err error
	walkTokens(s.ModelType, nil, "", map[reflect.Type]bool{s.ModelType: true}, func(f reflect.StructField, path string, index []int) {
		if err != nil {
			return
		}
		if gf := s.LookUpField(path); gf != nil && gf.DBName != "" || !gormIgnores(f) {
			err = tokenColumnError(m.name, path)
			return
		}
		_, srcs, opts := tokenDirective(f)
		ti := &tokenIndex{path: path, name: opts["name"], index: index}
		var parts []string
		for p := range strings.SplitSeq(path, ".") {
			snake, _ := crypt.ColumnOf(reflect.StructField{Name: p})
			parts = append(parts, snake)
		}
		ti.suffix = strings.Join(parts, "_")
		for _, src := range srcs {
			// A source in the elements of an association (has-many,
			// many-to-many) is written by statements of its own: the
			// plugin encrypts the record without it, and its tokens
			// would miss those elements for good (false negatives).
			if head, _, ok := strings.Cut(src, "[]."); ok {
				if _, rel := s.Relationships.Relations[head]; rel {
					err = &Error{Op: "plan", Model: m.name, Field: path, Err: ErrUnsupportedModel,
						Reason: "its source " + src + " is in the association " + head + ", whose records GORM writes in statements of their own: the record's tokens would miss them; index the associated records' own fields instead"}
					return
				}
			}
			// Every source must be a column of the model, so that each
			// write and search can tell whether it touches the index: a
			// source in a JSON column's elements or in an embedded struct
			// could be rewritten without its tokens.
			sf := s.LookUpField(src)
			if strings.Contains(path, ".") || sf == nil || sf.DBName == "" {
				err = &Error{Op: "plan", Model: m.name, Field: path, Err: ErrUnsupportedModel,
					Reason: "its source " + src + " is not a column of the model (a field of slice elements, of a nested struct, or of a nested Tokens field's struct): a write of that column could not keep the tokens in step; with GORM, index columns of the model itself"}
				return
			}
			ti.sources = append(ti.sources, sf)
		}
		for _, other := range m.tokens {
			if other.suffix == ti.suffix {
				err = &Error{Op: "plan", Model: m.name, Field: path, Err: ErrUnsupportedModel,
					Reason: "its side table <table>_" + ti.suffix + " is also that of token index " + other.path + ": each write of one would replace the other's tokens; rename one of the fields"}
				return
			}
		}
		m.tokens = append(m.tokens, ti)
	})
	if err != nil || len(m.tokens) == 0 {
		return err
	}
	refuse := func(reason string) error {
		return &Error{Op: "plan", Model: m.name, Field: m.tokens[0].path, Err: ErrUnsupportedModel, Reason: reason}
	}
	switch {
	case len(m.ids) == 0:
		return refuse(`a token index's side table refers to its row by the record's identity field (crypt:"id"), and the model has none with a column`)
	case len(m.ids) > 1:
		return refuse(`a token index's side table refers to its row by one key column, and the model has several identity fields (crypt:"id"): records with composite keys cannot have token indexes yet`)
	}
	if _, ok := tokenKey(m.ids[0].FieldType); !ok {
		return &Error{Op: "plan", Model: m.name, Column: m.ids[0].DBName, Field: m.ids[0].Name, Err: ErrUnsupportedModel,
			Reason: "a token index's side table keys its rows by the identity field, which must be a string or an integer"}
	}
	return nil
}

// tokenKey reports whether an identity field of type t is stored as an
// integer key, and whether it can be a key at all.
func tokenKey(t reflect.Type) (intKey, ok bool) {
	switch t.Kind() {
	case reflect.String:
		return false, true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true, true
	}
	return false, false
}

// tokenSource reports whether column is a source of one of the model's
// token indexes: a write to it must rewrite the index.
func (m *model) tokenSource(column string) bool {
	for _, ti := range m.tokens {
		for _, f := range ti.sources {
			if f.DBName == column {
				return true
			}
		}
	}
	return false
}

// dialectOf returns the dialect of db's database: PostgreSQL, MySQL (or
// MariaDB) or SQLite.
func dialectOf(db *gorm.DB) (sqldialect.Dialect, bool) {
	d, err := sqldialect.Parse(db.Dialector.Name())
	return d, err == nil
}

// tokenTable returns the side table of ti for the model's rows in table.
func (m *model) tokenTable(table string, ti *tokenIndex) (sqldialect.TokenTable, error) {
	intKey, _ := tokenKey(m.ids[0].FieldType)
	tt := sqldialect.TokenTable{Parent: table, Name: sqldialect.TokenTableName(table, ti.suffix), Key: m.ids[0].DBName, IntKey: intKey}
	if err := tt.Check(); err != nil {
		return tt, &Error{Op: "tokens", Model: m.name, Field: ti.path, Err: ErrUnsupportedModel, Reason: "its side table cannot be named: " + err.Error()}
	}
	return tt, nil
}

// keyOf returns the side-table key of the record rv: its identity's value
// as a string or an int64.
func (m *model) keyOf(ctx context.Context, rv reflect.Value) (any, bool) {
	v := m.ids[0].ReflectValueOf(ctx, rv)
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

// tokenWrite is the tokens a statement replaces once it wrote its rows:
// for each of some of the model's token indexes, the records' keys and
// tokens.
type tokenWrite struct {
	m       *model
	indexes []*tokenIndex
	rows    []sqldialect.TokenRows
}

// newTokenWrite returns a write of the given token indexes of m.
func newTokenWrite(m *model, indexes []*tokenIndex) *tokenWrite {
	return &tokenWrite{m: m, indexes: indexes, rows: make([]sqldialect.TokenRows, len(indexes))}
}

// add appends the key and tokens of the encrypted record rv.
func (w *tokenWrite) add(ctx context.Context, op string, rv reflect.Value) error {
	key, ok := w.m.keyOf(ctx, rv)
	if !ok {
		return &Error{Op: op, Model: w.m.name, Column: w.m.ids[0].DBName, Field: w.m.ids[0].Name, Err: ErrUnknownIdentity,
			Reason: "the record's identity is zero: its token indexes' rows would refer to no row"}
	}
	for j, ti := range w.indexes {
		var toks crypt.Tokens
		if fv, err := rv.FieldByIndexErr(ti.index); err == nil {
			toks = fv.Interface().(crypt.Tokens)
		}
		w.rows[j].Keys = append(w.rows[j].Keys, key)
		w.rows[j].Tokens = append(w.rows[j].Tokens, toks)
	}
	return nil
}

// exec replaces the tokens in the side tables of table, through the
// statement's connection: GORM's transaction, when it runs in one.
func (w *tokenWrite) exec(db *gorm.DB, op, table string) error {
	d, ok := dialectOf(db)
	if !ok {
		return &Error{Op: op, Model: w.m.name, Field: w.indexes[0].path, Err: ErrUnsupportedModel,
			Reason: "token indexes are stored on PostgreSQL, MySQL, MariaDB and SQLite, not on " + db.Dialector.Name()}
	}
	for j, ti := range w.indexes {
		tt, err := w.m.tokenTable(table, ti)
		if err != nil {
			return err
		}
		tokens := slices.Concat(w.rows[j].Tokens...)
		tx := db.Session(&gorm.Session{NewDB: true, Context: db.Statement.Context, Logger: sideLogger{db.Logger, tokens}})
		for _, s := range d.ReplaceTokens(tt, w.rows[j], false, true) {
			if err := tx.Exec(s.SQL, s.Args...).Error; err != nil {
				return &Error{Op: op, Model: w.m.name, Field: ti.path, Reason: "writing the token index's side table " + tt.Name, Err: sqldialect.Redact(err, tokens)}
			}
		}
	}
	return nil
}

// sideLogger is the application's GORM logger for a statement over a
// token side table, whose arguments are record keys and tokens: it is
// given the statement without its arguments, and its error with the
// values the database or the driver quote withheld (sqldialect.Redact),
// whatever the logger's configuration. (A plugin that traces GORM's
// callbacks itself, rather than through the logger, sees the statement's
// arguments as GORM holds them.)
type sideLogger struct {
	logger.Interface
	tokens []int64 // the side table's, to withhold from an error
}

// LogMode returns the application's logger at level, still without
// arguments.
func (l sideLogger) LogMode(level logger.LogLevel) logger.Interface {
	return sideLogger{l.Interface.LogMode(level), l.tokens}
}

// Trace traces the statement with its error redacted.
func (l sideLogger) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), err error) {
	l.Interface.Trace(ctx, begin, fc, sqldialect.Redact(err, l.tokens))
}

// ParamsFilter leaves out every argument: GORM prints the statement with
// its placeholders.
func (sideLogger) ParamsFilter(_ context.Context, sql string, _ ...any) (string, []any) {
	return sql, nil
}

// inTransaction reports whether the statement runs in a transaction: the
// one GORM begins around a write, or the caller's.
func inTransaction(db *gorm.DB) bool {
	if _, ok := db.Statement.ConnPool.(gorm.TxCommitter); ok {
		return true
	}
	_, ok := db.Statement.ConnPool.(interface{ Commit() error })
	return ok
}

// tokenTableOf returns the table a statement writes the model's rows to,
// for naming its side tables.
func tokenTableOf(stmt *gorm.Statement, m *model) string {
	if stmt.Table != "" && stmt.TableExpr == nil {
		return stmt.Table
	}
	return m.schema.Table
}

// Search returns a GORM scope that finds the records of probe's type
// whose token index named index satisfies term, in probe's scope:
//
//	var out []Contact
//	err := db.Scopes(gormcrypt.Search(&Contact{TenantID: t}, "NamePrefix", crypt.HasPrefix("lov"))).Find(&out).Error
//
// probe is a pointer to the record type with its scope set; index is the
// Tokens field's Go name or its name= option; term is crypt.HasPrefix,
// HasSuffix, Contains, Between or Equals, of the index's kind. The query
// keeps to the probe's scope and asks for the rows whose key the index's
// side table lists with the search's tokens, under every enabled index
// key (so it keeps working during an index-key rotation):
//
//	"contacts"."id" IN (SELECT "id" FROM "contacts_name_prefix" WHERE "token" IN (?, ?)) AND "contacts"."tenant_id" = ?
//
// (a substring search adds a branch that counts a row's n-gram tokens,
// UNION ALL SELECT "id" ... GROUP BY "id" HAVING COUNT(*) = n, inside the
// same IN). On PostgreSQL a range index, whose 64-bit tokens name the
// scope's rows only, gathers its candidates first:
// "contacts"."id" = ANY(ARRAY(SELECT "id" FROM ...)), which the sqlcrypt
// package's Search doc explains, with its cost and its limit.
//
// After decryption the rows that do not satisfy the term (the index's
// false positives: tokens are truncated, range buckets whole, long values
// overflow) and every row of another scope are dropped
// (crypt.TokenSearch.Match). It is refused, and answers, exactly where
// [Matching] is: First, Take, Last, Limit, Offset, Group, Having,
// Distinct, Count, Pluck, Rows, Scan, Update and Delete, a Select or Omit
// that leaves out the index's sources or the scope, and a destination
// other than a slice of the record type are refused with
// ErrUnsupportedSearch; a row that does not decrypt in full fails the
// search, with no row returned. It combines with Matching and other
// Search scopes of the same record type: a row is returned when it
// matches them all.
//
// The side tables are those [MigrateTokens] creates, written by the
// plugin on every Create, Save and Update. crypt's errors (a term of
// another kind, a query too short, crypt.ErrNoAccess) come in an [*Error].
func Search(probe any, index string, term crypt.Term) func(*gorm.DB) *gorm.DB {
	return func(db *gorm.DB) *gorm.DB {
		p, m, pv, err := probeModel(db, probe)
		if err != nil {
			db.AddError(err)
			return db
		}
		var ti *tokenIndex
		for _, x := range m.tokens {
			if x.path == index || x.name == index {
				ti = x
			}
		}
		if ti == nil {
			db.AddError(&Error{Op: "search", Model: m.name, Err: crypt.ErrUnknownIndex, Reason: "no token index named " + index})
			return db
		}
		ctx := db.Statement.Context
		scopeValue, err := m.probeScope(ctx, pv)
		if err != nil {
			db.AddError(err)
			return db
		}
		d, ok := dialectOf(db)
		if !ok {
			db.AddError(&Error{Op: "search", Model: m.name, Field: ti.path, Err: ErrUnsupportedSearch,
				Reason: "token indexes are stored on PostgreSQL, MySQL, MariaDB and SQLite, not on " + db.Dialector.Name()})
			return db
		}
		tt, err := m.tokenTable(tokenTableOf(db.Statement, m), ti)
		if err != nil {
			db.AddError(err)
			return db
		}
		ts, err := p.enc.Search(ctx, probe, ti.path, term)
		if err != nil {
			db.AddError(&Error{Op: "search", Model: m.name, Field: ti.path, Err: err})
			return db
		}
		queries := make([]sqldialect.TokenQuery, len(ts.Queries))
		for i, q := range ts.Queries {
			queries[i] = sqldialect.TokenQuery{All: q.All, Any: q.Any}
		}
		key := clause.Column{Table: clause.CurrentTable, Name: m.ids[0].DBName}
		tt.Bits = ts.Bits
		cond, args, ok := d.TokenCondition(tt, d.Markers(true), queries, false, "?", key)
		if !ok {
			db = db.Where("1 = 0")
		} else {
			db = db.Where(clause.Expr{SQL: cond, Vars: args})
		}
		if m.scope != nil {
			db = db.Where(clause.Eq{Column: clause.Column{Table: clause.CurrentTable, Name: m.scope.DBName}, Value: scopeValue})
		}
		need := append([]*schema.Field(nil), ti.sources...)
		return addSearch(db, &search{m: m, probe: probe, scope: scopeValue, ts: ts, column: tt.Name, need: need})
	}
}

// MigrateTokens creates the side tables of the token indexes of models
// (pointers to tagged models, as AutoMigrate takes them), when they do not
// exist yet. Run it after the models' own tables exist, such as after
// db.AutoMigrate(models...): each side table's key refers to its model's
// table with a foreign key (ON DELETE CASCADE, so that deleting a row
// deletes its tokens; on SQLite only on connections with foreign keys
// on, as with _pragma=foreign_keys(1) in the DSN).
//
// A side table is named after the model's table and the snake_case of the
// Tokens field's Go name (contacts and NamePrefix give
// contacts_name_prefix); its key column is the model's identity column,
// under the same name and of the same type: on PostgreSQL the type (uuid,
// bigint, text, ...), and on MySQL and MariaDB the type, character set and
// collation, are read from the table's column (a foreign key needs them
// compatible); on SQLite TEXT or BIGINT. The layout is package
// sqlcrypt's (sqlcrypt.CreateTokenTables), so records written through
// either package are found through both. A model without token
// indexes is left alone; one whose token indexes cannot be stored is an
// [*Error], as is a side table that exists and holds another table's
// tokens (side tables are named "<table>_<index>", so "rc" with an index
// email_domain and "rc_email" with domain would share one), and a table of
// the side table's name that is not a side table (an application's
// one-to-one table contacts_name_prefix: the side table's writes would
// delete its rows).
func MigrateTokens(db *gorm.DB, models ...any) error {
	p, err := pluginOf(db)
	if err != nil {
		return err
	}
	d, ok := dialectOf(db)
	if !ok {
		return &Error{Op: "migrate", Model: db.Dialector.Name(), Err: ErrUnsupportedModel,
			Reason: "token indexes are stored on PostgreSQL, MySQL, MariaDB and SQLite"}
	}
	for _, v := range models {
		if err := tokensAsColumn(reflect.TypeOf(v)); err != nil {
			return err
		}
		stmt := &gorm.Statement{DB: db}
		if err := stmt.Parse(v); err != nil {
			return err
		}
		m := p.modelOf(stmt.Schema)
		if m.err != nil {
			return m.err
		}
		for _, ti := range m.tokens {
			tt, err := m.tokenTable(m.schema.Table, ti)
			if err != nil {
				return err
			}
			// Nothing is queried in a dry run: the statements carry
			// the default key type.
			if !db.DryRun {
				tt.KeyType, err = keyType(db, d, tt)
			}
			if err != nil {
				return &Error{Op: "migrate", Model: m.name, Column: tt.Key, Field: ti.path, Reason: "reading the key column's type", Err: err}
			}
			if !db.DryRun {
				if err := sharedSideTable(db, d, tt); err != nil {
					return &Error{Op: "migrate", Model: m.name, Field: ti.path, Err: ErrUnsupportedModel, Reason: err.Error()}
				}
			}
			for _, s := range d.CreateTokenTable(tt) {
				if err := db.Session(&gorm.Session{NewDB: true}).Exec(s).Error; err != nil {
					return &Error{Op: "migrate", Model: m.name, Field: ti.path, Reason: "creating the side table " + tt.Name, Err: err}
				}
			}
		}
	}
	return nil
}

// sharedSideTable fails when a table named as the side table tt exists and
// is not tt: it holds another table's tokens (sqldialect.Dialect.OtherParentQuery:
// two tables whose side tables get one name would delete each other's
// tokens), or it is not a side table at all (sqldialect.Dialect.ShapeQuery:
// an application's one-to-one table "contacts_name_prefix", whose rows the
// side table's writes, which delete a record's rows by key, would delete).
func sharedSideTable(db *gorm.DB, d sqldialect.Dialect, tt sqldialect.TokenTable) error {
	q, args := d.OtherParentQuery(tt, true)
	var other string
	switch err := scanOne(db.Session(&gorm.Session{NewDB: true}).Raw(q, args...), &other); {
	case err == nil:
		return errors.New(sqldialect.SharedSideTable(tt, other))
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("reading the foreign key of the side table %s: %w", tt.Name, err)
	}
	q, args = d.ShapeQuery(tt, true)
	var columns, own int
	if err := scanOne(db.Session(&gorm.Session{NewDB: true}).Raw(q, args...), &columns, &own); err != nil {
		return fmt.Errorf("reading the columns of the side table %s: %w", tt.Name, err)
	}
	if columns != 0 && (columns != 2 || own != 2) {
		return errors.New(sqldialect.NotSideTable(tt))
	}
	return nil
}

// keyType returns the type of the side table tt's key, read from its
// parent's key column (see sqldialect.Dialect.KeyTypeQuery), or "" for
// the dialect's default.
func keyType(db *gorm.DB, d sqldialect.Dialect, tt sqldialect.TokenTable) (string, error) {
	q, args, ok := d.KeyTypeQuery(tt, true)
	if !ok {
		return "", nil
	}
	var typ string
	var charset, collation *string
	err := scanOne(db.Session(&gorm.Session{NewDB: true}).Raw(q, args...), &typ, &charset, &collation)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errors.New(sqldialect.NoKeyColumn(tt) + " (AutoMigrate)")
	}
	return sqldialect.KeyTypeOf(typ, charset, collation), err
}

// scanOne scans the one row of q into dest. On a session that already
// failed GORM runs nothing and gives no row: its error then.
func scanOne(q *gorm.DB, dest ...any) error {
	row := q.Row()
	if q.Error != nil {
		return q.Error
	}
	if row == nil {
		return errors.New("the catalogue query gave no result")
	}
	return row.Scan(dest...)
}
