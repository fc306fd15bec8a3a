package crypt

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"slices"

	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// Decrypt decrypts the tagged fields of the struct v points to, in place.
// Call it after reading the record.
//
// A value that is not encrypted fails with ErrNotEncrypted: plaintext is
// never returned as if it had been decrypted (see DecryptMigrating). A value
// moved from another record, field or tenant, or tampered with, fails with
// ErrDecrypt. On these and other errors no field of v has changed.
//
// Fields of classes this process has no access to are the exception: they
// are left encrypted, every other field is decrypted, and the error is an
// [*AccessError] matching ErrNoAccess.
func (e *Encryptor) Decrypt(ctx context.Context, v any) error {
	_, err := e.decrypt(ctx, v, false)
	return err
}

// DecryptMigrating is Decrypt for a migration from plaintext columns: a
// value that is not encrypted is left as it is (it is legacy plaintext) and
// its field path is reported, instead of failing with ErrNotEncrypted.
// Encrypt the record and write it back to finish migrating it.
//
// Legacy plaintext is told apart by its leading bytes, as docs/FORMAT.md
// (section 6) specifies: text that does not start with "fc", digits and
// ":", and binary data that does not start with 0xFC and one more byte.
// A value that starts like a stored value but does not decode as one
// ("fc2:...", or
// "fc1:" and a tail that is not a ciphertext) fails with ErrMalformed here
// too: it may be a damaged ciphertext, or one of a newer format version,
// and reading it as plaintext would have the migration encrypt a
// ciphertext. Encrypt takes such a value for plaintext: a record whose
// fields all hold legacy plaintext can be encrypted directly.
func (e *Encryptor) DecryptMigrating(ctx context.Context, v any) (legacy []string, err error) {
	return e.decrypt(ctx, v, true)
}

func (e *Encryptor) decrypt(ctx context.Context, v any, migrating bool) ([]string, error) {
	p, rv, err := e.record(v)
	if err != nil {
		return nil, err
	}
	legacy, err := e.decryptValue(ctx, p, rv, migrating)
	e.countFailure(ctx, "decrypt", err)
	return legacy, err
}

// decryptValue decrypts the struct value rv, whose plan is p.
func (e *Encryptor) decryptValue(ctx context.Context, p *plan, rv reflect.Value, migrating bool) ([]string, error) {
	if len(p.assocs) > 0 {
		var t tree
		defer t.release()
		var access *AccessError
		legacy, err := e.decryptTree(ctx, p, rv, &t, migrating, "", &access)
		if err != nil {
			return nil, err
		}
		t.apply()
		if access != nil {
			return legacy, access
		}
		return legacy, nil
	}
	o, err := e.newOp(ctx, p, rv)
	if err != nil {
		return nil, err
	}
	defer o.release()
	o.reading = true
	d := &decryption{op: o, migrating: migrating}
	if err := d.group(&p.root, rv); err != nil {
		return nil, err
	}
	o.apply()
	if d.access != nil {
		return d.legacy, d.access
	}
	return d.legacy, nil
}

type decryption struct {
	*op
	migrating bool
	legacy    []string
	access    *AccessError
}

func (d *decryption) group(g *group, rv reflect.Value) error {
	for i := range g.fields {
		if err := d.field(&g.fields[i], rv); err != nil {
			return err
		}
	}
	for i := range g.slices {
		if err := d.eachElement(&g.slices[i], rv, d.group); err != nil {
			return err
		}
	}
	return nil
}

func (d *decryption) field(f *encField, rv reflect.Value) error {
	fv, ok := f.locate(rv)
	if !ok {
		return nil
	}
	s, b, present := fv.get(f.kind)
	if !present {
		return nil
	}
	var keyID uint32
	text := f.kind.isText()
	var ct []byte
	var err error
	if text {
		ct, err = decodeTextInto(d.ctBuf, s)
		if cap(ct) > cap(d.ctBuf) {
			d.ctBuf = ct[:0]
		}
	} else {
		ct, err = decodeBinary(b)
	}
	if err != nil {
		if d.migrating && errors.Is(err, ErrNotEncrypted) {
			d.legacy = append(d.legacy, f.path)
			return nil
		}
		return d.fail(f, keyID, err)
	}
	keyID = binary.BigEndian.Uint32(ct[1:5])
	dk, err := d.dataKeys(f.classIdx)
	if err != nil {
		switch {
		case errors.Is(err, ErrNoAccess):
			d.noAccess(f, err)
			return nil
		case errors.Is(err, keyring.ErrScopeShredded):
			// The scope was shredded: its keys are gone for good.
			return d.fail(f, keyID, fmt.Errorf("%w: %w", ErrKeyDestroyed, err))
		case errors.Is(err, keyring.ErrKeysetNotFound):
			// The scope has no keyset of this class: it never had one.
			return d.fail(f, keyID, fmt.Errorf("%w: %w", ErrKeyNotFound, err))
		}
		return d.fail(f, keyID, err)
	}
	pt, err := dk.Decrypt(ct, d.aad.forField(f.path))
	if err != nil {
		// Only enabled keys decrypt: say why the key was missing, or
		// else fail opaquely (the keyring's error is not passed on).
		switch dk.Status(keyID) {
		case keyring.KeyUnknown:
			return d.fail(f, keyID, ErrKeyNotFound)
		case keyring.KeyDisabled:
			return d.fail(f, keyID, ErrKeyDisabled)
		case keyring.KeyDestroyed:
			return d.fail(f, keyID, ErrKeyDestroyed)
		}
		return d.fail(f, keyID, ErrDecrypt)
	}
	// Filled in place: an assignment is several words of pointers.
	d.pending = append(d.pending, assignment{})
	a := &d.pending[len(d.pending)-1]
	a.field, a.kind = fv, f.kind
	if text {
		a.s = stringApart(pt, d.ctBuf) // the next field reuses ctBuf
	} else {
		a.b = pt
	}
	return nil
}

// fail is the error of field f, whose value names keyID (0: not read yet).
func (d *decryption) fail(f *encField, keyID uint32, err error) error {
	return &FieldError{Op: "decrypt", Record: d.p.record, Field: f.path, Class: f.class, KeyID: keyID, Err: err}
}

func (d *decryption) noAccess(f *encField, err error) {
	if d.access == nil {
		d.access = &AccessError{Record: d.p.record, Err: err}
	}
	d.access.Fields = append(d.access.Fields, f.path)
	if !slices.Contains(d.access.Classes, f.class) {
		d.access.Classes = append(d.access.Classes, f.class)
	}
}
