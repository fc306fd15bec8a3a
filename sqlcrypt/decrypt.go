package sqlcrypt

import (
	"context"
	"errors"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

// batch decrypts the records of one result as they are read, with the
// semantics of crypt.DecryptAll: an AccessError does not stop it and is
// returned at the end; any other failure stops it. The keyring's cache
// loads each keyset once, whatever the number of rows.
type batch struct {
	ctx    context.Context
	enc    *crypt.Encryptor
	access error // the first AccessError, as a *RowError
}

// decrypt decrypts the record v points to, read as row number row. It
// returns an error only when the batch must stop.
func (b *batch) decrypt(row int, v any) error {
	err := b.enc.Decrypt(b.ctx, v)
	var access *crypt.AccessError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &access):
		if b.access == nil {
			b.access = &RowError{Row: row, Err: err}
		}
		return nil
	}
	return &RowError{Row: row, Err: err}
}
