package crypt

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"

	"github.com/fieldcrypt/fieldcrypt/crypt/blind"
	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// indexers holds one blind.Indexer per enabled index key for one blind
// index, the primary first. The Encryptor memoizes it per loaded index
// keyset (see indexerCache), so subkeys are derived once per keyset load,
// not per record.
type indexers struct {
	primary *blind.Indexer   // list[0], held here too: one load fewer per write
	list    []*blind.Indexer // primary first, then by key ID
}

// indexersFor returns the indexers of ix under the keyset ik.
func (e *Encryptor) indexersFor(hint *memoHint, ik *keyring.IndexKeys, record string, ix *indexField) (*indexers, error) {
	return e.indexers.get(hint, ik, ix, func() (*indexers, error) {
		ids := ik.KeyIDs() // primary first, then ascending
		if len(ids) == 0 || ids[0] != ik.PrimaryID() {
			return nil, fmt.Errorf("index keyset has no enabled primary key")
		}
		var slow *blind.SlowParams
		if ix.slow {
			slow = &e.slow
		}
		set := &indexers{list: make([]*blind.Indexer, 0, len(ids))}
		for _, id := range ids {
			sub, err := blind.DeriveSubkey(indexKey{ik, id}, record, ix.name)
			if err != nil {
				return nil, err
			}
			ixr, err := blind.NewIndexer(sub, ix.bits, slow)
			clear(sub)
			if err != nil {
				return nil, err
			}
			set.list = append(set.list, ixr)
		}
		set.primary = set.list[0]
		return set, nil
	})
}

// indexKey is one key of an index keyset, as the PRF that
// blind.DeriveSubkey takes.
type indexKey struct {
	keys *keyring.IndexKeys
	id   uint32
}

func (k indexKey) ComputePRF(input []byte, outputLength uint32) ([]byte, error) {
	return k.keys.Compute(k.id, input, int(outputLength))
}

// sourceValues reads and transforms the source fields of ix. present is
// false when every source is empty, nil or absent: such a record gets an
// empty index value, which no query matches.
func (o *op) sourceValues(ix *indexField, rv reflect.Value, buf []string) (vals []string, present bool, err error) {
	for k := range ix.sources {
		var s string
		if fv, ok := ix.sources[k].locate(rv); ok {
			var b []byte
			var has bool
			s, b, has = fv.get(ix.srcKinds[k])
			if has {
				present = true
				text := ix.srcKinds[k].isText()
				stored, err := o.sourceIsStored(text, s, b)
				if err != nil {
					return nil, false, err
				}
				if stored {
					return nil, false, ErrAlreadyEncrypted
				}
				if !text {
					s = bytesToString(b) // read only, not retained
				}
			}
		}
		buf = append(buf, blind.Apply(ix.transforms, s))
	}
	return buf, present, nil
}

// indexValue computes the value of blind index ix for the record rv under
// the primary index key.
func (o *op) indexValue(ix *indexField, rv reflect.Value) (string, error) {
	fail := func(err error) (string, error) {
		return "", &FieldError{Op: "index", Record: o.p.record, Field: ix.path, Class: ix.class, Err: err}
	}
	var arr [4]string
	vals, present, err := o.sourceValues(ix, rv, arr[:0])
	if err != nil {
		return fail(err)
	}
	if !present {
		return "", nil
	}
	ik, err := o.indexKeys(ix.classIdx)
	if err != nil {
		return fail(err)
	}
	set, err := o.e.indexersFor(&o.memo, ik, o.p.record, ix)
	if err != nil {
		return fail(err)
	}
	o.hexBuf = set.primary.AppendHex(o.hexBuf[:0], vals...)
	return string(o.hexBuf), nil
}

// BlindIndexValues returns the values that blind index index takes for the
// source fields set in v (a pointer to the record type, with its scope field
// and the index's source fields filled in): one value per enabled index key,
// the primary key's first, duplicates removed. Query with
//
//	WHERE email_idx IN (values...)
//
// so that lookups keep working while an index-key rotation is under way.
// index is the Go name of the blind-index field (such as "EmailIdx") or its
// name= tag option. Indexes inside slice elements cannot be queried this way.
//
// Blind indexes match equal inputs after the index's transforms, and also
// unequal inputs by design (that is what bounds their leakage): always
// decrypt the rows found and compare.
//
// A lookup is a read: it never creates a keyset or calls a KMS to wrap
// one. For a scope with no index keyset it returns no values and no error
// (no stored row can hold an index value then), so a search on a made-up
// tenant finds nothing and costs nothing. For a shredded scope it fails
// with keyring.ErrScopeShredded.
func (e *Encryptor) BlindIndexValues(ctx context.Context, v any, index string) ([]string, error) {
	p, rv, err := e.record(v)
	if err != nil {
		return nil, err
	}
	ix, ok := p.indexes[index]
	if !ok {
		return nil, fmt.Errorf("%w: %s has no blind index %q", ErrUnknownIndex, p.typ, index)
	}
	return e.indexValues(ctx, p, rv, ix)
}

// indexValues computes the values of blind index ix for the record rv,
// whose plan is p, under every enabled index key.
func (e *Encryptor) indexValues(ctx context.Context, p *plan, rv reflect.Value, ix *indexField) ([]string, error) {
	o, err := e.newOp(ctx, p, rv)
	if err != nil {
		return nil, err
	}
	defer o.release()
	o.reading = true // a lookup creates no keyset
	fail := func(err error) ([]string, error) {
		return nil, &FieldError{Op: "index", Record: p.record, Field: ix.path, Class: ix.class, Err: err}
	}
	vals, present, err := o.sourceValues(ix, rv, nil)
	if err != nil {
		return fail(err)
	}
	if !present {
		return nil, nil
	}
	ik, err := o.indexKeys(ix.classIdx)
	if errors.Is(err, keyring.ErrKeysetNotFound) {
		// The scope has no index keyset, so no stored row can hold an
		// index value: the lookup matches nothing.
		return nil, nil
	}
	if err != nil {
		return fail(err)
	}
	set, err := e.indexersFor(nil, ik, p.record, ix)
	if err != nil {
		return fail(err)
	}
	out := make([]string, 0, len(set.list))
	for _, ixr := range set.list {
		s := string(ixr.AppendHex(nil, vals...))
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out, nil
}
