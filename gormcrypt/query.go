package gormcrypt

import (
	"context"
	"errors"
	"reflect"

	"gorm.io/gorm"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

// Reads. decryptQuery runs after gorm:query and before gorm:preload: the
// records a query scanned are decrypted, with the records Joins filled in
// them (held records, which their holder's Decrypt decrypts under their own
// binding); preloaded records are loaded by queries of their own, which
// this callback decrypts in turn.

func (p *Plugin) decryptQuery(db *gorm.DB) {
	stmt := db.Statement
	if len(stmt.Preloads) > 0 && stmt.Context.Value(preloadKey{}) == nil {
		// gorm:preload runs each association's query with this context:
		// their errors must not read as the positions of this result's
		// records (RecordErrors).
		stmt.Context = context.WithValue(stmt.Context, preloadKey{}, stmt)
	}
	if db.Error != nil || !stmt.ReflectValue.IsValid() {
		return
	}
	if stmt.ReflectValue.Kind() == reflect.Struct && db.RowsAffected == 0 {
		return // nothing was read into it
	}
	if stmt.Schema != nil {
		if m := p.modelOf(stmt.Schema); m.err != nil && m.typ == indirectType(stmt.ReflectValue.Type()) {
			db.AddError(m.err)
			return
		}
	}
	s := searchOf(stmt)
	if err := p.decryptValue(stmt.Context, stmt.ReflectValue); err != nil {
		var recs RecordErrors
		if root, ok := stmt.Context.Value(preloadKey{}).(*gorm.Statement); ok && root != stmt && errors.As(err, &recs) {
			// An association's query: its positions are not the caller's.
			err = &Error{Op: "preload", Model: stmt.ReflectValue.Type().String(), Err: errors.Join(recs.Unwrap()...)}
		}
		if s != nil {
			// A row whose fields did not all decrypt (crypt.ErrNoAccess,
			// crypt.ErrDecrypt) cannot be confirmed as a match, nor its
			// scope trusted: the search returns no row, and the error.
			s.clear(db)
		}
		db.AddError(err)
		return
	}
	for _, each := range searchesOf(stmt) {
		// Each search drops the rows that do not match it: what is left
		// matches them all.
		if err := each.filter(db); err != nil {
			s.clear(db)
			db.AddError(err)
			return
		}
	}
}

// checkPreloadScopes runs after gorm:preload. Preload loads associations
// with queries of their own, each decrypted on its own before GORM puts it
// in its holder, so Decrypt never sees a holder with the records it holds.
// Once they are in place, a held record of another scope than its holder's
// (a foreign key repointed at another tenant's row) fails the query with
// crypt.ErrScopeMismatch, and the result is emptied: the other tenant's
// record, decrypted, is never returned.
func (p *Plugin) checkPreloadScopes(db *gorm.DB) {
	stmt := db.Statement
	// Even after an error (another association that did not decrypt):
	// what was loaded stays in the caller's result.
	if len(stmt.Preloads) == 0 || !stmt.ReflectValue.IsValid() {
		return
	}
	rv := stmt.ReflectValue
	err := p.eachRecord(rv, func(rec reflect.Value) error {
		if err := crypt.CheckScopes(rec.Addr().Interface()); err != nil {
			return &Error{Op: "preload", Model: rec.Type().String(), Err: err}
		}
		return nil
	})
	if err == nil {
		return
	}
	switch {
	case rv.Kind() == reflect.Slice && rv.CanSet():
		for i := range rv.Len() {
			rv.Index(i).SetZero()
		}
		rv.SetLen(0)
	case rv.CanSet():
		rv.SetZero()
	}
	db.RowsAffected = 0
	db.AddError(err)
}

// eachRecord calls fn with each addressable struct of a tagged type that
// rv holds (rv itself, or the elements of a slice or array, through
// pointers) until fn fails.
func (p *Plugin) eachRecord(rv reflect.Value, fn func(reflect.Value) error) error {
	switch rv.Kind() {
	case reflect.Pointer:
		if rv.IsNil() {
			return nil
		}
		return p.eachRecord(rv.Elem(), fn)
	case reflect.Struct:
		if !p.taggedType(rv.Type()) || !rv.CanAddr() {
			return nil
		}
		return fn(rv)
	case reflect.Slice, reflect.Array:
		for i := range rv.Len() {
			if err := p.eachRecord(rv.Index(i), fn); err != nil {
				return err
			}
		}
	}
	return nil
}

// preloadKey marks the context of a statement with Preloads (its value
// is that statement), which the queries of its associations inherit.
type preloadKey struct{}

// decryptValue decrypts the records rv holds: a struct, or a slice or
// array of structs or pointers to structs, of a tagged type. Every record
// is tried; the records of a slice that failed are returned as
// RecordErrors.
func (p *Plugin) decryptValue(ctx context.Context, rv reflect.Value) error {
	switch rv.Kind() {
	case reflect.Pointer:
		if rv.IsNil() {
			return nil
		}
		return p.decryptValue(ctx, rv.Elem())
	case reflect.Struct:
		if !p.taggedType(rv.Type()) || !rv.CanAddr() {
			return nil
		}
		if err := p.enc.Decrypt(ctx, rv.Addr().Interface()); err != nil {
			return &Error{Op: "decrypt", Model: rv.Type().String(), Err: err}
		}
		return nil
	case reflect.Slice, reflect.Array:
		et := rv.Type().Elem()
		for et.Kind() == reflect.Pointer {
			et = et.Elem()
		}
		if !p.taggedType(et) {
			return nil
		}
		var errs RecordErrors
		for i := range rv.Len() {
			if err := p.decryptValue(ctx, rv.Index(i)); err != nil {
				errs = append(errs, RecordError{Index: i, Err: err})
			}
		}
		if errs == nil {
			return nil
		}
		return errs
	}
	return nil
}

// taggedType reports whether struct type t has crypt tags, once per type.
func (p *Plugin) taggedType(t reflect.Type) bool {
	if t.Kind() != reflect.Struct {
		return false
	}
	if v, ok := p.tagged.Load(t); ok {
		return v.(bool)
	}
	v := containsTagged(t, nil) && !isJoinTable(t)
	p.tagged.Store(t, v)
	return v
}

// Scan runs tx.Scan(dest) and decrypts what it scanned. GORM's Scan (and
// Raw(...).Scan) runs no query callbacks, so the plugin cannot decrypt
// behind it: scan tagged structs through this function, or use Find, which
// takes the same Select, Joins, Table and Raw.
func Scan(tx *gorm.DB, dest any) *gorm.DB {
	p, err := pluginOf(tx)
	if err != nil {
		tx = tx.Session(&gorm.Session{})
		tx.AddError(err)
		return tx
	}
	res := tx.Scan(dest)
	if res.Error != nil || res.RowsAffected == 0 {
		return res
	}
	if err := p.decryptValue(res.Statement.Context, reflect.ValueOf(dest)); err != nil {
		res.AddError(err)
	}
	return res
}

// indirectType returns the struct type t holds: through pointers, slices
// and arrays.
func indirectType(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
		t = t.Elem()
	}
	return t
}
