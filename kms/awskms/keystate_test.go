package awskms_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkkms "github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/smithy-go"

	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/awskms"
)

// TestKeyState checks that a key that cannot be used (disabled, pending
// deletion, never created) is reported as kms.CodeNotFound, permanent, with
// the AWS error code reachable, and that re-enabling a key brings it back.
func TestKeyState(t *testing.T) {
	ctx := context.Background()
	aad := []byte("tenant-a|pii|data")
	c := localKMS(t)
	for _, tc := range []struct {
		name     string
		make     func(t *testing.T, arn string) // puts the key in the state
		undo     func(t *testing.T, arn string) // nil: the state is final
		wantCode string                         // the AWS error code
	}{
		{
			name: "disabled",
			make: func(t *testing.T, arn string) {
				if _, err := c.DisableKey(ctx, &sdkkms.DisableKeyInput{KeyId: aws.String(arn)}); err != nil {
					t.Fatalf("DisableKey() err = %v", err)
				}
			},
			undo: func(t *testing.T, arn string) {
				if _, err := c.EnableKey(ctx, &sdkkms.EnableKeyInput{KeyId: aws.String(arn)}); err != nil {
					t.Fatalf("EnableKey() err = %v", err)
				}
			},
			wantCode: "DisabledException",
		},
		{
			name: "pending deletion",
			make: func(t *testing.T, arn string) {
				if _, err := c.ScheduleKeyDeletion(ctx, &sdkkms.ScheduleKeyDeletionInput{
					KeyId: aws.String(arn), PendingWindowInDays: aws.Int32(7),
				}); err != nil {
					t.Fatalf("ScheduleKeyDeletion() err = %v", err)
				}
			},
			undo: func(t *testing.T, arn string) {
				if _, err := c.CancelKeyDeletion(ctx, &sdkkms.CancelKeyDeletionInput{KeyId: aws.String(arn)}); err != nil {
					t.Fatalf("CancelKeyDeletion() err = %v", err)
				}
				// A cancelled deletion leaves the key disabled.
				if _, err := c.EnableKey(ctx, &sdkkms.EnableKeyInput{KeyId: aws.String(arn)}); err != nil {
					t.Fatalf("EnableKey() err = %v", err)
				}
			},
			wantCode: "KMSInvalidStateException",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			arn := createKey(t)
			kek := newKEK(t, arn)
			ct, err := kek.EncryptWithContext(ctx, []byte("wrapped keyset"), aad)
			if err != nil {
				t.Fatalf("EncryptWithContext() err = %v", err)
			}
			tc.make(t, arn)
			_, encErr := kek.EncryptWithContext(ctx, []byte("wrapped keyset"), aad)
			_, decErr := kek.DecryptWithContext(ctx, ct, aad)
			for _, call := range []struct {
				name string
				err  error
			}{{"EncryptWithContext", encErr}, {"DecryptWithContext", decErr}} {
				wantNotFound(t, call.name+"("+tc.name+" key)", call.err, tc.wantCode)
			}
			tc.undo(t, arn)
			if _, err := kek.DecryptWithContext(ctx, ct, aad); err != nil {
				t.Errorf("DecryptWithContext() after restoring the key err = %v, want nil", err)
			}
		})
	}
	t.Run("never created", func(t *testing.T) {
		arn := createKey(t)
		missing := arn[:strings.LastIndex(arn, "/")+1] + "00000000-0000-4000-8000-000000000000"
		kek := newKEK(t, missing)
		_, err := kek.EncryptWithContext(ctx, []byte("wrapped keyset"), aad)
		wantNotFound(t, "EncryptWithContext(missing key)", err, "NotFoundException")
		if err != nil && !strings.Contains(err.Error(), awskms.URI(missing)) {
			t.Errorf("EncryptWithContext(missing key) err = %q, want it to name the key URI", err)
		}
	})
}

func wantNotFound(t *testing.T, what string, err error, awsCode string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s err = nil, want error", what)
		return
	}
	if got := kms.CodeOf(err); got != kms.CodeNotFound {
		t.Errorf("%s code = %v, want %v (err = %v)", what, got, kms.CodeNotFound, err)
	}
	if !errors.Is(err, kms.ErrNotFound) {
		t.Errorf("errors.Is(%s err, kms.ErrNotFound) = false", what)
	}
	if kms.IsTransient(err) {
		t.Errorf("%s IsTransient = true, want false", what)
	}
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != awsCode {
		t.Errorf("%s err = %v, want one that unwraps to the AWS error %s", what, err, awsCode)
	}
}
