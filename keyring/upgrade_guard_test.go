package keyring_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/keyset"

	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// TestUpgradeLegacyRefusesForeignKEK: a store writer who holds a KEK of
// their own plants a version 1 (pre-authentication) record wrapped by it.
// `keys upgrade` must refuse it as it refuses such a record on every other
// path (ErrKEKNotAllowed), before opening the KEK the record names, and
// must not turn it into a current-format record.
func TestUpgradeLegacyRefusesForeignKEK(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *storeWorld) {
		ctx := context.Background()
		id := dataID("acme", "pii")
		attackerKEK, err := w.opener.Open(ctx, w.stranger)
		if err != nil {
			t.Fatal(err)
		}
		h, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
		if err != nil {
			t.Fatal(err)
		}
		now := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
		planted := &keyring.Record{ID: id, KEKURI: w.stranger, EncryptedKeyset: wrapV1(t, h, attackerKEK, id),
			Metadata: []byte(`{"created":{}}`), Created: now, Updated: now}
		if err := w.store.Create(ctx, planted); err != nil {
			t.Fatal(err)
		}

		if _, err := keyring.NewManager(w.keyring(t, nil)).UpgradeLegacy(ctx, ""); !errors.Is(err, keyring.ErrKEKNotAllowed) {
			t.Errorf("UpgradeLegacy(version 1 record under an unconfigured KEK) err = %v, want ErrKEKNotAllowed", err)
		}
		got := w.get(t, id)
		if got.KEKURI != w.stranger || !bytes.Equal(got.Metadata, planted.Metadata) {
			t.Errorf("the refused upgrade rewrote the planted record: KEK %s, state %s", got.KEKURI, got.Metadata)
		}
	})
}
