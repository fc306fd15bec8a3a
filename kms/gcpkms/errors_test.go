package gcpkms_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/googleapis/gax-go/v2/apierror"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/fieldcrypt/fieldcrypt/internal/fakekms"
	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/gcpkms"
)

// wantCode fails t unless err is a *kms.Error with code want whose vendor
// error, reachable with errors.As, carries the gRPC code grpcWant.
func wantCode(t *testing.T, what string, err error, want kms.Code, grpcWant codes.Code) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s err = nil, want %v", what, want)
	}
	var kerr *kms.Error
	if !errors.As(err, &kerr) {
		t.Fatalf("%s err = %v (%T), want a *kms.Error", what, err, err)
	}
	if kerr.Code != want {
		t.Errorf("%s code = %v, want %v (err = %v)", what, kerr.Code, want, err)
	}
	if !errors.Is(err, sentinelOf(want)) {
		t.Errorf("errors.Is(%s err, sentinel of %v) = false", what, want)
	}
	if got, wantT := kms.IsTransient(err), want.Transient(); got != wantT {
		t.Errorf("%s IsTransient = %v, want %v", what, got, wantT)
	}
	if kerr.Backend != gcpkms.Scheme || !strings.HasPrefix(kerr.KeyURI, gcpkms.Scheme+"://") {
		t.Errorf("%s err names backend %q and key %q, want %s and the key URI", what, kerr.Backend, kerr.KeyURI, gcpkms.Scheme)
	}
	var apiErr *apierror.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("%s err = %v: the client library's *apierror.APIError is not reachable with errors.As", what, err)
	}
	if got := apiErr.GRPCStatus().Code(); got != grpcWant {
		t.Errorf("%s vendor error has gRPC code %v, want %v", what, got, grpcWant)
	}
	var withStatus interface{ GRPCStatus() *status.Status }
	if !errors.As(err, &withStatus) || withStatus.GRPCStatus().Code() != grpcWant {
		t.Errorf("%s err: no GRPCStatus() with code %v in the chain", what, grpcWant)
	}
}

func sentinelOf(c kms.Code) error {
	return map[kms.Code]error{
		kms.CodeUnknown:           kms.ErrUnknown,
		kms.CodeNotFound:          kms.ErrNotFound,
		kms.CodePermissionDenied:  kms.ErrPermissionDenied,
		kms.CodeInvalidCiphertext: kms.ErrInvalidCiphertext,
		kms.CodeInvalidArgument:   kms.ErrInvalidArgument,
		kms.CodeCanceled:          kms.ErrCanceled,
		kms.CodeUnavailable:       kms.ErrUnavailable,
		kms.CodeThrottled:         kms.ErrThrottled,
		kms.CodeDeadlineExceeded:  kms.ErrDeadlineExceeded,
	}[c]
}

// TestStatusCodeMapping makes the service answer each gRPC code and checks the
// kms.Code the backend reports for it, on both operations.
func TestStatusCodeMapping(t *testing.T) {
	srv := startFake(t)
	client := dial(t, srv)
	kek, _ := newKEK(t, srv, client, &gcpkms.Options{CallOptions: noRetry})
	ct, err := kek.EncryptWithContext(t.Context(), secretPlaintext, keysetAAD)
	if err != nil {
		t.Fatalf("EncryptWithContext() err = %v", err)
	}
	for _, tc := range []struct {
		grpc    codes.Code
		encrypt kms.Code
		decrypt kms.Code
	}{
		{codes.InvalidArgument, kms.CodeInvalidArgument, kms.CodeInvalidCiphertext},
		{codes.NotFound, kms.CodeNotFound, kms.CodeNotFound},
		{codes.FailedPrecondition, kms.CodeNotFound, kms.CodeNotFound},
		{codes.PermissionDenied, kms.CodePermissionDenied, kms.CodePermissionDenied},
		{codes.Unauthenticated, kms.CodePermissionDenied, kms.CodePermissionDenied},
		{codes.Unavailable, kms.CodeUnavailable, kms.CodeUnavailable},
		{codes.Aborted, kms.CodeUnavailable, kms.CodeUnavailable},
		{codes.ResourceExhausted, kms.CodeThrottled, kms.CodeThrottled},
		{codes.DeadlineExceeded, kms.CodeDeadlineExceeded, kms.CodeDeadlineExceeded},
		{codes.Canceled, kms.CodeCanceled, kms.CodeCanceled},
		{codes.Internal, kms.CodeUnknown, kms.CodeUnknown},
		{codes.Unimplemented, kms.CodeUnknown, kms.CodeUnknown},
	} {
		t.Run(tc.grpc.String(), func(t *testing.T) {
			t.Cleanup(srv.ClearFaults)
			srv.FailWith(tc.grpc, 1)
			_, err := kek.EncryptWithContext(t.Context(), secretPlaintext, keysetAAD)
			wantCode(t, "EncryptWithContext", err, tc.encrypt, tc.grpc)
			srv.FailWith(tc.grpc, 1)
			pt, err := kek.DecryptWithContext(t.Context(), ct, keysetAAD)
			if pt != nil {
				t.Errorf("DecryptWithContext() returned plaintext with an error")
			}
			wantCode(t, "DecryptWithContext", err, tc.decrypt, tc.grpc)
		})
	}
}

// TestServiceConditions produces each error condition for real on the
// service (unknown key, IAM denial, disabled version, wrong key or associated
// data) and checks its classification.
func TestServiceConditions(t *testing.T) {
	srv := startFake(t)
	client := dial(t, srv)
	ctx := t.Context()

	kek, name := newKEK(t, srv, client, nil)
	ct, err := kek.EncryptWithContext(ctx, secretPlaintext, keysetAAD)
	if err != nil {
		t.Fatalf("EncryptWithContext() err = %v", err)
	}
	other, _ := newKEK(t, srv, client, nil)
	missing, err := gcpkms.New(client, gcpkms.URI("projects/fieldcrypt-test/locations/europe-west1/keyRings/crm/cryptoKeys/never-created"), nil)
	if err != nil {
		t.Fatalf("New(never-created key) err = %v", err)
	}

	type call func() ([]byte, error)
	encrypt := func(k *kms.Keeper) call {
		return func() ([]byte, error) { return k.EncryptWithContext(ctx, secretPlaintext, keysetAAD) }
	}
	decrypt := func(k *kms.Keeper, ad []byte) call {
		return func() ([]byte, error) { return k.DecryptWithContext(ctx, ct, ad) }
	}
	for _, tc := range []struct {
		name   string
		setup  func() (undo func())
		call   call
		want   kms.Code
		status codes.Code
	}{
		{"encrypt with unknown key", nil, encrypt(missing), kms.CodeNotFound, codes.NotFound},
		{"decrypt with unknown key", nil, decrypt(missing, keysetAAD), kms.CodeNotFound, codes.NotFound},
		{"encrypt denied", deny(srv, name), encrypt(kek), kms.CodePermissionDenied, codes.PermissionDenied},
		{"decrypt denied", deny(srv, name), decrypt(kek, keysetAAD), kms.CodePermissionDenied, codes.PermissionDenied},
		{"encrypt with disabled primary", disable(t, srv, name, 1), encrypt(kek), kms.CodeNotFound, codes.FailedPrecondition},
		{"decrypt with disabled version", disable(t, srv, name, 1), decrypt(kek, keysetAAD), kms.CodeNotFound, codes.FailedPrecondition},
		{"decrypt with other associated data", nil, decrypt(kek, []byte("fieldcrypt keyset v1|tenant-b|pii|data")), kms.CodeInvalidCiphertext, codes.InvalidArgument},
		{"decrypt with another key", nil, decrypt(other, keysetAAD), kms.CodeInvalidCiphertext, codes.InvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != nil {
				t.Cleanup(tc.setup())
			}
			out, err := tc.call()
			if out != nil {
				t.Errorf("call returned %d bytes with an error", len(out))
			}
			wantCode(t, tc.name, err, tc.want, tc.status)
			if strings.Contains(err.Error(), string(secretPlaintext)) {
				t.Errorf("error message contains the plaintext: %v", err)
			}
		})
	}
	// Every condition was undone: the key works again.
	if _, err := kek.DecryptWithContext(ctx, ct, keysetAAD); err != nil {
		t.Errorf("DecryptWithContext() after the conditions were undone: err = %v", err)
	}
}

// deny returns a setup that denies the use of key name and undoes it.
func deny(srv *fakekms.Server, name string) func() func() {
	return func() func() {
		srv.Deny(name)
		return func() { srv.Allow(name) }
	}
}

// disable returns a setup that disables a version of key name and undoes it.
func disable(t *testing.T, srv *fakekms.Server, name string, version int) func() func() {
	return func() func() {
		if err := srv.DisableVersion(name, version); err != nil {
			t.Fatalf("DisableVersion() err = %v", err)
		}
		return func() {
			if err := srv.EnableVersion(name, version); err != nil {
				t.Errorf("EnableVersion() err = %v", err)
			}
		}
	}
}

// TestEmptyCiphertext checks that an empty ciphertext is rejected as invalid
// without a call to the service.
func TestEmptyCiphertext(t *testing.T) {
	srv := startFake(t)
	kek, _ := newKEK(t, srv, dial(t, srv), nil)
	before := srv.Calls()
	for _, ct := range [][]byte{nil, {}} {
		_, err := kek.DecryptWithContext(t.Context(), ct, keysetAAD)
		if got := kms.CodeOf(err); got != kms.CodeInvalidCiphertext || kms.IsTransient(err) {
			t.Errorf("DecryptWithContext(%q) code = %v, transient = %v, want permanent %v", ct, got, kms.IsTransient(err), kms.CodeInvalidCiphertext)
		}
	}
	if got := srv.Calls() - before; got != 0 {
		t.Errorf("DecryptWithContext(empty) made %d calls, want 0", got)
	}
}
