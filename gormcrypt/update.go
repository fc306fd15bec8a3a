package gormcrypt

import (
	"reflect"

	"gorm.io/gorm"
	"gorm.io/gorm/callbacks"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"

	"github.com/fieldcrypt/fieldcrypt/internal/sqldialect"
)

// Updates. The plugin builds the SET clause the way GORM does
// (callbacks.ConvertToAssignments, which also writes the new plaintext
// values into the model, as GORM always does), then replaces the values of
// encrypted columns by ciphertexts bound to the model's identity and scope,
// recomputes the blind and token indexes whose sources change (encrypted
// or not), and restricts the UPDATE to the row with that identity and
// scope.

// setKey marks a statement whose SET clause the plugin added.
type setKey struct{ stmt *gorm.Statement }

// redactKey keys, in an update's Settings, the values redactUpdate
// withholds from the UPDATE's error: a []any.
type redactKey struct{ stmt *gorm.Statement }

func (p *Plugin) encryptUpdate(db *gorm.DB) {
	stmt := db.Statement
	if db.Error != nil {
		explainTokens(db)
		return
	}
	if p.refuseHidden(db, "update") {
		return
	}
	if s := searchOf(stmt); s != nil {
		db.AddError(searchRefused(s, "update", "an update through a blind-index search would also change the rows it finds that hold another value"))
		return
	}
	if p.checkConditions(db, "update"); db.Error != nil {
		return
	}
	if stmt.Schema == nil {
		p.checkTableWrite(db, "update")
		return
	}
	m := p.modelOf(stmt.Schema)
	if !m.tagged {
		p.checkTableWrite(db, "update")
		return
	}
	if m.err != nil {
		db.AddError(m.err)
		return
	}
	if err := m.checkReturning(stmt, "update"); err != nil {
		db.AddError(err)
		return
	}
	if c, ok := stmt.Clauses["SET"]; ok {
		// A SET clause given by hand (clause.Set through Clauses).
		if set, ok := c.Expression.(clause.Set); ok {
			for _, a := range set {
				if col := m.column(a.Column.Name); m.sensitive(col) || m.binding(col) || m.indexSource(col) {
					db.AddError(&Error{Op: "update", Model: m.name, Column: col, Err: ErrUnsupportedWrite,
						Reason: "a SET clause given by hand is not encrypted, and recomputes no index; use Update, Updates or Save"})
					return
				}
			}
		}
		stmt.Settings.Store(redactKey{stmt}, []any(nil)) // a blind index may yet be part of a unique key
		return
	}
	if err := p.encryptAssignments(db, m); err != nil {
		db.AddError(err)
	}
}

func (p *Plugin) encryptAssignments(db *gorm.DB, m *model) error {
	stmt := db.Statement
	ctx := stmt.Context
	rv := stmt.ReflectValue
	single := rv.Kind() == reflect.Struct && rv.Type() == m.typ && rv.CanAddr()
	// The model's binding before GORM writes the new values into it.
	var binding []*schema.Field
	if m.scope != nil {
		binding = append(binding, m.scope)
	}
	binding = append(binding, m.ids...)
	// The model as it was: GORM writes the new values into it, and a
	// refused update puts it back.
	var saved reflect.Value
	var before []reflect.Value
	if single {
		saved = reflect.New(m.typ).Elem()
		saved.Set(rv)
		for _, f := range binding {
			before = append(before, f.ReflectValueOf(ctx, saved))
		}
	}
	set := callbacks.ConvertToAssignments(stmt)
	if db.Error != nil || len(set) == 0 {
		return nil
	}
	refuse := func(col string, sentinel error, reason string) error {
		if single {
			rv.Set(saved)
		}
		e := &Error{Op: "update", Model: m.name, Column: col, Err: sentinel, Reason: reason}
		if f := stmt.Schema.LookUpField(col); f != nil {
			e.Field = f.Name
		}
		return e
	}
	hasSecrets := len(m.enc)+len(m.opaque)+len(m.indexes)+len(m.tokens) > 0
	var touched []int
	assigned := map[string]bool{}
	written := map[string]int{} // every column the update writes → its assignment
	for i, a := range set {
		written[a.Column.Name] = i
		col := a.Column.Name
		if err := m.misspelled("update", col); err != nil {
			if single {
				rv.Set(saved)
			}
			return err
		}
		if hasSecrets && m.binding(col) {
			if !single {
				return refuse(col, ErrUnsupportedWrite, "changing the scope or identity of records with encrypted columns would leave their ciphertexts bound to the old values; re-create the records")
			}
			for k, f := range binding {
				if before[k].IsZero() {
					// db.Model(&Record{}) names no record: the rows the
					// WHERE finds (an association's Delete, Clear or
					// Replace, which set the foreign key to NULL) would
					// keep ciphertexts bound to their old values.
					return refuse(col, ErrUnsupportedWrite, "changing the scope or identity of records with encrypted columns would leave their ciphertexts bound to the old values, and the model names no record ("+f.Name+" is zero); delete or re-create the records")
				}
				if f.DBName == col && !reflect.DeepEqual(before[k].Interface(), f.ReflectValueOf(ctx, rv).Interface()) {
					return refuse(col, ErrUnsupportedWrite, "changing the scope or identity of a record with encrypted columns would leave its ciphertexts bound to the old values; re-create the record")
				}
			}
		}
		if m.sensitive(col) {
			touched = append(touched, i)
			assigned[col] = true
		}
	}
	// The token indexes whose sources the update writes: rewritten, from
	// all of their sources.
	var rewrite []*tokenIndex
	for _, ti := range m.tokens {
		n := 0
		for _, src := range ti.sources {
			if _, ok := written[src.DBName]; ok {
				n++
			}
		}
		switch {
		case n == 0:
		case n < len(ti.sources):
			col := ti.sources[0].DBName
			return refuse(col, ErrUnsupportedWrite, "a token index ("+ti.path+") is recomputed only when the update writes all of its sources, which must be columns of the model")
		default:
			rewrite = append(rewrite, ti)
		}
	}
	// The blind indexes whose sources the update writes, encrypted or
	// not: recomputed, from all of their sources.
	var recompute []*index
	for _, f := range m.schema.Fields {
		ix, ok := m.indexes[f.DBName]
		if !ok {
			continue
		}
		n := 0
		for _, src := range ix.sources {
			if _, ok := written[src.DBName]; ok {
				n++
			}
		}
		switch {
		case n == 0 && assigned[f.DBName]:
			return refuse(f.DBName, ErrUnsupportedWrite, "a blind-index column is computed from its sources; write them instead")
		case n == 0:
		case n < len(ix.sources) || ix.unresolved != "":
			return refuse(f.DBName, ErrUnsupportedWrite, "a blind index is recomputed only when the update writes all of its sources, which must be columns of the model")
		default:
			recompute = append(recompute, ix)
		}
	}
	if len(touched) == 0 && len(rewrite) == 0 && len(recompute) == 0 {
		p.useSet(stmt, m, set)
		return nil
	}
	var first string // the first column written that the plugin must write itself
	for _, a := range set {
		if m.sensitive(a.Column.Name) || m.indexSource(a.Column.Name) {
			first = a.Column.Name
			break
		}
	}
	if !single {
		return refuse(first, ErrUnknownIdentity, "an update of an encrypted column or of an index's source (blind or token, encrypted or not) must name one row by its model, db.Model(&record) with the record's identity and scope set, so that the ciphertext binds them and the index values are the row's")
	}
	for k, f := range binding {
		if before[k].IsZero() {
			return refuse(first, ErrUnknownIdentity, "the model's "+f.Name+" is zero: an update of an encrypted column or of an index's source needs the model's identity and scope")
		}
	}
	if len(rewrite) > 0 {
		if _, err := m.checkTokenWrite(db, "update"); err != nil {
			rv.Set(saved)
			return err
		}
	}
	// A fresh record holding the binding and the new plaintext values.
	fresh := reflect.New(m.typ).Elem()
	for k, f := range binding {
		f.ReflectValueOf(ctx, fresh).Set(before[k])
	}
	for _, i := range touched {
		col := set[i].Column.Name
		if _, isIndex := m.indexes[col]; isIndex {
			continue
		}
		switch set[i].Value.(type) {
		case clause.Expression, *gorm.DB, []any:
			return refuse(col, ErrUnsupportedWrite, "an SQL expression cannot be encrypted; pass the value")
		}
		f := stmt.Schema.LookUpField(col)
		if err := f.Set(ctx, fresh, set[i].Value); err != nil {
			// GORM's error may quote the value: it is not passed on.
			return refuse(col, ErrUnsupportedWrite, "the value does not fit the field's type")
		}
	}
	// The indexes' sources that are not encrypted: in the fresh record
	// too, for Encrypt to compute the blind-index values and tokens from.
	var sources []*schema.Field
	for _, ix := range recompute {
		sources = append(sources, ix.sources...)
	}
	for _, ti := range rewrite {
		sources = append(sources, ti.sources...)
	}
	for _, src := range sources {
		if m.sensitive(src.DBName) {
			continue
		}
		i := written[src.DBName]
		switch set[i].Value.(type) {
		case clause.Expression, *gorm.DB, []any:
			return refuse(src.DBName, ErrUnsupportedWrite, "an SQL expression as an index's source cannot be indexed; pass the value")
		}
		if err := src.Set(ctx, fresh, set[i].Value); err != nil {
			return refuse(src.DBName, ErrUnsupportedWrite, "the value does not fit the field's type")
		}
	}
	if err := p.enc.Encrypt(ctx, fresh.Addr().Interface()); err != nil {
		rv.Set(saved)
		return &Error{Op: "update", Model: m.name, Err: err}
	}
	for _, i := range touched {
		f := stmt.Schema.LookUpField(set[i].Column.Name)
		set[i].Value, _ = f.ValueOf(ctx, fresh)
	}
	for _, ix := range recompute {
		v := ix.field.ReflectValueOf(ctx, fresh)
		ix.field.ReflectValueOf(ctx, rv).Set(v) // the model holds the new index value, as after a Create
		if !assigned[ix.field.DBName] {
			set = append(set, clause.Assignment{Column: clause.Column{Name: ix.field.DBName}, Value: v.Interface()})
		}
	}
	if len(rewrite) > 0 {
		w := newTokenWrite(m, rewrite)
		if err := w.add(ctx, "update", fresh); err != nil {
			rv.Set(saved)
			return err
		}
		for _, ti := range rewrite { // the model holds the new tokens, as after a Create
			if dst, err := rv.FieldByIndexErr(ti.index); err == nil {
				src, _ := fresh.FieldByIndexErr(ti.index)
				dst.Set(src)
			}
		}
		stmt.Settings.Store(tokenWriteKey{stmt}, w)
	}
	// Only the row whose identity and scope the ciphertexts bind.
	where := make([]clause.Expression, 0, len(binding))
	for k, f := range binding {
		where = append(where, exactEq(db, f, before[k].Interface())...)
	}
	andWhere(stmt, where)
	p.useSet(stmt, m, set)
	return nil
}

// exactEq returns the conditions that a row's column f holds v byte for
// byte. A database may compare two spellings equal: MySQL and MariaDB
// under the column's collation, which usually ignores case and trailing
// spaces; PostgreSQL for a uuid column (any case in, lower case out), a
// citext or a nondeterministic collation; SQLite for COLLATE NOCASE. "C-1"
// would then find the row "c-1", whose ciphertexts would bind a spelling
// it does not hold, and never decrypt again. For a string field a
// comparison of the bytes is added to the plain one, which keeps the
// column's index in use.
func exactEq(db *gorm.DB, f *schema.Field, v any) []clause.Expression {
	col := clause.Column{Table: clause.CurrentTable, Name: f.DBName}
	eq := []clause.Expression{clause.Eq{Column: col, Value: v}}
	if indirectType(f.FieldType).Kind() != reflect.String {
		return eq
	}
	switch db.Dialector.Name() {
	case "mysql":
		return append(eq, clause.Expr{SQL: "CAST(? AS BINARY) = CAST(? AS BINARY)", Vars: []any{col, v}})
	case "postgres":
		return append(eq, clause.Expr{SQL: `CAST(? AS text) COLLATE "C" = CAST(? AS text)`, Vars: []any{col, v}})
	case "sqlite":
		return append(eq, clause.Expr{SQL: "CAST(? AS BLOB) = CAST(? AS BLOB)", Vars: []any{col, v}})
	}
	return eq
}

// andWhere adds conds to the statement's WHERE so that they hold whatever
// the conditions already there say. GORM joins a WHERE's expressions with
// AND and writes an Or between them as OR, without parentheses (nor
// around SQL text whose OR is not between spaces), so conditions merely
// appended to Where(a).Or(b) would read "a OR b AND conds", which SQL
// takes as "a OR (b AND conds)": every row a matches would be written.
func andWhere(stmt *gorm.Statement, conds []clause.Expression) {
	c, ok := stmt.Clauses["WHERE"]
	if w, isWhere := c.Expression.(clause.Where); ok && isWhere && len(w.Exprs) > 0 {
		c.Expression = clause.Where{Exprs: append([]clause.Expression{grouped(w)}, conds...)}
		stmt.Clauses["WHERE"] = c
		return
	}
	stmt.AddClause(clause.Where{Exprs: conds})
}

// grouped is a WHERE's conditions written as one, in parentheses.
type grouped clause.Where

func (g grouped) Build(b clause.Builder) {
	b.WriteByte('(')
	clause.Where(g).Build(b)
	b.WriteByte(')')
}

// useSet makes set the statement's SET clause, for cleanupUpdate to remove,
// and notes the values of m's encrypted and blind-index columns it sets,
// for redactUpdate to withhold.
func (p *Plugin) useSet(stmt *gorm.Statement, m *model, set clause.Set) {
	stmt.AddClause(set)
	var secrets []any
	for _, a := range set {
		if _, ok := m.enc[a.Column.Name]; ok {
			secrets = append(secrets, a.Value)
		} else if _, ok := m.indexes[a.Column.Name]; ok {
			secrets = append(secrets, a.Value)
		}
	}
	stmt.Settings.Store(setKey{stmt}, true)
	stmt.Settings.Store(redactKey{stmt}, secrets)
}

// tokenWriteKey keys the token write of an update in its statement's Settings.
type tokenWriteKey struct{ stmt *gorm.Statement }

// writeUpdateTokens replaces the tokens of the row an update wrote, after
// the UPDATE and in its transaction. An UPDATE that matched no row (of
// the model's identity and scope) writes none: the key could be another
// tenant's row.
func (p *Plugin) writeUpdateTokens(db *gorm.DB) {
	v, ok := db.Statement.Settings.LoadAndDelete(tokenWriteKey{db.Statement})
	if !ok || db.Error != nil || db.DryRun || db.RowsAffected == 0 {
		return
	}
	w := v.(*tokenWrite)
	if err := w.exec(db, "update", tokenTableOf(db.Statement, w.m)); err != nil {
		db.AddError(err)
	}
}

// cleanupUpdate removes the SET clause encryptUpdate added, as GORM removes
// the one it builds.
func (p *Plugin) cleanupUpdate(db *gorm.DB) {
	if _, ok := db.Statement.Settings.LoadAndDelete(setKey{db.Statement}); ok {
		delete(db.Statement.Clauses, "SET")
	}
	db.Statement.Settings.Delete(redactKey{db.Statement})
}

// redactUpdate withholds from the error of the UPDATE of an encrypted model
// the ciphertexts and blind-index values it set (a unique blind index
// quotes its value in the database's error). It runs right after the
// UPDATE: the statement had no error when encryptUpdate set its values,
// so an error here is the UPDATE's, not a hook's or an association's.
func (p *Plugin) redactUpdate(db *gorm.DB) {
	if db.Error == nil {
		return
	}
	if v, ok := db.Statement.Settings.Load(redactKey{db.Statement}); ok {
		redact(db, v.([]any)...)
	}
}

// redact replaces the statement's error by one that withholds secrets
// (sqldialect.Redact), both where GORM returns it and where its generic
// API keeps it a second time (the result of gorm.WithResult).
func redact(db *gorm.DB, secrets ...any) {
	db.Error = sqldialect.Redact(db.Error, secrets...)
	if r := db.Statement.Result; r != nil {
		r.Error = db.Error
	}
}
