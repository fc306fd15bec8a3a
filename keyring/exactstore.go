package keyring

import (
	"context"
	"errors"
	"fmt"
)

// exactStore is the keyring's view of its Store. It holds the store to
// its contract where a store writer or a misconfigured table could break
// it:
//
//   - A record comes back under the ID it was asked for, and a listing
//     holds only the scope asked for. A key column that compares case- or
//     space-insensitively (a MySQL collation given by a DBA's migration)
//     would answer "ACME" with tenant "acme"'s keyset, and a shred of one
//     tenant would destroy another's; such a record fails with
//     ErrIntegrity instead.
//   - A store that cannot be reached is an outage, like a KEK's: its
//     errors match ErrKEKUnavailable, so cached keysets keep serving for
//     the stale period. The store's own sentinels (ErrKeysetNotFound and
//     the rest) are kept as they are.
type exactStore struct{ s Store }

var _ Store = exactStore{}

// storeOutage classifies an error of the keyset store.
func storeOutage(err error) error {
	if err == nil || errors.Is(err, ErrKeysetNotFound) || errors.Is(err, ErrKeysetExists) ||
		errors.Is(err, ErrVersionConflict) || errors.Is(err, ErrInvalidName) {
		return err
	}
	return fmt.Errorf("%w: the keyset store cannot be reached: %w", ErrKEKUnavailable, err)
}

func (x exactStore) Get(ctx context.Context, id KeysetID) (*Record, error) {
	rec, err := x.s.Get(ctx, id)
	if err != nil {
		return nil, storeOutage(err)
	}
	if rec.ID != id {
		return nil, fmt.Errorf("%w: the store answered the keyset %s with the record of %s; its key columns must compare exactly (a binary collation on MySQL)", ErrIntegrity, id, rec.ID)
	}
	return rec, nil
}

func (x exactStore) List(ctx context.Context, scope string) ([]*Record, error) {
	recs, err := x.s.List(ctx, scope)
	if err != nil {
		return nil, storeOutage(err)
	}
	if scope != "" {
		for _, rec := range recs {
			if rec.ID.Scope != scope {
				return nil, fmt.Errorf("%w: the store listed the keyset %s under scope %q; its key columns must compare exactly (a binary collation on MySQL)", ErrIntegrity, rec.ID, scope)
			}
		}
	}
	return recs, nil
}

func (x exactStore) Create(ctx context.Context, rec *Record) error {
	return storeOutage(x.s.Create(ctx, rec))
}

func (x exactStore) Update(ctx context.Context, rec *Record, prevVersion int64) error {
	return storeOutage(x.s.Update(ctx, rec, prevVersion))
}

func (x exactStore) Delete(ctx context.Context, id KeysetID) error {
	return storeOutage(x.s.Delete(ctx, id))
}
