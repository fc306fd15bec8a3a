package crypt

import (
	"context"
	"reflect"
	"slices"
	"sync"

	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// op is the state of one Encrypt or Decrypt call on one record. Changes are
// collected in pending and applied only when the whole record succeeded, so
// a failure never leaves a record half-encrypted.
type op struct {
	e       *Encryptor
	ctx     context.Context
	p       *plan
	scope   string
	aad     aadBuilder
	data    []classKeys[*keyring.DataKeys]
	index   []classKeys[*keyring.IndexKeys]
	pending []assignment
	tokens  []tokenAssignment // token indexes' tokens: apart, so that records without any do not carry them in pending
	writ    []written         // checkShared's buffer
	hexBuf  []byte
	ctBuf   []byte   // Decrypt's base64 decoding buffer, reused field after field
	memo    memoHint // the indexer memo's entry of the record's last index keyset

	// view is the record's scope in the keyring, looked up once for all
	// its classes, when the key source is a keyring (viewed: looked up for
	// this record). A pooled op keeps the view of its last record: the
	// next record of the same scope uses it again while it is Current,
	// which is exactly when a new one would be the same.
	view   keyring.ScopeKeys
	viewed bool

	// reading is set by Decrypt and by blind-index lookups: keysets are
	// then only looked up, never created, whatever scope a row or a query
	// names.
	reading bool
}

// classKeys is one keyset looked up for the call, by class position.
type classKeys[K any] struct {
	done bool
	keys K
	err  error
}

// assignment is one field value to set when the record is done.
type assignment struct {
	field fieldRef
	path  *string // the field's path in the plan, for errors
	s     string
	b     []byte
	kind  fieldKind
}

func (a *assignment) apply() { a.field.set(a.kind, a.s, a.b) }

// tokenAssignment is the Tokens of one token index to set when the record
// is done.
type tokenAssignment struct {
	field fieldRef
	path  string // the index's path, for errors
	tok   Tokens
}

// maxPooledBuffer bounds the decoding buffer a pooled op keeps, so that one
// huge value does not pin its memory.
const maxPooledBuffer = 64 << 10

var opPool = sync.Pool{New: func() any { return new(op) }}

func (e *Encryptor) newOp(ctx context.Context, p *plan, rv reflect.Value) (*op, error) {
	scope, err := p.scopeOf(rv)
	if err != nil {
		return nil, &FieldError{Op: "read scope of", Record: p.record, Field: "(scope)", Class: "-", Err: err}
	}
	o := opPool.Get().(*op)
	if !o.view.Current(e.keyring, scope) {
		// The last record's view is kept only for a record it serves as
		// is. Dropping it here, not when scopeKeys replaces it, means a
		// pooled op never holds the keysets of a closed, dropped or shredded
		// keyring or scope, or another Encryptor's, past its next record:
		// the opPool is the whole package's, and records that need no key,
		// or an Encryptor whose key source is not a *keyring.Keyring, never
		// reach scopeKeys.
		o.view = keyring.ScopeKeys{}
	}
	o.e, o.ctx, o.p, o.scope = e, ctx, p, scope
	o.data = slices.Grow(o.data[:0], len(p.dataClasses))[:len(p.dataClasses)]
	o.index = slices.Grow(o.index[:0], len(p.indexClasses))[:len(p.indexClasses)]
	o.aad.reset(scope, p, rv)
	return o, nil
}

func (o *op) release() {
	clear(o.data)
	clear(o.index)
	clear(o.pending)
	clear(o.tokens)
	o.tokens, o.writ = o.tokens[:0], o.writ[:0]
	o.data, o.index, o.pending = o.data[:0], o.index[:0], o.pending[:0]
	if cap(o.ctBuf) > maxPooledBuffer {
		o.ctBuf = nil
	}
	o.e, o.ctx, o.p, o.reading = nil, nil, nil, false
	o.viewed = false // the view is kept for the next record: see scopeKeys
	o.memo = memoHint{}
	opPool.Put(o)
}

func (o *op) apply() {
	for i := range o.pending {
		o.pending[i].apply()
	}
	for i := range o.tokens {
		o.tokens[i].field.setTokens(o.tokens[i].tok)
	}
}

// dataKeys returns the data keyset of the i-th class of the plan
// (plan.dataClasses) for this record's scope, looked up once per call.
func (o *op) dataKeys(i int) (*keyring.DataKeys, error) {
	if c := &o.data[i]; c.done {
		return c.keys, c.err
	}
	return o.lookUpDataKeys(i)
}

// lookUpDataKeys is dataKeys' first lookup of class i.
func (o *op) lookUpDataKeys(i int) (*keyring.DataKeys, error) {
	c := &o.data[i]
	class := o.p.dataClasses[i]
	switch v := o.scopeKeys(); {
	case v != nil && o.reading:
		c.keys, c.err = v.ExistingDataKeys(o.ctx, class)
	case v != nil:
		c.keys, c.err = v.DataKeys(o.ctx, class)
	case o.reading:
		c.keys, c.err = o.e.keys.ExistingDataKeys(o.ctx, o.scope, class)
	default:
		c.keys, c.err = o.e.keys.DataKeys(o.ctx, o.scope, class)
	}
	c.done = true
	return c.keys, c.err
}

// scopeKeys returns the record's scope in the keyring, looked up on first
// use, or nil when the key source is not a keyring.
func (o *op) scopeKeys() *keyring.ScopeKeys {
	k := o.e.keyring
	if k == nil {
		return nil
	}
	if !o.viewed {
		if !o.view.Current(k, o.scope) {
			o.view = k.Scope(o.scope)
		}
		o.viewed = true
	}
	return &o.view
}

// indexKeys returns the index keyset of the i-th class of the plan
// (plan.indexClasses) for this record's scope.
func (o *op) indexKeys(i int) (*keyring.IndexKeys, error) {
	if c := &o.index[i]; c.done {
		return c.keys, c.err
	}
	return o.lookUpIndexKeys(i)
}

// lookUpIndexKeys is indexKeys' first lookup of class i.
func (o *op) lookUpIndexKeys(i int) (*keyring.IndexKeys, error) {
	c := &o.index[i]
	class := o.p.indexClasses[i]
	switch v := o.scopeKeys(); {
	case v != nil && o.reading:
		c.keys, c.err = v.ExistingIndexKeys(o.ctx, class)
	case v != nil:
		c.keys, c.err = v.IndexKeys(o.ctx, class)
	case o.reading:
		c.keys, c.err = o.e.keys.ExistingIndexKeys(o.ctx, o.scope, class)
	default:
		c.keys, c.err = o.e.keys.IndexKeys(o.ctx, o.scope, class)
	}
	c.done = true
	return c.keys, c.err
}

// fieldValue reads an encrypted or source field: its text or bytes and
// whether it holds a value at all (nil pointers and nil slices do not;
// empty strings and empty slices are stored as they are).
func fieldValue(f reflect.Value, kind fieldKind) (s string, b []byte, present bool) {
	switch kind {
	case kindString:
		s = f.String()
		return s, nil, s != ""
	case kindBytes:
		b = f.Bytes()
		return "", b, len(b) > 0
	case kindStringPtr:
		if f.IsNil() {
			return "", nil, false
		}
		s = f.Elem().String()
		return s, nil, s != ""
	case kindBytesPtr:
		if f.IsNil() {
			return "", nil, false
		}
		b = f.Elem().Bytes()
		return "", b, len(b) > 0
	}
	return "", nil, false
}

func (k fieldKind) isText() bool { return k == kindString || k == kindStringPtr }
