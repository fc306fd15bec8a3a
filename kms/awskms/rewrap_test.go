package awskms_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkkms "github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/fieldcrypt/fieldcrypt/kms"
)

// TestRewrap checks Keeper.Rewrap on AWS KMS: ReEncrypt from the key to
// itself gives a new ciphertext of the same key, under the same associated
// data, and refuses what Decrypt refuses.
func TestRewrap(t *testing.T) {
	ctx := context.Background()
	plaintext := []byte("wrapped keyset")
	aad := []byte("tenant-a|pii|data")
	for _, tc := range []struct {
		name string
		arn  func(t *testing.T) string
	}{
		{"key ARN", func(t *testing.T) string { return createKey(t) }},
		{"alias ARN", func(t *testing.T) string { return createAlias(t, createKey(t)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kek := newKEK(t, tc.arn(t))
			ct, err := kek.EncryptWithContext(ctx, plaintext, aad)
			if err != nil {
				t.Fatalf("EncryptWithContext() err = %v", err)
			}
			calls := kek.Calls()
			out, err := kek.Rewrap(ctx, ct, aad)
			if err != nil {
				t.Fatalf("Rewrap() err = %v", err)
			}
			if got := kek.Calls() - calls; got != 1 {
				t.Errorf("Rewrap() counted %d calls, want 1", got)
			}
			if bytes.Equal(out, ct) {
				t.Errorf("Rewrap() returned the ciphertext it was given")
			}
			if got, err := kek.DecryptWithContext(ctx, out, aad); err != nil || !bytes.Equal(got, plaintext) {
				t.Errorf("DecryptWithContext(rewrapped) = %q, %v; want %q, nil", got, err, plaintext)
			}
			if _, err := kek.DecryptWithContext(ctx, out, []byte("tenant-b|pii|data")); kms.CodeOf(err) != kms.CodeInvalidCiphertext {
				t.Errorf("DecryptWithContext(rewrapped, other associated data) code = %v, want %v (err = %v)",
					kms.CodeOf(err), kms.CodeInvalidCiphertext, err)
			}
		})
	}
}

func TestRewrapRefuses(t *testing.T) {
	ctx := context.Background()
	aad := []byte("tenant-a|pii|data")
	kek := newKEK(t, createKey(t))
	ct, err := kek.EncryptWithContext(ctx, []byte("wrapped keyset"), aad)
	if err != nil {
		t.Fatalf("EncryptWithContext() err = %v", err)
	}
	other := newKEK(t, createKey(t))
	disabledARN := createKey(t)
	disabled := newKEK(t, disabledARN)
	disabledCT, err := disabled.EncryptWithContext(ctx, []byte("wrapped keyset"), aad)
	if err != nil {
		t.Fatalf("EncryptWithContext() err = %v", err)
	}
	if _, err := localKMS(t).DisableKey(ctx, &sdkkms.DisableKeyInput{KeyId: aws.String(disabledARN)}); err != nil {
		t.Fatalf("DisableKey() err = %v", err)
	}
	for _, tc := range []struct {
		name string
		kek  *kms.Keeper
		ct   []byte
		aad  []byte
		want kms.Code
	}{
		{"wrong associated data", kek, ct, []byte("tenant-b|pii|data"), kms.CodeInvalidCiphertext},
		{"ciphertext of another key", other, ct, aad, kms.CodeInvalidCiphertext},
		{"tampered ciphertext", kek, flip(ct, len(ct)-1), aad, kms.CodeInvalidCiphertext},
		{"empty ciphertext", kek, nil, aad, kms.CodeInvalidCiphertext},
		{"disabled key", disabled, disabledCT, aad, kms.CodeNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := tc.kek.Rewrap(ctx, tc.ct, tc.aad)
			if err == nil {
				t.Fatalf("Rewrap(%s) err = nil, want %v", tc.name, tc.want)
			}
			if out != nil {
				t.Errorf("Rewrap(%s) returned %d bytes with an error", tc.name, len(out))
			}
			if got := kms.CodeOf(err); got != tc.want {
				t.Errorf("Rewrap(%s) code = %v, want %v (err = %v)", tc.name, got, tc.want, err)
			}
			if kms.IsTransient(err) {
				t.Errorf("Rewrap(%s) IsTransient = true, want false", tc.name)
			}
		})
	}
}

func flip(b []byte, i int) []byte {
	out := bytes.Clone(b)
	out[i] ^= 0x01
	return out
}
