package crypt

import (
	"context"
	"fmt"
	"reflect"
)

// elem returns a pointer to records[i]: the element itself when T is a
// pointer type, its address otherwise.
func elem[T any](records []T, i int) any {
	if reflect.TypeFor[T]().Kind() == reflect.Pointer {
		return records[i]
	}
	return &records[i]
}

// EncryptAll encrypts every record of a slice ([]Contact or []*Contact).
// Records are processed in order; it stops at the first failure, which is
// returned wrapped with its index. Records before it are encrypted, the
// failing one and those after it are unchanged.
func EncryptAll[T any](ctx context.Context, e *Encryptor, records []T) error {
	for i := range records {
		if err := e.Encrypt(ctx, elem(records, i)); err != nil {
			return fmt.Errorf("record %d: %w", i, err)
		}
	}
	return nil
}

// DecryptAll decrypts every record of a slice. An [*AccessError] (fields of
// a class this process cannot read) does not stop it: such records keep
// those fields encrypted, and the first AccessError is returned at the end.
// Any other failure stops it and is returned wrapped with its index.
func DecryptAll[T any](ctx context.Context, e *Encryptor, records []T) error {
	var access error
	for i := range records {
		err := e.Decrypt(ctx, elem(records, i))
		switch {
		case err == nil:
		case isAccessError(err):
			if access == nil {
				access = fmt.Errorf("record %d: %w", i, err)
			}
		default:
			return fmt.Errorf("record %d: %w", i, err)
		}
	}
	return access
}

func isAccessError(err error) bool {
	_, ok := err.(*AccessError)
	return ok
}
