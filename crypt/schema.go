package crypt

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// SchemaSpec describes a record by its database columns rather than by a Go
// struct. The re-encryption job and the fieldcrypt tool build one from a
// configuration file. A schema produces exactly the values that Encrypt
// produces for a struct with the equivalent tags, so it must name the same
// record type, identity names, field paths and index names as that struct.
//
// The YAML and JSON keys are those of a table in the re-encryption job's
// configuration, which embeds a SchemaSpec.
type SchemaSpec struct {
	// Record is the record type bound into associated data: the struct's
	// Go type name, or its record= tag.
	Record string `yaml:"record" json:"record"`
	// Scope is the column holding the scope; "" means the default scope.
	Scope string `yaml:"scope,omitempty" json:"scope,omitempty"`
	// IDs are the identity columns, in the struct's field order.
	IDs []ColumnName `yaml:"ids,omitempty" json:"ids,omitempty"`
	// Fields are the encrypted columns.
	Fields []FieldSpec `yaml:"encrypted" json:"encrypted"`
	// Indexes are the blind-index columns.
	Indexes []IndexSpec `yaml:"indexes,omitempty" json:"indexes,omitempty"`
	// Unbound opts a record with no IDs out of identity binding, as the
	// unbound tag option does: whole rows can then be swapped within a
	// scope. NewSchema refuses encrypted Fields with no IDs otherwise.
	Unbound bool `yaml:"unbound,omitempty" json:"unbound,omitempty"`
}

// ColumnName maps a column to the name bound into associated data (the Go
// field name, or its name= option). An empty Name means the column name.
type ColumnName struct {
	Column string `yaml:"column" json:"column"`
	Name   string `yaml:"name,omitempty" json:"name,omitempty"`
}

// FieldSpec describes an encrypted column.
type FieldSpec struct {
	Column string `yaml:"column" json:"column"`
	// Name is the field path bound into associated data (the Go field
	// path, or its name= option); default Column.
	Name string `yaml:"name,omitempty" json:"name,omitempty"`
	// Class is the field class; default "default".
	Class string `yaml:"class,omitempty" json:"class,omitempty"`
	// Binary is set for a binary column (a []byte field: BYTEA, BLOB),
	// which holds the binary value form rather than text.
	Binary bool `yaml:"binary,omitempty" json:"binary,omitempty"`
}

// IndexSpec describes a blind-index column.
type IndexSpec struct {
	Column string `yaml:"column" json:"column"`
	// Name is the index name in its key derivation (the struct field's
	// path, or its name= option); default Column.
	Name string `yaml:"name,omitempty" json:"name,omitempty"`
	// Sources are the encrypted columns it is computed from.
	Sources []string `yaml:"sources" json:"sources"`
	// Transforms, such as "lower+trim" (see package crypt/blind).
	Transforms string `yaml:"transforms,omitempty" json:"transforms,omitempty"`
	// Bits is the width; 0 to take the planner's for Population.
	Bits int `yaml:"bits,omitempty" json:"bits,omitempty"`
	// Population is the expected number of distinct values per scope;
	// needed when Bits is 0.
	Population int64 `yaml:"population,omitempty" json:"population,omitempty"`
	// Slow selects the Argon2id tier.
	Slow bool `yaml:"slow,omitempty" json:"slow,omitempty"`
	// Class is the class whose index keyset computes it; default the
	// class of its first source.
	Class string `yaml:"class,omitempty" json:"class,omitempty"`
}

// Row is one record as column values: string for text columns, []byte for
// binary ones, nil for NULL. Encrypt and decrypt functions change it in place.
type Row map[string]any

// Schema is a compiled SchemaSpec. It is safe for concurrent use.
type Schema struct {
	spec    SchemaSpec
	typ     reflect.Type
	plan    *plan
	columns []string // struct field i holds columns[i]
	binary  []bool
}

// NewSchema compiles spec. Errors name the column at fault.
func NewSchema(spec SchemaSpec) (*Schema, error) {
	if spec.Record == "" {
		return nil, fmt.Errorf("crypt: schema needs a record type name")
	}
	s := &Schema{spec: spec}
	var fields []reflect.StructField
	index := map[string]int{}
	add := func(column string, typ reflect.Type, tag string, binary bool) error {
		if column == "" {
			return fmt.Errorf("crypt: schema %s: empty column name", spec.Record)
		}
		if _, dup := index[column]; dup {
			return fmt.Errorf("crypt: schema %s: column %q is listed twice", spec.Record, column)
		}
		index[column] = len(fields)
		fields = append(fields, reflect.StructField{
			Name: "F" + strconv.Itoa(len(fields)),
			Type: typ,
			Tag:  reflect.StructTag(tagKey + `:"` + tag + `"`),
		})
		s.columns = append(s.columns, column)
		s.binary = append(s.binary, binary)
		return nil
	}
	// Names end up inside a generated struct tag: keep them to characters
	// the tag grammar cannot confuse.
	checkName := func(what, v string) error {
		if strings.ContainsAny(v, "\",=+` \\") || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return fmt.Errorf("crypt: schema %s: %s %q may not contain quotes, commas, '=', '+', spaces, backslashes, backquotes or control characters", spec.Record, what, v)
		}
		return nil
	}
	strType, strPtr, bytesPtr := reflect.TypeFor[string](), reflect.TypeFor[*string](), reflect.TypeFor[*[]byte]()
	if spec.Scope != "" {
		if err := add(spec.Scope, strType, "scope", false); err != nil {
			return nil, err
		}
	}
	for _, id := range spec.IDs {
		name := cmp.Or(id.Name, id.Column)
		if err := checkName("id name", name); err != nil {
			return nil, err
		}
		if err := add(id.Column, strType, "id,name="+name, false); err != nil {
			return nil, err
		}
	}
	for _, f := range spec.Fields {
		name := cmp.Or(f.Name, f.Column)
		if err := errors.Join(checkName("field name", name), checkName("class", f.Class)); err != nil {
			return nil, err
		}
		tag := "encrypt,name=" + name
		if f.Class != "" {
			tag += ",class=" + f.Class
		}
		typ := strPtr
		if f.Binary {
			typ = bytesPtr
		}
		if err := add(f.Column, typ, tag, f.Binary); err != nil {
			return nil, err
		}
	}
	for _, ix := range spec.Indexes {
		var srcs []string
		for _, src := range ix.Sources {
			i, ok := index[src]
			if !ok {
				return nil, fmt.Errorf("crypt: schema %s: index %s: source column %q is not an encrypted column listed before it", spec.Record, ix.Column, src)
			}
			srcs = append(srcs, fields[i].Name)
		}
		name := cmp.Or(ix.Name, ix.Column)
		if err := errors.Join(checkName("index name", name), checkName("class", ix.Class), checkName("transforms", strings.ReplaceAll(ix.Transforms, "+", ""))); err != nil {
			return nil, err
		}
		tag := "blind=" + strings.Join(srcs, "+") + ",name=" + name
		if ix.Transforms != "" {
			tag += ",transform=" + ix.Transforms
		}
		if ix.Bits != 0 {
			tag += ",bits=" + strconv.Itoa(ix.Bits)
		}
		if ix.Population != 0 {
			tag += ",population=" + strconv.FormatInt(ix.Population, 10)
		}
		if ix.Slow {
			tag += ",slow"
		}
		if ix.Class != "" {
			tag += ",class=" + ix.Class
		}
		if err := add(ix.Column, strType, tag, false); err != nil {
			return nil, err
		}
	}
	s.typ = reflect.StructOf(fields)
	p, err := buildPlan(s.typ, &schemaInfo{record: spec.Record, unbound: spec.Unbound, columns: s.columns})
	if err != nil {
		return nil, s.renameError(err)
	}
	// Every described column must have been planned: a column the
	// planner skipped would silently stay plaintext.
	if len(p.root.fields) != len(spec.Fields) || len(p.root.indexes) != len(spec.Indexes) {
		return nil, fmt.Errorf("crypt: schema %s: %d encrypted columns and %d indexes planned, %d and %d described", spec.Record,
			len(p.root.fields), len(p.root.indexes), len(spec.Fields), len(spec.Indexes))
	}
	for _, w := range p.warnings {
		slog.Warn("fieldcrypt: blind index width outside the planner's safe range", "schema", spec.Record, "warning", w)
	}
	s.plan = p
	return s, nil
}

// renameError puts column names into plan errors about generated fields.
// (The planner already names the other column of a conflict.)
func (s *Schema) renameError(err error) error {
	if pe, ok := err.(*PlanError); ok {
		if col, ok := (&schemaInfo{columns: s.columns}).column(pe.Field); ok {
			out := *pe
			out.Field, out.Schema = col, s.spec.Record
			return &out
		}
	}
	return err
}

// column returns the column that generated field "F<i>" holds.
func (si *schemaInfo) column(field string) (string, bool) {
	i, err := strconv.Atoi(strings.TrimPrefix(field, "F"))
	if err != nil || !strings.HasPrefix(field, "F") || i < 0 || i >= len(si.columns) {
		return "", false
	}
	return si.columns[i], true
}

// Spec returns the specification the schema was compiled from.
func (s *Schema) Spec() SchemaSpec { return s.spec }

// toStruct copies row into a new value of the schema's struct type.
func (s *Schema) toStruct(row Row) (reflect.Value, error) {
	v := reflect.New(s.typ).Elem()
	for i, col := range s.columns {
		raw, ok := row[col]
		if !ok || raw == nil {
			continue
		}
		f := v.Field(i)
		switch x := raw.(type) {
		case string:
			if s.binary[i] {
				b := []byte(x)
				f.Set(reflect.ValueOf(&b))
			} else if f.Kind() == reflect.Pointer {
				f.Set(reflect.ValueOf(&x))
			} else {
				f.SetString(x)
			}
		case []byte:
			if s.binary[i] {
				b := append([]byte(nil), x...)
				f.Set(reflect.ValueOf(&b))
			} else if f.Kind() == reflect.Pointer {
				str := string(x)
				f.Set(reflect.ValueOf(&str))
			} else {
				f.SetString(string(x))
			}
		default:
			return reflect.Value{}, fmt.Errorf("crypt: schema %s: column %s holds %T; want string, []byte or nil", s.spec.Record, col, raw)
		}
	}
	return v, nil
}

// fromStruct copies the struct's fields back into row.
func (s *Schema) fromStruct(v reflect.Value, row Row) {
	for i, col := range s.columns {
		f := v.Field(i)
		switch {
		case f.Kind() == reflect.String:
			row[col] = f.String()
		case f.IsNil():
			row[col] = nil
		case s.binary[i]:
			row[col] = f.Elem().Bytes()
		default:
			row[col] = f.Elem().String()
		}
	}
}

// EncryptRow is Encrypt for a row described by schema s: it encrypts the
// row's encrypted columns and computes its blind-index columns, in place.
func (e *Encryptor) EncryptRow(ctx context.Context, s *Schema, row Row) error {
	v, err := s.toStruct(row)
	if err != nil {
		return err
	}
	if err := e.encryptValue(ctx, s.plan, v); err != nil {
		return err
	}
	s.fromStruct(v, row)
	return nil
}

// DecryptRow is Decrypt for a row described by schema s. As with Decrypt,
// an *AccessError leaves the columns of inaccessible classes encrypted and
// decrypts the rest.
func (e *Encryptor) DecryptRow(ctx context.Context, s *Schema, row Row) error {
	v, err := s.toStruct(row)
	if err != nil {
		return err
	}
	_, err = e.decryptValue(ctx, s.plan, v, false)
	if err == nil || isAccessError(err) {
		s.fromStruct(v, row)
	}
	return err
}

// RowIndexValues is BlindIndexValues for a row: the values the blind-index
// column takes for the row's scope and (plaintext) source columns, one per
// enabled index key, the primary key's first.
func (e *Encryptor) RowIndexValues(ctx context.Context, s *Schema, row Row, column string) ([]string, error) {
	i := slices.Index(s.columns, column)
	if i < 0 {
		return nil, fmt.Errorf("%w: schema %s has no column %q", ErrUnknownIndex, s.spec.Record, column)
	}
	// By the generated field's path only: an index may be named like
	// another's generated field.
	path := "F" + strconv.Itoa(i)
	j := slices.IndexFunc(s.plan.root.indexes, func(ix indexField) bool { return ix.path == path })
	if j < 0 {
		return nil, fmt.Errorf("%w: column %s of schema %s is not a blind index", ErrUnknownIndex, column, s.spec.Record)
	}
	ix := &s.plan.root.indexes[j]
	v, err := s.toStruct(row)
	if err != nil {
		return nil, err
	}
	return e.indexValues(ctx, s.plan, v, ix)
}

// DecryptRowMigrating is DecryptMigrating for a row: columns holding legacy
// plaintext are left as they are and reported.
func (e *Encryptor) DecryptRowMigrating(ctx context.Context, s *Schema, row Row) ([]string, error) {
	v, err := s.toStruct(row)
	if err != nil {
		return nil, err
	}
	legacy, err := e.decryptValue(ctx, s.plan, v, true)
	if err == nil || isAccessError(err) {
		s.fromStruct(v, row)
	}
	return legacy, err
}

// DataClass returns the class of the encrypted column f: its Class, or
// keyring.DefaultClass.
func (f FieldSpec) DataClass() string { return cmp.Or(f.Class, keyring.DefaultClass) }

// IndexClass returns the class whose index keyset computes ix: its Class,
// or the class of its first source (NewSchema refuses sources of
// different classes when ix names none).
func (s *SchemaSpec) IndexClass(ix IndexSpec) string {
	if ix.Class != "" {
		return ix.Class
	}
	for _, f := range s.Fields {
		if len(ix.Sources) > 0 && f.Column == ix.Sources[0] {
			return f.DataClass()
		}
	}
	return keyring.DefaultClass
}
