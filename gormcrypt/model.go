package gormcrypt

import (
	"context"
	"reflect"
	"strconv"
	"strings"

	"gorm.io/gorm/schema"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

// model is what gormcrypt knows about one GORM model: which of its
// columns are encrypted, which are blind indexes over which sources, and
// which fields bind the record (scope and identity). It is computed once
// per GORM schema from the model's crypt tags.
type model struct {
	schema  *schema.Schema
	name    string
	typ     reflect.Type
	tagged  bool  // crypt tags anywhere in the type: its values are encrypted and decrypted
	err     error // the crypt plan's error, if the tags are invalid
	scope   *schema.Field
	ids     []*schema.Field
	unbound bool                     // record=...,unbound: no identity is bound
	enc     map[string]*schema.Field // encrypted columns, by column name
	opaque  map[string]*schema.Field // columns that store a value holding encrypted fields (a JSON column)
	indexes map[string]*index        // blind-index columns, by column name
	byName  map[string]*index        // blind indexes, by Go field name and name= option
	assocs  []*schema.Field          // association fields holding records of their own
	restore []*schema.Field          // columns copied back to the caller's struct after a write
	tokens  []*tokenIndex            // token indexes (crypt.Tokens fields), stored in side tables
}

// index is one blind-index column.
type index struct {
	field   *schema.Field
	sources []*schema.Field
	// unresolved names a source that is not a column of the model (a
	// field in a nested struct): updates of the index are refused.
	unresolved string
}

// secrets returns the values of rv, an encrypted record of m, that an
// error must not quote (sqldialect.Redact): its ciphertexts and
// blind-index values.
func (m *model) secrets(ctx context.Context, rv reflect.Value) []any {
	var out []any
	for _, f := range m.enc {
		if v, zero := f.ValueOf(ctx, rv); !zero {
			out = append(out, v)
		}
	}
	for _, ix := range m.indexes {
		if v, zero := ix.field.ValueOf(ctx, rv); !zero {
			out = append(out, v)
		}
	}
	return out
}

// modelOf returns the model of a GORM schema, computing it once.
func (p *Plugin) modelOf(s *schema.Schema) *model {
	if m, ok := p.models.Load(s); ok {
		return m.(*model)
	}
	m := buildModel(s)
	actual, _ := p.models.LoadOrStore(s, m)
	m = actual.(*model)
	if m.tagged && s.Table != "" {
		p.tables.Store(strings.ToLower(s.Table), m)
	}
	return m
}

func buildModel(s *schema.Schema) *model {
	m := &model{
		schema:  s,
		name:    s.ModelType.String(),
		typ:     s.ModelType,
		tagged:  containsTagged(s.ModelType, nil) && !isJoinTable(s.ModelType),
		enc:     map[string]*schema.Field{},
		opaque:  map[string]*schema.Field{},
		indexes: map[string]*index{},
		byName:  map[string]*index{},
	}
	if !m.tagged {
		return m
	}
	m.err = crypt.Validate(reflect.New(s.ModelType).Interface())
	if blank, ok := s.ModelType.FieldByName("_"); ok {
		m.unbound = strings.Contains(","+blank.Tag.Get("crypt")+",", ",unbound,")
	}
	for _, f := range s.Fields {
		if f.DBName == "" {
			continue
		}
		directive, options := parseTag(f.Tag.Get("crypt"))
		switch {
		case directive == "scope":
			m.scope = f
		case directive == "id":
			m.ids = append(m.ids, f)
		case directive == "encrypt":
			m.enc[f.DBName] = f
		case strings.HasPrefix(directive, "blind="):
			ix := &index{field: f}
			for _, src := range strings.Split(strings.TrimPrefix(directive, "blind="), "+") {
				sf := s.LookUpField(src)
				if sf == nil || sf.DBName == "" {
					ix.unresolved = src
					continue
				}
				ix.sources = append(ix.sources, sf)
			}
			m.indexes[f.DBName] = ix
			m.byName[f.Name] = ix
			if n := options["name"]; n != "" {
				m.byName[n] = ix
			}
		case directive == "" && containsTagged(f.FieldType, nil):
			m.opaque[f.DBName] = f
		}
	}
	for _, f := range s.Fields {
		if f.DBName == "" {
			continue
		}
		if _, ok := m.enc[f.DBName]; ok {
			continue
		}
		if _, ok := m.opaque[f.DBName]; ok {
			continue
		}
		m.restore = append(m.restore, f)
	}
	if m.err == nil {
		m.err = m.checkColumns()
	}
	if err := m.buildTokens(s); err != nil && m.err == nil {
		m.err = err
	}
	for _, rel := range s.Relationships.Relations {
		if rel.Field != nil && rel.Field.Schema == s && containsTagged(rel.Field.FieldType, nil) { // GORM also lists back references, whose field is another schema's
			m.assocs = append(m.assocs, rel.Field)
			if rel.Field.FieldType.Kind() == reflect.Struct && m.err == nil {
				m.err = &Error{Op: "plan", Model: m.name, Field: rel.Field.Name, Err: ErrUnsupportedModel,
					Reason: "the association holds a record of its own by value: GORM leaves it zero when it is not loaded or saved with the row, and a zero record has no scope to encrypt or decrypt under; declare it as *" + rel.Field.FieldType.Name()}
			}
		}
	}
	return m
}

// checkColumns refuses GORM column options that would give an encrypted or
// blind-index column a second meaning: a serializer would encode the
// ciphertext (or decode the stored value before it is decrypted), and a
// default value is what the database stores, in plaintext, when the field
// is empty, which crypt leaves empty.
func (m *model) checkColumns() error {
	for _, f := range m.schema.Fields {
		_, enc := m.enc[f.DBName]
		_, ix := m.indexes[f.DBName]
		if f.DBName == "" || (!enc && !ix) {
			continue
		}
		refuse := func(reason string) error {
			return &Error{Op: "plan", Model: m.name, Column: f.DBName, Field: f.Name, Err: ErrUnsupportedModel, Reason: reason}
		}
		if f.Serializer != nil || f.TagSettings["SERIALIZER"] != "" {
			return refuse("a GORM serializer on an encrypted or blind-index column would encode the ciphertext, not the value; encrypt a string or []byte field")
		}
		if f.HasDefaultValue && !strings.EqualFold(strings.Trim(f.DefaultValue, "'\""), "null") {
			return refuse("a default value on an encrypted or blind-index column would be stored in plaintext when the field is empty; drop the default:")
		}
	}
	return nil
}

// binds reports whether the model's ciphertexts are bound to its identity.
func (m *model) binds() bool { return len(m.enc)+len(m.opaque) > 0 && !m.unbound }

// sensitive reports whether a column is encrypted, holds encrypted
// fields, or is a blind index: a column gormcrypt must write itself.
func (m *model) sensitive(column string) bool {
	if _, ok := m.enc[column]; ok {
		return true
	}
	if _, ok := m.opaque[column]; ok {
		return true
	}
	_, ok := m.indexes[column]
	return ok
}

// blindSource reports whether column is a source of one of the model's
// blind indexes, encrypted or not: a write to it must recompute the index.
func (m *model) blindSource(column string) bool {
	for _, ix := range m.indexes {
		for _, f := range ix.sources {
			if f.DBName == column {
				return true
			}
		}
	}
	return false
}

// indexSource reports whether column is a source of a blind index or of a
// token index: a write to it must recompute the index from the record.
func (m *model) indexSource(column string) bool {
	return m.blindSource(column) || m.tokenSource(column)
}

// binding reports whether a column holds the scope or an identity field.
func (m *model) binding(column string) bool {
	if m.scope != nil && m.scope.DBName == column {
		return true
	}
	for _, f := range m.ids {
		if f.DBName == column {
			return true
		}
	}
	return false
}

// parseTag splits a crypt tag into its directive and its key=value options.
func parseTag(tag string) (string, map[string]string) {
	directive, rest, _ := strings.Cut(tag, ",")
	if rest == "" {
		return strings.TrimSpace(directive), nil
	}
	opts := map[string]string{}
	for _, o := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(o, "=")
		opts[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return strings.TrimSpace(directive), opts
}

// containsTagged reports whether type t has crypt tags, in itself or in the
// structs it reaches through fields, pointers, slices and arrays.
func containsTagged(t reflect.Type, seen []reflect.Type) bool {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return false
	}
	for _, s := range seen {
		if s == t {
			return false
		}
	}
	seen = append(seen, t)
	for i := range t.NumField() {
		f := t.Field(i)
		if tag, ok := f.Tag.Lookup("crypt"); ok && tag != "-" {
			return true
		}
		if containsTagged(f.Type, seen) {
			return true
		}
	}
	return false
}

// fieldByName finds a field by Go name or column, as GORM's LookUpField.
func (m *model) fieldByName(name string) *schema.Field {
	return m.schema.LookUpField(name)
}

// column resolves a column as a statement names it (a map key, an
// assignment, a conflict target) to the model's column. GORM resolves a Go
// field name or a column name, and passes any other key into the SQL as
// written, where the database may still read it as a column of the model:
// a qualified, quoted or differently cased name ("contacts.email",
// "`email`", "EMAIL"). column returns the model column such a name can
// mean, or the name cleaned of qualifier and quotes when none matches.
func (m *model) column(key string) string {
	if f := m.schema.LookUpField(key); f != nil && f.DBName != "" {
		return f.DBName
	}
	name := strings.TrimSpace(key)
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		name = name[i+1:]
	}
	name = strings.TrimSpace(strings.Trim(strings.TrimSpace(name), "`\"[]"))
	for _, f := range m.schema.Fields {
		if f.DBName != "" && (strings.EqualFold(f.DBName, name) || strings.EqualFold(f.Name, name)) {
			return f.DBName
		}
	}
	return name
}

// misspelled returns a refusal when a statement names a column that the
// plugin must see written (encrypted, blind-index, scope, identity, or a
// source of a blind or token index) other than by its column name, where
// GORM passes names into the SQL unresolved (an assignment, a SET or ON
// CONFLICT clause): the value would be written unencrypted, or the
// indexes computed from it would go stale.
func (m *model) misspelled(op, key string) error {
	col := m.column(key)
	if col == key || (!m.sensitive(col) && !m.binding(col) && !m.indexSource(col)) {
		return nil
	}
	e := &Error{Op: op, Model: m.name, Column: col, Err: ErrUnsupportedWrite,
		Reason: "the column is named " + strconvQuote(key) + ", which GORM passes to the database as written, unencrypted and unindexed; name it " + col}
	if f := m.schema.LookUpField(col); f != nil {
		e.Field = f.Name
	}
	return e
}

// strconvQuote quotes a column name for an error message.
func strconvQuote(s string) string { return strconv.Quote(s) }

// bindingNames names the scope and identity columns, for an error.
func (m *model) bindingNames() string {
	var cols []string
	if m.scope != nil {
		cols = append(cols, m.scope.DBName)
	}
	for _, f := range m.ids {
		cols = append(cols, f.DBName)
	}
	return strings.Join(cols, ", ")
}

// isJoinTable reports whether t is the struct GORM builds for a
// many-to-many join table: unnamed, its fields the two sides' primary
// keys (their tags copied, crypt:"id" included, with primaryKey added),
// then a field of the owner's type tagged gorm:"-". It holds keys only,
// nothing to encrypt, and is no record: the crypt tags it copied would
// make every statement on it fail to plan.
func isJoinTable(t reflect.Type) bool {
	if t.Kind() != reflect.Struct || t.Name() != "" || t.NumField() < 3 {
		return false
	}
	last := t.Field(t.NumField() - 1)
	if last.Tag != `gorm:"-"` || last.Type.Kind() != reflect.Struct || last.Type.Name() == "" {
		return false
	}
	for i := range t.NumField() - 1 {
		if !strings.Contains(t.Field(i).Tag.Get("gorm"), "primaryKey") {
			return false
		}
	}
	return true
}
