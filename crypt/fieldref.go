package crypt

import (
	"reflect"
	"unsafe"
)

// fieldLoc is where a field sits within its group's struct: the index path
// for reflection, and, when no pointer lies on the way, its byte offset.
//
// The offset lets the hot path read and write string and []byte fields
// directly instead of through reflect.Value.Field, which checks
// exportedness and builds a Value at every step. Offsets come from
// reflect.StructField.Offset when the plan is built, so they are exactly
// the fields reflection would reach.
type fieldLoc struct {
	index  []int
	off    uintptr
	direct bool
}

// newFieldLoc locates the field at index within struct type root.
func newFieldLoc(root reflect.Type, index []int) fieldLoc {
	t, off := root, uintptr(0)
	for _, x := range index {
		if t.Kind() != reflect.Struct {
			return fieldLoc{index: index} // a pointer on the way
		}
		f := t.Field(x)
		off += f.Offset
		t = f.Type
	}
	return fieldLoc{index: index, off: off, direct: true}
}

// fieldRef is a located field: its address, or a reflect.Value when the
// field lies behind a pointer.
type fieldRef struct {
	ptr unsafe.Pointer
	v   reflect.Value
}

// locate finds the field in the addressable struct value rv. ok is false
// when a nil pointer on the way means the field is absent.
func (l *fieldLoc) locate(rv reflect.Value) (fieldRef, bool) {
	if l.direct && rv.CanAddr() {
		return fieldRef{ptr: unsafe.Add(unsafe.Pointer(rv.UnsafeAddr()), l.off)}, true
	}
	v, ok := fieldAt(rv, l.index)
	return fieldRef{v: v}, ok
}

// get reads the field; present is false for nil pointers and slices and for
// empty values.
func (r fieldRef) get(kind fieldKind) (s string, b []byte, present bool) {
	if r.ptr == nil {
		return fieldValue(r.v, kind)
	}
	switch kind {
	case kindString:
		s = *(*string)(r.ptr)
		return s, nil, s != ""
	case kindBytes:
		b = *(*[]byte)(r.ptr)
		return "", b, len(b) > 0
	case kindStringPtr:
		if p := *(**string)(r.ptr); p != nil {
			return *p, nil, *p != ""
		}
	case kindBytesPtr:
		if p := *(**[]byte)(r.ptr); p != nil {
			return "", *p, len(*p) > 0
		}
	}
	return "", nil, false
}

// set writes the field. A pointer field gets a new pointer: what the old one
// pointed to is left alone. (The new variables are allocated explicitly:
// taking the address of s or b would move them to the heap on every call.)
func (r fieldRef) set(kind fieldKind, s string, b []byte) {
	var ps *string
	var pb *[]byte
	switch kind {
	case kindStringPtr:
		ps = new(string)
		*ps = s
	case kindBytesPtr:
		pb = new([]byte)
		*pb = b
	}
	if r.ptr == nil {
		switch kind {
		case kindString:
			r.v.SetString(s)
		case kindBytes:
			r.v.SetBytes(b)
		case kindStringPtr:
			r.v.Set(reflect.ValueOf(ps))
		case kindBytesPtr:
			r.v.Set(reflect.ValueOf(pb))
		}
		return
	}
	switch kind {
	case kindString:
		*(*string)(r.ptr) = s
	case kindBytes:
		*(*[]byte)(r.ptr) = b
	case kindStringPtr:
		*(**string)(r.ptr) = ps
	case kindBytesPtr:
		*(**[]byte)(r.ptr) = pb
	}
}
