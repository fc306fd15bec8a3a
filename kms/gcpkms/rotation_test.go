package gcpkms_test

import (
	"bytes"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/internal/fakekms"
	"github.com/fieldcrypt/fieldcrypt/kms"
)

// TestKeyRotation rotates the CryptoKey in Cloud KMS: new encryptions use the
// new primary version, old ciphertexts still decrypt, and after a rewrap
// (decrypt, encrypt again) the old version can be disabled.
func TestKeyRotation(t *testing.T) {
	srv := startFake(t)
	client := dial(t, srv)
	kek, name := newKEK(t, srv, client, nil)
	ctx := t.Context()

	wantVersion := func(what string, ct []byte, want int) {
		t.Helper()
		if got, err := fakekms.VersionOf(ct); err != nil || got != want {
			t.Errorf("%s: made by version %d (err = %v), want version %d", what, got, err, want)
		}
	}
	wantDecrypts := func(what string, ct []byte) {
		t.Helper()
		pt, err := kek.DecryptWithContext(ctx, ct, keysetAAD)
		if err != nil {
			t.Fatalf("%s: DecryptWithContext() err = %v", what, err)
		}
		if !bytes.Equal(pt, secretPlaintext) {
			t.Errorf("%s: DecryptWithContext() = %q, want %q", what, pt, secretPlaintext)
		}
	}

	old, err := kek.EncryptWithContext(ctx, secretPlaintext, keysetAAD)
	if err != nil {
		t.Fatalf("EncryptWithContext() err = %v", err)
	}
	wantVersion("ciphertext before rotation", old, 1)

	v, err := srv.RotateKey(name)
	if err != nil || v != 2 {
		t.Fatalf("RotateKey() = %d, %v; want 2, nil", v, err)
	}
	fresh, err := kek.EncryptWithContext(ctx, secretPlaintext, keysetAAD)
	if err != nil {
		t.Fatalf("EncryptWithContext() after rotation err = %v", err)
	}
	wantVersion("ciphertext after rotation", fresh, 2)
	wantDecrypts("old ciphertext after rotation", old)
	wantDecrypts("new ciphertext after rotation", fresh)

	// Rewrap, as fieldcrypt's KEK rotation does: one decrypt and one encrypt
	// per keyset, which moves it to the primary version.
	pt, err := kek.DecryptWithContext(ctx, old, keysetAAD)
	if err != nil {
		t.Fatalf("rewrap: DecryptWithContext() err = %v", err)
	}
	rewrapped, err := kek.EncryptWithContext(ctx, pt, keysetAAD)
	if err != nil {
		t.Fatalf("rewrap: EncryptWithContext() err = %v", err)
	}
	wantVersion("rewrapped ciphertext", rewrapped, 2)

	// Only now may version 1 be disabled: what it wrapped no longer decrypts,
	// what was rewrapped does.
	if err := srv.DisableVersion(name, 1); err != nil {
		t.Fatalf("DisableVersion(1) err = %v", err)
	}
	if _, err := kek.DecryptWithContext(ctx, old, keysetAAD); kms.CodeOf(err) != kms.CodeNotFound || kms.IsTransient(err) {
		t.Errorf("DecryptWithContext(version 1 ciphertext) with version 1 disabled: err = %v, want permanent %v", err, kms.CodeNotFound)
	}
	wantDecrypts("rewrapped ciphertext with version 1 disabled", rewrapped)
}
