package crypt

import (
	"context"
	"fmt"
	"reflect"
)

// EncryptedCopy returns a pointer to an encrypted copy of the record v
// points to and leaves v as it was: v keeps its plaintext, and nothing it
// shares with the copy (a nested struct behind a pointer, a slice of
// nested records, a *string) is written to. Use it where the struct is
// used again after it is written, such as an INSERT followed by a response
// built from the same value. The copy is as deep as the tagged fields go;
// fields without tags are copied shallowly (a copy shares them with v).
//
// It fails as Encrypt does, and returns nil then.
func (e *Encryptor) EncryptedCopy(ctx context.Context, v any) (any, error) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return nil, &InvalidArgumentError{Type: reflect.TypeOf(v)}
	}
	cp := reflect.New(rv.Elem().Type())
	cp.Elem().Set(rv.Elem())
	c := copier{done: map[copyKey]reflect.Value{
		// the root: a record that holds it back is held by the copy
		{t: rv.Type(), addr: rv.Pointer()}: cp,
	}}
	if err := c.copyTagged(cp.Elem()); err != nil {
		return nil, err
	}
	if err := e.Encrypt(ctx, cp.Interface()); err != nil {
		return nil, err
	}
	return cp.Interface(), nil
}

// Encrypted is [Encryptor.EncryptedCopy] for a record of static type T:
// it returns an encrypted copy of *v and leaves *v as it was.
func Encrypted[T any](ctx context.Context, e *Encryptor, v *T) (*T, error) {
	cp, err := e.EncryptedCopy(ctx, v)
	if err != nil {
		return nil, err
	}
	return cp.(*T), nil
}

// copier makes the copy of EncryptedCopy. It remembers the pointers to
// held records and the slices of them that it copied, so one reached
// twice (a back reference, a cycle of records that hold each other) is
// copied once and shared in the copy as in the original: a cycle ends,
// and the record is encrypted once, under its own binding. Other memory
// reached twice (two fields of one record sharing a slice or a pointer)
// gets one copy per field: each is encrypted under its own field path.
type copier struct {
	done map[copyKey]reflect.Value
}

// copyKey identifies a pointer or slice of the original: its type, where
// it points, and for a slice its length and capacity.
type copyKey struct {
	t        reflect.Type
	addr     uintptr
	len, cap int
}

// copyTagged replaces, within the struct value v (itself already a copy),
// every pointer and slice through which a tagged field is reached by a
// copy, so that encrypting v writes only to memory v owns.
func (c *copier) copyTagged(v reflect.Value) error {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !containsTagged(f.Type, nil) {
			continue
		}
		fv := v.Field(i)
		switch f.Type.Kind() {
		case reflect.Struct:
			if err := c.copyTagged(fv); err != nil {
				return err
			}
		case reflect.Pointer, reflect.Slice:
			if fv.IsNil() {
				continue
			}
			if !fv.CanSet() {
				return &PlanError{Type: t, Field: f.Name, Msg: fmt.Sprintf("cannot copy unexported field of type %v holding tagged structs", f.Type)}
			}
			n, err := c.copyValue(fv)
			if err != nil {
				return err
			}
			fv.Set(n)
		}
	}
	return nil
}

// copyValue returns a copy of the pointer to struct, or slice of structs or
// of pointers to structs, v: new memory all the way to the tagged fields.
func (c *copier) copyValue(v reflect.Value) (reflect.Value, error) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() || v.Elem().Kind() != reflect.Struct {
			return v, nil
		}
		k := copyKey{t: v.Type(), addr: v.Pointer()}
		if n, ok := c.done[k]; ok {
			return n, nil
		}
		n := reflect.New(v.Elem().Type())
		n.Elem().Set(v.Elem())
		c.remember(k, n, v.Type())
		return n, c.copyTagged(n.Elem())
	case reflect.Slice:
		k := copyKey{t: v.Type(), addr: v.Pointer(), len: v.Len(), cap: v.Cap()}
		if n, ok := c.done[k]; ok {
			return n, nil
		}
		n := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		reflect.Copy(n, v)
		c.remember(k, n, v.Type())
		for i := range n.Len() {
			ev := n.Index(i)
			switch ev.Kind() {
			case reflect.Struct:
				if err := c.copyTagged(ev); err != nil {
					return reflect.Value{}, err
				}
			case reflect.Pointer:
				cp, err := c.copyValue(ev)
				if err != nil {
					return reflect.Value{}, err
				}
				ev.Set(cp)
			}
		}
		return n, nil
	}
	return v, nil
}

// remember records n as the copy of k when t, a pointer or slice type,
// holds records of their own.
func (c *copier) remember(k copyKey, n reflect.Value, t reflect.Type) {
	if _, ok := holdsRecords(t); !ok {
		return
	}
	if c.done == nil {
		c.done = map[copyKey]reflect.Value{}
	}
	c.done[k] = n
}
