package keyring_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/tink"

	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// TestUpgradeLegacy stores a keyset the way fieldcrypt wrote it before the
// state was authenticated (docs/FORMAT.md section 10): associated data
// "fieldcrypt keyset v1" over scope, class and purpose, and cleartext JSON
// metadata. A keyring refuses it; UpgradeLegacy rewrites it in the current
// format with the same keys.
func TestUpgradeLegacy(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	id := keyring.KeysetID{Scope: "acme", Class: "pii", Purpose: keyring.PurposeData}
	h, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	if err != nil {
		t.Fatal(err)
	}
	a, err := aead.New(h)
	if err != nil {
		t.Fatal(err)
	}
	ct, err := a.Encrypt([]byte("a value from before"), []byte("ad"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	rec := &keyring.Record{ID: id, KEKURI: f.uri, EncryptedKeyset: wrapV1(t, h, f.kek, id),
		Metadata: []byte(`{"created":{"1":"2025-06-01T00:00:00Z"},"destroyed":[7]}`), Created: now, Updated: now}
	if err := f.store.Create(ctx, rec); err != nil {
		t.Fatal(err)
	}

	kr := f.keyring(t, nil)
	m := keyring.NewManager(kr)
	if _, err := kr.DataKeys(ctx, "acme", "pii"); !errors.Is(err, keyring.ErrIntegrity) {
		t.Fatalf("DataKeys(version 1 record) err = %v, want ErrIntegrity", err)
	}
	n, err := m.UpgradeLegacy(ctx, "")
	if err != nil || n != 1 {
		t.Fatalf("UpgradeLegacy() = %d, %v; want 1 keyset", n, err)
	}
	if n, err := m.UpgradeLegacy(ctx, ""); err != nil || n != 0 {
		t.Errorf("second UpgradeLegacy() = %d, %v; want 0 (nothing left to upgrade)", n, err)
	}
	fresh := f.keyring(t, nil)
	dk, err := fresh.DataKeys(ctx, "acme", "pii")
	if err != nil {
		t.Fatalf("DataKeys(upgraded) err = %v", err)
	}
	if pt, err := dk.Decrypt(ct, []byte("ad")); err != nil || string(pt) != "a value from before" {
		t.Errorf("upgraded keyset decrypts an old value to %q, %v", pt, err)
	}
	if dk.Status(7) != keyring.KeyDestroyed {
		t.Errorf("upgraded keyset lost the destroyed key ID 7")
	}
}

// wrapV1 wraps h under kek the way fieldcrypt wrote keysets before the
// state was authenticated (docs/FORMAT.md section 10): associated data
// "fieldcrypt keyset v1" over id's scope, class and purpose, each
// length-prefixed.
func wrapV1(t testing.TB, h *keyset.Handle, kek tink.AEADWithContext, id keyring.KeysetID) []byte {
	t.Helper()
	var ad []byte
	for _, p := range []string{"fieldcrypt keyset v1", id.Scope, id.Class, string(id.Purpose)} {
		ad = binary.BigEndian.AppendUint32(ad, uint32(len(p)))
		ad = append(ad, p...)
	}
	var buf bytes.Buffer
	if err := h.WriteWithContext(context.Background(), keyset.NewBinaryWriter(&buf), kek, ad); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
