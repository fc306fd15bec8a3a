package awskms_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/awskms"
)

// closedPort returns a loopback address on which nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("Listen() err = %v", err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatalf("Close() err = %v", err)
	}
	return addr
}

// openWith opens arn through a client built from opts.
func openWith(t *testing.T, arn string, opts *awskms.Options) *kms.Keeper {
	t.Helper()
	kek, err := awskms.OpenFunc(opts)(context.Background(), awskms.URI(arn))
	if err != nil {
		t.Fatalf("OpenFunc()(%s) err = %v", arn, err)
	}
	return kek
}

func TestUnreachableIsUnavailable(t *testing.T) {
	const arn = "arn:aws:kms:eu-west-1:111122223333:key/00000000-0000-4000-8000-000000000000"
	ctx := context.Background()
	for _, attempts := range []int{1, 2} {
		opts := testOptions()
		opts.Endpoint = "http://" + closedPort(t)
		opts.MaxAttempts = attempts
		opts.MaxBackoff = 10 * time.Millisecond
		kek := openWith(t, arn, opts)
		for _, call := range []struct {
			name string
			do   func() error
		}{
			{"EncryptWithContext", func() error { _, err := kek.EncryptWithContext(ctx, []byte("keyset"), nil); return err }},
			{"DecryptWithContext", func() error { _, err := kek.DecryptWithContext(ctx, []byte("ciphertext"), nil); return err }},
			{"Rewrap", func() error { _, err := kek.Rewrap(ctx, []byte("ciphertext"), nil); return err }},
		} {
			t.Run(call.name, func(t *testing.T) {
				err := call.do()
				if got := kms.CodeOf(err); got != kms.CodeUnavailable {
					t.Fatalf("%s(unreachable endpoint, %d attempts) code = %v, want %v (err = %v)", call.name, attempts, got, kms.CodeUnavailable, err)
				}
				if !kms.IsTransient(err) {
					t.Errorf("%s(unreachable endpoint) IsTransient = false, want true", call.name)
				}
				var sendErr *smithyhttp.RequestSendError
				if !errors.As(err, &sendErr) {
					t.Errorf("%s(unreachable endpoint) err = %v, want one that unwraps to *smithyhttp.RequestSendError", call.name, err)
				}
			})
		}
	}
}

func TestCredentialsFailureIsPermissionDenied(t *testing.T) {
	arn := createKey(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		creds aws.CredentialsProvider
	}{
		{"provider fails", aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{}, errors.New("no credentials configured")
		})},
		{"empty static keys", awskms.StaticCredentials("", "", "")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := testOptions()
			opts.Credentials = tc.creds
			kek := openWith(t, arn, opts)
			_, err := kek.EncryptWithContext(ctx, []byte("keyset"), nil)
			if got := kms.CodeOf(err); got != kms.CodePermissionDenied {
				t.Errorf("EncryptWithContext(%s) code = %v, want %v (err = %v)", tc.name, got, kms.CodePermissionDenied, err)
			}
			if kms.IsTransient(err) {
				t.Errorf("EncryptWithContext(%s) IsTransient = true, want false", tc.name)
			}
		})
	}
}

func TestContextEnded(t *testing.T) {
	kek := newKEK(t, createKey(t))
	ct, err := kek.EncryptWithContext(context.Background(), []byte("keyset"), nil)
	if err != nil {
		t.Fatalf("EncryptWithContext() err = %v", err)
	}
	expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	canceled, cancel2 := context.WithCancel(context.Background())
	cancel2()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		want kms.Code
	}{
		{"deadline passed", expired, kms.CodeDeadlineExceeded},
		{"canceled", canceled, kms.CodeCanceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, encErr := kek.EncryptWithContext(tc.ctx, []byte("keyset"), nil)
			_, decErr := kek.DecryptWithContext(tc.ctx, ct, nil)
			_, reErr := kek.Rewrap(tc.ctx, ct, nil)
			for name, err := range map[string]error{"EncryptWithContext": encErr, "DecryptWithContext": decErr, "Rewrap": reErr} {
				if got := kms.CodeOf(err); got != tc.want {
					t.Errorf("%s(%s) code = %v, want %v (err = %v)", name, tc.name, got, tc.want, err)
				}
			}
		})
	}
}

func TestPlaintextSize(t *testing.T) {
	ctx := context.Background()
	kek := newKEK(t, createKey(t))
	for _, tc := range []struct {
		name string
		pt   []byte
	}{
		{"empty", []byte{}},
		{"nil", nil},
		{"one byte over the limit", bytes.Repeat([]byte{1}, awskms.MaxPlaintext+1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ct, err := kek.EncryptWithContext(ctx, tc.pt, nil)
			if ct != nil {
				t.Errorf("EncryptWithContext(%s) returned a ciphertext", tc.name)
			}
			if got := kms.CodeOf(err); got != kms.CodeInvalidArgument {
				t.Errorf("EncryptWithContext(%s) code = %v, want %v (err = %v)", tc.name, got, kms.CodeInvalidArgument, err)
			}
		})
	}
	ct, err := kek.EncryptWithContext(ctx, bytes.Repeat([]byte{1}, awskms.MaxPlaintext), nil)
	if err != nil {
		t.Fatalf("EncryptWithContext(%d bytes) err = %v", awskms.MaxPlaintext, err)
	}
	long := append(bytes.Clone(ct), bytes.Repeat([]byte{0}, awskms.MaxCiphertext)...)
	_, err = kek.DecryptWithContext(ctx, long, nil)
	if got := kms.CodeOf(err); got != kms.CodeInvalidCiphertext {
		t.Errorf("DecryptWithContext(%d bytes) code = %v, want %v (err = %v)", len(long), got, kms.CodeInvalidCiphertext, err)
	}
	if err != nil && strings.Contains(err.Error(), "\x01\x01\x01\x01") {
		t.Errorf("DecryptWithContext() err quotes its input: %q", err)
	}
}
