package crypt

import "reflect"

// fieldLoc is where a field sits within its group's struct: the index path
// for reflection, and, when no pointer lies on the way, its byte offset.
//
// The offset lets the hot path read and write string and []byte fields
// directly instead of through reflect.Value.Field, which checks
// exportedness and builds a Value at every step. Offsets come from
// reflect.StructField.Offset when the plan is built, so they are exactly
// the fields reflection would reach. The fieldcrypt_purego build reaches
// every field by its index path (purego.go); the default build reaches the
// direct ones by offset (unsafe.go). Either way a located field is a
// fieldRef, with get and set.
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

// newTarget returns the new variable a pointer field of kind gets when it
// is set: a pointer field gets a new pointer, and what the old one pointed
// to is left alone. (The variables are allocated explicitly: taking the
// address of s or b would move them to the heap on every call.)
func newTarget(kind fieldKind, s string, b []byte) (ps *string, pb *[]byte) {
	switch kind {
	case kindStringPtr:
		ps = new(string)
		*ps = s
	case kindBytesPtr:
		pb = new([]byte)
		*pb = b
	}
	return ps, pb
}

// setValue writes the field v by reflection; ps and pb are from newTarget.
func setValue(v reflect.Value, kind fieldKind, s string, b []byte, ps *string, pb *[]byte) {
	switch kind {
	case kindString:
		v.SetString(s)
	case kindBytes:
		v.SetBytes(b)
	case kindStringPtr:
		v.Set(reflect.ValueOf(ps))
	case kindBytesPtr:
		v.Set(reflect.ValueOf(pb))
	}
}
