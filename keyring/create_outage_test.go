package keyring_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// TestCreateOutageKeepsNewKeyset plays a new tenant's first writes, from
// two instances of a service. Instance A creates the tenant's support
// keyset; instance B loads it the moment it is stored and encrypts a
// ticket under it. Then A's check that no shred landed meanwhile fails
// for a store blip: it could not be made, and it found no shred. A must
// report the failure and leave the keyset as it is: shredding it would
// destroy B's ticket for good (and leave the new tenant shredded until
// an Unshred), for an outage, not a shred. A's retry uses the keyset.
func TestCreateOutageKeepsNewKeyset(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *storeWorld) {
		ctx := context.Background()
		var ticket []byte
		var during error
		store := &listOutageStore{Store: w.store, during: func() {
			b := w.keyring(t, nil)
			dk, err := b.ExistingDataKeys(ctx, "acme", "support")
			if err != nil {
				during = err
				return
			}
			ticket, during = dk.Encrypt([]byte("ticket"), []byte("ad"))
		}}
		a := w.keyring(t, func(c *keyring.Config) { c.Store = store })
		_, err := a.DataKeys(ctx, "acme", "support")
		if during != nil {
			t.Fatalf("instance B, loading the keyset A stored: %v", during)
		}
		if !errors.Is(err, errListOutage) || errors.Is(err, keyring.ErrScopeShredded) {
			t.Errorf("DataKeys() with the store failing after the create: err = %v, want the store's error and no ErrScopeShredded", err)
		}
		if _, tomb := keyringState(t, w.get(t, dataID("acme", "support"))); tomb {
			t.Fatal("after a store error the create shredded the keyset it made, which instance B had used: B's ticket is lost")
		}

		if _, err := a.DataKeys(ctx, "acme", "support"); err != nil {
			t.Errorf("DataKeys() retried after the outage: %v", err)
		}
		w.clock.Advance(2 * time.Minute)
		dk, err := w.keyring(t, nil).ExistingDataKeys(ctx, "acme", "support")
		if err != nil {
			t.Fatalf("ExistingDataKeys(acme, support) in a fresh instance: %v", err)
		}
		if pt, err := dk.Decrypt(ticket, []byte("ad")); err != nil || string(pt) != "ticket" {
			t.Errorf("Decrypt(B's ticket) = %q, %v; want the ticket", pt, err)
		}
	})
}
