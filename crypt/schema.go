package crypt

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"unicode/utf8"

	"github.com/fieldcrypt/fieldcrypt/crypt/blind"
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
	// Tokens are the token indexes. They are not columns: EncryptRow puts
	// each one's [Tokens] in the row under its Name, for the data layer
	// to store (see Tokens).
	Tokens []TokenIndexSpec `yaml:"tokens,omitempty" json:"tokens,omitempty"`
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
	// Class is the class whose index keyset computes it: the class of its
	// sources, which must share one (NewSchema refuses any other, since
	// whoever holds the index keyset can test guesses of the sources);
	// default that class.
	Class string `yaml:"class,omitempty" json:"class,omitempty"`
}

// TokenIndexSpec describes a token index of a SchemaSpec: the options of
// its tag (see the package doc), with its source columns. Options that do
// not apply to Kind must be zero.
type TokenIndexSpec struct {
	// Name is the index's name in its key derivation (the struct field's
	// path, or its name= option), and its key in a Row. Required.
	Name string `yaml:"name" json:"name"`
	// Kind is prefix, suffix, substring, range or set.
	Kind blind.TokenKind `yaml:"kind" json:"kind"`
	// Sources are the encrypted columns it is computed from: one, or for
	// a set index one or more (a shared index).
	Sources []string `yaml:"sources" json:"sources"`
	// Transforms, such as "lower+trim" (not for range indexes).
	Transforms string `yaml:"transforms,omitempty" json:"transforms,omitempty"`
	// Bits is the width of each token, 1 to 64: required for prefix,
	// suffix and set indexes; substring indexes default to the
	// recommended width, range indexes to 64.
	Bits int `yaml:"bits,omitempty" json:"bits,omitempty"`
	// MinLen and MaxLen (prefix, suffix) are len=MIN..MAX, in runes.
	MinLen int `yaml:"min_len,omitempty" json:"min_len,omitempty"`
	MaxLen int `yaml:"max_len,omitempty" json:"max_len,omitempty"`
	// N (substring) is the n-gram length, default 3; MaxTokens the most
	// distinct n-grams a value is indexed by, default 64 (tokens=).
	N         int `yaml:"n,omitempty" json:"n,omitempty"`
	MaxTokens int `yaml:"max_tokens,omitempty" json:"max_tokens,omitempty"`
	// Type (range) is int, decimal, date or timestamp; Min and Max bound
	// the domain, as text of the type; Step is the bucket width (not for
	// timestamps, whose Precision gives it); Scale the digits after the
	// point of a decimal.
	Type      string `yaml:"type,omitempty" json:"type,omitempty"`
	Min       string `yaml:"min,omitempty" json:"min,omitempty"`
	Max       string `yaml:"max,omitempty" json:"max,omitempty"`
	Step      int64  `yaml:"step,omitempty" json:"step,omitempty"`
	Scale     int    `yaml:"scale,omitempty" json:"scale,omitempty"`
	Precision string `yaml:"precision,omitempty" json:"precision,omitempty"`
	// Class is the class whose index keyset computes it: the class of its
	// sources, which must share one (NewSchema refuses any other, since
	// whoever holds the index keyset can read pieces of the sources from
	// the tokens); default that class.
	Class string `yaml:"class,omitempty" json:"class,omitempty"`
}

// Row is one record as column values: string for text columns, []byte for
// binary ones, nil for NULL. Encrypt and decrypt functions change it in place.
// EncryptRow also sets the [Tokens] of each token index, under its name;
// the other functions leave those entries alone.
type Row map[string]any

// Schema is a compiled SchemaSpec. It is safe for concurrent use.
type Schema struct {
	spec    SchemaSpec
	plan    *plan
	cells   reflect.Type   // [n]cell: one per column, while the plan runs over a row
	columns []schemaColumn // cell i holds columns[i]
}

// schemaColumn is one column of a Schema and the cell member that holds it.
type schemaColumn struct {
	name string
	kind fieldKind // kindString: scope, id, index; kindStringPtr or kindBytesPtr: encrypted; kindTokens: a token index
}

// cell holds one column of a row while a Schema's plan runs over it: Str
// for a scope, identity or blind-index column, StrPtr or BytesPtr for an
// encrypted text or binary column (nil for NULL). The plan reaches the
// members of an addressable [n]cell array as it reaches the fields of a
// struct: by byte offset from the array's start, or by reflection through
// the index path (cell, member), which is why the members are exported.
type cell struct {
	Str      string
	StrPtr   *string
	BytesPtr *[]byte
	Tokens   Tokens // a token index's tokens, set by EncryptRow
}

var cellType = reflect.TypeFor[cell]()

// cellLoc locates the member of cell i that holds a value of kind.
func cellLoc(i int, kind fieldKind) fieldLoc {
	member := "Str"
	switch kind {
	case kindStringPtr:
		member = "StrPtr"
	case kindBytesPtr:
		member = "BytesPtr"
	case kindTokens:
		member = "Tokens"
	}
	f, _ := cellType.FieldByName(member)
	return fieldLoc{index: []int{i, f.Index[0]}, off: uintptr(i)*cellType.Size() + f.Offset, direct: true}
}

// NewSchema compiles spec into the plan a tagged struct compiles to: the
// same checks on bindings, classes and index widths apply (see
// [PlanError]). Errors name the column at fault.
func NewSchema(spec SchemaSpec) (*Schema, error) {
	s := &Schema{spec: spec.clone()} // the caller may reuse its slices
	p, err := s.compile()
	if err != nil {
		return nil, err
	}
	for _, w := range p.warnings {
		slog.Warn("fieldcrypt: blind index width outside the planner's safe range", "schema", spec.Record, "warning", w)
	}
	s.plan = p
	s.cells = reflect.ArrayOf(len(s.columns), cellType)
	return s, nil
}

// compile declares the spec's columns to a planner, as the struct-tag
// walker declares a struct's fields.
func (s *Schema) compile() (*plan, error) {
	spec := &s.spec
	if spec.Record == "" {
		return nil, fmt.Errorf("crypt: schema needs a record type name")
	}
	b := newPlanner(nil, true)
	b.p.record, b.p.unbound = spec.Record, spec.Unbound
	byColumn := map[string]int{}
	add := func(name string, kind fieldKind) (fieldLoc, origin, error) {
		at := origin{field: name, path: name}
		switch {
		case name == "":
			return fieldLoc{}, at, fmt.Errorf("crypt: schema %s: empty column name", spec.Record)
		case !utf8.ValidString(name):
			return fieldLoc{}, at, fmt.Errorf("crypt: schema %s: column name %q is not valid UTF-8", spec.Record, name)
		}
		if _, dup := byColumn[name]; dup {
			return fieldLoc{}, at, fmt.Errorf("crypt: schema %s: column %q is listed twice", spec.Record, name)
		}
		byColumn[name] = len(s.columns)
		s.columns = append(s.columns, schemaColumn{name: name, kind: kind})
		return cellLoc(len(s.columns)-1, kind), at, nil
	}
	bound := func(at origin, what, name string) error {
		if !utf8.ValidString(name) {
			return b.errAt(at, "%s %q is not valid UTF-8", what, name)
		}
		return nil
	}
	g := &group{}
	if spec.Scope != "" {
		loc, at, err := add(spec.Scope, kindString)
		if err == nil {
			err = b.declareScope(loc, at)
		}
		if err != nil {
			return nil, err
		}
	}
	for _, id := range spec.IDs {
		loc, at, err := add(id.Column, kindString)
		if err == nil {
			err = bound(at, "identity name", cmp.Or(id.Name, id.Column))
		}
		if err == nil {
			err = b.declareID(loc, cmp.Or(id.Name, id.Column), true, at)
		}
		if err != nil {
			return nil, err
		}
	}
	for _, f := range spec.Fields {
		kind := kindStringPtr
		if f.Binary {
			kind = kindBytesPtr
		}
		loc, at, err := add(f.Column, kind)
		if err == nil {
			err = bound(at, "field name", cmp.Or(f.Name, f.Column))
		}
		if err == nil {
			err = b.declareField(g, encField{fieldLoc: loc, path: cmp.Or(f.Name, f.Column), class: f.Class, kind: kind}, at)
		}
		if err != nil {
			return nil, err
		}
	}
	for _, ix := range spec.Indexes {
		loc, at, err := add(ix.Column, kindString)
		if err == nil {
			err = bound(at, "index name", cmp.Or(ix.Name, ix.Column))
		}
		if err != nil {
			return nil, err
		}
		d := indexDecl{
			dest: loc, path: ix.Column, name: cmp.Or(ix.Name, ix.Column), class: ix.Class,
			transforms: ix.Transforms, bits: ix.Bits, population: ix.Population, slow: ix.Slow,
		}
		if ix.Bits < 0 || ix.Bits > 256 {
			return nil, b.errAt(at, "bits=%d is not a number from 1 to 256", ix.Bits)
		}
		if ix.Population < 0 || ix.Population > maxPopulation {
			return nil, b.errAt(at, "population=%d is not a whole number from 1 to %d", ix.Population, int64(maxPopulation))
		}
		if len(ix.Sources) == 0 {
			return nil, b.errAt(at, "blind index has no source columns")
		}
		for _, src := range ix.Sources {
			// g.fields holds spec.Fields, in order.
			k := slices.IndexFunc(spec.Fields, func(f FieldSpec) bool { return f.Column == src })
			if k < 0 {
				return nil, b.errAt(at, "source column %q is not an encrypted column of the schema", src)
			}
			d.sources = append(d.sources, g.fields[k].fieldLoc)
			d.srcKinds = append(d.srcKinds, g.fields[k].kind)
			d.srcClasses = append(d.srcClasses, g.fields[k].class)
			d.srcNames = append(d.srcNames, src)
		}
		if err := b.declareIndex(g, d, at); err != nil {
			return nil, err
		}
	}
	for _, tk := range spec.Tokens {
		at := origin{field: tk.Name, path: tk.Name}
		switch {
		case tk.Name == "":
			return nil, fmt.Errorf("crypt: schema %s: token index with no name", spec.Record)
		case !utf8.ValidString(tk.Name):
			return nil, fmt.Errorf("crypt: schema %s: token index name %q is not valid UTF-8", spec.Record, tk.Name)
		}
		if k, ok := byColumn[tk.Name]; ok {
			what := "a column"
			if s.columns[k].kind == kindTokens {
				what = "another token index"
			}
			pe := b.errAt(at, "token index named %q, as is %s: a row holds its tokens under its name", tk.Name, what)
			pe.Other = tk.Name
			return nil, pe
		}
		loc, _, err := add(tk.Name, kindTokens)
		if err != nil {
			return nil, err
		}
		d := tokenDecl{
			dest: loc, path: tk.Name, name: tk.Name, class: tk.Class, kind: tk.Kind,
			transforms: tk.Transforms, bits: tk.Bits, minLen: tk.MinLen, maxLen: tk.MaxLen,
			n: tk.N, maxTokens: tk.MaxTokens, rangeType: tk.Type, rangeMin: tk.Min, rangeMax: tk.Max,
			step: tk.Step, scale: tk.Scale, precision: tk.Precision,
		}
		for _, src := range tk.Sources {
			k := slices.IndexFunc(spec.Fields, func(f FieldSpec) bool { return f.Column == src })
			if k < 0 {
				return nil, b.errAt(at, "source column %q is not an encrypted column of the schema", src)
			}
			d.sources = append(d.sources, tokenSource{fieldLoc: g.fields[k].fieldLoc, kind: g.fields[k].kind, path: src})
			d.srcClasses = append(d.srcClasses, g.fields[k].class)
		}
		if err := b.declareTokens(g, d, at); err != nil {
			return nil, err
		}
	}
	return b.finish(g)
}

// Spec returns (a copy of) the specification the schema was compiled from.
func (s *Schema) Spec() SchemaSpec { return s.spec.clone() }

// clone copies spec and the slices it holds.
func (spec SchemaSpec) clone() SchemaSpec {
	spec.IDs = slices.Clone(spec.IDs)
	spec.Fields = slices.Clone(spec.Fields)
	spec.Indexes = slices.Clone(spec.Indexes)
	for i := range spec.Indexes {
		spec.Indexes[i].Sources = slices.Clone(spec.Indexes[i].Sources)
	}
	spec.Tokens = slices.Clone(spec.Tokens)
	for i := range spec.Tokens {
		spec.Tokens[i].Sources = slices.Clone(spec.Tokens[i].Sources)
	}
	return spec
}

// load copies row into a new addressable [n]cell value.
func (s *Schema) load(row Row) (reflect.Value, error) {
	v := reflect.New(s.cells).Elem()
	cells := cellsOf(v)
	for i, col := range s.columns {
		if col.kind == kindTokens {
			continue // computed by EncryptRow, read by nothing
		}
		raw, ok := row[col.name]
		if !ok || raw == nil {
			continue
		}
		switch x := raw.(type) {
		case string:
			switch col.kind {
			case kindStringPtr:
				cells[i].StrPtr = &x
			case kindBytesPtr:
				b := []byte(x)
				cells[i].BytesPtr = &b
			default:
				cells[i].Str = x
			}
		case []byte:
			switch col.kind {
			case kindStringPtr:
				str := string(x)
				cells[i].StrPtr = &str
			case kindBytesPtr:
				b := bytes.Clone(x) // the row's slice is the caller's
				cells[i].BytesPtr = &b
			default:
				cells[i].Str = string(x)
			}
		default:
			return reflect.Value{}, fmt.Errorf("crypt: schema %s: column %s holds %T; want string, []byte or nil", s.spec.Record, col.name, raw)
		}
	}
	return v, nil
}

// store copies the cells of v back into row, and with tokens the token
// indexes' Tokens too.
func (s *Schema) store(v reflect.Value, row Row, tokens bool) {
	cells := cellsOf(v)
	for i, col := range s.columns {
		c := &cells[i]
		switch {
		case col.kind == kindTokens:
			if tokens {
				row[col.name] = c.Tokens
			}
		case col.kind == kindStringPtr && c.StrPtr == nil, col.kind == kindBytesPtr && c.BytesPtr == nil:
			row[col.name] = nil
		case col.kind == kindStringPtr:
			row[col.name] = *c.StrPtr
		case col.kind == kindBytesPtr:
			row[col.name] = *c.BytesPtr
		default:
			row[col.name] = c.Str
		}
	}
}

// EncryptRow is Encrypt for a row described by schema s: it encrypts the
// row's encrypted columns and computes its blind-index columns, in place.
// It sets row[name] to the [Tokens] of each token index of the schema
// (nil Tokens when its sources hold nothing), for the data layer to store.
func (e *Encryptor) EncryptRow(ctx context.Context, s *Schema, row Row) error {
	v, err := s.load(row)
	if err != nil {
		return err
	}
	if err := e.encryptValue(ctx, s.plan, v); err != nil {
		return err
	}
	s.store(v, row, true)
	return nil
}

// DecryptRow is Decrypt for a row described by schema s. As with Decrypt,
// an *AccessError leaves the columns of inaccessible classes encrypted and
// decrypts the rest.
func (e *Encryptor) DecryptRow(ctx context.Context, s *Schema, row Row) error {
	v, err := s.load(row)
	if err != nil {
		return err
	}
	_, err = e.decryptValue(ctx, s.plan, v, false)
	if err == nil || isAccessError(err) {
		s.store(v, row, false)
	}
	return err
}

// RowIndexValues is BlindIndexValues for a row: the values the blind-index
// column takes for the row's scope and (plaintext) source columns, one per
// enabled index key, the primary key's first.
func (e *Encryptor) RowIndexValues(ctx context.Context, s *Schema, row Row, column string) ([]string, error) {
	i := slices.IndexFunc(s.columns, func(c schemaColumn) bool { return c.name == column })
	if i < 0 {
		return nil, fmt.Errorf("%w: schema %s has no column %q", ErrUnknownIndex, s.spec.Record, column)
	}
	// By the index's column only: an index may be named like another
	// column.
	j := slices.IndexFunc(s.plan.root.indexes, func(ix indexField) bool { return ix.path == column })
	if j < 0 {
		return nil, fmt.Errorf("%w: column %s of schema %s is not a blind index", ErrUnknownIndex, column, s.spec.Record)
	}
	ix := &s.plan.root.indexes[j]
	v, err := s.load(row)
	if err != nil {
		return nil, err
	}
	return e.indexValues(ctx, s.plan, v, ix)
}

// DecryptRowMigrating is DecryptMigrating for a row: columns holding legacy
// plaintext are left as they are and reported.
func (e *Encryptor) DecryptRowMigrating(ctx context.Context, s *Schema, row Row) ([]string, error) {
	v, err := s.load(row)
	if err != nil {
		return nil, err
	}
	legacy, err := e.decryptValue(ctx, s.plan, v, true)
	if err == nil || isAccessError(err) {
		s.store(v, row, false)
	}
	return legacy, err
}

// DataClass returns the class of the encrypted column f: its Class, or
// keyring.DefaultClass.
func (f FieldSpec) DataClass() string { return cmp.Or(f.Class, keyring.DefaultClass) }

// IndexClass returns the class whose index keyset computes ix: its Class,
// or the class of its first source (NewSchema refuses sources of
// different classes, and a Class other than theirs).
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
