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
	items []treeItem           // the records to do, in order; items[0] is the root
	seen  map[treeKey]struct{} // the records pushed, so one held twice (a back reference) is done once
}

// treeItem is one record of a tree.
type treeItem struct {
	p        *plan
	rv       reflect.Value
	parent   int    // the index in items of the record that holds it; -1 for the root
	step     string // the holding field's path in the parent, with the slice index
	anyScope bool   // the holding field is tagged anyscope
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

// push adds the record rv, whose plan is p, unless it was pushed before.
func (t *tree) push(p *plan, rv reflect.Value, parent int, step string, anyScope bool) {
	k := treeKey{t: rv.Type(), addr: rv.Addr().Pointer()}
	if _, ok := t.seen[k]; ok {
		return
	}
	if t.seen == nil {
		t.seen = map[treeKey]struct{}{}
	}
	t.seen[k] = struct{}{}
	t.items = append(t.items, treeItem{p: p, rv: rv, parent: parent, step: step, anyScope: anyScope})
}

// pushHeld pushes the records that items[i] holds.
func (t *tree) pushHeld(i int) error {
	it := t.items[i]
	for k := range it.p.assocs {
		a := &it.p.assocs[k]
		err := heldRecords(it.rv, a, func(ev reflect.Value, step string) error {
			cp, err := planFor(ev.Type())
			if err != nil {
				return err
			}
			t.push(cp, ev, i, step, a.anyScope)
			return nil
		})
		if err != nil {
			return t.fail(i, err)
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
	t.push(p, rv, -1, "", false)
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
		if err := t.checkScope(i); err != nil {
			return err
		}
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
	t.push(p, rv, -1, prefix, false)
	for i := 0; i < len(t.items); i++ {
		it := t.items[i]
		o, err := e.newOp(ctx, it.p, it.rv)
		if err != nil {
			return nil, t.fail(i, err)
		}
		t.ops = append(t.ops, o)
		if err := t.checkScope(i); err != nil {
			return nil, err
		}
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

// checkScope refuses items[i], whose op is t.ops[i], when it is held by a
// record of another scope: both record types have a scope field, the
// holding field is not tagged anyscope, and the scopes differ. A database
// writer who repoints a foreign key makes an association (a Preload, a
// join) load another tenant's record, which decrypts under its own
// binding; this is what stops it.
func (t *tree) checkScope(i int) error {
	it := &t.items[i]
	if i == 0 || it.anyScope || it.p.scope == nil {
		return nil
	}
	holder := &t.items[it.parent]
	if holder.p.scope == nil || t.ops[it.parent].scope == t.ops[i].scope {
		return nil
	}
	return t.fail(i, ErrScopeMismatch)
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
	t.push(p, rv, -1, "", false)
	scopes := make([]string, 0, 4)
	for i := 0; i < len(t.items); i++ {
		it := t.items[i]
		scope, err := it.p.scopeOf(it.rv)
		if err != nil {
			scope = "" // a record without a scope is refused by Encrypt and Decrypt
		}
		scopes = append(scopes, scope)
		if i > 0 && !it.anyScope && it.p.scope != nil && t.items[it.parent].p.scope != nil && scopes[it.parent] != scope {
			return t.fail(i, ErrScopeMismatch)
		}
		if err := t.pushHeld(i); err != nil {
			return err
		}
	}
	return nil
}
