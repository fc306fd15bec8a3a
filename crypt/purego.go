//go:build fieldcrypt_purego

package crypt

import "reflect"

// This file stands in for unsafe.go in the fieldcrypt_purego build, which
// uses no unsafe: every field is reached through reflection by its index
// path, and strings and byte slices are copied instead of aliased.

// fieldRef is a located field.
type fieldRef struct {
	v reflect.Value
}

// locate finds the field in the addressable struct value rv. ok is false
// when a nil pointer on the way means the field is absent.
func (l *fieldLoc) locate(rv reflect.Value) (fieldRef, bool) {
	if rv.Kind() == reflect.Array {
		// A Schema's cells: the cell, then its member (cellLoc).
		return fieldRef{v: rv.Index(l.index[0]).Field(l.index[1])}, true
	}
	v, ok := fieldAt(rv, l.index)
	return fieldRef{v: v}, ok
}

// get reads the field; present is false for nil pointers and slices and for
// empty values.
func (r fieldRef) get(kind fieldKind) (s string, b []byte, present bool) {
	return fieldValue(r.v, kind)
}

// addr returns the field's address, or 0 when it has none.
func (r fieldRef) addr() uintptr {
	if r.v.CanAddr() {
		return r.v.Addr().Pointer()
	}
	return 0
}

// set writes the field.
func (r fieldRef) set(kind fieldKind, s string, b []byte) {
	ps, pb := newTarget(kind, s, b)
	setValue(r.v, kind, s, b, ps, pb)
}

// setTokens writes a Tokens field.
func (r fieldRef) setTokens(t Tokens) { r.v.Set(reflect.ValueOf(t)) }

// cellsOf returns the cells of v, an addressable [n]cell value, as a slice
// over them.
func cellsOf(v reflect.Value) []cell {
	return v.Slice(0, v.Len()).Interface().([]cell)
}

// bytesToString returns a copy of b as a string.
func bytesToString(b []byte) string { return string(b) }

// stringToBytes returns a copy of the bytes of s.
func stringToBytes(s string) []byte { return []byte(s) }

// stringApart returns a copy of b as a string.
func stringApart(b, _ []byte) string { return string(b) }
