package gormcrypt

import (
	"reflect"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/schema"
)

// checkUUIDForms refuses, on PostgreSQL, a Create of a record whose scope
// or identity field is stored in a uuid column in another form than the
// one PostgreSQL reads back (lower case, with hyphens: 8-4-4-4-12). The
// column takes "6F1C2A9E-…", "{6f1c2a9e-…}" or the digits without hyphens
// and stores the canonical form, while the record's ciphertexts bind the
// form written: the row would never decrypt. A client that prints UUIDs in
// upper case is enough. The column types are read from the catalogue once
// per table and process.
func (p *Plugin) checkUUIDForms(db *gorm.DB, m *model) error {
	if db.Dialector.Name() != "postgres" || !m.binds() {
		return nil
	}
	fields := m.ids
	if m.scope != nil {
		fields = append([]*schema.Field{m.scope}, fields...)
	}
	var strs []*schema.Field
	for _, f := range fields {
		if indirectType(f.FieldType).Kind() == reflect.String {
			strs = append(strs, f)
		}
	}
	if len(strs) == 0 {
		return nil
	}
	stmt := db.Statement
	uuids, err := p.uuidColumns(db, stmt.Table)
	if err != nil {
		return &Error{Op: "create", Model: m.name, Err: ErrUnsupportedWrite,
			Reason: "the column types of table " + stmt.Table + " could not be read: " + err.Error()}
	}
	check := func(rv reflect.Value) error {
		for _, f := range strs {
			if !uuids[f.DBName] {
				continue
			}
			v, zero := f.ValueOf(stmt.Context, rv)
			if zero {
				continue
			}
			if s, ok := stringOf(v); ok && !canonicalUUID(s) {
				return &Error{Op: "create", Model: m.name, Column: f.DBName, Field: f.Name, Err: ErrUnsupportedWrite,
					Reason: "the column is a uuid, which PostgreSQL stores and reads back in lower case with hyphens (8-4-4-4-12); the record's ciphertexts would bind the form written, which the row would not hold, and never decrypt: write the uuid in that form"}
			}
		}
		return nil
	}
	rv := reflect.Indirect(stmt.ReflectValue)
	switch rv.Kind() {
	case reflect.Struct:
		return check(rv)
	case reflect.Slice, reflect.Array:
		for i := range rv.Len() {
			if ev := reflect.Indirect(rv.Index(i)); ev.Kind() == reflect.Struct {
				if err := check(ev); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// uuidColumns returns the columns of table whose type is uuid, on
// PostgreSQL, read once per table and process.
func (p *Plugin) uuidColumns(db *gorm.DB, table string) (map[string]bool, error) {
	k := uniqueKey{db.Config, table}
	if v, ok := p.uuids.Load(k); ok {
		return v.(map[string]bool), nil
	}
	rows, err := db.Session(&gorm.Session{NewDB: true}).Raw(
		"SELECT a.attname FROM pg_catalog.pg_attribute a WHERE a.attrelid = to_regclass(?) AND a.attnum > 0 AND NOT a.attisdropped AND a.atttypid = 'uuid'::regtype",
		db.Statement.Quote(table)).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	uuids := map[string]bool{}
	for rows.Next() {
		var col string
		if err := rows.Scan(&col); err != nil {
			return nil, err
		}
		uuids[col] = true
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	p.uuids.Store(k, uuids)
	return uuids, nil
}

// stringOf returns the string v holds, through pointers and named string
// types.
func stringOf(v any) (string, bool) {
	rv := reflect.ValueOf(v)
	for rv.IsValid() && rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return "", false
		}
		rv = rv.Elem()
	}
	if !rv.IsValid() || rv.Kind() != reflect.String {
		return "", false
	}
	return rv.String(), true
}

// canonicalUUID reports whether s is a UUID as PostgreSQL writes one:
// 32 lower-case hex digits in groups of 8, 4, 4, 4 and 12, with hyphens.
func canonicalUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdef", rune(c)) {
				return false
			}
		}
	}
	return true
}
