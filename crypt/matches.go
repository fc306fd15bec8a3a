package crypt

import (
	"fmt"
	"reflect"

	"github.com/fieldcrypt/fieldcrypt/crypt/blind"
)

// Matches reports whether record matches probe on the blind index named
// index: whether every source field of the index holds the same value in
// both once the index's own transforms are applied ("lower+trim" makes
// " Ada@Example.com" match "ada@example.com"). A blind index also finds
// rows whose value differs (that is what bounds its leakage); Matches is
// the check that drops them after decryption, with the transforms the
// index declares, so no one copies a transform by hand.
//
// record and probe are the same record type, as structs or pointers to
// them; record is decrypted, probe holds the query's scope and values (as
// passed to [Encryptor.BlindIndexValues]). A record of another scope never
// matches, whatever it holds: the scopes are compared byte for byte, as the
// keyring names keysets. A probe with no value in any source never
// matches: no query is made for it. index is the blind-index field's Go
// name or its name= option. No keys are used.
func Matches(record, probe any, index string) (bool, error) {
	rv, pv := structValue(record), structValue(probe)
	if !rv.IsValid() {
		return false, &InvalidArgumentError{Type: reflect.TypeOf(record)}
	}
	if !pv.IsValid() || pv.Type() != rv.Type() {
		return false, fmt.Errorf("%w: probe is %v, want the record's type %v", ErrTypeMismatch, reflect.TypeOf(probe), rv.Type())
	}
	p, err := planFor(rv.Type())
	if err != nil {
		return false, err
	}
	ix, ok := p.indexes[index]
	if !ok {
		return false, fmt.Errorf("%w: %s has no blind index %q", ErrUnknownIndex, p.typ, index)
	}
	// Index values are the scope's: a row of another scope that holds
	// the same value is another tenant's record, never a match.
	if p.scope != nil {
		ps, _ := p.scopeOf(pv)
		rs, _ := p.scopeOf(rv)
		if ps != rs {
			return false, nil
		}
	}
	// The comparison is the index's own: a source that holds nothing is
	// "", the transforms apply to every source, and a record (or probe)
	// with no value in any source has no index value at all. So Matches
	// accepts every record whose index inputs equal the probe's, and
	// drops no row the index found for the value sought.
	asked, held := false, false
	for k, src := range ix.sources {
		ps, pok := sourceText(pv, src.index, ix.srcKinds[k])
		rs, rok := sourceText(rv, src.index, ix.srcKinds[k])
		asked, held = asked || pok, held || rok
		if blind.Apply(ix.transforms, ps) != blind.Apply(ix.transforms, rs) {
			return false, nil
		}
	}
	return asked && held, nil
}

// structValue returns the struct v is or points to, or the zero Value.
func structValue(v any) reflect.Value {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return reflect.Value{}
		}
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct {
		return reflect.Value{}
	}
	return rv
}

// sourceText reads a blind-index source field as text, "" when it holds
// no value; ok is false then (empty, nil, or behind a nil pointer).
func sourceText(rv reflect.Value, index []int, kind fieldKind) (string, bool) {
	fv, ok := fieldAt(rv, index)
	if !ok {
		return "", false
	}
	s, b, present := fieldValue(fv, kind)
	if !kind.isText() {
		s = string(b)
	}
	return s, present
}
