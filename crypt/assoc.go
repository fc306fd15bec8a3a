package crypt

import (
	"context"
	"fmt"
	"reflect"
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
// rv holds (addressable struct values), skipping nil pointers.
func heldRecords(rv reflect.Value, a *assocField, fn func(reflect.Value) error) error {
	fv, ok := fieldAt(rv, a.index)
	if !ok {
		return nil
	}
	switch a.shape {
	case assocValue:
		return fn(fv)
	case assocPointer:
		if fv.IsNil() {
			return nil
		}
		return fn(fv.Elem())
	default:
		for i := range fv.Len() {
			ev := fv.Index(i)
			if a.shape == assocSliceOfP {
				if ev.IsNil() {
					continue
				}
				ev = ev.Elem()
			}
			if err := fn(ev); err != nil {
				return err
			}
		}
	}
	return nil
}

// tree is the state of an Encrypt or Decrypt over a record and the records
// it holds: one op per record, applied together when all succeeded.
type tree struct {
	ops  []*op
	seen []uintptr // addresses of the records visited, so a record held twice (a back reference) is done once
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

// visit reports whether rv was not visited before, and marks it.
func (t *tree) visit(rv reflect.Value) bool {
	addr := rv.Addr().Pointer()
	for _, a := range t.seen {
		if a == addr {
			return false
		}
	}
	t.seen = append(t.seen, addr)
	return true
}

// assocError says which held record failed.
func assocError(p *plan, a *assocField, err error) error {
	return fmt.Errorf("crypt: record %s, associated record %s: %w", p.record, a.path, err)
}

// encryptTree encrypts rv and the records it holds into t.
func (e *Encryptor) encryptTree(ctx context.Context, p *plan, rv reflect.Value, t *tree) error {
	if !t.visit(rv) {
		return nil
	}
	o, err := e.newOp(ctx, p, rv)
	if err != nil {
		return err
	}
	t.ops = append(t.ops, o)
	if err := o.encryptGroup(&p.root, rv); err != nil {
		return err
	}
	for i := range p.assocs {
		a := &p.assocs[i]
		err := heldRecords(rv, a, func(ev reflect.Value) error {
			cp, err := planFor(ev.Type())
			if err != nil {
				return err
			}
			return e.encryptTree(ctx, cp, ev, t)
		})
		if err != nil {
			return assocError(p, a, err)
		}
	}
	return nil
}

// decryptTree decrypts rv and the records it holds into t. Fields of
// classes this process cannot read are gathered into one AccessError, with
// the paths of held records' fields prefixed by the holding field's path.
func (e *Encryptor) decryptTree(ctx context.Context, p *plan, rv reflect.Value, t *tree, migrating bool, prefix string, access **AccessError) ([]string, error) {
	if !t.visit(rv) {
		return nil, nil
	}
	o, err := e.newOp(ctx, p, rv)
	if err != nil {
		return nil, err
	}
	t.ops = append(t.ops, o)
	o.reading = true
	d := &decryption{op: o, migrating: migrating}
	if err := d.group(&p.root, rv); err != nil {
		return nil, err
	}
	var legacy []string
	for _, l := range d.legacy {
		legacy = append(legacy, prefix+l)
	}
	if d.access != nil {
		if *access == nil {
			*access = &AccessError{Record: d.access.Record, Err: d.access.Err}
		}
		for _, f := range d.access.Fields {
			(*access).Fields = append((*access).Fields, prefix+f)
		}
		for _, c := range d.access.Classes {
			if !containsString((*access).Classes, c) {
				(*access).Classes = append((*access).Classes, c)
			}
		}
	}
	for i := range p.assocs {
		a := &p.assocs[i]
		err := heldRecords(rv, a, func(ev reflect.Value) error {
			cp, err := planFor(ev.Type())
			if err != nil {
				return err
			}
			l, err := e.decryptTree(ctx, cp, ev, t, migrating, prefix+a.path+".", access)
			legacy = append(legacy, l...)
			return err
		})
		if err != nil {
			return nil, assocError(p, a, err)
		}
	}
	return legacy, nil
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
