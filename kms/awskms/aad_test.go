package awskms_test

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkkms "github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/awskms"
)

func TestEncryptionContextMapping(t *testing.T) {
	for _, tc := range []struct {
		name string
		aad  []byte
		want map[string]string
	}{
		{"nil", nil, nil},
		{"empty", []byte{}, nil},
		{"text", []byte("abc"), map[string]string{"fieldcrypt-aad": "YWJj"}},
		{"no padding", []byte("ab"), map[string]string{"fieldcrypt-aad": "YWI"}},
		{"url alphabet", []byte{0xfb, 0xff, 0xbf}, map[string]string{"fieldcrypt-aad": "-_-_"}},
		{"zero byte", []byte{0}, map[string]string{"fieldcrypt-aad": "AA"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := awskms.EncryptionContext(tc.aad); !maps.Equal(got, tc.want) {
				t.Errorf("EncryptionContext(%x) = %v, want %v", tc.aad, got, tc.want)
			}
		})
	}
}

func TestEncryptionContextBindsAssociatedData(t *testing.T) {
	ctx := context.Background()
	kek := newKEK(t, createKey(t))
	plaintext := []byte("wrapped keyset")
	for _, tc := range []struct {
		name       string
		encryptAAD []byte
		decryptAAD []byte
		wantOK     bool
	}{
		{"same", []byte("X"), []byte("X"), true},
		{"other", []byte("X"), []byte("Y"), false},
		{"prefix", []byte("XY"), []byte("X"), false},
		{"none for some", []byte("X"), nil, false},
		{"some for none", nil, []byte("X"), false},
		{"nil then empty", nil, []byte{}, true},
		{"empty then nil", []byte{}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ct, err := kek.EncryptWithContext(ctx, plaintext, tc.encryptAAD)
			if err != nil {
				t.Fatalf("EncryptWithContext(%q) err = %v", tc.encryptAAD, err)
			}
			got, err := kek.DecryptWithContext(ctx, ct, tc.decryptAAD)
			switch {
			case tc.wantOK && err != nil:
				t.Errorf("DecryptWithContext(%q) err = %v, want nil", tc.decryptAAD, err)
			case tc.wantOK && !bytes.Equal(got, plaintext):
				t.Errorf("DecryptWithContext(%q) = %q, want %q", tc.decryptAAD, got, plaintext)
			case !tc.wantOK && err == nil:
				t.Errorf("DecryptWithContext(%q) of a ciphertext made with %q: err = nil, want error", tc.decryptAAD, tc.encryptAAD)
			case !tc.wantOK && kms.CodeOf(err) != kms.CodeInvalidCiphertext:
				t.Errorf("DecryptWithContext(%q) code = %v, want %v", tc.decryptAAD, kms.CodeOf(err), kms.CodeInvalidCiphertext)
			}
		})
	}
}

// TestEncryptionContextInterop decrypts the package's ciphertexts with the
// plain SDK and the documented mapping, as an independent implementation
// would, and checks that the vendor error stays reachable.
func TestEncryptionContextInterop(t *testing.T) {
	ctx := context.Background()
	arn := createKey(t)
	kek := newKEK(t, arn)
	aad := []byte("fieldcrypt keyset v1|tenant-a|pii|data")
	ct, err := kek.EncryptWithContext(ctx, []byte("wrapped keyset"), aad)
	if err != nil {
		t.Fatalf("EncryptWithContext() err = %v", err)
	}
	decrypt := func(ec map[string]string) error {
		_, err := localKMS(t).Decrypt(ctx, &sdkkms.DecryptInput{
			KeyId: aws.String(arn), CiphertextBlob: ct, EncryptionContext: ec,
		})
		return err
	}
	if err := decrypt(map[string]string{"fieldcrypt-aad": "ZmllbGRjcnlwdCBrZXlzZXQgdjF8dGVuYW50LWF8cGlpfGRhdGE"}); err != nil {
		t.Errorf("SDK Decrypt with the documented encryption context err = %v, want nil", err)
	}
	for _, tc := range []struct {
		name string
		ec   map[string]string
	}{
		{"raw value", map[string]string{"fieldcrypt-aad": string(aad)}},
		{"padded base64url", map[string]string{"fieldcrypt-aad": "ZmllbGRjcnlwdCBrZXlzZXQgdjF8dGVuYW50LWF8cGlpfGRhdGE="}},
		{"other key", map[string]string{"aad": "ZmllbGRjcnlwdCBrZXlzZXQgdjF8dGVuYW50LWF8cGlpfGRhdGE"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := decrypt(tc.ec)
			var invalid *types.InvalidCiphertextException
			if !errors.As(err, &invalid) {
				t.Errorf("SDK Decrypt with encryption context %v err = %v, want InvalidCiphertextException", tc.ec, err)
			}
		})
	}

	// Through the package, the same failure keeps the vendor's error.
	_, err = kek.DecryptWithContext(ctx, ct, []byte("other"))
	var invalid *types.InvalidCiphertextException
	if !errors.As(err, &invalid) {
		t.Errorf("DecryptWithContext(wrong associated data) err = %v, want one that unwraps to *types.InvalidCiphertextException", err)
	}
}
