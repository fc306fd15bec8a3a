package gormcrypt

import (
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Guards: writes the plugin cannot encrypt, refused before they reach the
// database.

// checkTableWrite refuses a write through db.Table(name), with no model,
// that sets an encrypted or blind-index column of a tagged model the plugin
// has seen stored in that table: without a model there is no record to
// encrypt. Tables whose model the process has not used yet are not known.
func (p *Plugin) checkTableWrite(db *gorm.DB, op string) {
	stmt := db.Statement
	if db.Error != nil || stmt.Schema != nil || stmt.Table == "" {
		return
	}
	v, ok := p.tables.Load(stmt.Table)
	if !ok {
		return
	}
	m := v.(*model)
	var keys []string
	switch d := stmt.Dest.(type) {
	case map[string]any:
		for k := range d {
			keys = append(keys, k)
		}
	case []map[string]any:
		for _, mp := range d {
			for k := range mp {
				keys = append(keys, k)
			}
		}
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
		if f := m.fieldByName(k); f != nil {
			col = f.DBName
		}
		if m.sensitive(col) || (op == "update" && m.binds() && m.binding(col)) {
			db.AddError(&Error{Op: op, Model: m.name, Column: col, Err: ErrUnknownIdentity,
				Reason: "a write through db.Table(" + stmt.Table + ") has no model to encrypt: use db.Model(&record)"})
			return
		}
	}
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
	if stmt.Schema != nil {
		if m := p.modelOf(stmt.Schema); m.tagged {
			db.AddError(m.checkReturning(stmt, "delete"))
		}
	}
}
