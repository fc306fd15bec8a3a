//go:build !fieldcrypt_purego

package crypt

import (
	"reflect"
	"unsafe"
)

// This file is all of package crypt's use of unsafe: fields reached at their
// byte offsets, and strings and byte slices aliased instead of copied. Build
// with the fieldcrypt_purego tag to leave it out; purego.go then does the
// same through reflection and copies.

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

// addr returns the field's address, or 0 when it has none.
func (r fieldRef) addr() uintptr {
	if r.ptr != nil {
		return uintptr(r.ptr)
	}
	if r.v.CanAddr() {
		return r.v.Addr().Pointer()
	}
	return 0
}

// set writes the field.
func (r fieldRef) set(kind fieldKind, s string, b []byte) {
	ps, pb := newTarget(kind, s, b)
	if r.ptr == nil {
		setValue(r.v, kind, s, b, ps, pb)
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

// setTokens writes a Tokens field.
func (r fieldRef) setTokens(t Tokens) {
	if r.ptr == nil {
		r.v.Set(reflect.ValueOf(t))
		return
	}
	*(*Tokens)(r.ptr) = t
}

// cellsOf returns the cells of v, an addressable [n]cell value, as a slice
// over them.
func cellsOf(v reflect.Value) []cell {
	return unsafe.Slice((*cell)(v.Addr().UnsafePointer()), v.Len())
}

// Aliasing pays: copying instead (as purego.go does) adds 10 allocations
// to an Encrypt of the benchmark record and 5 to a Decrypt, and makes them
// 12% and 5% slower (BENCHMARKS.md, "Hot-path tricks"). It relies on
// Tink's AEADs neither keeping nor changing the plaintext they are given,
// and returning a ciphertext or plaintext of their own (stringApart checks
// the latter where it matters).

// bytesToString returns b as a string without copying. The caller must not
// modify b afterwards; every caller passes a buffer it just filled and drops.
func bytesToString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// stringToBytes returns the bytes of s without copying. The caller must
// only read them; every caller hands them to a function that does not
// modify or retain its input (Tink's Encrypt, HMAC).
func stringToBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// stringApart returns b as a string that stays as it is when buf is
// reused: b itself, unless it shares memory with buf (a primitive that
// decrypts in place), and then a copy.
func stringApart(b, buf []byte) string {
	if overlaps(b, buf) {
		return string(b)
	}
	return bytesToString(b)
}

// overlaps reports whether a and b share memory.
func overlaps(a, b []byte) bool {
	if cap(a) == 0 || cap(b) == 0 {
		return false
	}
	a0, b0 := uintptr(unsafe.Pointer(unsafe.SliceData(a))), uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return a0 < b0+uintptr(cap(b)) && b0 < a0+uintptr(cap(a))
}
