package cli

import (
	"context"

	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// keyUse is how many values of one column are under a key.
type keyUse struct {
	Table, Column string
	Values        int64
}

// keyUsage counts, column by column, the stored values under keyID of
// keyset id in the configured tables. checked is false when no tables are
// configured.
func (a *app) keyUsage(ctx context.Context, kr *keyring.Keyring, id keyring.KeysetID, keyID uint32) (uses []keyUse, checked bool, err error) {
	return nil, false, nil
}
