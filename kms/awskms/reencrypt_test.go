package awskms_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkkms "github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/awskms"
)

func TestReEncrypt(t *testing.T) {
	ctx := context.Background()
	plaintext := []byte("wrapped keyset")
	aad := []byte("tenant-a|pii|data")
	src, dst := newKEK(t, createKey(t)), newKEK(t, createKey(t))
	ct, err := src.EncryptWithContext(ctx, plaintext, aad)
	if err != nil {
		t.Fatalf("EncryptWithContext() err = %v", err)
	}

	moved, err := src.ReEncrypt(ctx, ct, aad, dst)
	if err != nil {
		t.Fatalf("ReEncrypt() err = %v", err)
	}
	if got, err := dst.DecryptWithContext(ctx, moved, aad); err != nil || !bytes.Equal(got, plaintext) {
		t.Errorf("destination DecryptWithContext(re-encrypted) = %q, %v; want %q, nil", got, err, plaintext)
	}
	if _, err := src.DecryptWithContext(ctx, moved, aad); err == nil {
		t.Errorf("source DecryptWithContext(re-encrypted) err = nil, want error: the ciphertext belongs to the destination key")
	}
	if _, err := dst.DecryptWithContext(ctx, moved, []byte("tenant-b|pii|data")); kms.CodeOf(err) != kms.CodeInvalidCiphertext {
		t.Errorf("destination DecryptWithContext(re-encrypted, other associated data) code = %v, want %v (err = %v)",
			kms.CodeOf(err), kms.CodeInvalidCiphertext, err)
	}

	// To an alias: AWS reports the key behind it.
	aliasDst := newKEK(t, createAlias(t, createKey(t)))
	if moved, err := src.ReEncrypt(ctx, ct, aad, aliasDst); err != nil {
		t.Errorf("ReEncrypt(to alias) err = %v", err)
	} else if _, err := aliasDst.DecryptWithContext(ctx, moved, aad); err != nil {
		t.Errorf("alias DecryptWithContext(re-encrypted) err = %v", err)
	}

	other := newKEK(t, createKey(t))
	otherRegion := newKEK(t, inRegion(t, createKey(t), "ap-south-2"))
	disabledARN := createKey(t)
	disabled := newKEK(t, disabledARN)
	if _, err := localKMS(t).DisableKey(ctx, &sdkkms.DisableKeyInput{KeyId: aws.String(disabledARN)}); err != nil {
		t.Fatalf("DisableKey() err = %v", err)
	}

	for _, tc := range []struct {
		name string
		src  *awskms.KEK
		ct   []byte
		aad  []byte
		dst  *awskms.KEK
		want kms.Code
	}{
		{"wrong associated data", src, ct, []byte("tenant-b|pii|data"), dst, kms.CodeInvalidCiphertext},
		{"ciphertext of another key", other, ct, aad, dst, kms.CodeInvalidCiphertext},
		{"tampered ciphertext", src, flip(ct, len(ct)-1), aad, dst, kms.CodeInvalidCiphertext},
		{"empty ciphertext", src, nil, aad, dst, kms.CodeInvalidCiphertext},
		{"nil destination", src, ct, aad, nil, kms.CodeInvalidArgument},
		{"destination in another region", src, ct, aad, otherRegion, kms.CodeInvalidArgument},
		{"disabled destination", src, ct, aad, disabled, kms.CodeNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := tc.src.ReEncrypt(ctx, tc.ct, tc.aad, tc.dst)
			if err == nil {
				t.Fatalf("ReEncrypt(%s) err = nil, want %v", tc.name, tc.want)
			}
			if out != nil {
				t.Errorf("ReEncrypt(%s) returned %d bytes with an error", tc.name, len(out))
			}
			if got := kms.CodeOf(err); got != tc.want {
				t.Errorf("ReEncrypt(%s) code = %v, want %v (err = %v)", tc.name, got, tc.want, err)
			}
			if kms.IsTransient(err) {
				t.Errorf("ReEncrypt(%s) IsTransient = true, want false", tc.name)
			}
		})
	}
}

// inRegion returns arn with its region replaced.
func inRegion(t *testing.T, arn, region string) string {
	t.Helper()
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 {
		t.Fatalf("malformed ARN %q", arn)
	}
	parts[3] = region
	return strings.Join(parts, ":")
}

func flip(b []byte, i int) []byte {
	out := bytes.Clone(b)
	out[i] ^= 0x01
	return out
}
