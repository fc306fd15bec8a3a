package keyring_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"slices"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// TestDataKeysHandle: a data handle encrypts under its primary with Tink's
// prefix, counts each encryption for the nonce budget, and decrypts by key
// ID after a rotation.
func TestDataKeysHandle(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	kr := f.keyring(t, nil)
	id := keyring.KeysetID{Scope: "acme", Class: "pii", Purpose: keyring.PurposeData}
	dk, err := kr.DataKeys(ctx, id.Scope, id.Class)
	if err != nil {
		t.Fatalf("DataKeys() err = %v", err)
	}
	const n = 3
	var ct []byte
	for range n {
		if ct, err = dk.Encrypt([]byte("ada@example.com"), []byte("ad")); err != nil {
			t.Fatalf("Encrypt() err = %v", err)
		}
	}
	if ct[0] != 0x01 || binary.BigEndian.Uint32(ct[1:5]) != dk.PrimaryID() {
		t.Errorf("Encrypt() prefix = %x, want 01 then primary %08x", ct[:5], dk.PrimaryID())
	}
	if got := encryptions(t, kr, id, dk.PrimaryID()); got != n {
		t.Errorf("after %d Encrypt calls, KeyInfo.Encryptions = %d, want %d", n, got, n)
	}
	if _, err := dk.Decrypt(ct, []byte("other")); err == nil {
		t.Errorf("Decrypt() with other associated data err = nil, want error")
	}
	if got := encryptions(t, kr, id, dk.PrimaryID()); got != n {
		t.Errorf("Decrypt counted as an encryption: Encryptions = %d, want %d", got, n)
	}

	newID, err := keyring.NewManager(kr).AddKey(ctx, id)
	if err != nil {
		t.Fatalf("AddKey() err = %v", err)
	}
	if err := keyring.NewManager(kr).PromoteKey(ctx, id, newID); err != nil {
		t.Fatalf("PromoteKey() err = %v", err)
	}
	dk2, err := kr.DataKeys(ctx, id.Scope, id.Class)
	if err != nil {
		t.Fatalf("DataKeys() after rotation err = %v", err)
	}
	if dk2.PrimaryID() != newID || dk2.Status(dk.PrimaryID()) != keyring.KeyEnabled {
		t.Errorf("after rotation: primary %d, old key %v; want %d, enabled", dk2.PrimaryID(), dk2.Status(dk.PrimaryID()), newID)
	}
	if pt, err := dk2.Decrypt(ct, []byte("ad")); err != nil || string(pt) != "ada@example.com" {
		t.Errorf("Decrypt() of a value under the old key = %q, %v; want the plaintext", pt, err)
	}
}

// encryptions returns KeyInfo.Encryptions of one key.
func encryptions(t *testing.T, kr *keyring.Keyring, id keyring.KeysetID, keyID uint32) int64 {
	t.Helper()
	infos, err := keyring.NewManager(kr).Keys(context.Background(), id)
	if err != nil {
		t.Fatalf("Keys() err = %v", err)
	}
	for _, ki := range infos {
		if ki.ID == keyID {
			return ki.Encryptions
		}
	}
	t.Fatalf("Keys() lists no key %d", keyID)
	return 0
}

// TestIndexKeysHandle: an index handle lists its enabled keys primary
// first, computes under each of them only, and keeps its key IDs to
// itself.
func TestIndexKeysHandle(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	kr := f.keyring(t, nil)
	id := keyring.KeysetID{Scope: "acme", Class: "pii", Purpose: keyring.PurposeIndex}
	old, err := kr.IndexKeys(ctx, id.Scope, id.Class)
	if err != nil {
		t.Fatalf("IndexKeys() err = %v", err)
	}
	first := old.PrimaryID()
	if got := old.KeyIDs(); !slices.Equal(got, []uint32{first}) {
		t.Errorf("KeyIDs() = %v, want [%d]", got, first)
	}
	want, err := old.Compute(first, []byte("ada@example.com"), 32)
	if err != nil || len(want) != 32 {
		t.Fatalf("Compute() = %x, %v; want 32 bytes", want, err)
	}

	// Two new keys, the second promoted: primary first, then ascending.
	var added []uint32
	for range 2 {
		k, err := keyring.NewManager(kr).AddKey(ctx, id)
		if err != nil {
			t.Fatalf("AddKey() err = %v", err)
		}
		added = append(added, k)
	}
	if err := keyring.NewManager(kr).PromoteKey(ctx, id, added[1]); err != nil {
		t.Fatalf("PromoteKey() err = %v", err)
	}
	ik, err := kr.IndexKeys(ctx, id.Scope, id.Class)
	if err != nil {
		t.Fatalf("IndexKeys() err = %v", err)
	}
	rest := []uint32{first, added[0]}
	slices.Sort(rest)
	if got, wantIDs := ik.KeyIDs(), append([]uint32{added[1]}, rest...); !slices.Equal(got, wantIDs) {
		t.Errorf("KeyIDs() = %v, want %v (primary first, then ascending)", got, wantIDs)
	}
	ik.KeyIDs()[0] = 0
	if ik.KeyIDs()[0] != added[1] {
		t.Errorf("KeyIDs() returned the handle's own slice: a caller's write changed it")
	}
	if got, err := ik.Compute(first, []byte("ada@example.com"), 32); err != nil || !bytes.Equal(got, want) {
		t.Errorf("Compute() under the old key after rotation = %x, %v; want %x", got, err, want)
	}
	if got, err := ik.Compute(added[1], []byte("ada@example.com"), 32); err != nil || bytes.Equal(got, want) {
		t.Errorf("Compute() under the new primary = %x, %v; want another value", got, err)
	}
	short, err := ik.Compute(first, []byte("ada@example.com"), 16)
	if err != nil || !bytes.Equal(short, want[:16]) {
		t.Errorf("Compute(16) = %x, %v; want the first 16 bytes %x", short, err, want[:16])
	}

	if err := keyring.NewManager(kr).DisableKey(ctx, id, first); err != nil {
		t.Fatalf("DisableKey() err = %v", err)
	}
	ik, err = kr.IndexKeys(ctx, id.Scope, id.Class)
	if err != nil {
		t.Fatalf("IndexKeys() err = %v", err)
	}
	if slices.Contains(ik.KeyIDs(), first) || ik.Status(first) != keyring.KeyDisabled {
		t.Errorf("after DisableKey: KeyIDs() = %v, status %v; want the key left out, disabled", ik.KeyIDs(), ik.Status(first))
	}
	for _, keyID := range []uint32{first, 12345} {
		if _, err := ik.Compute(keyID, []byte("x"), 32); !errors.Is(err, keyring.ErrUnknownKey) {
			t.Errorf("Compute(key %d) err = %v, want ErrUnknownKey", keyID, err)
		}
	}
	if _, err := ik.Compute(ik.PrimaryID(), []byte("x"), -1); err == nil {
		t.Errorf("Compute(outLen -1) err = nil, want error")
	}
}
