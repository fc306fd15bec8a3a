package crypt

import (
	"cmp"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
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
	tokens                    map[string]*tokenField // token indexes, by Go field path and by name; nil when none

	// unbound is set when the record opted out of identity binding.
	unbound bool

	// assocs are the fields that hold records of their own (assoc.go).
	assocs []assocField

	// mayShare is set when two fields could reach the same memory: a
	// field or index behind a pointer or in a slice element. Encrypt then
	// checks that it writes no memory twice (checkShared).
	mayShare bool

	// warnings are the planner's advice on blind-index widths: a bits=
	// outside the safe range for the index's declared population=.
	warnings []string
}

// group is the fields reachable from one struct value without crossing a
// slice: the record itself, or one element of a slice of structs.
type group struct {
	fields  []encField
	indexes []indexField
	tokens  []tokenField // token indexes: only in the record's group, never a slice element's
	slices  []sliceField
	ifaces  []ifaceField // fields that can hold values behind interfaces (hidden.go)
}

type fieldKind uint8

const (
	kindString fieldKind = iota
	kindBytes
	kindStringPtr
	kindBytesPtr
	kindTokens // a token index's Tokens field (tokens.go); never encrypted
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
	spelled    string // the transforms as declared, such as "lower+trim"
	bits       int
	population int64 // as declared; 0 when not
	slow       bool
}

type sliceField struct {
	index   []int
	path    string // the slice's path, such as "Addresses[]." (element fields carry it already)
	ptrElem bool
	elem    *group
}

// LegacyDefaultBits is the width blind indexes had, before this version,
// when their tag set no bits=. Every index now states its width (bits=) or
// its population (population=, and the planner picks the width): a fixed
// default leaks for small populations. An index written by an earlier
// version without bits= keeps working with bits=16.
const LegacyDefaultBits = 16

var plans sync.Map // reflect.Type → *plan or error

// planFor returns the cached plan of struct type t.
func planFor(t reflect.Type) (*plan, error) {
	if v, ok := plans.Load(t); ok {
		if err, ok := v.(error); ok {
			return nil, err
		}
		return v.(*plan), nil
	}
	p, err := buildPlan(t)
	if err != nil {
		plans.Store(t, err)
		return nil, err
	}
	v, loaded := plans.LoadOrStore(t, p)
	if !loaded {
		for _, w := range p.warnings {
			slog.Warn("fieldcrypt: blind index width outside the planner's safe range", "warning", w)
		}
	}
	return v.(*plan), nil
}

// IndexWarnings returns the planner's advice on the blind indexes of the
// type of v (a struct or a pointer to one): for each index whose bits= is
// outside the safe range for its declared population=, what is wrong (it
// leaks, or it matches too many rows). Validate logs the same warnings
// through slog.Default, once per type. An index without population= draws
// no advice: size it with blind.Recommend.
func IndexWarnings(v any) ([]string, error) {
	t := reflect.TypeOf(v)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil, &InvalidArgumentError{Type: reflect.TypeOf(v)}
	}
	p, err := planFor(t)
	if err != nil {
		return nil, err
	}
	return slices.Clone(p.warnings), nil
}

// Validate checks that the type of v (a struct or a pointer to one) has
// valid crypt tags and supported field types, and caches its plan. Call it
// at startup to fail fast; Encrypt and Decrypt call it too. The record
// types v holds (fields of types that declare their own record=) are
// validated with it. A blind index
// whose bits= is outside the safe range for its population= is not an
// error: Validate logs the planner's warning (see IndexWarnings).
func Validate(v any) error {
	t := reflect.TypeOf(v)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return &InvalidArgumentError{Type: reflect.TypeOf(v)}
	}
	return validateTree(t, nil)
}

// validateTree plans t and every record type it holds.
func validateTree(t reflect.Type, seen []reflect.Type) error {
	if slices.Contains(seen, t) {
		return nil
	}
	p, err := planFor(t)
	if err != nil {
		return err
	}
	if len(p.assocs) == 0 {
		return nil
	}
	seen = append(seen, t)
	for _, a := range p.assocs {
		ft := t.FieldByIndex(a.index[:1]).Type
		for _, x := range a.index[1:] {
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			ft = ft.Field(x).Type
		}
		for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
			ft = ft.Elem()
		}
		if err := validateTree(ft, seen); err != nil {
			return err
		}
	}
	return nil
}

// A planner compiles a record description into a plan. It has two front
// ends that declare the same things through the same methods (declareScope,
// declareID, declareField, declareIndex): the struct-tag walker below, and
// Schema.compile for a SchemaSpec. Every check on bindings, classes and index
// widths lives in those methods, so tags and specs are held to the same rules.
type planner struct {
	p        *plan
	spec     bool // compiling a SchemaSpec: fields are columns
	visiting []reflect.Type

	// The field that holds each binding, so that a second field bound the
	// same way is refused with both named (see claim).
	encPaths   map[string]origin // encrypted fields' paths, in associated data
	idNames    map[string]origin // identity names, in associated data
	indexNames map[string]origin // blind-index names, in subkey derivation
	indexPaths map[string]origin // blind-index fields' paths
	firstEnc   *origin           // the first encrypted field, for the no-identity error

	// tokenIndexes are the token indexes among the origins of indexNames
	// and indexPaths, so that a conflict with one says so.
	tokenIndexes map[origin]bool
}

// origin is a field that binds something: the struct holding it, its Go
// field name, and its Go path from the record (or slice element), such as
// "Billing.ZipIdx"; errors give the path when the field is nested. For a
// SchemaSpec, typ is nil and field and path are the column.
type origin struct {
	typ   reflect.Type
	field string
	path  string
}

func newPlanner(t reflect.Type, spec bool) *planner {
	return &planner{
		p:          &plan{typ: t, indexes: make(map[string]*indexField)},
		spec:       spec,
		encPaths:   map[string]origin{},
		idNames:    map[string]origin{},
		indexNames: map[string]origin{},
		indexPaths: map[string]origin{},

		tokenIndexes: map[origin]bool{},
	}
}

// errAt is a *PlanError about the field o.
func (b *planner) errAt(o origin, format string, args ...any) *PlanError {
	pe := &PlanError{Type: o.typ, Field: o.field, Msg: fmt.Sprintf(format, args...)}
	if b.spec {
		pe.Schema = b.p.record
	}
	return pe
}

// finish completes the plan once every field is declared.
func (b *planner) finish(g *group) (*plan, error) {
	b.p.root = *g
	if err := b.checkIdentity(); err != nil {
		return nil, err
	}
	b.p.numberClasses(&b.p.root)
	b.checkCombined(&b.p.root)
	for i := range b.p.root.indexes {
		ix := &b.p.root.indexes[i]
		b.p.indexes[ix.path] = ix
		b.p.indexes[ix.name] = ix
	}
	if len(b.p.root.tokens) > 0 {
		b.p.tokens = make(map[string]*tokenField, 2*len(b.p.root.tokens))
	}
	for i := range b.p.root.tokens {
		tf := &b.p.root.tokens[i]
		b.p.tokens[tf.path] = tf
		b.p.tokens[tf.name] = tf
	}
	return b.p, nil
}

// checkCombined warns when several single-source indexes of one field
// (such as a full e-mail index and a domain index) together keep more bits
// than the field's declared population allows: a database reader can
// intersect them (blind.CheckCombined). The population is the smallest any
// of them declares; without one there is nothing to check against.
// Compound indexes are left out: their population is of the combination.
func (b *planner) checkCombined(g *group) {
	type field struct {
		name       string
		bits       []int
		population int64
	}
	var byField []*field
	lookup := func(loc fieldLoc) *field {
		key := fmt.Sprint(loc.index, loc.off)
		for _, f := range byField {
			if f.name == key {
				return f
			}
		}
		return nil
	}
	find := func(loc fieldLoc) *field {
		if f := lookup(loc); f != nil {
			return f
		}
		f := &field{name: fmt.Sprint(loc.index, loc.off)}
		byField = append(byField, f)
		return f
	}
	for i := range g.indexes {
		ix := &g.indexes[i]
		if len(ix.sources) != 1 {
			continue
		}
		f := find(ix.sources[0])
		f.bits = append(f.bits, ix.bits)
		if ix.population > 0 && (f.population == 0 || ix.population < f.population) {
			f.population = ix.population
		}
	}
	for _, f := range byField {
		if len(f.bits) < 2 || f.population == 0 {
			continue
		}
		var names []string
		for i := range g.indexes {
			if ix := &g.indexes[i]; len(ix.sources) == 1 && lookup(ix.sources[0]) == f {
				names = append(names, ix.path)
			}
		}
		src := "one field"
		for _, ef := range g.fields {
			if lookup(ef.fieldLoc) == f {
				src = ef.path
			}
		}
		for _, w := range blind.CheckCombined(f.bits, float64(f.population)).Warnings {
			b.p.warnings = append(b.p.warnings, fmt.Sprintf("%s, indexes of %s: %s", strings.Join(names, " and "), src, w))
		}
	}
	for i := range g.slices {
		b.checkCombined(g.slices[i].elem)
	}
}

// declareScope declares the scope field.
func (b *planner) declareScope(loc fieldLoc, o origin) error {
	if b.p.scope != nil {
		return b.errAt(o, "second scope field; a record has one scope")
	}
	b.p.scope = &loc
	return nil
}

// declareID declares an identity field bound under name.
func (b *planner) declareID(loc fieldLoc, name string, text bool, o origin) error {
	if err := b.claim(b.idNames, name, o, idNameTaken); err != nil {
		return err
	}
	b.p.ids = append(b.p.ids, idField{fieldLoc: loc, name: name, text: text})
	return nil
}

// declareField declares an encrypted field of g, bound under f.path.
func (b *planner) declareField(g *group, f encField, o origin) error {
	f.class = cmp.Or(f.class, keyring.DefaultClass)
	if err := checkClass(f.class); err != nil {
		return b.errAt(o, "%v", err)
	}
	if err := b.claim(b.encPaths, f.path, o, encPathTaken); err != nil {
		return err
	}
	if b.firstEnc == nil {
		b.firstEnc = &o
	}
	g.fields = append(g.fields, f)
	return nil
}

// checkClass refuses a class name no keyset can have, at plan time rather
// than at the first record.
func checkClass(class string) error {
	return keyring.KeysetID{Scope: keyring.DefaultScope, Class: class, Purpose: keyring.PurposeData}.Validate()
}

// indexDecl is a blind index as a front end declares it.
type indexDecl struct {
	dest       fieldLoc
	path, name string
	class      string // "": the class of its encrypted sources
	transforms string
	bits       int
	population int64
	slow       bool
	sources    []fieldLoc
	srcKinds   []fieldKind
	srcClasses []string // each source's class; "" for a source that is not encrypted
	srcNames   []string // each source's Go field name, or column
}

// indexClass settles the class of a blind or token index (what) from the
// class it declares ("" for none) and its sources' classes ("" for a
// source that is not encrypted): the class its encrypted sources share,
// which the declared one must be if given; for an index of plaintext
// sources only, the declared class, else the default. An index is
// computed under its class's index keyset, and whoever holds that keyset
// can compute it for any value they guess (and read pieces of the value
// from a token index's tokens). An index of another class than one of its
// encrypted sources would let a role without that source's class, such as
// support without the pii KEK, learn it: that, and encrypted sources of
// two classes, are refused.
func (b *planner) indexClass(what, declared string, srcClasses, srcNames []string, o origin) (string, error) {
	if declared != "" {
		if err := checkClass(declared); err != nil {
			return "", b.errAt(o, "%v", err)
		}
	}
	// Sources' classes were checked when they were declared.
	class, from := declared, -1 // from: the source class was taken from; -1 for class=
	for i, c := range srcClasses {
		switch {
		case c == "" || c == class:
		case class == "":
			class, from = c, i
		case from < 0:
			return "", b.errAt(o, "%s index of class %q over %s, of class %q: whoever holds class %q's index keyset could test guesses of %s; "+
				"an index takes the class of its encrypted sources (drop class=, or make it %q)", what, class, srcNames[i], c, class, srcNames[i], c)
		default:
			return "", b.errAt(o, "%s index sources %s and %s are in classes %q and %q: whoever holds the index's keyset could test guesses of both; "+
				"index fields of one class only", what, srcNames[from], srcNames[i], class, c)
		}
	}
	return cmp.Or(class, keyring.DefaultClass), nil
}

// declareIndex declares a blind index of g: it claims its path and name,
// settles its class from its sources, and settles its width from bits or
// population.
func (b *planner) declareIndex(g *group, d indexDecl, o origin) error {
	ts, err := blind.ParseTransforms(d.transforms)
	if err != nil {
		return b.errAt(o, "%v", err)
	}
	ix := indexField{
		fieldLoc: d.dest, path: d.path, name: d.name, class: d.class,
		sources: d.sources, srcKinds: d.srcKinds,
		transforms: ts, spelled: d.transforms, bits: d.bits, population: d.population, slow: d.slow,
	}
	// BlindIndexValues finds an index by its path or its name: neither
	// may be another index's, blind or token.
	if err := b.claimIndex(ix.path, ix.name, o, false); err != nil {
		return err
	}
	ix.class, err = b.indexClass("blind", d.class, d.srcClasses, d.srcNames, o)
	if err != nil {
		return err
	}
	switch {
	case ix.bits == 0 && ix.population == 0:
		return b.errAt(o, "blind index needs bits=N (its width) or population=N (the expected number of distinct values per scope; the planner then picks the width): "+
			"no default fits every population. An index written without bits= by an earlier version used bits=%d", LegacyDefaultBits)
	case ix.bits == 0:
		rec := blind.Recommend(float64(ix.population))
		if len(rec.Warnings) > 0 {
			return b.errAt(o, "population=%d leaves no safe width: %s", ix.population, strings.Join(rec.Warnings, "; "))
		}
		ix.bits = rec.Bits
	case ix.population > 0:
		for _, w := range blind.Check(ix.bits, float64(ix.population)).Warnings {
			b.p.warnings = append(b.p.warnings, b.name(o)+": "+w)
		}
	}
	g.indexes = append(g.indexes, ix)
	return nil
}

// buildPlan walks tagged struct type t.
func buildPlan(t reflect.Type) (*plan, error) {
	b := newPlanner(t, false)
	b.p.record = t.Name()
	g, err := b.group(t, nil, "", false, namespace{typ: t})
	if err != nil {
		return nil, err
	}
	if b.p.record == "" {
		return nil, &PlanError{Type: t, Field: "_", Msg: "anonymous struct types need a record name: add `_ struct{} `crypt:\"record=NAME\"``"}
	}
	locateGroup(g, t)
	if b.p.scope != nil {
		*b.p.scope = newFieldLoc(t, b.p.scope.index)
	}
	for i := range b.p.ids {
		b.p.ids[i].fieldLoc = newFieldLoc(t, b.p.ids[i].index)
	}
	b.p.mayShare = len(g.slices) > 0
	for _, f := range g.fields {
		b.p.mayShare = b.p.mayShare || !f.direct
	}
	for _, ix := range g.indexes {
		b.p.mayShare = b.p.mayShare || !ix.direct
	}
	for _, tf := range g.tokens {
		b.p.mayShare = b.p.mayShare || !tf.direct
	}
	return b.finish(g)
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

// namespace is the struct whose fields share one path prefix: the record,
// a named nested struct or a slice element. Embedded structs promote their
// fields into the namespace of the struct that embeds them.
type namespace struct {
	typ   reflect.Type
	depth int // len of the field index of typ within the group's root
}

// group walks struct type t. index and path are the position of t within
// the group's root; inSlice is set inside slice elements, where scope and id
// fields are not allowed; ns is the namespace t's fields are promoted into.
func (b *planner) group(t reflect.Type, index []int, path string, inSlice bool, ns namespace) (*group, error) {
	if slices.Contains(b.visiting, t) {
		return nil, &PlanError{Type: t, Field: "", Msg: "recursive struct types are not supported"}
	}
	b.visiting = append(b.visiting, t)
	defer func() { b.visiting = b.visiting[:len(b.visiting)-1] }()

	g := &group{}
	var blinds, tokens []struct {
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
			pe := &PlanError{Type: t, Field: f.Name, Msg: fmt.Sprintf("bad crypt tag %q: %v", raw, err)}
			if rep, ok := err.(*repeatedOptionError); ok {
				pe.Other = rep.second // the first occurrence is in Msg
			}
			return nil, pe
		}
		if tg.kind == tagSkip {
			continue
		}
		if tg.kind == tagRecord {
			if f.Name != "_" || index != nil || inSlice {
				return fail("record= belongs on a blank field `_ struct{}` of the top-level struct")
			}
			b.p.record = tg.record
			b.p.unbound = tg.unbound
			continue
		}
		if !f.IsExported() && !f.Anonymous {
			if tagged && tg.kind != tagNone {
				return fail("crypt tag on an unexported field")
			}
			if containsTagged(f.Type, nil) {
				// Reflection cannot set an unexported field's fields:
				// its tagged fields would silently stay plaintext.
				return fail("unexported field of type %v holds crypt-tagged fields, which fieldcrypt cannot reach: "+
					"they would stay plaintext; export the field, or tag it `crypt:\"-\"` to leave them alone on purpose", f.Type)
			}
			if reachesInterface(f.Type) {
				g.ifaces = append(g.ifaces, ifaceField{index: append(slices.Clone(index), i), holder: t, name: f.Name})
			}
			continue
		}
		fi := append(slices.Clone(index), i)
		name := f.Name
		if tg.name != "" {
			name = tg.name
		}
		fpath := path + name
		self := origin{t, f.Name, path + f.Name}
		if tg.kind != tagNone {
			if err := b.checkPromoted(ns, t, f, fi); err != nil {
				return nil, err
			}
		}
		switch tg.kind {
		case tagScope:
			if inSlice {
				return fail("scope field inside a slice element")
			}
			if f.Type.Kind() != reflect.String {
				return fail("scope field must be a string, not %v", f.Type)
			}
			if err := b.declareScope(fieldLoc{index: fi}, self); err != nil {
				return nil, err
			}
		case tagID:
			if inSlice {
				return fail("id field inside a slice element")
			}
			if !isIDKind(f.Type.Kind()) {
				return fail("id field must be a string or an integer, not %v", f.Type)
			}
			if err := b.declareID(fieldLoc{index: fi}, name, f.Type.Kind() == reflect.String, self); err != nil {
				return nil, err
			}
		case tagEncrypt:
			kind, ok := encKind(f.Type)
			if !ok {
				return fail("encrypt needs a string, []byte, *string or *[]byte field, not %v (encrypted values are stored in place; keep other types in a string field)", f.Type)
			}
			if err := b.declareField(g, encField{fieldLoc: fieldLoc{index: fi}, path: fpath, class: tg.class, kind: kind}, self); err != nil {
				return nil, err
			}
		case tagBlind:
			if f.Type.Kind() != reflect.String {
				return fail("blind index field must be a string (it holds hex), not %v", f.Type)
			}
			blinds = append(blinds, struct {
				f   reflect.StructField
				tag tag
			}{f, tg})
		case tagTokens:
			if f.Type != tokensType {
				return fail("%s index field must be a crypt.Tokens, not %v", tg.tokenKind, f.Type)
			}
			if inSlice {
				return fail("token index inside a slice element: token indexes belong to the record (index a field of every element with set=%s[].Field on a field of the record)", strings.TrimSuffix(path, "[]."))
			}
			tokens = append(tokens, struct {
				f   reflect.StructField
				tag tag
			}{f, tg})
		case tagAnyScope:
			held, ok := holdsRecords(f.Type)
			if !ok || f.Anonymous {
				return fail("anyscope belongs on a field that holds records of their own (T, *T, []T or []*T of a type that declares record=), not %v", f.Type)
			}
			if inSlice {
				return fail("a field holding records of their own (%v) inside a slice element is not supported", f.Type)
			}
			b.p.assocs = append(b.p.assocs, assocField{index: fi, path: path + f.Name, shape: held, anyScope: true})
		case tagNone:
			if f.Type == tokensType {
				return fail("a crypt.Tokens field needs a token directive (prefix=, suffix=, substring=, range= or set=)")
			}
			if err := b.nested(g, t, f, fi, path, inSlice, ns); err != nil {
				return nil, err
			}
			if !walked(f) && reachesInterface(f.Type) {
				g.ifaces = append(g.ifaces, ifaceField{index: fi, holder: t, name: f.Name})
			}
		}
	}
	for _, bl := range blinds {
		if err := b.blindIndex(g, t, bl.f, bl.tag, index, path); err != nil {
			return nil, err
		}
	}
	for _, tk := range tokens {
		if err := b.tokenIndex(g, t, tk.f, tk.tag, index, path); err != nil {
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
func (b *planner) nested(g *group, parent reflect.Type, f reflect.StructField, fi []int, path string, inSlice bool, ns namespace) error {
	ft := f.Type
	if ft.Kind() == reflect.Pointer {
		ft = ft.Elem()
	}
	if !f.Anonymous {
		if held, ok := holdsRecords(f.Type); ok {
			if inSlice {
				return &PlanError{Type: parent, Field: f.Name, Msg: "a field holding records of their own (" + f.Type.String() + ") inside a slice element is not supported"}
			}
			b.p.assocs = append(b.p.assocs, assocField{index: fi, path: path + f.Name, shape: held})
			return nil
		}
	}
	childPath := path + f.Name + "."
	childNS := namespace{typ: ft, depth: len(fi)}
	if f.Anonymous {
		childPath, childNS = path, ns
	}
	switch {
	case ft.Kind() == reflect.Struct:
		if !hasCryptTags(ft, nil) {
			return nil // time.Time and other plain structs
		}
		if slices.Contains(b.visiting, ft) {
			return recursive(parent, f)
		}
		sub, err := b.group(ft, fi, childPath, inSlice, childNS)
		if err != nil {
			return err
		}
		g.fields = append(g.fields, sub.fields...)
		g.indexes = append(g.indexes, sub.indexes...)
		g.tokens = append(g.tokens, sub.tokens...)
		g.slices = append(g.slices, sub.slices...)
		g.ifaces = append(g.ifaces, sub.ifaces...)
	case ft.Kind() == reflect.Slice || ft.Kind() == reflect.Array:
		et := ft.Elem()
		ptr := et.Kind() == reflect.Pointer
		if ptr {
			et = et.Elem()
		}
		if et.Kind() != reflect.Struct {
			if containsTagged(et, nil) {
				return &PlanError{Type: parent, Field: f.Name, Msg: "tagged structs inside " + f.Type.String() + " are not supported: only slices of structs (or of pointers to structs) are"}
			}
			return nil
		}
		if !hasCryptTags(et, nil) {
			return nil
		}
		if ft.Kind() == reflect.Array || f.Type.Kind() == reflect.Pointer {
			return &PlanError{Type: parent, Field: f.Name, Msg: "only slices of structs (or of pointers to structs) are supported, not " + f.Type.String()}
		}
		if slices.Contains(b.visiting, et) {
			return recursive(parent, f)
		}
		elem, err := b.group(et, nil, path+f.Name+"[].", true, namespace{typ: et})
		if err != nil {
			return err
		}
		g.slices = append(g.slices, sliceField{index: fi, path: path + f.Name + "[].", ptrElem: ptr, elem: elem})
	case ft.Kind() == reflect.Map && containsTagged(ft, nil):
		return &PlanError{Type: parent, Field: f.Name, Msg: "maps of tagged structs are not supported; use a slice"}
	case containsTagged(ft, nil):
		// **T, channels and other shapes the planner does not walk: a
		// tagged struct there would silently stay plaintext.
		return &PlanError{Type: parent, Field: f.Name, Msg: "tagged structs inside " + f.Type.String() + " are not supported: use a struct, a pointer to one, or a slice of either"}
	}
	return nil
}

// containsTagged reports whether values of type t can hold a struct with a
// crypt tag: through pointers, slices, arrays, maps (keys and values) and
// channels, and the fields of structs.
func containsTagged(t reflect.Type, seen []reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Chan, reflect.Map:
		if slices.Contains(seen, t) {
			return false // a type that leads back to itself (type T map[string]T)
		}
		seen = append(seen, t)
		if t.Kind() == reflect.Map && containsTagged(t.Key(), seen) {
			return true
		}
		return containsTagged(t.Elem(), seen)
	case reflect.Struct:
		return hasCryptTags(t, seen)
	}
	return false
}

// recursive reports field f of parent, whose type leads back to a struct
// being planned.
func recursive(parent reflect.Type, f reflect.StructField) error {
	return &PlanError{Type: parent, Field: f.Name, Msg: "recursive struct types are not supported: " + f.Type.String() + " leads back to a struct that contains it"}
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
		raw, ok := f.Tag.Lookup(tagKey)
		if ok && raw == "-" {
			continue // left alone, with whatever it holds
		}
		if ok || f.Type == tokensType {
			return true // a Tokens field without a tag is refused when walked
		}
		if containsTagged(f.Type, seen) {
			return true
		}
	}
	return false
}

// blindIndex declares the blind index tagged on field f of struct t. Its
// sources are fields of t.
func (b *planner) blindIndex(g *group, t reflect.Type, f reflect.StructField, tg tag, index []int, path string) error {
	d := indexDecl{
		dest:       fieldLoc{index: append(slices.Clone(index), f.Index...)},
		path:       path + f.Name,
		name:       cmp.Or(tg.name, path+f.Name),
		class:      tg.class,
		transforms: tg.transforms,
		bits:       tg.bits,
		population: tg.population,
		slow:       tg.slow,
	}
	self := origin{t, f.Name, d.path}
	for _, src := range tg.sources {
		sf, ok := t.FieldByName(src)
		if !ok || !sf.IsExported() {
			return b.errAt(self, "blind index source %q is not an exported field of %v", src, t)
		}
		kind, ok := encKind(sf.Type)
		if !ok {
			return b.errAt(self, "blind index source %s must be a string, []byte, *string or *[]byte, not %v", src, sf.Type)
		}
		si := append(slices.Clone(index), sf.Index...)
		class := ""
		if k := slices.IndexFunc(g.fields, func(ef encField) bool { return slices.Equal(ef.index, si) }); k >= 0 {
			class = g.fields[k].class
		}
		d.sources = append(d.sources, fieldLoc{index: si})
		d.srcKinds = append(d.srcKinds, kind)
		d.srcClasses = append(d.srcClasses, class)
		d.srcNames = append(d.srcNames, src)
	}
	return b.declareIndex(g, d, self)
}

// Ambiguous bindings. Each is refused at plan time with a *PlanError that
// names both fields: a value swapped between two fields bound alike would
// decrypt, and two indexes named alike would share a subkey.
const (
	encPathTaken   = "encrypted under the path %q, as is %s: a value swapped between them would decrypt; give one a distinct name="
	idNameTaken    = "identity bound under the name %q, as is %s; give one a distinct name="
	indexNameTaken = "blind index named %q, as is %s: indexes of one class with one name derive the same subkey, so equal values would correlate; give one a distinct name="
	indexPathTaken = "blind index at the path %q, as is %s"

	indexPathIsName = "blind index at the path %q, which %s uses as its name=: a query by that name would be ambiguous"
	indexNameIsPath = "blind index named %q, which is the path of %s: a query by that name would be ambiguous"
)

// claim records that field o binds key in table m, and refuses a key
// another field binds already.
func (b *planner) claim(m map[string]origin, key string, o origin, msg string) error {
	if prev, taken := m[key]; taken {
		return b.conflict(o, prev, msg, key)
	}
	m[key] = o
	return nil
}

// conflict is the *PlanError for field o, which binds key as prev does;
// msg formats key and prev's name.
func (b *planner) conflict(o, prev origin, msg, key string) error {
	text := fmt.Sprintf(msg, key, b.name(prev))
	if !b.spec && o.path != o.field {
		text = "at " + o.path + ": " + text
	}
	pe := b.errAt(o, "%s", text)
	pe.Other = b.otherName(prev)
	return pe
}

// name names a field in an error message: "Type.Field", with its path when
// it is nested, or "column c" for a SchemaSpec's column.
func (b *planner) name(o origin) string {
	if b.spec {
		return "column " + o.field
	}
	if o.path != "" && o.path != o.field {
		return typeName(o.typ) + "." + o.field + " (at " + o.path + ")"
	}
	return typeName(o.typ) + "." + o.field
}

// otherName is PlanError.Other for o: "Type.Field", or the bare column.
func (b *planner) otherName(o origin) string {
	if b.spec {
		return o.field
	}
	return typeName(o.typ) + "." + o.field
}

func typeName(t reflect.Type) string {
	if t.Name() != "" {
		return t.Name()
	}
	return t.String()
}

// checkPromoted refuses a tagged field f (of struct t, at index fi) that an
// embedded struct promotes into ns but that is not what ns.Name selects:
// another field of the same Go name sits at a shallower depth, so Go
// selectors and encoding/json read that one, or at the same depth, so the
// selector is ambiguous and encoding/json reads neither.
func (b *planner) checkPromoted(ns namespace, t reflect.Type, f reflect.StructField, fi []int) error {
	rel := fi[ns.depth:]
	if len(rel) < 2 {
		return nil // declared in ns itself: nothing can shadow it
	}
	if sf, ok := ns.typ.FieldByName(f.Name); ok && slices.Equal(sf.Index, rel) {
		return nil
	}
	other, depth, ok := shadower(ns.typ, f.Name, rel)
	if !ok { // unreachable: FieldByName found another field or an ambiguity
		other, depth = origin{typ: ns.typ, field: f.Name, path: f.Name}, 1
	}
	self := selectorPath(ns.typ, rel)
	what := fmt.Sprintf("%s.%s selects that field (as encoding/json does), not this one", typeName(ns.typ), f.Name)
	if depth == len(rel) {
		what = fmt.Sprintf("%s.%s is ambiguous: Go refuses the selector and encoding/json reads neither", typeName(ns.typ), f.Name)
	}
	// The other field is named by its selector on the namespace type,
	// which tells apart two fields of one embedded type reached two ways.
	sel := typeName(ns.typ) + "." + other.path
	return &PlanError{Type: t, Field: f.Name, Other: sel, Msg: fmt.Sprintf(
		"promoted into %s from an embedded struct (at %s), but %s has the same name at the same or a shallower depth: %s; rename one, or give the embedded struct a field name",
		typeName(ns.typ), self, sel, what)}
}

// selectorPath spells the field at index within struct root as a Go
// selector through embedded structs, such as "Audit.Meta.Name".
func selectorPath(root reflect.Type, index []int) string {
	var parts []string
	t := root
	for _, x := range index {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		f := t.Field(x)
		parts = append(parts, f.Name)
		t = f.Type
	}
	return strings.Join(parts, ".")
}

// shadower finds the field of struct root, other than the one at index
// self, that shares name and sits at the same or a shallower depth through
// embedded structs: the field that hides self, or makes it ambiguous. It
// returns the field and its depth (1: declared in root). Every path is
// walked, even through a struct type embedded twice: the same type reached
// two ways holds two fields.
func shadower(root reflect.Type, name string, self []int) (origin, int, bool) {
	type entry struct {
		typ   reflect.Type
		index []int
	}
	level := []entry{{root, nil}}
	for depth := 1; depth <= len(self) && len(level) > 0; depth++ {
		var next []entry
		for _, e := range level {
			for i := range e.typ.NumField() {
				f := e.typ.Field(i)
				idx := append(slices.Clone(e.index), i)
				if f.Name == name && !slices.Equal(idx, self) {
					return origin{typ: e.typ, field: f.Name, path: selectorPath(root, idx)}, depth, true
				}
				ft := f.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if f.Anonymous && ft.Kind() == reflect.Struct {
					next = append(next, entry{ft, idx})
				}
			}
		}
		level = next
	}
	return origin{}, 0, false
}

// checkIdentity refuses a record that encrypts fields but binds no
// identity, unless it opted out with unbound, and an opt-out on a record
// that does bind one.
func (b *planner) checkIdentity() error {
	switch {
	case b.firstEnc != nil && len(b.p.ids) == 0 && !b.p.unbound:
		optOut := "`_ struct{} `crypt:\"record=" + b.p.record + ",unbound\"``"
		if b.spec {
			optOut = "Unbound in the SchemaSpec (unbound: true in a job table)"
		}
		return b.errAt(*b.firstEnc,
			"record %s encrypts fields but binds no identity, so whole rows could be swapped within a scope: add an id field, or opt out with %s",
			b.p.record, optOut)
	case b.p.unbound && len(b.p.ids) > 0:
		id := b.idNames[b.p.ids[0].name]
		at := origin{typ: b.p.typ, field: "_"} // the record= marker
		if b.spec {
			at = id
		}
		pe := b.errAt(at, "record %s is marked unbound but binds the identity %s; drop unbound", b.p.record, b.name(id))
		pe.Other = b.otherName(id)
		return pe
	}
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
	for i := range g.tokens {
		tf := &g.tokens[i]
		tf.fieldLoc = newFieldLoc(root, tf.index)
		for k := range tf.sources {
			tf.sources[k].fieldLoc = newFieldLoc(root, tf.sources[k].index)
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
	for i := range g.tokens {
		g.tokens[i].classIdx = number(&p.indexClasses, g.tokens[i].class)
	}
	for i := range g.slices {
		p.numberClasses(g.slices[i].elem)
	}
}
