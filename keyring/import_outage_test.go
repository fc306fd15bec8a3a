package keyring_test

import (
	"bytes"
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// listOutageStore fails the first List that follows a Create: the store
// drops a connection just after a keyset was written. during, when set,
// runs first: what other processes do in that moment.
type listOutageStore struct {
	keyring.Store
	during          func()
	created, failed atomic.Bool
}

var errListOutage = errors.New("store: connection reset")

func (s *listOutageStore) Create(ctx context.Context, rec *keyring.Record) error {
	err := s.Store.Create(ctx, rec)
	s.created.Store(err == nil)
	return err
}

func (s *listOutageStore) List(ctx context.Context, scope string) ([]*keyring.Record, error) {
	if s.created.Load() && s.failed.CompareAndSwap(false, true) {
		if s.during != nil {
			s.during()
		}
		return nil, errListOutage
	}
	return s.Store.List(ctx, scope)
}

// TestImportOutageKeepsRestoredKeyset plays a restore: a tenant's support
// keysets were lost from the store, and the security team imports them
// from a backup, their only copy. The store fails once, as the import
// checks, after writing a keyset, that no shred landed meanwhile. That
// check could not be made; it found no shred. The import must report the
// failure and leave the restored keyset as it was, not shred it: a
// tombstone would destroy the tenant's support data for good, and no
// later import of the backup could bring it back (it is older than the
// tombstone).
func TestImportOutageKeepsRestoredKeyset(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *storeWorld) {
		ctx := context.Background()
		doc, ct := supportBackup(t, w)
		supportData := dataID("acme", "support")
		w.deleteRecords(t, []*keyring.Record{w.get(t, supportData),
			w.get(t, keyring.KeysetID{Scope: "acme", Class: "support", Purpose: keyring.PurposeIndex})})

		store := &listOutageStore{Store: w.store}
		importer := keyring.NewManager(w.keyring(t, func(c *keyring.Config) { c.Store = store }))
		_, err := importer.Import(ctx, bytes.NewReader(doc), keyring.ImportOptions{Verify: true})
		if !errors.Is(err, errListOutage) {
			t.Errorf("Import() with the store failing after a write: err = %v, want the store's error", err)
		}
		if errors.Is(err, keyring.ErrScopeShredded) {
			t.Errorf("Import() err = %v, want no ErrScopeShredded: nobody shredded acme", err)
		}
		if _, tomb := keyringState(t, w.get(t, supportData)); tomb {
			t.Fatal("after a store error the import shredded the keyset it restored: the tenant's support data is lost")
		}

		w.clock.Advance(2 * time.Minute)
		fresh := w.keyring(t, nil)
		dk, err := fresh.ExistingDataKeys(ctx, "acme", "support")
		if err != nil {
			t.Fatalf("ExistingDataKeys(acme, support) after the restore: %v", err)
		}
		if pt, err := dk.Decrypt(ct, []byte("ad")); err != nil || string(pt) != "ticket" {
			t.Errorf("Decrypt(the tenant's data) after the restore = %q, %v; want the ticket", pt, err)
		}
	})
}

// supportTicket creates the pii and support keysets of tenant acme and
// encrypts a ticket under its support data keys, with associated data
// "ad". It returns the manager that created them and the ciphertext.
func supportTicket(t *testing.T, w *storeWorld) (*keyring.Manager, []byte) {
	t.Helper()
	ctx := context.Background()
	admin := w.keyring(t, nil)
	m := keyring.NewManager(admin)
	if err := m.CreateKeysets(ctx, "acme", "pii", "support"); err != nil {
		t.Fatal(err)
	}
	dk, err := admin.DataKeys(ctx, "acme", "support")
	if err != nil {
		t.Fatal(err)
	}
	ct, err := dk.Encrypt([]byte("ticket"), []byte("ad"))
	if err != nil {
		t.Fatal(err)
	}
	return m, ct
}

// supportBackup is supportTicket's tenant, with the export of its support
// keysets: their backup. It returns the export and the ciphertext.
func supportBackup(t *testing.T, w *storeWorld) (doc, ticket []byte) {
	t.Helper()
	m, ticket := supportTicket(t, w)
	var backup bytes.Buffer
	if _, err := m.Export(context.Background(), &backup, "acme"); err != nil {
		t.Fatal(err)
	}
	return onlyClass(t, backup.Bytes(), "support"), ticket
}
