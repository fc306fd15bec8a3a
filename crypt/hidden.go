package crypt

import (
	"fmt"
	"reflect"
	"slices"
	"sync"
)

// Interface-typed fields (any, an interface of the application's, or a
// map[string]any of custom fields) hold values whose type the planner
// cannot see: a struct with crypt tags stored in one would be written
// as plaintext. The planner notes every field whose type can reach an
// interface value, outside the structs it walks itself, and Encrypt
// looks at what such a field holds before it writes anything: a value
// whose dynamic type has crypt-tagged fields is refused with a
// *PlanError naming the field and the type. Records without such fields
// pay nothing.

// ifaceField is a field of a group's struct, not walked by the planner,
// whose type can hold interface values.
type ifaceField struct {
	index  []int
	holder reflect.Type // the struct that declares the field
	name   string       // the Go field name
}

// checkHidden refuses a value of f in rv that holds, behind an interface,
// a value with crypt-tagged fields.
func (f *ifaceField) checkHidden(rv reflect.Value) error {
	fv, ok := fieldAt(rv, f.index)
	if !ok {
		return nil
	}
	w := hiddenWalk{}
	if t := w.find(fv); t != nil {
		return &PlanError{Type: f.holder, Field: f.name, Msg: "holds a value of type " + t.String() +
			" behind an interface, whose crypt-tagged fields fieldcrypt does not reach: they would be stored as plaintext; " +
			"give the field the record's concrete type, or encrypt the value on its own"}
	}
	return nil
}

// hiddenWalk walks a value through pointers, structs, slices, arrays,
// maps and interfaces, with a work list rather than recursion (a long
// chain costs no stack), and each pointer, map and slice once (a value
// that holds itself ends).
type hiddenWalk struct {
	seen  map[visit]struct{}
	stack []reflect.Value
}

// visit is a pointer, map or slice already walked: its address, type and,
// for a slice, length (two slices of one array may differ in length).
type visit struct {
	addr uintptr
	typ  reflect.Type
	n    int
}

// once reports whether v (a non-nil pointer, map or slice) is seen for
// the first time, and marks it seen.
func (w *hiddenWalk) once(v reflect.Value) bool {
	k := visit{addr: v.Pointer(), typ: v.Type()}
	if v.Kind() == reflect.Slice {
		k.n = v.Len()
	}
	if _, ok := w.seen[k]; ok {
		return false
	}
	if w.seen == nil {
		w.seen = make(map[visit]struct{})
	}
	w.seen[k] = struct{}{}
	return true
}

// find returns the dynamic type of the first interface value under v
// whose type holds crypt-tagged fields, or nil.
func (w *hiddenWalk) find(v reflect.Value) reflect.Type {
	w.stack = append(w.stack[:0], v)
	for len(w.stack) > 0 {
		v := w.stack[len(w.stack)-1]
		w.stack = w.stack[:len(w.stack)-1]
		switch v.Kind() {
		case reflect.Interface:
			if v.IsNil() {
				continue
			}
			e := v.Elem()
			if taggedType(e.Type()) {
				return e.Type()
			}
			if reachesInterface(e.Type()) {
				w.stack = append(w.stack, e)
			}
		case reflect.Pointer:
			if !v.IsNil() && reachesInterface(v.Type().Elem()) && w.once(v) {
				w.stack = append(w.stack, v.Elem())
			}
		case reflect.Struct:
			for i := range v.NumField() {
				if reachesInterface(v.Type().Field(i).Type) {
					w.stack = append(w.stack, v.Field(i))
				}
			}
		case reflect.Slice:
			if v.IsNil() || !reachesInterface(v.Type().Elem()) || !w.once(v) {
				continue
			}
			for i := range v.Len() {
				w.stack = append(w.stack, v.Index(i))
			}
		case reflect.Array:
			if reachesInterface(v.Type().Elem()) {
				for i := range v.Len() {
					w.stack = append(w.stack, v.Index(i))
				}
			}
		case reflect.Map:
			kt, et := v.Type().Key(), v.Type().Elem()
			if v.IsNil() || !reachesInterface(kt) && !reachesInterface(et) || !w.once(v) {
				continue
			}
			for it := v.MapRange(); it.Next(); {
				w.stack = append(w.stack, it.Key(), it.Value())
			}
		}
	}
	return nil
}

// CheckHidden reports, wrapping ErrHiddenTagged, a value with crypt tags
// that v holds behind an interface (an any field, a map[string]any of
// column values, at any depth), where nothing would encrypt it: stored
// through an ORM that serializes it (a JSON column), it would be written
// as plaintext. v itself may be a record: its own fields are what Encrypt
// encrypts, and only what it holds behind interfaces is looked at.
// gormcrypt runs it on every value a Create or an update writes.
func CheckHidden(v any) error {
	if v == nil {
		return nil
	}
	var w hiddenWalk
	if t := w.find(reflect.ValueOf(v)); t != nil {
		return fmt.Errorf("%w: a %v", ErrHiddenTagged, t)
	}
	return nil
}

var (
	reachesCache sync.Map // reflect.Type → bool
	taggedCache  sync.Map // reflect.Type → bool
)

// reachesInterface reports whether a value of type t can hold an
// interface value: t is an interface, or leads to one through pointers,
// slices, arrays, map keys or values, or struct fields (unexported ones
// too). Channels and functions are not looked into.
func reachesInterface(t reflect.Type) bool {
	if r, ok := reachesCache.Load(t); ok {
		return r.(bool)
	}
	r := reaches(t, nil)
	reachesCache.Store(t, r)
	return r
}

func reaches(t reflect.Type, seen []reflect.Type) bool {
	if slices.Contains(seen, t) {
		return false // a type that leads back to itself (type T map[string]T)
	}
	seen = append(seen, t)
	switch t.Kind() {
	case reflect.Interface:
		return true
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return reaches(t.Elem(), seen)
	case reflect.Map:
		return reaches(t.Key(), seen) || reaches(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			if reaches(t.Field(i).Type, seen) {
				return true
			}
		}
	}
	return false
}

// taggedType reports whether values of type t can hold a struct with a
// crypt tag (containsTagged, cached).
func taggedType(t reflect.Type) bool {
	if r, ok := taggedCache.Load(t); ok {
		return r.(bool)
	}
	r := containsTagged(t, nil)
	taggedCache.Store(t, r)
	return r
}

// walked reports whether the planner walks field f's value itself: a
// record it holds (an association, with a plan of its own), or a struct,
// a pointer to one or a slice of either with crypt tags, which become
// part of the plan with their own interface-typed fields noted.
func walked(f reflect.StructField) bool {
	t := f.Type
	if !f.Anonymous {
		if _, ok := holdsRecords(t); ok {
			return true
		}
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		return hasCryptTags(t, nil)
	case reflect.Slice:
		et := t.Elem()
		if et.Kind() == reflect.Pointer {
			et = et.Elem()
		}
		return f.Type.Kind() != reflect.Pointer && et.Kind() == reflect.Struct && hasCryptTags(et, nil)
	}
	return false
}
