package crypt

import (
	"fmt"
	"reflect"
	"slices"
	"sync"

	"github.com/fieldcrypt/fieldcrypt/crypt/blind"
	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// A plan is what fieldcrypt knows about a struct type: where its scope and
// identity fields are, which fields it encrypts under which class, and which
// blind indexes it computes. Plans are computed once per type and cached, as
// encoding/json caches its field lists.
type plan struct {
	typ    reflect.Type
	record string    // record type bound into associated data
	scope  *fieldLoc // the scope field; nil: keyring.DefaultScope
	ids    []idField
	root   group

	// The classes whose data and index keysets the type uses; fields refer
	// to them by position, so a call looks each keyset up once.
	dataClasses, indexClasses []string
	indexes                   map[string]*indexField // blind indexes outside slices, by Go field path and by name
}

// group is the fields reachable from one struct value without crossing a
// slice: the record itself, or one element of a slice of structs.
type group struct {
	fields  []encField
	indexes []indexField
	slices  []sliceField
}

type fieldKind uint8

const (
	kindString fieldKind = iota
	kindBytes
	kindStringPtr
	kindBytesPtr
)

type encField struct {
	fieldLoc // from the group's struct, through structs and pointers to structs
	path     string
	class    string
	classIdx int // position of class in plan.dataClasses
	kind     fieldKind
}

type idField struct {
	fieldLoc
	name string
	text bool // a string field; otherwise an integer
}

type indexField struct {
	fieldLoc   // the destination string field
	path       string
	name       string // bound into the index's subkey
	class      string
	classIdx   int // position of class in plan.indexClasses
	sources    []fieldLoc
	srcKinds   []fieldKind
	transforms []blind.Transform
	bits       int
	slow       bool
}

type sliceField struct {
	index   []int
	path    string // the slice's path, such as "Addresses[]." (element fields carry it already)
	ptrElem bool
	elem    *group
}

// DefaultBits is the length of a blind index that sets no bits=. Use
// blind.Recommend to choose one for your population.
const DefaultBits = 16

var plans sync.Map // reflect.Type → *plan or error

// planFor returns the cached plan of struct type t.
func planFor(t reflect.Type) (*plan, error) {
	if v, ok := plans.Load(t); ok {
		if err, ok := v.(error); ok {
			return nil, err
		}
		return v.(*plan), nil
	}
	p, err := buildPlan(t, "")
	if err != nil {
		plans.Store(t, err)
		return nil, err
	}
	v, _ := plans.LoadOrStore(t, p)
	return v.(*plan), nil
}

// Validate checks that the type of v (a struct or a pointer to one) has
// valid crypt tags and supported field types, and caches its plan. Call it
// at startup to fail fast; Encrypt and Decrypt call it too.
func Validate(v any) error {
	t := reflect.TypeOf(v)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return &InvalidArgumentError{Type: reflect.TypeOf(v)}
	}
	_, err := planFor(t)
	return err
}

type planner struct {
	p        *plan
	visiting []reflect.Type
}

// buildPlan walks struct type t. record, when not empty, names the record
// type instead of the type's name or record= tag.
func buildPlan(t reflect.Type, record string) (*plan, error) {
	b := &planner{p: &plan{typ: t, record: t.Name(), indexes: make(map[string]*indexField)}}
	g, err := b.group(t, nil, "", false)
	if err != nil {
		return nil, err
	}
	locateGroup(g, t)
	b.p.numberClasses(g)
	if b.p.scope != nil {
		*b.p.scope = newFieldLoc(t, b.p.scope.index)
	}
	for i := range b.p.ids {
		b.p.ids[i].fieldLoc = newFieldLoc(t, b.p.ids[i].index)
	}
	b.p.root = *g
	if record != "" {
		b.p.record = record
	}
	if b.p.record == "" {
		return nil, &PlanError{Type: t, Field: "_", Msg: "anonymous struct types need a record name: add `_ struct{} `crypt:\"record=NAME\"``"}
	}
	for i := range b.p.root.indexes {
		ix := &b.p.root.indexes[i]
		b.p.indexes[ix.path] = ix
		b.p.indexes[ix.name] = ix
	}
	return b.p, nil
}

func isBytes(t reflect.Type) bool {
	return t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8
}

func encKind(t reflect.Type) (fieldKind, bool) {
	switch {
	case t.Kind() == reflect.String:
		return kindString, true
	case isBytes(t):
		return kindBytes, true
	case t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.String:
		return kindStringPtr, true
	case t.Kind() == reflect.Pointer && isBytes(t.Elem()):
		return kindBytesPtr, true
	}
	return 0, false
}

// group walks struct type t. index and path are the position of t within
// the group's root; inSlice is set inside slice elements, where scope and id
// fields are not allowed.
func (b *planner) group(t reflect.Type, index []int, path string, inSlice bool) (*group, error) {
	if slices.Contains(b.visiting, t) {
		return nil, &PlanError{Type: t, Field: "", Msg: "recursive struct types are not supported"}
	}
	b.visiting = append(b.visiting, t)
	defer func() { b.visiting = b.visiting[:len(b.visiting)-1] }()

	g := &group{}
	var blinds []struct {
		f   reflect.StructField
		tag tag
	}
	for i := range t.NumField() {
		f := t.Field(i)
		fail := func(format string, args ...any) (*group, error) {
			return nil, &PlanError{Type: t, Field: f.Name, Msg: fmt.Sprintf(format, args...)}
		}
		raw, tagged := f.Tag.Lookup(tagKey)
		tg, err := parseTag(raw)
		if err != nil {
			return fail("bad crypt tag %q: %v", raw, err)
		}
		if tg.kind == tagSkip {
			continue
		}
		if tg.kind == tagRecord {
			if f.Name != "_" || index != nil || inSlice {
				return fail("record= belongs on a blank field `_ struct{}` of the top-level struct")
			}
			b.p.record = tg.record
			continue
		}
		if !f.IsExported() && !f.Anonymous {
			if tagged && tg.kind != tagNone {
				return fail("crypt tag on an unexported field")
			}
			continue
		}
		fi := append(slices.Clone(index), i)
		name := f.Name
		if tg.name != "" {
			name = tg.name
		}
		fpath := path + name
		switch tg.kind {
		case tagScope:
			if inSlice {
				return fail("scope field inside a slice element")
			}
			if f.Type.Kind() != reflect.String {
				return fail("scope field must be a string, not %v", f.Type)
			}
			if b.p.scope != nil {
				return fail("second scope field; a record has one scope")
			}
			b.p.scope = &fieldLoc{index: fi}
		case tagID:
			if inSlice {
				return fail("id field inside a slice element")
			}
			if !isIDKind(f.Type.Kind()) {
				return fail("id field must be a string or an integer, not %v", f.Type)
			}
			b.p.ids = append(b.p.ids, idField{fieldLoc: fieldLoc{index: fi}, name: name, text: f.Type.Kind() == reflect.String})
		case tagEncrypt:
			kind, ok := encKind(f.Type)
			if !ok {
				return fail("encrypt needs a string, []byte, *string or *[]byte field, not %v (encrypted values are stored in place; keep other types in a string field)", f.Type)
			}
			class := tg.class
			if class == "" {
				class = keyring.DefaultClass
			}
			g.fields = append(g.fields, encField{fieldLoc: fieldLoc{index: fi}, path: fpath, class: class, kind: kind})
		case tagBlind:
			if f.Type.Kind() != reflect.String {
				return fail("blind index field must be a string (it holds hex), not %v", f.Type)
			}
			blinds = append(blinds, struct {
				f   reflect.StructField
				tag tag
			}{f, tg})
		case tagNone:
			if err := b.nested(g, t, f, fi, path, inSlice); err != nil {
				return nil, err
			}
		}
	}
	for _, bl := range blinds {
		if err := b.blindIndex(g, t, bl.f, bl.tag, index, path); err != nil {
			return nil, err
		}
	}
	return g, nil
}

func isIDKind(k reflect.Kind) bool {
	switch k {
	case reflect.String, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	}
	return false
}

// nested folds an untagged struct-typed field into g: a struct or pointer
// to struct joins the group (embedded fields keep their parent's path, as
// encoding/json promotes them); a slice of structs becomes a sliceField.
func (b *planner) nested(g *group, parent reflect.Type, f reflect.StructField, fi []int, path string, inSlice bool) error {
	ft := f.Type
	if ft.Kind() == reflect.Pointer {
		ft = ft.Elem()
	}
	childPath := path + f.Name + "."
	if f.Anonymous {
		childPath = path
	}
	switch {
	case ft.Kind() == reflect.Struct:
		if !hasCryptTags(ft, nil) {
			return nil // time.Time and other plain structs
		}
		if slices.Contains(b.visiting, ft) {
			return recursive(parent, f)
		}
		sub, err := b.group(ft, fi, childPath, inSlice)
		if err != nil {
			return err
		}
		g.fields = append(g.fields, sub.fields...)
		g.indexes = append(g.indexes, sub.indexes...)
		g.slices = append(g.slices, sub.slices...)
	case ft.Kind() == reflect.Slice || ft.Kind() == reflect.Array:
		et := ft.Elem()
		ptr := et.Kind() == reflect.Pointer
		if ptr {
			et = et.Elem()
		}
		if et.Kind() != reflect.Struct || !hasCryptTags(et, nil) {
			return nil
		}
		if ft.Kind() == reflect.Array || f.Type.Kind() == reflect.Pointer {
			return &PlanError{Type: parent, Field: f.Name, Msg: "only slices of structs (or of pointers to structs) are supported, not " + f.Type.String()}
		}
		if slices.Contains(b.visiting, et) {
			return recursive(parent, f)
		}
		elem, err := b.group(et, nil, path+f.Name+"[].", true)
		if err != nil {
			return err
		}
		g.slices = append(g.slices, sliceField{index: fi, path: path + f.Name + "[].", ptrElem: ptr, elem: elem})
	case ft.Kind() == reflect.Map && hasCryptTagsDeep(ft.Elem()):
		return &PlanError{Type: parent, Field: f.Name, Msg: "maps of tagged structs are not supported; use a slice"}
	}
	return nil
}

// recursive reports field f of parent, whose type leads back to a struct
// being planned.
func recursive(parent reflect.Type, f reflect.StructField) error {
	return &PlanError{Type: parent, Field: f.Name, Msg: "recursive struct types are not supported: " + f.Type.String() + " leads back to a struct that contains it"}
}

func hasCryptTagsDeep(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	return t.Kind() == reflect.Struct && hasCryptTags(t, nil)
}

// hasCryptTags reports whether struct type t or a struct it contains has a
// crypt tag.
func hasCryptTags(t reflect.Type, seen []reflect.Type) bool {
	if slices.Contains(seen, t) {
		return false
	}
	seen = append(seen, t)
	for i := range t.NumField() {
		f := t.Field(i)
		if _, ok := f.Tag.Lookup(tagKey); ok {
			return true
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice || ft.Kind() == reflect.Array {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && hasCryptTags(ft, seen) {
			return true
		}
	}
	return false
}

// blindIndex adds the blind index declared on field f of struct t.
func (b *planner) blindIndex(g *group, t reflect.Type, f reflect.StructField, tg tag, index []int, path string) error {
	fail := func(format string, args ...any) error {
		return &PlanError{Type: t, Field: f.Name, Msg: fmt.Sprintf(format, args...)}
	}
	ts, err := blind.ParseTransforms(tg.transforms)
	if err != nil {
		return fail("%v", err)
	}
	name := path + f.Name
	if tg.name != "" {
		name = tg.name
	}
	ix := indexField{
		fieldLoc:   fieldLoc{index: append(slices.Clone(index), f.Index...)},
		path:       path + f.Name,
		name:       name,
		class:      tg.class,
		transforms: ts,
		bits:       tg.bits,
		slow:       tg.slow,
	}
	if ix.bits == 0 {
		ix.bits = DefaultBits
	}
	srcClass := ""
	for _, src := range tg.sources {
		sf, ok := t.FieldByName(src)
		if !ok || !sf.IsExported() {
			return fail("blind index source %q is not an exported field of %v", src, t)
		}
		kind, ok := encKind(sf.Type)
		if !ok {
			return fail("blind index source %s must be a string, []byte, *string or *[]byte, not %v", src, sf.Type)
		}
		si := append(slices.Clone(index), sf.Index...)
		for _, ef := range g.fields {
			if slices.Equal(ef.index, si) {
				if srcClass != "" && srcClass != ef.class && tg.class == "" {
					return fail("blind index sources are in classes %q and %q; name the index's class with class=", srcClass, ef.class)
				}
				srcClass = ef.class
			}
		}
		ix.sources = append(ix.sources, fieldLoc{index: si})
		ix.srcKinds = append(ix.srcKinds, kind)
	}
	if ix.class == "" {
		ix.class = srcClass
	}
	if ix.class == "" {
		ix.class = keyring.DefaultClass
	}
	g.indexes = append(g.indexes, ix)
	return nil
}

// locateGroup computes where g's fields sit within its struct type root,
// and its slices' element groups within theirs.
func locateGroup(g *group, root reflect.Type) {
	for i := range g.fields {
		g.fields[i].fieldLoc = newFieldLoc(root, g.fields[i].index)
	}
	for i := range g.indexes {
		ix := &g.indexes[i]
		ix.fieldLoc = newFieldLoc(root, ix.index)
		for k := range ix.sources {
			ix.sources[k] = newFieldLoc(root, ix.sources[k].index)
		}
	}
	for i := range g.slices {
		t := root
		for _, x := range g.slices[i].index {
			if t.Kind() == reflect.Pointer {
				t = t.Elem()
			}
			t = t.Field(x).Type
		}
		t = t.Elem() // the slice's element type
		if t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		locateGroup(g.slices[i].elem, t)
	}
}

// numberClasses lists the classes g and its slices use and gives each field
// and index the position of its class.
func (p *plan) numberClasses(g *group) {
	number := func(list *[]string, class string) int {
		if i := slices.Index(*list, class); i >= 0 {
			return i
		}
		*list = append(*list, class)
		return len(*list) - 1
	}
	for i := range g.fields {
		g.fields[i].classIdx = number(&p.dataClasses, g.fields[i].class)
	}
	for i := range g.indexes {
		g.indexes[i].classIdx = number(&p.indexClasses, g.indexes[i].class)
	}
	for i := range g.slices {
		p.numberClasses(g.slices[i].elem)
	}
}
