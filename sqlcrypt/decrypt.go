package sqlcrypt

import (
	"context"
	"errors"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

// A Filter decides whether a collector ([CollectRows], [ScanAll]) keeps a
// record, after it is decrypted. record is a pointer to it. An error stops
// the collector, which returns it in a [*RowError].
type Filter func(record any) (bool, error)

// batch decrypts and filters the records of one result as they are read,
// with the semantics of crypt.DecryptAll: an AccessError does not stop it
// and is returned at the end; any other failure stops it. The keyring's
// cache loads each keyset once, whatever the number of rows.
type batch struct {
	ctx     context.Context
	enc     *crypt.Encryptor
	decrypt bool // false for a result with no encrypted column
	filters []Filter
	access  error // the first AccessError, as a *RowError
}

// record decrypts and filters the record v points to, read as row number
// row. keep says whether the collector keeps it; an error stops the batch.
//
// With filters, an AccessError stops the batch too: a filter that reads a
// field still encrypted (such as Match on an index whose source this
// process cannot read) would drop a record that holds the value sought,
// and a search must never miss a row silently.
func (b *batch) record(row int, v any) (keep bool, err error) {
	if b.decrypt {
		err := b.enc.Decrypt(b.ctx, v)
		var access *crypt.AccessError
		switch {
		case err == nil:
		case errors.As(err, &access) && len(b.filters) == 0:
			if b.access == nil {
				b.access = &RowError{Row: row, Err: err}
			}
		default:
			return false, &RowError{Row: row, Err: err}
		}
	}
	for _, f := range b.filters {
		ok, err := f(v)
		if err != nil {
			return false, &RowError{Row: row, Err: err}
		}
		if !ok {
			return false, nil
		}
	}
	return true, nil
}
