package sqlcrypt

import (
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

// columns is what sqlcrypt knows of a record type: the column each stored
// field reads and writes, and which of them the crypt tags give a role.
// It is computed once per type and cached, as crypt caches its plans.
type columns struct {
	typ       reflect.Type
	list      []column
	byName    map[string]int // column name → index in list
	byFold    map[string]int // lower-cased column name → index in list, for names unique that way
	scope     int            // index in list of the crypt:"scope" field; -1 without one or without its column
	scopePath []int          // the index path of the crypt:"scope" field, column or not; nil without one
	bound     []int          // indexes in list of the scope and crypt:"id" fields
	ids       []int          // indexes in list of the crypt:"id" fields
	indexes   map[string]int // blind-index name (Go name and name= option) → index in list
	tokens    []tokenField   // the token indexes (crypt.Tokens fields), in field order
}

// column is one stored field.
type column struct {
	name      string   // the column, as crypt.ColumnOf names the field
	field     string   // the Go field name
	index     []int    // the field's index path, through embedded structs
	encrypted bool     // tagged crypt:"encrypt"
	sources   []string // for a blind index: the Go names of its source fields (blind=F+G)
}

var columnCache sync.Map // reflect.Type → *columns

// columnsOf returns the columns of struct type t. An error is a
// *ColumnError naming the fields at fault.
func columnsOf(t reflect.Type) (*columns, error) {
	if c, ok := columnCache.Load(t); ok {
		return c.(*columns), nil
	}
	c := &columns{typ: t, byName: map[string]int{}, byFold: map[string]int{}, scope: -1, indexes: map[string]int{}}
	if err := c.walk(t, nil); err != nil {
		return nil, err
	}
	c.scopePath = findScope(t, nil, map[reflect.Type]bool{t: true})
	c.tokens = findTokens(t, nil, "", map[reflect.Type]bool{t: true}, nil)
	if err := sameSideTable(t, c.tokens); err != nil {
		return nil, err
	}
	folded := map[string]int{}
	for _, col := range c.list {
		folded[strings.ToLower(col.name)]++
	}
	for i, col := range c.list {
		if k := strings.ToLower(col.name); folded[k] == 1 {
			c.byFold[k] = i
		}
	}
	got, _ := columnCache.LoadOrStore(t, c)
	return got.(*columns), nil
}

// walk adds the fields of struct type t, found at the index path prefix,
// flattening anonymous embedded structs as pgx's RowToStructByName does.
func (c *columns) walk(t reflect.Type, prefix []int) error {
	for i := range t.NumField() {
		f := t.Field(i)
		index := append(append([]int(nil), prefix...), i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			if err := c.walk(f.Type, index); err != nil {
				return err
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		name, ok := crypt.ColumnOf(f)
		if f.Type == tokensType && tokenKinds[directive(f)] && (ok || f.Tag.Get("db") != "-") {
			// pgx's RowToStructByName reads db tags only: a field without
			// db:"-" is a column it looks for in every result.
			col := name
			if !ok {
				col, _ = crypt.ColumnOf(reflect.StructField{Name: f.Name})
			}
			return &ColumnError{Type: c.typ, Column: col, Msg: "field " + f.Name + ` is a crypt.Tokens, which is stored in a side table of its own, not in a column: tag it db:"-" (and gorm:"-" for GORM)`}
		}
		if !ok {
			continue
		}
		if j, dup := c.byName[name]; dup {
			return &ColumnError{Type: c.typ, Column: name, Msg: "fields " + c.list[j].field + " and " + f.Name + " both name it"}
		}
		n := len(c.list)
		c.list = append(c.list, column{name: name, field: f.Name, index: index})
		c.byName[name] = n
		c.addRole(f, n)
	}
	return nil
}

// addRole records what the crypt tag of f, the column at list[n], makes of
// it. Only the directive and the name= option are read: package crypt
// parses and checks the whole tag (every entry point calls it first).
func (c *columns) addRole(f reflect.StructField, n int) {
	switch directive(f) {
	case "scope":
		c.scope = n
		c.bound = append(c.bound, n)
	case "id":
		c.bound = append(c.bound, n)
		c.ids = append(c.ids, n)
	case "encrypt":
		c.list[n].encrypted = true
	case "blind":
		c.indexes[f.Name] = n
		first, opts, _ := strings.Cut(f.Tag.Get("crypt"), ",")
		_, srcs, _ := strings.Cut(first, "=")
		c.list[n].sources = strings.Split(srcs, "+")
		for opt := range strings.SplitSeq(opts, ",") {
			if name, ok := strings.CutPrefix(opt, "name="); ok && name != "" {
				c.indexes[name] = n
			}
		}
	}
}

// findScope returns the index path of the crypt:"scope" field of struct
// type t, wherever the planner of package crypt would find it: in t or in a
// struct or pointer to struct it holds (not in a slice element, nor in a
// held record, which has a scope of its own). It is nil when there is none.
func findScope(t reflect.Type, prefix []int, seen map[reflect.Type]bool) []int {
	for i := range t.NumField() {
		f := t.Field(i)
		index := append(append([]int(nil), prefix...), i)
		if directive(f) == "scope" {
			return index
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() != reflect.Struct || seen[ft] || isRecord(ft) {
			continue
		}
		seen[ft] = true
		if p := findScope(ft, index, seen); p != nil {
			return p
		}
	}
	return nil
}

// isRecord reports whether struct type t declares a record type of its own
// (a blank field tagged crypt:"record=...").
func isRecord(t reflect.Type) bool {
	for i := range t.NumField() {
		if f := t.Field(i); f.Name == "_" && directive(f) == "record" {
			return true
		}
	}
	return false
}

// directive returns the directive of the crypt tag of f: "scope", "id",
// "encrypt", "blind", "record", "-" or "".
func directive(f reflect.StructField) string {
	first, _, _ := strings.Cut(f.Tag.Get("crypt"), ",")
	key, _, _ := strings.Cut(first, "=")
	return key
}

// lookup returns the field of the result column name: the column of that
// name, else the one whose name differs from it only in case (databases
// report unquoted names in their own case).
func (c *columns) lookup(name string) (int, bool) {
	if i, ok := c.byName[name]; ok {
		return i, true
	}
	i, ok := c.byFold[strings.ToLower(name)]
	return i, ok
}

// reads returns the columns a filter over an index reads: those holding
// its sources, named as the crypt tag names them (relative to holder,
// the index path of the struct that holds the index: "Email",
// "Emails[].Address"), and the scope column. A source without a column
// of its own (a field of a named nested struct is part of its parent's)
// counts through the column that holds it; one with no column at all is
// left out.
func (c *columns) reads(holder []int, sources []string) []int {
	t := c.typ
	for _, i := range holder {
		t = t.Field(i).Type
		if t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
	}
	var out []int
	for _, src := range sources {
		name, _, _ := strings.Cut(src, ".")
		name, _, _ = strings.Cut(name, "[")
		f, ok := t.FieldByName(name)
		if !ok {
			continue
		}
		path := append(slices.Clone(holder), f.Index...)
		for j, col := range c.list {
			if len(col.index) <= len(path) && slices.Equal(col.index, path[:len(col.index)]) && !slices.Contains(out, j) {
				out = append(out, j)
			}
		}
	}
	if c.scope >= 0 && !slices.Contains(out, c.scope) {
		out = append(out, c.scope)
	}
	return out
}

// fieldsFor maps column names, in order, to fields: the columns of a
// result when reading, a column list when writing. encrypted reports
// whether one of them is encrypted. Every column needs a field, and none
// may appear twice. A result that holds an encrypted
// column must also hold the scope and identity columns, which every
// ciphertext is bound to: without them each value would fail to decrypt
// with an error that could not say why.
func (c *columns) fieldsFor(names []string, reading bool) (fields []int, encrypted bool, err error) {
	where := "the column list"
	if reading {
		where = "the result"
	}
	out := make([]int, len(names))
	seen := make([]bool, len(c.list))
	for k, name := range names {
		i, ok := c.lookup(name)
		if !ok {
			return nil, false, &ColumnError{Type: c.typ, Column: name, Msg: where + " names it and no field of the struct has it (see crypt.ColumnOf)"}
		}
		if seen[i] {
			return nil, false, &ColumnError{Type: c.typ, Column: name, Msg: where + " names it twice"}
		}
		seen[i] = true
		out[k] = i
		encrypted = encrypted || c.list[i].encrypted
	}
	if encrypted {
		for _, i := range c.bound {
			if seen[i] {
				continue
			}
			if reading {
				return nil, false, &ColumnError{Type: c.typ, Column: c.list[i].name, Msg: "the result lacks it, and it holds " +
					c.list[i].field + ", which is bound into every ciphertext of the record: select it too"}
			}
			return nil, false, &ColumnError{Type: c.typ, Column: c.list[i].name, Msg: "the column list lacks it, and it holds " +
				c.list[i].field + ", which is bound into every ciphertext of the record: a row written without it would not decrypt"}
		}
	}
	if !reading {
		if err := c.indexesWritten(seen); err != nil {
			return nil, false, err
		}
	}
	return out, encrypted, nil
}

// indexesWritten checks that a column list that writes a blind index's
// source column writes the index column too: a row written without its
// index value is one that a search by the index never finds.
func (c *columns) indexesWritten(seen []bool) error {
	for i, col := range c.list {
		if col.sources == nil || seen[i] {
			continue
		}
		for j, src := range c.list {
			if seen[j] && slices.Contains(col.sources, src.field) {
				return &ColumnError{Type: c.typ, Column: col.name, Msg: "the column list lacks it and writes " + strconv.Quote(src.name) +
					", its blind index's source: a search by the index would not find the row"}
			}
		}
	}
	return nil
}

// field returns the field at list[i] of the struct value rv.
func (c *columns) field(rv reflect.Value, i int) reflect.Value {
	return rv.FieldByIndex(c.list[i].index)
}

// structType returns the struct type T is or points to, and whether T is
// a pointer; a type that is neither is a *crypt.InvalidArgumentError.
func structType[T any]() (reflect.Type, bool, error) {
	t := reflect.TypeFor[T]()
	ptr := t.Kind() == reflect.Pointer
	if ptr {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil, false, &crypt.InvalidArgumentError{Type: reflect.TypeFor[T]()}
	}
	return t, ptr, nil
}

// addr returns a pointer to the record v: v itself when T is a pointer
// type, its address otherwise.
func addr[T any](v *T, ptr bool) any {
	if ptr {
		return *v
	}
	return v
}
