package crypt

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Associated records.
//
// A struct type that declares record= on its blank field is a record of
// its own: it has its own scope, identity and associated data, and is
// stored in its own row (in GORM terms, an association). A field of
// another record that holds one (a value, a pointer, or a slice of either)
// is not part of the holder's fields: Encrypt and Decrypt of the holder
// encrypt and decrypt each record it holds as that record, under that
// record's own plan, after the holder's own fields. They stay all or
// nothing across the whole tree: on error nothing has changed.

// assocShape is how a field holds records of their own.
type assocShape uint8

const (
	assocValue    assocShape = iota // T
	assocPointer                    // *T
	assocSlice                      // []T
	assocSliceOfP                   // []*T
)

// assocField is a field of a record that holds records of their own.
type assocField struct {
	index []int  // from the record's struct, through structs and pointers to structs
	path  string // the field's Go path, for errors
	shape assocShape
	// anyScope (crypt:"anyscope") lets the field hold records of another
	// scope than its holder's; without it, a held record whose type has a
	// scope field must be in its holder's scope (checkScope).
	anyScope bool
}

// declaresRecord reports whether struct type t declares record= on a
// blank field: whether it is a record of its own.
func declaresRecord(t reflect.Type) bool {
	if t.Kind() != reflect.Struct {
		return false
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Name != "_" {
			continue
		}
		if raw, ok := f.Tag.Lookup(tagKey); ok {
			if tg, err := parseTag(raw); err == nil && tg.kind == tagRecord {
				return true
			}
		}
	}
	return false
}

// holdsRecords reports whether a field of type t holds records of their
// own, and how.
func holdsRecords(t reflect.Type) (assocShape, bool) {
	switch {
	case declaresRecord(t):
		return assocValue, true
	case t.Kind() == reflect.Pointer && declaresRecord(t.Elem()):
		return assocPointer, true
	case t.Kind() == reflect.Slice && declaresRecord(t.Elem()):
		return assocSlice, true
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Pointer && declaresRecord(t.Elem().Elem()):
		return assocSliceOfP, true
	}
	return 0, false
}

// heldRecords calls fn with each record that the association field a of
// rv holds (addressable struct values), and the step that reaches it from
// rv: the field's path, with the element's index for a slice. It skips nil
// pointers and zero records (an association that was not loaded, such as
// a T field left as it is): a zero record holds no value to encrypt or
// decrypt, and no scope to look keys up in.
func heldRecords(rv reflect.Value, a *assocField, fn func(ev reflect.Value, step string) error) error {
	fv, ok := fieldAt(rv, a.index)
	if !ok {
		return nil
	}
	switch a.shape {
	case assocValue:
		if fv.IsZero() {
			return nil
		}
		return fn(fv, a.path)
	case assocPointer:
		if fv.IsNil() || fv.Elem().IsZero() {
			return nil
		}
		return fn(fv.Elem(), a.path)
	default:
		for i := range fv.Len() {
			ev := fv.Index(i)
			if a.shape == assocSliceOfP {
				if ev.IsNil() {
					continue
				}
				ev = ev.Elem()
			}
			if ev.IsZero() {
				continue
			}
			if err := fn(ev, a.path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
	}
	return nil
}

// tree is the state of an Encrypt or Decrypt over a record and the records
// it holds: one op per record, applied together when all succeeded.
//
// The records are walked breadth first through a work list, not by
// recursion, so a long chain of records (a linked list of a record type
// that holds itself) costs no stack.
type tree struct {
	ops   []*op
	items []treeItem      // the records to do, in order; items[0] is the root
	seen  map[treeKey]int // the records pushed (their index), so one held twice (a back reference) is done once
}

// treeItem is one record of a tree.
type treeItem struct {
	p        *plan
	rv       reflect.Value
	parent   int    // the index in items of the record that holds it; -1 for the root
	step     string // the holding field's path in the parent, with the slice index
	anyScope bool   // the holding field is tagged anyscope
	scope    string // the record's scope, when its type has a scope field ("" when it is empty)
}

// treeKey identifies a record: its type and address. The type is part of
// it because a record held by value as the first field of another record
// (or of the root) shares its address: it is another record all the same.
type treeKey struct {
	t    reflect.Type
	addr uintptr
}

func (t *tree) release() {
	for _, o := range t.ops {
		o.release()
	}
}

func (t *tree) apply() {
	for _, o := range t.ops {
		o.apply()
	}
}

// push adds the record rv, whose plan is p, unless it was pushed before,
// held by items[parent] through a field tagged anyscope or not. Every
// holding, the first and any other (a record held twice), is checked
// against the holder's scope (checkScope).
func (t *tree) push(p *plan, rv reflect.Value, parent int, step string, anyScope bool) error {
	k := treeKey{t: rv.Type(), addr: rv.Addr().Pointer()}
	var scope string
	if p.scope != nil {
		scope, _ = p.scopeOf(rv) // an empty scope is refused by Encrypt and Decrypt
	}
	if parent >= 0 {
		if err := t.checkScope(parent, p, scope, anyScope, step); err != nil {
			return err
		}
	}
	if _, ok := t.seen[k]; ok {
		return nil
	}
	if t.seen == nil {
		t.seen = map[treeKey]int{}
	}
	t.seen[k] = len(t.items)
	t.items = append(t.items, treeItem{p: p, rv: rv, parent: parent, step: step, anyScope: anyScope, scope: scope})
	return nil
}

// checkScope refuses a record of plan p and scope scope, held by
// items[holder] through a field tagged anyscope or not, when its type has
// a scope field and the nearest record up the tree whose type has one
// (the holder, or the record that holds a holder without a scope field)
// is in another scope. A database writer who repoints a foreign key makes
// an association (a Preload, a join) load another tenant's record, which
// decrypts under its own binding; this is what stops it. A field tagged
// anyscope on the way lifts the check.
func (t *tree) checkScope(holder int, p *plan, scope string, anyScope bool, step string) error {
	if anyScope || p.scope == nil {
		return nil
	}
	k := holder
	for t.items[k].p.scope == nil {
		if t.items[k].anyScope || k == 0 {
			return nil
		}
		k = t.items[k].parent
	}
	if t.items[k].scope == scope {
		return nil
	}
	path := t.path(holder)
	if path != "" {
		path += "."
	}
	return fmt.Errorf("crypt: record %s, associated record %s: %w", t.items[0].p.record, path+step, ErrScopeMismatch)
}

// pushHeld pushes the records that items[i] holds.
func (t *tree) pushHeld(i int) error {
	it := t.items[i]
	for k := range it.p.assocs {
		a := &it.p.assocs[k]
		err := heldRecords(it.rv, a, func(ev reflect.Value, step string) error {
			cp, err := planFor(ev.Type())
			if err != nil {
				return t.fail(i, err)
			}
			return t.push(cp, ev, i, step, a.anyScope)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// path returns the path from the root to items[i], such as
// "Interactions[1].Contact"; "" for the root.
func (t *tree) path(i int) string {
	var steps []string
	for ; i > 0; i = t.items[i].parent {
		steps = append(steps, t.items[i].step)
	}
	slices.Reverse(steps)
	return strings.Join(steps, ".")
}

// prefix returns the path of items[i] followed by a dot, to put before
// the paths of its fields; "" for the root.
func (t *tree) prefix(i int) string {
	if i == 0 {
		return ""
	}
	return t.path(i) + "."
}

// fail says which held record failed.
func (t *tree) fail(i int, err error) error {
	if i == 0 {
		return err
	}
	return fmt.Errorf("crypt: record %s, associated record %s: %w", t.items[0].p.record, t.path(i), err)
}

// encryptTree encrypts rv and the records it holds into t.
func (e *Encryptor) encryptTree(ctx context.Context, p *plan, rv reflect.Value, t *tree) error {
	_ = t.push(p, rv, -1, "", false) // the root: no holder to check against
	for i := 0; i < len(t.items); i++ {
		it := t.items[i]
		if err := it.p.checkIdentity(it.rv); err != nil {
			return t.fail(i, err)
		}
		o, err := e.newOp(ctx, it.p, it.rv)
		if err != nil {
			return t.fail(i, err)
		}
		t.ops = append(t.ops, o)
		if err := o.encryptGroup(&it.p.root, it.rv); err != nil {
			return t.fail(i, err)
		}
		if err := t.pushHeld(i); err != nil {
			return err
		}
	}
	return nil
}

// decryptTree decrypts rv and the records it holds into t. Fields of
// classes this process cannot read are gathered into one AccessError of
// the root's record type, and the paths of held records' fields (legacy or
// unreadable) are prefixed by the path that reaches the held record from
// the root, such as "Interactions[1].Note".
//
// Its signature keeps the recursive form decryptValue calls: prefix is
// always "" there, and *access receives the AccessError.
func (e *Encryptor) decryptTree(ctx context.Context, p *plan, rv reflect.Value, t *tree, migrating bool, prefix string, accessOut **AccessError) (legacy []string, err error) {
	var access *AccessError
	defer func() {
		if err == nil && access != nil {
			*accessOut = access
		}
	}()
	_ = t.push(p, rv, -1, prefix, false) // the root: no holder to check against
	for i := 0; i < len(t.items); i++ {
		it := t.items[i]
		o, err := e.newOp(ctx, it.p, it.rv)
		if err != nil {
			return nil, t.fail(i, err)
		}
		t.ops = append(t.ops, o)
		o.reading = true
		d := &decryption{op: o, migrating: migrating}
		if err := d.group(&it.p.root, it.rv); err != nil {
			return nil, t.fail(i, err)
		}
		if len(d.legacy) > 0 {
			prefix := t.prefix(i)
			for _, l := range d.legacy {
				legacy = append(legacy, prefix+l)
			}
		}
		if d.access != nil {
			if access == nil {
				access = &AccessError{Record: p.record, Err: d.access.Err}
			}
			prefix := t.prefix(i)
			for _, f := range d.access.Fields {
				access.Fields = append(access.Fields, prefix+f)
			}
			for _, c := range d.access.Classes {
				if !slices.Contains(access.Classes, c) {
					access.Classes = append(access.Classes, c)
				}
			}
		}
		if err := t.pushHeld(i); err != nil {
			return nil, err
		}
	}
	return legacy, nil
}

// CheckScopes reports, as ErrScopeMismatch, a record that v (a pointer to
// a record, or to a slice of records or of pointers to them) holds, at any
// depth, in another scope than its holder's, as Encrypt and Decrypt do;
// see [ErrScopeMismatch]. It reads only the records' scope fields, so it
// needs no key, and it can check records that were decrypted one by one,
// before their holders were filled (GORM's Preload: gormcrypt calls it once
// the associations are loaded).
func CheckScopes(v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return &InvalidArgumentError{Type: reflect.TypeOf(v)}
	}
	rv = rv.Elem()
	switch rv.Kind() {
	case reflect.Struct:
		return checkScopes(rv)
	case reflect.Slice, reflect.Array:
		for i := range rv.Len() {
			ev := rv.Index(i)
			if ev.Kind() == reflect.Pointer {
				if ev.IsNil() {
					continue
				}
				ev = ev.Elem()
			}
			if ev.Kind() != reflect.Struct {
				return &InvalidArgumentError{Type: reflect.TypeOf(v)}
			}
			if err := checkScopes(ev); err != nil {
				return err
			}
		}
		return nil
	}
	return &InvalidArgumentError{Type: reflect.TypeOf(v)}
}

// checkScopes checks the tree of records under the addressable struct rv.
func checkScopes(rv reflect.Value) error {
	if !rv.CanAddr() {
		rv2 := reflect.New(rv.Type()).Elem()
		rv2.Set(rv)
		rv = rv2
	}
	p, err := planFor(rv.Type())
	if err != nil {
		return err
	}
	if len(p.assocs) == 0 {
		return nil
	}
	var t tree
	_ = t.push(p, rv, -1, "", false)
	for i := 0; i < len(t.items); i++ {
		if err := t.pushHeld(i); err != nil {
			return err
		}
	}
	return nil
}
