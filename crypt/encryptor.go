package crypt

import (
	"context"
	"encoding/binary"
	"reflect"
	"strconv"
	"sync/atomic"

	"go.opentelemetry.io/otel/metric"

	"github.com/fieldcrypt/fieldcrypt/crypt/blind"
	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// Options configures an [Encryptor]. The zero value (or nil) is ready to use.
type Options struct {
	// SlowParams are the Argon2id parameters of blind indexes tagged slow.
	// Default blind.DefaultSlowParams. Changing them changes every slow
	// index value: treat them like a key rotation.
	SlowParams *blind.SlowParams

	// MeterProvider receives the fieldcrypt.crypt.failures counter (failed
	// encryptions and decryptions by operation, class and reason). Default:
	// the global OpenTelemetry provider, a no-op until one is installed.
	MeterProvider metric.MeterProvider
}

// KeySource is where an [Encryptor] gets its keys: the unwrapped keysets of
// a scope and field class, as opaque handles. [*keyring.Keyring] is one; a
// wrapper around a keyring (to count or trace lookups, say) is another.
//
// DataKeys and IndexKeys serve writes and may create a missing keyset;
// ExistingDataKeys and ExistingIndexKeys serve reads (Decrypt, blind-index
// lookups, the re-encryption job's checks) and must never create one,
// failing with an error that matches [keyring.ErrKeysetNotFound] instead.
// Errors otherwise are the keyring's: [keyring.ErrNoAccess] for a class
// this process may not read, [keyring.ErrScopeShredded], and the rest.
// The methods are called on every Encrypt and Decrypt, once per class of
// the record: they must be safe for concurrent use and must not call a KMS
// once the keysets are loaded.
type KeySource interface {
	DataKeys(ctx context.Context, scope, class string) (*keyring.DataKeys, error)
	ExistingDataKeys(ctx context.Context, scope, class string) (*keyring.DataKeys, error)
	IndexKeys(ctx context.Context, scope, class string) (*keyring.IndexKeys, error)
	ExistingIndexKeys(ctx context.Context, scope, class string) (*keyring.IndexKeys, error)
}

var _ KeySource = (*keyring.Keyring)(nil)

// Encryptor encrypts and decrypts the tagged fields of structs with keys
// from a [KeySource], normally a [keyring.Keyring]. It is safe for
// concurrent use.
type Encryptor struct {
	keys     KeySource
	keyring  *keyring.Keyring // keys, when it is a keyring: records then look up their scope once
	slow     blind.SlowParams
	failures metric.Int64Counter
	last     atomic.Pointer[plan] // the plan of the last record type seen
	indexers *indexerCache        // per loaded index keyset; its own allocation (see indexerCache)
}

// New returns an Encryptor that takes its keys from keys, normally a
// *keyring.Keyring. opts may be nil.
func New(keys KeySource, opts *Options) *Encryptor {
	e := &Encryptor{keys: keys, slow: blind.DefaultSlowParams, indexers: newIndexerCache()}
	e.keyring, _ = keys.(*keyring.Keyring)
	var mp metric.MeterProvider
	if opts != nil {
		if opts.SlowParams != nil {
			e.slow = *opts.SlowParams
		}
		mp = opts.MeterProvider
	}
	e.failures = newFailureCounter(mp)
	return e
}

// Keys returns the key source the Encryptor was made with.
func (e *Encryptor) Keys() KeySource { return e.keys }

// Keyring returns the keyring the Encryptor uses, or nil when its
// [KeySource] is not a *keyring.Keyring.
func (e *Encryptor) Keyring() *keyring.Keyring { return e.keyring }

// record resolves v (a non-nil pointer to a struct) to its plan and value.
// The plan of the last type seen is kept at hand: a service mostly
// encrypts one record type at a time. Skipping planFor's sync.Map lookup
// saves 2% of a Decrypt (BENCHMARKS.md, "Hot-path tricks").
func (e *Encryptor) record(v any) (*plan, reflect.Value, error) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return nil, reflect.Value{}, &InvalidArgumentError{Type: reflect.TypeOf(v)}
	}
	rv = rv.Elem()
	if p := e.last.Load(); p != nil && p.typ == rv.Type() {
		return p, rv, nil
	}
	p, err := planFor(rv.Type())
	if err != nil {
		return nil, reflect.Value{}, err
	}
	e.last.Store(p)
	return p, rv, nil
}

// fieldAt follows index from v through struct fields, dereferencing
// pointers to structs. ok is false when a pointer on the way is nil.
func fieldAt(v reflect.Value, index []int) (reflect.Value, bool) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return reflect.Value{}, false
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, true
}

// scopeOf returns the record's scope.
func (p *plan) scopeOf(rv reflect.Value) (string, error) {
	if p.scope == nil {
		return keyring.DefaultScope, nil
	}
	f, ok := p.scope.locate(rv)
	if !ok {
		return "", ErrMissingScope
	}
	s, _, present := f.get(kindString)
	if !present {
		return "", ErrMissingScope
	}
	return s, nil
}

// checkIdentity fails with ErrMissingIdentity when a record of p that has
// encrypted fields has an identity whose every field is zero: Encrypt
// would bind its ciphertexts to no row. A composite identity with some
// zero parts ((42, 0): an order's first line) names its row. Reads take
// any identity: a value bound to a zero one decrypts only there.
func (p *plan) checkIdentity(rv reflect.Value) error {
	if len(p.dataClasses) == 0 || len(p.ids) == 0 {
		return nil
	}
	for i := range p.ids {
		id := &p.ids[i]
		present := false
		if id.text {
			if f, ok := id.locate(rv); ok {
				_, _, present = f.get(kindString)
			}
		} else if f, ok := fieldAt(rv, id.index); ok {
			present = !f.IsZero()
		}
		if present {
			return nil
		}
	}
	return &FieldError{Op: "encrypt", Record: p.record, Field: p.ids[0].name, Class: "-", Err: ErrMissingIdentity}
}

// appendIDs appends the record's identity fields to the associated data
// prefix b (see aadBuilder), in canonical text form: strings as they are,
// integers in decimal.
func (p *plan) appendIDs(b []byte, rv reflect.Value) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(p.ids)))
	for i := range p.ids {
		id := &p.ids[i]
		b = appendLP(b, id.name)
		if id.text {
			var s string
			if f, ok := id.locate(rv); ok {
				s, _, _ = f.get(kindString)
			}
			b = appendLP(b, s)
			continue
		}
		// The value's length first, then its digits written in place.
		at := len(b)
		b = binary.BigEndian.AppendUint32(b, 0)
		if f, ok := fieldAt(rv, id.index); ok {
			switch f.Kind() {
			case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
				b = strconv.AppendInt(b, f.Int(), 10)
			default:
				b = strconv.AppendUint(b, f.Uint(), 10)
			}
		}
		binary.BigEndian.PutUint32(b[at:], uint32(len(b)-at-4))
	}
	return b
}
