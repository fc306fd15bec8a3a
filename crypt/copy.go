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
	if err := copyTagged(cp.Elem()); err != nil {
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

// copyTagged replaces, within the struct value v (itself already a copy),
// every pointer and slice through which a tagged field is reached by a
// copy, so that encrypting v writes only to memory v owns.
func copyTagged(v reflect.Value) error {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !containsTagged(f.Type, nil) {
			continue
		}
		fv := v.Field(i)
		switch f.Type.Kind() {
		case reflect.Struct:
			if err := copyTagged(fv); err != nil {
				return err
			}
		case reflect.Pointer, reflect.Slice:
			if fv.IsNil() {
				continue
			}
			if !fv.CanSet() {
				return &PlanError{Type: t, Field: f.Name, Msg: fmt.Sprintf("cannot copy unexported field of type %v holding tagged structs", f.Type)}
			}
			n, err := copyValue(fv)
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
func copyValue(v reflect.Value) (reflect.Value, error) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() || v.Elem().Kind() != reflect.Struct {
			return v, nil
		}
		n := reflect.New(v.Elem().Type())
		n.Elem().Set(v.Elem())
		return n, copyTagged(n.Elem())
	case reflect.Slice:
		n := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		reflect.Copy(n, v)
		for i := range n.Len() {
			ev := n.Index(i)
			switch ev.Kind() {
			case reflect.Struct:
				if err := copyTagged(ev); err != nil {
					return reflect.Value{}, err
				}
			case reflect.Pointer:
				c, err := copyValue(ev)
				if err != nil {
					return reflect.Value{}, err
				}
				ev.Set(c)
			}
		}
		return n, nil
	}
	return v, nil
}
