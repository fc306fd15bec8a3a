package gormcrypt

import (
	"context"
	"reflect"
	"slices"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"
)

// Creates. The plugin encrypts a copy of the caller's records
// (crypt.EncryptedCopy) and swaps it into the statement for the INSERT;
// restoreCreate swaps the caller's records back and copies into them what
// the INSERT assigned (IDs, timestamps, defaults) and the blind-index
// values, so the caller's struct keeps its plaintext.

// swapKey keys a statement's swapped state in its Settings. The
// statement's address is part of the key, so a statement cloned from it
// (a later query on the same *gorm.DB) does not inherit it.
type swapKey struct{ stmt *gorm.Statement }

// swapped is a Create's state between encryptCreate and restoreCreate.
type swapped struct {
	m     *model
	dest  any
	rv    reflect.Value
	pairs []pair
	// guarded is set when an upsert's DO UPDATE was restricted to the rows
	// with the new row's scope and identity: a record the statement left
	// unwritten conflicted with a row of another scope or identity.
	guarded bool
	// unwrittenOK is set for a record written with ON CONFLICT DO
	// NOTHING: its tokens are written only when its row was.
	unwrittenOK bool
}

// pair is a caller's record and its encrypted copy.
type pair struct{ caller, copy reflect.Value }

func (p *Plugin) encryptCreate(db *gorm.DB) {
	stmt := db.Statement
	if db.Error != nil {
		explainTokens(db)
		return
	}
	if p.refuseHidden(db, "create") {
		return
	}
	if stmt.Schema == nil {
		p.checkTableWrite(db, "create")
		return
	}
	m := p.modelOf(stmt.Schema)
	if !m.tagged {
		p.checkTableWrite(db, "create")
		return
	}
	if m.err != nil {
		db.AddError(m.err)
		return
	}
	guard, err := p.checkUpsert(db, m)
	if err != nil {
		db.AddError(err)
		return
	}
	if err := m.checkCreateColumns(stmt); err != nil {
		db.AddError(err)
		return
	}
	doNothing, err := m.checkTokenWrite(db, "create")
	if err != nil {
		db.AddError(err)
		return
	}
	if err := p.checkUUIDForms(db, m); err != nil {
		db.AddError(err)
		return
	}
	ctx := stmt.Context
	rv := stmt.ReflectValue
	sw := &swapped{m: m, dest: stmt.Dest, rv: rv, guarded: guard, unwrittenOK: doNothing}
	switch rv.Kind() {
	case reflect.Struct:
		if rv.Type() != m.typ {
			db.AddError(m.typeMismatch(rv.Type()))
			return
		}
		cp, err := p.writeCopy(ctx, m, rv)
		if err != nil {
			db.AddError(err)
			return
		}
		sw.pairs = append(sw.pairs, pair{rv, cp.Elem()})
		stmt.Dest, stmt.ReflectValue = cp.Interface(), cp.Elem()
	case reflect.Slice, reflect.Array:
		n := reflect.New(reflect.SliceOf(rv.Type().Elem())).Elem()
		n.Set(reflect.MakeSlice(n.Type(), rv.Len(), rv.Len()))
		sw.pairs = make([]pair, 0, rv.Len())
		for i := range rv.Len() {
			ev, isPtr := rv.Index(i), false
			if ev.Kind() == reflect.Pointer {
				if ev.IsNil() {
					continue
				}
				ev, isPtr = ev.Elem(), true
			}
			if ev.Type() != m.typ {
				db.AddError(m.typeMismatch(ev.Type()))
				return
			}
			cp, err := p.writeCopy(ctx, m, ev)
			if err != nil {
				db.AddError(err)
				return
			}
			if isPtr {
				n.Index(i).Set(cp)
			} else {
				n.Index(i).Set(cp.Elem())
			}
			sw.pairs = append(sw.pairs, pair{ev, cp.Elem()})
		}
		stmt.Dest, stmt.ReflectValue = n.Addr().Interface(), n
	case reflect.Map:
		db.AddError(m.checkMapCreate(stmt))
		return
	default:
		return
	}
	stmt.Settings.Store(swapKey{stmt}, sw)
}

// writeCopy returns a pointer to an encrypted copy of the record rv, after
// checking that its identity is known.
func (p *Plugin) writeCopy(ctx context.Context, m *model, rv reflect.Value) (reflect.Value, error) {
	if m.binds() {
		for _, f := range m.ids {
			if _, zero := f.ValueOf(ctx, rv); zero {
				return reflect.Value{}, &Error{Op: "create", Model: m.name, Column: f.DBName, Field: f.Name, Err: ErrUnknownIdentity,
					Reason: "the identity field is zero: every ciphertext binds the record's identity, and a key the database assigns (auto-increment) is not known before the INSERT; generate IDs in the application, or set them in a BeforeCreate hook"}
			}
		}
	}
	if !rv.CanAddr() { // a record passed by value
		v := reflect.New(m.typ).Elem()
		v.Set(rv)
		rv = v
	}
	src := rv.Addr()
	if len(m.assocs) > 0 {
		// Held records are saved by GORM through their own statements,
		// which encrypt them: the parent's copy leaves them out.
		sh := reflect.New(m.typ)
		sh.Elem().Set(rv)
		for _, f := range m.assocs {
			f.ReflectValueOf(ctx, sh.Elem()).SetZero()
		}
		src = sh
	}
	cp, err := p.enc.EncryptedCopy(ctx, src.Interface())
	if err != nil {
		return reflect.Value{}, &Error{Op: "create", Model: m.name, Err: err}
	}
	return reflect.ValueOf(cp), nil
}

// restoreCreate puts the caller's records back into the statement, whether
// the INSERT succeeded or not, and on success copies into them the columns
// the INSERT assigned or fieldcrypt computed, leaving their plaintext.
func (p *Plugin) restoreCreate(db *gorm.DB) {
	stmt := db.Statement
	v, ok := stmt.Settings.LoadAndDelete(swapKey{stmt})
	if !ok {
		return
	}
	sw := v.(*swapped)
	stmt.Dest, stmt.ReflectValue = sw.dest, sw.rv
	if db.Error != nil {
		// The INSERT's, which a unique blind index makes quote its value.
		var secrets []any
		for _, pr := range sw.pairs {
			secrets = append(secrets, sw.m.secrets(stmt.Context, pr.copy)...)
		}
		redact(db, secrets...)
		return
	}
	if sw.guarded && !db.DryRun && db.RowsAffected < int64(len(sw.pairs)) {
		// The DO UPDATE's WHERE left a conflicting row alone: it belongs
		// to another scope or record. Saying nothing would report a write
		// that did not happen.
		db.AddError(&Error{Op: "upsert", Model: sw.m.name, Column: sw.m.bindingNames(), Err: ErrUnsupportedWrite,
			Reason: "a row with the same key belongs to another scope or identity: it was left as it was, and this record was not written"})
		return
	}
	ctx := stmt.Context
	if err := p.writeCreateTokens(db, sw); err != nil {
		db.AddError(err)
		return
	}
	for _, pr := range sw.pairs {
		if !pr.caller.CanSet() {
			continue // passed by value: GORM cannot write into it either
		}
		for _, f := range sw.m.restore {
			f.ReflectValueOf(ctx, pr.caller).Set(f.ReflectValueOf(ctx, pr.copy))
		}
		for _, ti := range sw.m.tokens { // the tokens written, as the index values
			if dst, err := pr.caller.FieldByIndexErr(ti.index); err == nil {
				src, _ := pr.copy.FieldByIndexErr(ti.index)
				dst.Set(src)
			}
		}
	}
}

// writeCreateTokens replaces the tokens of the records a Create wrote, in
// its transaction, once their rows are written.
func (p *Plugin) writeCreateTokens(db *gorm.DB, sw *swapped) error {
	if len(sw.m.tokens) == 0 || db.DryRun || len(sw.pairs) == 0 {
		return nil
	}
	if sw.unwrittenOK && db.RowsAffected == 0 {
		return nil // ON CONFLICT DO NOTHING left the existing row, and its tokens
	}
	w := newTokenWrite(sw.m, sw.m.tokens)
	for _, pr := range sw.pairs {
		if err := w.add(db.Statement.Context, "create", pr.copy); err != nil {
			return err
		}
	}
	return w.exec(db, "create", tokenTableOf(db.Statement, sw.m))
}

// checkTokenWrite refuses a write of a model with token indexes that
// would leave its tokens apart from its row: outside a transaction (the
// row could be written and its tokens not), or an upsert that may update
// an existing row without writing every source of a token index (its
// tokens would then be the new record's, its values the old row's), or
// that does nothing on conflict for several records (the rows it left
// could not be told from those it wrote). doNothing is set for an upsert
// of one record that does nothing on conflict.
func (m *model) checkTokenWrite(db *gorm.DB, op string) (doNothing bool, err error) {
	if len(m.tokens) == 0 {
		return false, nil
	}
	stmt := db.Statement
	refuse := func(reason string) error {
		return &Error{Op: op, Model: m.name, Field: m.tokens[0].path, Err: ErrUnsupportedWrite, Reason: reason}
	}
	if !db.DryRun && !inTransaction(db) {
		return false, refuse("the model's token indexes are written in the transaction that writes its rows, and this statement runs in none (SkipDefaultTransaction): run it in db.Transaction")
	}
	c, ok := stmt.Clauses["ON CONFLICT"]
	if !ok || op != "create" {
		return false, nil
	}
	oc, ok := c.Expression.(clause.OnConflict)
	if !ok {
		return false, nil
	}
	if oc.DoNothing || (!oc.UpdateAll && len(oc.DoUpdates) == 0) {
		if rv := stmt.ReflectValue; (rv.Kind() == reflect.Slice || rv.Kind() == reflect.Array) && rv.Len() > 1 {
			return false, refuse("an upsert of several records that does nothing on conflict leaves some rows as they were, and which ones cannot be told: their token indexes would be rewritten for records not written; create them one by one")
		}
		return true, nil
	}
	updated := map[string]bool{}
	if oc.UpdateAll {
		for _, f := range stmt.Schema.Fields {
			if f.DBName != "" && f.Updatable {
				updated[f.DBName] = true
			}
		}
	}
	if slices.ContainsFunc(oc.Where.Exprs, notGuard) || len(oc.TargetWhere.Exprs) > 0 {
		// The database may leave the existing row as it was, and the
		// record's tokens would replace the row's.
		return false, refuse("an upsert with a condition on its update (OnConflict.Where) may keep the existing row as it was, and the record's token indexes would be written for it all the same; read, compare and update instead")
	}
	for _, a := range oc.DoUpdates {
		col := m.column(a.Column.Name)
		updated[col] = true
		// A token index is computed from the record's values: its
		// sources must be updated to exactly those (excluded.col), not
		// to an expression or another value.
		if m.tokenSource(col) {
			if v, ok := a.Value.(clause.Column); !ok || !strings.EqualFold(v.Table, "excluded") || m.column(v.Name) != col {
				return false, &Error{Op: op, Model: m.name, Column: col, Field: m.tokens[0].path, Err: ErrUnsupportedWrite,
					Reason: "an upsert must update a token index's source to the inserted record's value (clause.AssignmentColumns, UpdateAll): the tokens are the record's"}
			}
		}
	}
	for _, ti := range m.tokens {
		for _, src := range ti.sources {
			if !updated[src.DBName] {
				return false, &Error{Op: op, Model: m.name, Column: src.DBName, Field: ti.path, Err: ErrUnsupportedWrite,
					Reason: "an upsert that may update an existing row must update every source of the token index, which is rewritten for the new record: this one would keep the old row's value"}
			}
		}
	}
	return false, nil
}

// checkMapCreate refuses a Create from a map that sets an encrypted or
// blind-index column, or a source of a blind or token index: a map holds
// no record to encrypt, nor to compute the indexes from.
func (m *model) checkMapCreate(stmt *gorm.Statement) error {
	maps, _ := mapsOf(stmt.Dest)
	for _, mp := range maps {
		for k := range mp {
			if col := m.column(k); m.sensitive(col) || m.indexSource(col) {
				return &Error{Op: "create", Model: m.name, Column: col, Err: ErrUnsupportedWrite,
					Reason: "a Create from a map is not encrypted, and computes no blind or token index; create from the struct"}
			}
		}
	}
	return nil
}

// checkUpsert refuses an ON CONFLICT clause that would write an encrypted
// or blind-index column of a row other than the one whose identity the
// new ciphertexts bind, or write it with anything but the inserted value.
// On MySQL and MariaDB, where ON DUPLICATE KEY UPDATE fires on any unique
// key and a conflict target is ignored, the rows it can update are those
// that share a unique key with the new row: such an upsert is refused
// unless every unique key of the table holds the record's identity.
//
// An upsert whose DO UPDATE writes an encrypted, blind-index, scope or
// identity column, and whose conflict target does not hold the scope and
// every identity field, could update a row of another scope (Save of
// another tenant's ID) or change a row's identity (an association Append,
// which GORM saves as ON CONFLICT (id) DO UPDATE SET owner_id) while its
// ciphertexts stay bound to the old one. On PostgreSQL and SQLite the DO
// UPDATE is restricted with a WHERE to the row whose scope and identity
// are the new row's (guarded is true, and restoreCreate fails the write
// when a record was left unwritten); on MySQL and MariaDB, which have no
// such WHERE, it is refused unless every unique key holds them.
func (p *Plugin) checkUpsert(db *gorm.DB, m *model) (guarded bool, err error) {
	stmt := db.Statement
	c, ok := stmt.Clauses["ON CONFLICT"]
	if !ok {
		return false, nil
	}
	oc, ok := c.Expression.(clause.OnConflict)
	if !ok || oc.DoNothing || (!oc.UpdateAll && len(oc.DoUpdates) == 0) {
		return false, nil
	}
	refuse := func(col, reason string) error {
		return &Error{Op: "upsert", Model: m.name, Column: col, Err: ErrUnsupportedWrite, Reason: reason}
	}
	updated := map[string]bool{}
	if oc.UpdateAll {
		for _, f := range stmt.Schema.Fields {
			if f.DBName != "" && !f.PrimaryKey && f.Updatable {
				updated[f.DBName] = true
			}
		}
	}
	for _, a := range oc.DoUpdates {
		if err := m.misspelled("upsert", a.Column.Name); err != nil {
			return false, err
		}
		col := a.Column.Name
		if m.sensitive(col) || m.blindSource(col) {
			if v, ok := a.Value.(clause.Column); !ok || v.Table != "excluded" || v.Name != col {
				return false, refuse(col, "on conflict it may only be set to the inserted row's value (clause.AssignmentColumns), which fieldcrypt encrypted, or computed its blind indexes from, for that row")
			}
		}
		updated[col] = true
	}
	// A blind index goes stale when its sources change without it, or it
	// without them, whether they are encrypted or not, on every database.
	for _, f := range stmt.Schema.Fields {
		ix, ok := m.indexes[f.DBName]
		if !ok {
			continue
		}
		for _, src := range ix.sources {
			if updated[src.DBName] && !updated[f.DBName] {
				return false, refuse(f.DBName, "the upsert updates its source "+src.DBName+" but not this blind index, which would go stale")
			}
		}
	}
	first, firstBinding := "", ""
	for _, f := range stmt.Schema.Fields {
		if !updated[f.DBName] {
			continue
		}
		if first == "" && m.sensitive(f.DBName) {
			first = f.DBName
		}
		if firstBinding == "" && m.binding(f.DBName) {
			firstBinding = f.DBName
		}
	}
	hasSecrets := len(m.enc)+len(m.opaque)+len(m.indexes) > 0
	if !hasSecrets {
		return false, nil
	}
	mysql := db.Dialector.Name() == "mysql"
	if first == "" && firstBinding == "" {
		if mysql || m.scope == nil {
			return false, nil
		}
		// Only plaintext columns are updated: on PostgreSQL and SQLite
		// the DO UPDATE is still kept to the new row's scope, so that
		// another tenant's row is not written.
		firstBinding = m.scope.DBName
	}
	secrets := first != "" // an encrypted or blind-index column is updated
	if !secrets {
		first = firstBinding
	}
	var ids []string
	for _, f := range m.ids {
		ids = append(ids, f.DBName)
	}
	// The binding columns: scope and identity fields of a record whose
	// ciphertexts or blind indexes are bound to them.
	var binding []string
	if m.scope != nil {
		binding = append(binding, m.scope.DBName)
	}
	if m.binds() {
		binding = append(binding, ids...)
	}
	if len(oc.Columns) > 0 && m.binds() && secrets {
		cols := map[string]bool{}
		for _, col := range oc.Columns {
			cols[m.column(col.Name)] = true
		}
		if !m.holdsIdentity(cols) {
			return false, refuse(first, "the conflict target does not hold the record's identity ("+strings.Join(ids, ", ")+"): the row updated on conflict could be another record, whose identity the new ciphertexts do not bind")
		}
	}
	target := map[string]bool{}
	var mysqlRefusal error // reported after the checks every database shares
	if mysql {
		keys, err := p.uniqueKeys(db, stmt.Table)
		if err != nil {
			return false, &Error{Op: "upsert", Model: m.name, Column: first, Err: ErrUnsupportedWrite,
				Reason: "the unique keys of table " + stmt.Table + " could not be read, and ON DUPLICATE KEY UPDATE fires on any of them: " + err.Error()}
		}
		if len(keys) == 0 {
			return false, nil // no key: ON DUPLICATE KEY UPDATE never fires
		}
		// The columns every unique key holds: a row ON DUPLICATE KEY
		// UPDATE updates has the new row's values in them.
		for i, key := range keys {
			has := map[string]bool{}
			for _, col := range key {
				has[strings.ToLower(col)] = true
			}
			for _, f := range stmt.Schema.Fields {
				if f.DBName == "" {
					continue
				}
				in := has[strings.ToLower(f.DBName)]
				if i == 0 {
					target[f.DBName] = in
				} else {
					target[f.DBName] = target[f.DBName] && in
				}
			}
		}
		if m.binds() && !m.holdsIdentity(target) {
			return false, refuse(first, "ON DUPLICATE KEY UPDATE fires on any unique key of table "+stmt.Table+", and one of them does not hold the record's identity ("+strings.Join(ids, ", ")+"): the row updated could be another record, whose identity the new ciphertexts do not bind; leave the encrypted columns out of the update, or have every unique key hold the identity")
		}
		// Also when only a scope or identity column is updated: the row
		// "acme" that "ACME" conflicts with would move to the scope
		// "ACME", its ciphertexts still bound to "acme".
		if mysqlRefusal == nil {
			if err := p.checkExactKeys(db, m, binding, first); err != nil {
				mysqlRefusal = err
			}
		}
		for _, col := range binding {
			if !target[col] && mysqlRefusal == nil {
				mysqlRefusal = refuse(col, "ON DUPLICATE KEY UPDATE fires on any unique key of table "+stmt.Table+", and one of them does not hold this column: the row updated could be another tenant's or another record's (a Save of an ID another tenant holds, an association moved to another owner), and MySQL and MariaDB have no WHERE to restrict it; create new rows with Create and change existing ones with Updates, or have every unique key hold the scope and the identity")
			}
		}
	} else {
		if oc.OnConstraint != "" && secrets {
			return false, refuse(first, "ON CONFLICT ON CONSTRAINT "+oc.OnConstraint+" names a constraint whose columns the plugin does not read: name the record's identity ("+strings.Join(ids, ", ")+") as the conflict target")
		}
		if len(oc.Columns) == 0 && !oc.UpdateAll && secrets {
			// GORM fills the primary key in as the target of UpdateAll
			// only; without a target, SQLite's DO UPDATE fires on any
			// unique key.
			return false, refuse(first, "the upsert has no conflict target, and would fire on any unique key: name the record's identity ("+strings.Join(ids, ", ")+") as the conflict target")
		}
		for _, col := range oc.Columns {
			target[m.column(col.Name)] = true
		}
		if len(target) == 0 && oc.UpdateAll && oc.OnConstraint == "" {
			// The target GORM fills in for UpdateAll.
			for _, f := range stmt.Schema.PrimaryFields {
				target[f.DBName] = true
			}
		}
		if m.binds() && !m.holdsIdentity(target) && secrets {
			return false, refuse(first, "the conflict target does not hold the record's identity ("+strings.Join(ids, ", ")+"): the row updated on conflict could be another record, whose identity the new ciphertexts do not bind")
		}
		// Restrict the DO UPDATE to the row that holds the new row's
		// scope and identity: a conflicting row of another tenant or
		// another record is left alone, and restoreCreate reports it.
		var where []clause.Expression
		for _, col := range binding {
			if !target[col] {
				where = append(where, clause.Eq{Column: clause.Column{Table: clause.CurrentTable, Name: col}, Value: clause.Column{Table: "excluded", Name: col}})
			}
			if g, ok := exactUpsertGuard(db, col); ok {
				where = append(where, g)
			}
		}
		if len(where) > 0 {
			if len(oc.Where.Exprs) > 0 {
				// The caller's condition, in parentheses: appended after
				// an OR, the restriction would bind to its last term only
				// (andWhere).
				where = append([]clause.Expression{grouped(oc.Where)}, where...)
			}
			oc.Where.Exprs = where
			stmt.AddClause(oc)
			guarded = true
		}
	}
	for _, f := range stmt.Schema.Fields {
		ix, ok := m.indexes[f.DBName]
		if !ok || !updated[f.DBName] {
			continue
		}
		for _, src := range ix.sources {
			// A source in the conflict target holds the inserted value.
			if !updated[src.DBName] && !target[src.DBName] {
				return false, refuse(f.DBName, "the upsert updates this blind index but not its source "+src.DBName+": the row would keep its old "+src.DBName+" under the inserted record's index value")
			}
		}
	}
	if !secrets {
		return guarded, mysqlRefusal
	}
	if m.scope != nil && !target[m.scope.DBName] && !updated[m.scope.DBName] {
		return false, refuse(first, "an upsert that updates encrypted columns must also update the scope column "+m.scope.DBName+" (or have it in the conflict target): the new ciphertexts bind the new row's scope")
	}
	if m.scope != nil && updated[m.scope.DBName] {
		for _, f := range stmt.Schema.Fields {
			if col := f.DBName; m.sensitive(col) && !updated[col] {
				return false, refuse(col, "an upsert that changes the scope must rewrite every encrypted column: this one would stay bound to the old scope")
			}
		}
	}
	return guarded, mysqlRefusal
}

// typeMismatch refuses a value whose type is not the statement's model:
// the plugin would not know how to encrypt it.
func (m *model) typeMismatch(t reflect.Type) error {
	return &Error{Op: "create", Model: m.name, Err: ErrUnsupportedWrite,
		Reason: "the value written is a " + t.String() + ", not the model's type"}
}

// uniqueKey names a table of one database in the plugin's cache.
type uniqueKey struct {
	config *gorm.Config
	table  string
}

// uniqueKeys returns the columns of each unique key (the primary key
// included) of table, read once per table from the database's catalogue
// and cached.
func (p *Plugin) uniqueKeys(db *gorm.DB, table string) ([][]string, error) {
	k := uniqueKey{db.Config, table}
	if v, ok := p.uniques.Load(k); ok {
		return v.([][]string), nil
	}
	indexes, err := db.Session(&gorm.Session{NewDB: true}).Migrator().GetIndexes(table)
	if err != nil {
		return nil, err
	}
	keys := [][]string{}
	for _, ix := range indexes {
		unique, _ := ix.Unique()
		primary, _ := ix.PrimaryKey()
		if unique || primary {
			keys = append(keys, ix.Columns())
		}
	}
	p.uniques.Store(k, keys)
	return keys, nil
}

// checkExactKeys refuses, on MySQL and MariaDB, an upsert that writes
// encrypted columns when a string scope or identity column among binding
// compares two spellings equal: ON DUPLICATE KEY UPDATE then fires on the
// row "note-1" for a record named "NOTE-1" (or "note-1 "), and would write
// into it ciphertexts bound to a spelling it does not hold, or move it to
// the scope "ACME". There is no WHERE to restrict it, as exactUpsertGuard
// does elsewhere. A column compares exactly when it is of a binary type or
// has a binary collation that does not pad (MariaDB's *_nopad_bin,
// MySQL's utf8mb4_0900_bin): the usual *_bin collations ignore trailing
// spaces.
func (p *Plugin) checkExactKeys(db *gorm.DB, m *model, binding []string, first string) error {
	stmt := db.Statement
	exact, err := p.exactColumns(db, stmt.Table)
	if err != nil {
		return &Error{Op: "upsert", Model: m.name, Column: first, Err: ErrUnsupportedWrite,
			Reason: "the collations of table " + stmt.Table + " could not be read: " + err.Error()}
	}
	for _, col := range binding {
		f := stmt.Schema.LookUpField(col)
		if f == nil || indirectType(f.FieldType).Kind() != reflect.String || exact[strings.ToLower(col)] {
			continue
		}
		return &Error{Op: "upsert", Model: m.name, Column: col, Err: ErrUnsupportedWrite,
			Reason: "ON DUPLICATE KEY UPDATE compares this column under its collation, which takes other spellings (case, trailing spaces) for the same value: a record named by another spelling would update the stored row with ciphertexts bound to a spelling it does not hold; create new rows with Create and change existing ones with Updates or Save, or give the column a binary type or a binary collation that does not pad"}
	}
	return nil
}

// exactColumns returns, by lower-case name, which columns of table compare
// byte for byte on MySQL and MariaDB (see checkExactKeys), read from the
// catalogue once per table and process.
func (p *Plugin) exactColumns(db *gorm.DB, table string) (map[string]bool, error) {
	k := uniqueKey{db.Config, table}
	if v, ok := p.exact.Load(k); ok {
		return v.(map[string]bool), nil
	}
	schemaName, name, found := strings.Cut(table, ".")
	q := "SELECT COLUMN_NAME, COLLATION_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?"
	args := []any{table}
	if found {
		q = "SELECT COLUMN_NAME, COLLATION_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?"
		args = []any{schemaName, name}
	}
	rows, err := db.Session(&gorm.Session{NewDB: true}).Raw(q, args...).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	exact := map[string]bool{}
	for rows.Next() {
		var col string
		var collation *string
		if err := rows.Scan(&col, &collation); err != nil {
			return nil, err
		}
		c := ""
		if collation != nil {
			c = strings.ToLower(*collation)
		}
		exact[strings.ToLower(col)] = c == "" || c == "binary" || strings.HasSuffix(c, "_nopad_bin") || strings.HasSuffix(c, "_0900_bin")
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	p.exact.Store(k, exact)
	return exact, nil
}

// checkCreateColumns refuses a Create whose Select or Omit writes a blind
// index's source but not the index, or the index but not all of its
// sources (a search for the values the row holds would miss it), or an
// encrypted column but not the scope or identity it is bound to (the row
// could not be read).
func (m *model) checkCreateColumns(stmt *gorm.Statement) error {
	if len(stmt.Selects) == 0 && len(stmt.Omits) == 0 {
		return nil
	}
	selected, restricted := stmt.SelectAndOmitColumns(true, false)
	written := func(col string) bool {
		v, ok := selected[col]
		return (ok && v) || (!ok && !restricted)
	}
	refuse := func(f *schema.Field, reason string) error {
		return &Error{Op: "create", Model: m.name, Column: f.DBName, Field: f.Name, Err: ErrUnsupportedWrite, Reason: reason}
	}
	for _, f := range m.schema.Fields {
		ix, ok := m.indexes[f.DBName]
		if !ok {
			continue
		}
		for _, src := range ix.sources {
			switch {
			case written(src.DBName) && !written(f.DBName):
				return refuse(f, "Select or Omit leaves out this blind index but writes its source "+src.DBName+": a search would miss the row")
			case written(f.DBName) && !written(src.DBName):
				return refuse(f, "Select or Omit writes this blind index but leaves out its source "+src.DBName+", from whose value in the record the index is computed: a search for the value the row holds would miss it")
			}
		}
	}
	for _, ti := range m.tokens {
		for _, src := range ti.sources {
			if !written(src.DBName) {
				return refuse(src, "Select or Omit leaves out a source of the token index "+ti.path+", whose tokens are computed from the record: they would describe a value the row does not hold")
			}
		}
	}
	encrypted := false
	for col := range m.enc {
		encrypted = encrypted || written(col)
	}
	for col := range m.opaque {
		encrypted = encrypted || written(col)
	}
	if !encrypted {
		return nil
	}
	binding := m.ids
	if m.scope != nil {
		binding = append([]*schema.Field{m.scope}, binding...)
	}
	for _, f := range binding {
		if !written(f.DBName) {
			return refuse(f, "Select or Omit leaves out the scope or an identity field but writes encrypted columns, which are bound to it: the row could not be read")
		}
	}
	return nil
}

// holdsIdentity reports whether a conflict target (or the columns every
// unique key holds) includes every identity field: a row that conflicts
// with the new one on those columns is the same record.
func (m *model) holdsIdentity(cols map[string]bool) bool {
	for _, f := range m.ids {
		if !cols[f.DBName] {
			return false
		}
	}
	return true
}

// byteGuard is a condition the plugin adds to an upsert's DO UPDATE: the
// existing row's column holds the new row's value byte for byte.
type byteGuard struct{ clause.Expr }

// exactUpsertGuard returns the condition that the conflicting row's string
// column col (a scope or identity column) holds the inserted value byte
// for byte, as exactEq does for updates. The conflict itself compares as
// the column does: "NOTE-1" conflicts with the row "note-1" under SQLite's
// COLLATE NOCASE, a PostgreSQL uuid, citext or nondeterministic collation,
// and the DO UPDATE would write ciphertexts bound to a spelling the row
// does not hold (GORM's Save falls back to such an upsert when its UPDATE,
// compared exactly, matches no row). Compared with the value itself when
// one record is written, for excluded.col already holds what a uuid column
// made of it; with excluded.col for several.
func exactUpsertGuard(db *gorm.DB, col string) (clause.Expression, bool) {
	stmt := db.Statement
	f := stmt.Schema.LookUpField(col)
	if f == nil || indirectType(f.FieldType).Kind() != reflect.String {
		return nil, false
	}
	var v any = clause.Column{Table: "excluded", Name: col}
	// For several records, excluded.col holds what the column made of
	// each record's value: a PostgreSQL uuid stores "NOTE-1"'s lower-case
	// spelling, an SQLite column of numeric affinity stores "0123" as 123,
	// and both then equal the conflicting row. The row must also hold,
	// byte for byte, one of the records' values. A record that conflicts
	// with a row spelled as another record of the statement: PostgreSQL
	// refuses the statement (a row affected twice); SQLite updates the row
	// once per record, and the last one's values stay, so a numeric-
	// affinity key written in two spellings in one statement is not
	// caught.
	var in []any
	switch rv := reflect.Indirect(stmt.ReflectValue); rv.Kind() {
	case reflect.Struct:
		fv, zero := f.ValueOf(stmt.Context, rv)
		if zero {
			return nil, false
		}
		v = fv
	case reflect.Slice, reflect.Array:
		seen := map[string]bool{}
		for i := range rv.Len() {
			ev := reflect.Indirect(rv.Index(i))
			if ev.Kind() != reflect.Struct {
				continue
			}
			fv, _ := f.ValueOf(stmt.Context, ev)
			if s := reflect.Indirect(reflect.ValueOf(fv)); s.IsValid() && s.Kind() == reflect.String && !seen[s.String()] {
				seen[s.String()] = true
				in = append(in, s.String())
			}
		}
	}
	c := clause.Column{Table: clause.CurrentTable, Name: col}
	var row, val string // the row's bytes, and a value's
	switch db.Dialector.Name() {
	case "postgres":
		row, val = `CAST(? AS text) COLLATE "C"`, "CAST(? AS text)"
	case "sqlite":
		row, val = "CAST(? AS BLOB)", "CAST(? AS BLOB)"
	default:
		return nil, false
	}
	sql, vars := row+" = "+val, []any{c, v}
	if len(in) > 0 {
		sql += " AND " + row + " IN (" + strings.TrimSuffix(strings.Repeat(val+", ", len(in)), ", ") + ")"
		vars = append(append(vars, c), in...)
	}
	return byteGuard{clause.Expr{SQL: sql, Vars: vars}}, true
}

// notGuard reports whether e is a condition of the caller's on an upsert's
// update, not one the plugin adds to keep it to the new record's row
// (table.col = excluded.col, or a byteGuard, whose refusal restoreCreate
// reports).
func notGuard(e clause.Expression) bool {
	if _, ok := e.(byteGuard); ok {
		return false
	}
	eq, ok := e.(clause.Eq)
	if !ok {
		return true
	}
	c, ok1 := eq.Column.(clause.Column)
	v, ok2 := eq.Value.(clause.Column)
	return !ok1 || !ok2 || c.Table != clause.CurrentTable || v.Table != "excluded" || c.Name != v.Name
}
