//go:build !unix

package filestore

import (
	"context"
	"errors"
	"os"
)

// lockFile is not implemented where flock(2) is missing: the store refuses
// to open rather than write without a lock.
func lockFile(context.Context, string) (*os.File, error) {
	return nil, errors.ErrUnsupported
}
