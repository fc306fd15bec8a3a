package crypt

import (
	"context"
	"fmt"
	"reflect"
)

// Encrypt encrypts the tagged fields of the struct v points to, in place,
// and computes its blind and token indexes. Call it before writing the
// record.
//
// It is all or nothing: on error no field of v has changed. A field that
// already holds one of this scope's stored values (one that parses
// completely as a stored value and names a key of the field's keyset) fails
// with ErrAlreadyEncrypted: values are never encrypted twice. Any other
// value is plaintext, whatever its leading bytes ("fc7:...", a first byte
// 0xFC); docs/FORMAT.md section 6 states the rule. Nil pointers, nil slices
// and empty values are left as they are. A record with encrypted fields,
// or a record it holds, whose identity fields are all zero ("" or 0) fails
// with ErrMissingIdentity: its ciphertexts would bind no row.
func (e *Encryptor) Encrypt(ctx context.Context, v any) error {
	p, rv, err := e.record(v)
	if err == nil {
		err = e.encryptValue(ctx, p, rv)
	}
	e.countFailure(ctx, "encrypt", err)
	return err
}

// encryptValue encrypts the struct value rv, whose plan is p.
func (e *Encryptor) encryptValue(ctx context.Context, p *plan, rv reflect.Value) error {
	if len(p.assocs) > 0 {
		var t tree
		defer t.release()
		if err := e.encryptTree(ctx, p, rv, &t); err != nil {
			return err
		}
		var all []written
		for _, o := range t.ops {
			all = o.written(all)
		}
		if err := checkShared(p, all); err != nil {
			return err
		}
		t.apply()
		return nil
	}
	if err := p.checkIdentity(rv); err != nil {
		return err
	}
	o, err := e.newOp(ctx, p, rv)
	if err != nil {
		return err
	}
	defer o.release()
	if err := o.encryptGroup(&p.root, rv); err != nil {
		return err
	}
	if p.mayShare {
		o.writ = o.written(o.writ[:0])
		if err := checkShared(p, o.writ); err != nil {
			return err
		}
	}
	o.apply()
	return nil
}

func (o *op) encryptGroup(g *group, rv reflect.Value) error {
	for i := range g.ifaces {
		if err := g.ifaces[i].checkHidden(rv); err != nil {
			return err
		}
	}
	// Indexes first: they read the plaintext of their sources.
	for i := range g.indexes {
		ix := &g.indexes[i]
		dst, ok := ix.locate(rv)
		if !ok {
			continue
		}
		val, err := o.indexValue(ix, rv)
		if err != nil {
			return err
		}
		o.pending = append(o.pending, assignment{field: dst, kind: kindString, path: &ix.path, s: val})
	}
	for i := range g.tokens {
		tf := &g.tokens[i]
		dst, ok := tf.locate(rv)
		if !ok {
			continue
		}
		toks, err := o.tokenValue(tf, rv)
		if err != nil {
			return err
		}
		o.tokens = append(o.tokens, tokenAssignment{field: dst, path: tf.path, tok: toks})
	}
	for i := range g.fields {
		if err := o.encryptField(&g.fields[i], rv); err != nil {
			return err
		}
	}
	for i := range g.slices {
		if err := o.eachElement(&g.slices[i], rv, o.encryptGroup); err != nil {
			return err
		}
	}
	return nil
}

// eachElement runs fn on every element of a slice of structs.
func (o *op) eachElement(sf *sliceField, rv reflect.Value, fn func(*group, reflect.Value) error) error {
	sv, ok := fieldAt(rv, sf.index)
	if !ok {
		return nil
	}
	for j := range sv.Len() {
		ev := sv.Index(j)
		if sf.ptrElem {
			if ev.IsNil() {
				continue
			}
			ev = ev.Elem()
		}
		if err := fn(sf.elem, ev); err != nil {
			return err
		}
	}
	return nil
}

func (o *op) encryptField(f *encField, rv reflect.Value) error {
	fv, ok := f.locate(rv)
	if !ok {
		return nil
	}
	s, b, present := fv.get(f.kind)
	if !present {
		return nil
	}
	fail := func(err error) error {
		return &FieldError{Op: "encrypt", Record: o.p.record, Field: f.path, Class: f.class, Err: err}
	}
	text := f.kind.isText()
	dk, err := o.dataKeys(f.classIdx)
	if err != nil {
		return fail(err)
	}
	stored, err := o.alreadyEncrypted(dk, text, s, b)
	if err != nil {
		return fail(err)
	}
	if stored {
		return fail(ErrAlreadyEncrypted)
	}
	pt := b
	if text {
		pt = stringToBytes(s)
	}
	ct, err := dk.Encrypt(pt, o.aad.forField(f.path)) // counted for the nonce budget
	if err != nil {
		return fail(err)
	}
	a := assignment{field: fv, kind: f.kind, path: &f.path}
	if text {
		a.s = encodeText(ct)
	} else {
		a.b = encodeBinary(ct)
	}
	o.pending = append(o.pending, a)
	return nil
}

// checkShared refuses an encryption that would write one field twice: two
// paths of the record that reach the same memory (a pointer or a slice held
// by two fields). Each path's ciphertext is bound to that path, so the
// value written last would not decrypt under the other: the record is
// refused rather than stored so.
func checkShared(p *plan, pending []written) error {
	if len(pending) > 16 {
		seen := make(map[uintptr]int, len(pending))
		for i := range pending {
			a := pending[i].addr
			if j, ok := seen[a]; ok && a != 0 {
				return sharedError(p, pending[j].path, pending[i].path)
			}
			seen[a] = i
		}
		return nil
	}
	for i := range pending {
		a := pending[i].addr
		for j := range i {
			if a != 0 && pending[j].addr == a {
				return sharedError(p, pending[j].path, pending[i].path)
			}
		}
	}
	return nil
}

// written is a field an Encrypt is about to write: where, and its path.
type written struct {
	addr uintptr
	path string
}

// written appends the fields o is about to write to dst.
func (o *op) written(dst []written) []written {
	for i := range o.pending {
		dst = append(dst, written{o.pending[i].field.addr(), *o.pending[i].path})
	}
	for i := range o.tokens {
		dst = append(dst, written{o.tokens[i].field.addr(), o.tokens[i].path})
	}
	return dst
}

func sharedError(p *plan, first, second string) error {
	return &FieldError{Op: "encrypt", Record: p.record, Field: second, Class: "-", Err: fmt.Errorf("%w: %s reaches the same value", ErrSharedValue, first)}
}
