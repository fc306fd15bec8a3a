package gormcrypt

import (
	"context"
	"reflect"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

// searchKey keys a search's state in its statement's Settings.
type searchKey struct{ stmt *gorm.Statement }

// search is a blind-index search ([Matching]) or a token search
// ([Search]) on one statement.
type search struct {
	m      *model
	probe  any
	index  string             // a blind index's Go field name
	ts     *crypt.TokenSearch // a token search
	scope  any                // the probe's scope value, when the model has a scope
	column string             // the blind-index column, or the token index's side table, for errors
	need   []*schema.Field    // the columns the filter compares, besides the scope
}

// Matching returns a GORM scope that finds the records of probe's type
// whose blind index named index holds probe's value, in probe's scope:
//
//	var out []Contact
//	err := db.Scopes(gormcrypt.Matching(&Contact{TenantID: t, Email: e}, "EmailIdx")).Find(&out).Error
//
// probe is a pointer to the record type with its scope and the index's
// source fields set; index is the blind-index field's Go name, its name=
// option or its column. The query asks for the index's value under every
// enabled index key (so it keeps working during an index-key rotation) and
// the probe's scope; after decryption, the rows that hold another value
// (the index's false positives) are dropped with crypt.Matches. When a row
// read does not decrypt in full (crypt.ErrNoAccess, crypt.ErrDecrypt), no
// row is returned: the destination slice is emptied and the error
// returned, as that row could be neither confirmed nor dropped.
//
// Dropping rows after the query is only correct over all of them: Find into
// a slice of the record type is supported, First, Take, Last, Limit,
// Offset, Group, Having, Distinct, Count, Pluck, Rows, Scan, Update and
// Delete are refused with ErrUnsupportedSearch. The Encryptor is the plugin's registered on the
// *gorm.DB, and the statement's context is used.
func Matching(probe any, index string) func(*gorm.DB) *gorm.DB {
	return func(db *gorm.DB) *gorm.DB {
		p, m, pv, err := probeModel(db, probe)
		if err != nil {
			db.AddError(err)
			return db
		}
		ix := m.byName[index]
		if ix == nil {
			ix = m.indexes[index]
		}
		if ix == nil {
			db.AddError(&Error{Op: "search", Model: m.name, Err: crypt.ErrUnknownIndex, Reason: "no blind index named " + index})
			return db
		}
		ctx := db.Statement.Context
		scopeValue, err := m.probeScope(ctx, pv)
		if err != nil {
			db.AddError(err)
			return db
		}
		values, err := p.enc.BlindIndexValues(ctx, probe, ix.field.Name)
		if err != nil {
			db.AddError(&Error{Op: "search", Model: m.name, Column: ix.field.DBName, Err: err})
			return db
		}
		if len(values) == 0 {
			// No value to look for, or a scope with no index keys: no
			// stored row can match.
			db = db.Where("1 = 0")
		} else {
			in := make([]any, len(values))
			for i, v := range values {
				in[i] = v
			}
			db = db.Where(clause.IN{Column: clause.Column{Table: clause.CurrentTable, Name: ix.field.DBName}, Values: in})
		}
		if m.scope != nil {
			db = db.Where(clause.Eq{Column: clause.Column{Table: clause.CurrentTable, Name: m.scope.DBName}, Value: scopeValue})
		}
		return addSearch(db, &search{m: m, probe: probe, index: ix.field.Name, scope: scopeValue, column: ix.field.DBName, need: ix.sources})
	}
}

// probeModel returns the plugin of db, and the model and struct value of
// a search's probe.
func probeModel(db *gorm.DB, probe any) (*Plugin, *model, reflect.Value, error) {
	p, err := pluginOf(db)
	if err != nil {
		return nil, nil, reflect.Value{}, err
	}
	pv := reflect.ValueOf(probe)
	if pv.Kind() != reflect.Pointer || pv.IsNil() || pv.Elem().Kind() != reflect.Struct {
		return nil, nil, reflect.Value{}, &Error{Op: "search", Model: reflect.TypeOf(probe).String(), Err: &crypt.InvalidArgumentError{Type: reflect.TypeOf(probe)}}
	}
	if err := tokensAsColumn(pv.Type()); err != nil {
		return nil, nil, reflect.Value{}, err
	}
	ps := &gorm.Statement{DB: db}
	if err := ps.Parse(probe); err != nil {
		return nil, nil, reflect.Value{}, err
	}
	m := p.modelOf(ps.Schema)
	if m.err != nil {
		return nil, nil, reflect.Value{}, m.err
	}
	return p, m, pv.Elem(), nil
}

// probeScope returns the probe's scope value; an empty one is refused.
func (m *model) probeScope(ctx context.Context, pv reflect.Value) (any, error) {
	if m.scope == nil {
		return nil, nil
	}
	v, zero := m.scope.ValueOf(ctx, pv)
	if zero {
		return nil, &Error{Op: "search", Model: m.name, Column: m.scope.DBName, Field: m.scope.Name, Err: ErrUnsupportedSearch,
			Reason: "the probe's scope is empty: a search names the tenant it searches"}
	}
	return v, nil
}

// addSearch records s on the statement. A statement may hold several
// searches (two Matching or Search scopes): a row is returned only when it
// matches every one of them.
func addSearch(db *gorm.DB, s *search) *gorm.DB {
	all := searchesOf(db.Statement)
	if len(all) > 0 && all[0].m.typ != s.m.typ {
		db.AddError(&Error{Op: "search", Model: s.m.name, Column: s.column, Err: ErrUnsupportedSearch,
			Reason: "the statement already searches " + all[0].m.name + ": searches combined in one query must be of the same record type"})
		return db
	}
	all = append(all[:len(all):len(all)], s)
	db.Statement.Settings.Store(searchKey{db.Statement}, all)
	return db
}

// searchOf returns the statement's first search, or nil.
func searchOf(stmt *gorm.Statement) *search {
	if all := searchesOf(stmt); len(all) > 0 {
		return all[0]
	}
	return nil
}

// searchesOf returns every search of the statement, in the order of its
// Matching scopes.
func searchesOf(stmt *gorm.Statement) []*search {
	if v, ok := stmt.Settings.Load(searchKey{stmt}); ok {
		return v.([]*search)
	}
	return nil
}

func searchRefused(s *search, op, reason string) error {
	return &Error{Op: "search", Model: s.m.name, Column: s.column, Err: ErrUnsupportedSearch, Reason: op + ": " + reason}
}

// checkSearch refuses a search whose false positives could not all be
// dropped: one with a LIMIT or OFFSET, a GROUP BY, HAVING or DISTINCT, or
// into anything but a slice of the record type.
func (p *Plugin) checkSearch(db *gorm.DB) {
	stmt := db.Statement
	explainTokens(db)
	if p.checkConditions(db, "query"); db.Error != nil {
		return
	}
	s := searchOf(stmt)
	if s == nil {
		return
	}
	if c, ok := stmt.Clauses["LIMIT"]; ok {
		if l, ok := c.Expression.(clause.Limit); !ok || l.Limit != nil || l.Offset != 0 {
			db.AddError(searchRefused(s, "query", "a LIMIT or OFFSET (First, Take, Last, Limit, Offset) would apply before the blind index's false positives are dropped, and could miss a match; Find into a slice, then take its first element"))
			return
		}
	}
	if _, ok := stmt.Clauses["GROUP BY"]; ok || stmt.Distinct {
		// GROUP BY, HAVING and DISTINCT merge or drop rows before the
		// false positives are dropped: a match could be merged into a
		// false positive, or a group kept by a HAVING that counts them.
		db.AddError(searchRefused(s, "query", "a GROUP BY, HAVING or DISTINCT would apply before the blind index's false positives are dropped, and could miss a match; Find the rows, then group them"))
		return
	}
	if len(stmt.Selects) > 0 || len(stmt.Omits) > 0 {
		// A row read without the index's sources would hold no value and
		// be dropped as a false positive: a match missed.
		var need []*schema.Field
		for _, s := range searchesOf(stmt) {
			need = append(need, s.need...)
		}
		if s.m.scope != nil {
			need = append(need, s.m.scope)
		}
		selected, restricted := stmt.SelectAndOmitColumns(false, false)
		for _, f := range need {
			if v, ok := selected[f.DBName]; (ok && !v) || (!ok && restricted) {
				db.AddError(&Error{Op: "search", Model: s.m.name, Column: f.DBName, Field: f.Name, Err: ErrUnsupportedSearch,
					Reason: "query: Select or Omit leaves out a column the search compares after decrypting; rows without it would be dropped, and matches missed"})
				return
			}
		}
	}
	rv := stmt.ReflectValue
	if rv.Kind() == reflect.Slice && rv.CanSet() {
		et := rv.Type().Elem()
		if et.Kind() == reflect.Pointer {
			et = et.Elem()
		}
		if et == s.m.typ {
			return
		}
	}
	db.AddError(searchRefused(s, "query", "a search reads into a slice of the record type ([]"+s.m.typ.Name()+"), where its false positives are dropped after decryption; Count, Pluck and single structs would count or return them"))
}

// refuseSearch returns a callback that refuses a search in an operation
// that cannot drop its false positives.
func (p *Plugin) refuseSearch(op string) func(*gorm.DB) {
	return func(db *gorm.DB) {
		if p.checkConditions(db, op); db.Error != nil {
			return
		}
		if s := searchOf(db.Statement); s != nil {
			db.AddError(searchRefused(s, op, "it would act on the rows the blind index finds that hold another value"))
		}
	}
}

// filter drops the records that do not match the search's probe, and
// those of another scope than the probe's.
func (s *search) filter(db *gorm.DB) error {
	rv := db.Statement.ReflectValue
	if rv.Kind() != reflect.Slice {
		return nil
	}
	ctx := db.Statement.Context
	kept := 0
	for i := range rv.Len() {
		var ok bool
		var err error
		if s.ts != nil {
			// Match compares the scope too, byte for byte.
			ok, err = s.ts.Match(rv.Index(i).Interface())
		} else {
			ok, err = crypt.Matches(rv.Index(i).Interface(), s.probe, s.index)
		}
		if err != nil {
			return &Error{Op: "search", Model: s.m.name, Err: err}
		}
		if ok && s.m.scope != nil {
			// A condition ORed into the query (db.Where(a).Or(b) before
			// the scope) can bring rows of another scope: they are not
			// the probe's, whatever they hold.
			ev := reflect.Indirect(rv.Index(i))
			v, _ := s.m.scope.ValueOf(ctx, ev)
			ok = reflect.DeepEqual(v, s.scope)
		}
		if ok {
			if i != kept {
				rv.Index(kept).Set(rv.Index(i))
			}
			kept++
		}
	}
	for i := kept; i < rv.Len(); i++ {
		rv.Index(i).SetZero()
	}
	rv.SetLen(kept)
	db.RowsAffected = int64(kept)
	return nil
}

// clear empties the search's destination: after an error, no row it read
// is returned, as none could be confirmed as a match.
func (s *search) clear(db *gorm.DB) {
	rv := db.Statement.ReflectValue
	if rv.Kind() == reflect.Slice && rv.CanSet() {
		for i := range rv.Len() {
			rv.Index(i).SetZero()
		}
		rv.SetLen(0)
	}
	db.RowsAffected = 0
}
