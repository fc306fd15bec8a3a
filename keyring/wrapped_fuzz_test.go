package keyring_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	tinkpb "github.com/tink-crypto/tink-go/v2/proto/tink_go_proto"
	"google.golang.org/protobuf/proto"

	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/kms"
)

// FuzzEncryptedKeyset replaces the wrapped keyset of a stored record (a
// live keyset or a shred tombstone, each with its authentic state) with
// arbitrary bytes: the Tink EncryptedKeyset protobuf that loading, the
// tombstone check and an in-place Rewrap decode. None may panic. Bytes
// whose wrapped ciphertext is not the authentic one fail closed on load and
// on Rewrap, with a *keyring.Error wrapping ErrIntegrity or
// ErrCorruptKeyset, and Rewrap leaves the record as it was.
func FuzzEncryptedKeyset(f *testing.F) {
	ctx := context.Background()
	fx := newFixture(f)
	fx.opener.Register("inplace", func(_ context.Context, u string) (*kms.Keeper, error) {
		return kms.NewKeeper(u, inPlaceKEK{real: fx.kek.real}), nil
	})
	inPlace := func(store keyring.Store) func(*keyring.Config) {
		return func(c *keyring.Config) {
			c.DefaultKEK = "inplace://kek"
			if store != nil {
				c.Store, c.DisableAutoCreate = store, true
			}
		}
	}
	kr := fx.keyring(f, inPlace(nil))
	m := keyring.NewManager(kr)
	if err := m.CreateKeysets(ctx, "acme", "pii"); err != nil {
		f.Fatal(err)
	}
	if err := m.CreateKeysets(ctx, "gone", "pii"); err != nil {
		f.Fatal(err)
	}
	if _, err := m.Shred(ctx, "gone"); err != nil {
		f.Fatal(err)
	}
	live, err := fx.store.Get(ctx, keyring.KeysetID{Scope: "acme", Class: "pii", Purpose: keyring.PurposeData})
	if err != nil {
		f.Fatal(err)
	}
	tomb, err := fx.store.Get(ctx, keyring.KeysetID{Scope: "gone", Class: "pii", Purpose: keyring.PurposeData})
	if err != nil {
		f.Fatal(err)
	}
	authentic := func(rec *keyring.Record) []byte {
		var eks tinkpb.EncryptedKeyset
		if err := proto.Unmarshal(rec.EncryptedKeyset, &eks); err != nil {
			f.Fatal(err)
		}
		return eks.GetEncryptedKeyset()
	}
	liveCT, tombCT := authentic(live), authentic(tomb)

	f.Add(live.EncryptedKeyset, false)
	f.Add(tomb.EncryptedKeyset, true)
	f.Add(live.EncryptedKeyset, true)
	f.Add([]byte{}, false)
	f.Add([]byte{}, true)
	f.Add([]byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f}, false)
	f.Add([]byte{0x12, 0x02, 0x08, 0x01}, true)
	f.Fuzz(func(t *testing.T, wrapped []byte, tombstone bool) {
		base, want := live, liveCT
		if tombstone {
			base, want = tomb, tombCT
		}
		var eks tinkpb.EncryptedKeyset
		same := proto.Unmarshal(wrapped, &eks) == nil && bytes.Equal(eks.GetEncryptedKeyset(), want)

		store := keyring.NewMemoryStore()
		rec := *base
		rec.EncryptedKeyset = wrapped
		if err := store.Create(ctx, &rec); err != nil {
			t.Fatal(err)
		}
		before, err := store.Get(ctx, rec.ID)
		if err != nil {
			t.Fatal(err)
		}
		failClosed := func(what string, err error) {
			t.Helper()
			var kerr *keyring.Error
			if !errors.As(err, &kerr) || !(errors.Is(err, keyring.ErrIntegrity) || errors.Is(err, keyring.ErrCorruptKeyset)) {
				t.Fatalf("%s(wrapped %x) err = %T %v; want a *keyring.Error wrapping ErrIntegrity or ErrCorruptKeyset", what, wrapped, err, err)
			}
		}

		target := fx.keyring(t, inPlace(store))
		defer target.Close()
		_, err = target.ExistingDataKeys(ctx, rec.ID.Scope, rec.ID.Class)
		switch {
		case tombstone && same:
			if !errors.Is(err, keyring.ErrScopeShredded) {
				t.Fatalf("DataKeys(authentic tombstone) err = %v, want ErrScopeShredded", err)
			}
		case same:
			if err != nil {
				t.Fatalf("DataKeys(authentic keyset) err = %v", err)
			}
		default:
			failClosed("DataKeys", err)
		}

		other := fx.keyring(t, inPlace(store))
		defer other.Close()
		_, err = keyring.NewManager(other).Rewrap(ctx, rec.ID.Scope)
		if same {
			if err != nil {
				t.Fatalf("Rewrap(authentic) err = %v", err)
			}
			return
		}
		failClosed("Rewrap", err)
		after, gerr := store.Get(ctx, rec.ID)
		if gerr != nil {
			t.Fatal(gerr)
		}
		if after.Version != before.Version || !bytes.Equal(after.EncryptedKeyset, before.EncryptedKeyset) {
			t.Fatalf("Rewrap(wrapped %x) failed (%v) but rewrote the record", wrapped, err)
		}
	})
}
