package crypt

import (
	"encoding/binary"
	"reflect"
)

// aadLabel starts the associated data of every field value.
const aadLabel = "fieldcrypt field v1"

// aadBuilder builds the associated data of a record's fields:
//
//	lp(label) || lp(scope) || lp(record type) || u32be(n) ||
//	lp(id name 1) || lp(id value 1) || ... || lp(id name n) || lp(id value n) ||
//	lp(field path)
//
// where lp(x) = u32be(len(x)) || x. Everything but the field path is the same
// for every field of a record, so it is built once per record.
type aadBuilder struct {
	buf    []byte
	prefix int // length of the per-record part
}

func appendLP(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// reset starts a record of plan p, whose value is rv, in scope.
func (a *aadBuilder) reset(scope string, p *plan, rv reflect.Value) {
	b := a.buf[:0]
	b = appendLP(b, aadLabel)
	b = appendLP(b, scope)
	b = appendLP(b, p.record)
	b = p.appendIDs(b, rv)
	a.buf, a.prefix = b, len(b)
}

// forField returns the associated data of one field. The slice is valid
// until the next call.
func (a *aadBuilder) forField(path string) []byte {
	a.buf = appendLP(a.buf[:a.prefix], path)
	return a.buf
}
