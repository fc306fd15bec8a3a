package gormcrypt

import (
	"reflect"
	"strings"
	"unicode"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

// Guards: writes the plugin cannot encrypt, refused before they reach the
// database.

// checkTableWrite refuses a write that has no tagged model to encrypt and
// sets an encrypted or blind-index column of the tagged model stored in
// its table, or a source of one of its blind or token indexes (which the
// write would leave stale): a write through db.Table(name) without a
// model (a map, or Update(column, value)), or one through a struct
// without crypt tags whose table is that model's. The tables known are those of the models given to
// New and of the tagged models the process has used since.
func (p *Plugin) checkTableWrite(db *gorm.DB, op string) {
	stmt := db.Statement
	if db.Error != nil {
		return
	}
	table := tableOf(stmt)
	if table == "" {
		return
	}
	v, ok := p.tables.Load(table)
	if !ok {
		return
	}
	m := v.(*model)
	var keys []string
	maps, isMap := mapsOf(stmt.Dest)
	for _, mp := range maps {
		for k := range mp {
			keys = append(keys, k)
		}
	}
	if !isMap && stmt.Schema != nil {
		// A struct without crypt tags: every column it has may be written.
		keys = append(keys, stmt.Schema.DBNames...)
	}
	if c, ok := stmt.Clauses["SET"]; ok {
		if set, ok := c.Expression.(clause.Set); ok {
			for _, a := range set {
				keys = append(keys, a.Column.Name)
			}
		}
	}
	for _, k := range keys {
		col := k
		if stmt.Schema != nil {
			if f := stmt.Schema.LookUpField(k); f != nil && f.DBName != "" {
				col = f.DBName
			}
		}
		col = m.column(col)
		if m.sensitive(col) || m.indexSource(col) || (op == "update" && m.binds() && m.binding(col)) {
			what := "a write through db.Table(" + stmt.Table + ") has no model to encrypt: use db.Model(&record)"
			if stmt.Schema != nil {
				what = "the value written is a " + stmt.Schema.ModelType.String() + ", which has no crypt tags, to the table of " + m.name + ": write a " + m.name
			}
			db.AddError(&Error{Op: op, Model: m.name, Column: col, Err: ErrUnknownIdentity, Reason: what})
			return
		}
	}
}

// mapsOf returns the maps a statement's Dest holds, and whether it is a
// map or a slice of maps, through a pointer or not.
func mapsOf(dest any) ([]map[string]any, bool) {
	switch d := dest.(type) {
	case map[string]any:
		return []map[string]any{d}, true
	case *map[string]any:
		if d == nil {
			return nil, true
		}
		return []map[string]any{*d}, true
	case []map[string]any:
		return d, true
	case *[]map[string]any:
		if d == nil {
			return nil, true
		}
		return *d, true
	}
	return nil, false
}

// tableOf returns the lower-case name of the table a statement writes,
// without schema or quotes, read from db.Table's expression when there is
// one: an alias (db.Table("contacts AS c")), a quoted name or a table
// given as a parameter (db.Table("?", clause.Table{Name: "contacts"})) does
// not hide the table. It is "" when the statement names no table, or a
// subquery.
func tableOf(stmt *gorm.Statement) string {
	if e := stmt.TableExpr; e != nil {
		if len(e.Vars) == 0 {
			return firstTable(e.SQL)
		}
		// The SQL GORM writes for it, names quoted in place.
		b := &gorm.Statement{DB: stmt.DB, Clauses: map[string]clause.Clause{}}
		e.Build(b)
		return firstTable(b.SQL.String())
	}
	if stmt.Table != "" {
		return firstTable(stmt.Table)
	}
	if stmt.Schema != nil {
		return strings.ToLower(stmt.Schema.Table)
	}
	return ""
}

// firstTable returns the last part of the possibly qualified, possibly
// quoted name that sql starts with, in lower case.
func firstTable(sql string) string {
	s := strings.TrimSpace(sql)
	last := ""
	for s != "" {
		var part string
		switch open := s[0]; open {
		case '"', '`', '[':
			closing := open
			if open == '[' {
				closing = ']'
			}
			end := strings.IndexByte(s[1:], closing)
			if end < 0 {
				return ""
			}
			part, s = s[1:1+end], s[2+end:]
		default:
			end := strings.IndexFunc(s, func(r rune) bool {
				return r == '.' || r == ',' || r == '(' || r == ')' || unicode.IsSpace(r)
			})
			if end < 0 {
				end = len(s)
			}
			part, s = s[:end], s[end:]
		}
		if part == "" {
			return ""
		}
		last = part
		if s == "" || s[0] != '.' {
			break
		}
		s = s[1:]
	}
	return strings.ToLower(last)
}

// checkReturning refuses a RETURNING clause on an update or delete of a
// model with encrypted columns: GORM scans the returned row into the model,
// which would then hold ciphertexts. Reload the record instead.
func (m *model) checkReturning(stmt *gorm.Statement, op string) error {
	if _, ok := stmt.Clauses["RETURNING"]; !ok || len(m.enc)+len(m.opaque) == 0 {
		return nil
	}
	return &Error{Op: op, Model: m.name, Err: ErrUnsupportedWrite,
		Reason: "RETURNING would scan the stored ciphertexts into the model; reload the record with First instead"}
}

// checkDelete refuses a delete through a blind-index search, and one with
// a RETURNING clause.
func (p *Plugin) checkDelete(db *gorm.DB) {
	stmt := db.Statement
	if db.Error != nil {
		return
	}
	if s := searchOf(stmt); s != nil {
		db.AddError(searchRefused(s, "delete", "it would act on the rows the blind index finds that hold another value"))
		return
	}
	if p.checkConditions(db, "delete"); db.Error != nil {
		return
	}
	if stmt.Schema != nil {
		if m := p.modelOf(stmt.Schema); m.tagged {
			db.AddError(m.checkReturning(stmt, "delete"))
		}
	}
}

// checkConditions refuses a WHERE condition that compares an encrypted
// column of the statement's model, or of the known tagged model whose
// table it names (db.Table("contacts") into maps, a count), with a
// non-empty value. Conditions given as SQL text ("email = ?") are not
// parsed and not seen.
func (p *Plugin) checkConditions(db *gorm.DB, op string) {
	stmt := db.Statement
	if db.Error != nil {
		return
	}
	c, ok := stmt.Clauses["WHERE"]
	if !ok {
		return
	}
	where, ok := c.Expression.(clause.Where)
	if !ok {
		return
	}
	m := p.conditionModel(stmt)
	if m == nil || len(m.enc)+len(m.opaque) == 0 {
		return
	}
	if col := m.encryptedCondition(where.Exprs); col != "" {
		e := &Error{Op: op, Model: m.name, Column: col, Err: ErrEncryptedCondition,
			Reason: "the column holds ciphertexts: the condition would match nothing and send the value to the database; search with gormcrypt.Matching"}
		if f := m.schema.LookUpField(col); f != nil {
			e.Field = f.Name
		}
		db.AddError(e)
	}
}

// conditionModel returns the tagged model whose columns a statement's
// conditions name: its own model, or, for a statement without one (or
// with a struct without crypt tags), the known tagged model whose table it
// names. It is nil when there is neither.
func (p *Plugin) conditionModel(stmt *gorm.Statement) *model {
	if stmt.Schema != nil {
		if m := p.modelOf(stmt.Schema); m.tagged {
			return m
		}
	}
	if v, ok := p.tables.Load(tableOf(stmt)); ok {
		return v.(*model)
	}
	return nil
}

// encryptedCondition returns the encrypted column that one of exprs
// compares with a non-empty value, or "".
func (m *model) encryptedCondition(exprs []clause.Expression) string {
	for _, e := range exprs {
		var column any
		var values []any
		switch x := e.(type) {
		case clause.Eq:
			column, values = x.Column, []any{x.Value}
		case clause.Neq:
			column, values = x.Column, []any{x.Value}
		case clause.Gt:
			column, values = x.Column, []any{x.Value}
		case clause.Gte:
			column, values = x.Column, []any{x.Value}
		case clause.Lt:
			column, values = x.Column, []any{x.Value}
		case clause.Lte:
			column, values = x.Column, []any{x.Value}
		case clause.Like:
			column, values = x.Column, []any{x.Value}
		case clause.IN:
			column, values = x.Column, x.Values
		case clause.AndConditions:
			if col := m.encryptedCondition(x.Exprs); col != "" {
				return col
			}
			continue
		case clause.OrConditions:
			if col := m.encryptedCondition(x.Exprs); col != "" {
				return col
			}
			continue
		case clause.NotConditions:
			if col := m.encryptedCondition(x.Exprs); col != "" {
				return col
			}
			continue
		default:
			continue
		}
		var name string
		switch c := column.(type) {
		case clause.Column:
			if c.Raw {
				continue
			}
			name = c.Name
		case string:
			name = c
		default:
			continue
		}
		col := m.column(name)
		_, enc := m.enc[col]
		_, opaque := m.opaque[col]
		if !enc && !opaque {
			continue
		}
		for _, v := range values {
			if !emptyValue(v) {
				return col
			}
		}
	}
	return ""
}

// emptyValue reports whether v is nil, an empty string or empty bytes
// (through pointers): values stored as they are, which a condition may
// compare.
func emptyValue(v any) bool {
	rv := reflect.ValueOf(v)
	for rv.IsValid() && rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return true
		}
		rv = rv.Elem()
	}
	if !rv.IsValid() {
		return true
	}
	switch rv.Kind() {
	case reflect.String, reflect.Slice:
		return rv.Len() == 0
	}
	return false
}

// refuseHidden refuses a write whose values hold, behind an interface (an
// any field serialized to JSON, a map[string]any of column values), a
// value whose type has crypt tags: nothing would encrypt it, and it would
// be stored as plaintext. It looks at what the statement writes, its Dest
// (the model, the struct given to Updates or Save, a map of columns), for
// every model, tagged or not, and every table.
func (p *Plugin) refuseHidden(db *gorm.DB, op string) bool {
	err := crypt.CheckHidden(db.Statement.Dest)
	if err == nil {
		return false
	}
	model := db.Statement.Table
	if db.Statement.Schema != nil {
		model = db.Statement.Schema.ModelType.String()
	}
	db.AddError(&Error{Op: op, Model: model, Err: err,
		Reason: "give the column the value's concrete type (a struct with crypt tags is encrypted in place), or store the value through its own model"})
	return true
}
