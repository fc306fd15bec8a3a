package cli

import (
	"context"
	"fmt"
	"slices"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/reencrypt"
)

// keyUse is how many values of one column are under a key.
type keyUse struct {
	Table, Column string
	Values        int64
	Index         bool // blind-index values not under the primary index key
	// Unreadable (index keys only) is the rows whose index sources do not
	// decrypt, so that nothing shows which index key computed them.
	Unreadable bool
}

// keyUsage finds the stored values that still need key keyID of keyset id
// in the configured tables; checked is false when no tables are
// configured.
//
// For a data key it counts, with the same scan as status (key IDs only,
// nothing decrypted), the values under the key in every column of id's
// class. A blind-index value does not record its key, so for an index key
// it counts, as `status --index` does, the values of id's scope in the
// index columns of id's class that are not under the primary index key.
func (a *app) keyUsage(ctx context.Context, kr *keyring.Keyring, id keyring.KeysetID, keyID uint32) (uses []keyUse, checked bool, err error) {
	tables, err := a.tables()
	if err != nil || len(tables) == 0 {
		return nil, false, err
	}
	jdb, err := a.openJobDB(ctx, nil)
	if err != nil {
		return nil, false, err
	}
	if id.Purpose == keyring.PurposeIndex {
		return a.indexKeyUsage(ctx, kr, jdb, id)
	}
	for _, t := range jdb.tables {
		if !slices.ContainsFunc(t.Fields, func(c crypt.FieldSpec) bool { return c.DataClass() == id.Class }) {
			continue
		}
		if err := reencrypt.CheckDrift(ctx, jdb.db, jdb.dialect, crypt.New(kr, nil), t); err != nil {
			return nil, false, tablesError(fmt.Errorf("checking table %s: %w", t.Name, err))
		}
		rep, err := reencrypt.Status(ctx, jdb.db, jdb.dialect, t)
		if err != nil {
			return nil, false, tablesError(fmt.Errorf("status of table %s: %w", t.Name, err))
		}
		for _, c := range rep.Columns {
			if c.Class != id.Class {
				continue
			}
			for _, k := range c.Keys {
				if k.Scope == id.Scope && k.KeyID == keyID {
					uses = append(uses, keyUse{Table: t.Name, Column: c.Column, Values: k.Values})
				}
			}
		}
	}
	return uses, true, nil
}

// indexKeyUsage counts, in the rows of id's scope, the values of the
// blind-index columns of id's class, and the rows of its token indexes,
// that are not under the primary index key (reencrypt.IndexStatus): any of them may be under the key to
// destroy; so may those of rows whose sources do not decrypt, which it
// counts as Unreadable uses. It reads nothing else: no data column, no
// other scope or class.
func (a *app) indexKeyUsage(ctx context.Context, kr *keyring.Keyring, jdb *jobDB, id keyring.KeysetID) ([]keyUse, bool, error) {
	enc := crypt.New(kr, nil)
	var uses []keyUse
	for _, t := range jdb.tables {
		if !slices.ContainsFunc(t.Indexes, func(ix crypt.IndexSpec) bool { return t.IndexClass(ix) == id.Class }) &&
			!slices.ContainsFunc(t.Tokens, func(tk crypt.TokenIndexSpec) bool { return t.TokenClass(tk) == id.Class }) {
			continue
		}
		if err := reencrypt.CheckDrift(ctx, jdb.db, jdb.dialect, enc, t); err != nil {
			return nil, false, tablesError(fmt.Errorf("checking table %s: %w", t.Name, err))
		}
		rep, err := reencrypt.IndexStatus(ctx, jdb.db, jdb.dialect, enc, t, &reencrypt.IndexStatusOptions{Scope: id.Scope, Class: id.Class})
		if err != nil {
			return nil, false, tablesError(fmt.Errorf("checking the blind indexes of table %s: %w", t.Name, err))
		}
		for _, c := range rep.Columns {
			for _, sc := range c.Scopes {
				if sc.Unreadable > 0 {
					uses = append(uses, keyUse{Table: t.Name, Column: c.Column, Values: sc.Unreadable, Index: true, Unreadable: true})
				}
				if n := sc.NotPrimary(); n > 0 {
					uses = append(uses, keyUse{Table: t.Name, Column: c.Column, Values: n, Index: true})
				}
			}
		}
		// Token indexes: rows whose tokens (in the side table's token
		// column) are not those of the primary index key.
		for _, ti := range rep.Tokens {
			for _, sc := range ti.Scopes {
				if sc.Unreadable > 0 {
					uses = append(uses, keyUse{Table: t.Name, Column: ti.Table + ".token", Values: sc.Unreadable, Index: true, Unreadable: true})
				}
				if n := sc.NotPrimary(); n > 0 {
					uses = append(uses, keyUse{Table: t.Name, Column: ti.Table + ".token", Values: n, Index: true})
				}
			}
		}
	}
	return uses, true, nil
}
