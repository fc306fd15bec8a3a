package keyring_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// beforeWriteStore runs a hook once, before the first Create of the store
// it wraps: another operator's command that lands between an import's
// checks and its writes.
type beforeWriteStore struct {
	keyring.Store
	once sync.Once
	hook func()
}

func (s *beforeWriteStore) Create(ctx context.Context, rec *keyring.Record) error {
	s.once.Do(s.hook)
	return s.Store.Create(ctx, rec)
}

// TestImportRacingShredStaysShredded plays two operators without an
// anchor: one restores a backup of a tenant's keysets with `keys import`,
// the other shreds the tenant at the same moment, and the shred lands
// after the import checked the store and before it wrote. The import must
// not leave a live keyset, holding the backup's keys, in the shredded
// scope (SECURITY.md: import refuses a live keyset while the tombstones
// are in the store): neither over a tombstone (--overwrite) nor in a place
// the shred left empty.
func TestImportRacingShredStaysShredded(t *testing.T) {
	for _, tc := range []struct {
		name string
		// lost: the backup's support keysets are no longer in the store
		lost bool
		opts keyring.ImportOptions
	}{
		{"overwrite", false, keyring.ImportOptions{Overwrite: true}},
		{"into empty places", true, keyring.ImportOptions{Verify: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forEachStore(t, func(t *testing.T, w *storeWorld) {
				ctx := context.Background()
				doc, ct := supportBackup(t, w)
				if tc.lost {
					w.deleteRecords(t, []*keyring.Record{w.get(t, dataID("acme", "support")),
						w.get(t, keyring.KeysetID{Scope: "acme", Class: "support", Purpose: keyring.PurposeIndex})})
				}

				shredder := keyring.NewManager(w.keyring(t, nil))
				store := &beforeWriteStore{Store: w.store, hook: func() {
					if _, err := shredder.Shred(ctx, "acme"); err != nil {
						t.Errorf("Shred() err = %v", err)
					}
				}}
				importer := keyring.NewManager(w.keyring(t, func(c *keyring.Config) { c.Store = store }))
				_, err := importer.Import(ctx, bytes.NewReader(doc), tc.opts)
				if !errors.Is(err, keyring.ErrScopeShredded) {
					t.Errorf("Import() racing a shred err = %v, want ErrScopeShredded", err)
				}

				w.clock.Advance(2 * time.Minute)
				fresh := w.keyring(t, nil)
				for _, class := range []string{"pii", "support"} {
					for _, p := range []keyring.Purpose{keyring.PurposeData, keyring.PurposeIndex} {
						id := keyring.KeysetID{Scope: "acme", Class: class, Purpose: p}
						rec, err := w.store.Get(ctx, id)
						if errors.Is(err, keyring.ErrKeysetNotFound) {
							continue
						}
						if err != nil {
							t.Fatal(err)
						}
						if _, tomb := keyringState(t, rec); !tomb {
							t.Errorf("after the import and the shred, %v is a live keyset in the shredded scope, want a tombstone", id)
						}
					}
				}
				if dk, err := fresh.ExistingDataKeys(ctx, "acme", "support"); err == nil {
					if _, err := dk.Decrypt(ct, []byte("ad")); err == nil {
						t.Error("a fresh process decrypts the shredded tenant's data with the keys the import restored")
					}
				}
			})
		})
	}
}
