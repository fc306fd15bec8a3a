package gcpkms_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/gcpkms"
)

// TestUnavailableIsTransient makes the service unavailable and checks that
// both operations report a transient CodeUnavailable.
func TestUnavailableIsTransient(t *testing.T) {
	srv := startFake(t)
	client := dial(t, srv)
	kek, _ := newKEK(t, srv, client, &gcpkms.Options{CallOptions: noRetry})
	ct, err := kek.EncryptWithContext(t.Context(), secretPlaintext, keysetAAD)
	if err != nil {
		t.Fatalf("EncryptWithContext() err = %v", err)
	}
	srv.FailWith(codes.Unavailable, -1)
	t.Cleanup(srv.ClearFaults)
	_, err = kek.EncryptWithContext(t.Context(), secretPlaintext, keysetAAD)
	wantCode(t, "EncryptWithContext while unavailable", err, kms.CodeUnavailable, codes.Unavailable)
	_, err = kek.DecryptWithContext(t.Context(), ct, keysetAAD)
	wantCode(t, "DecryptWithContext while unavailable", err, kms.CodeUnavailable, codes.Unavailable)

	srv.ClearFaults()
	if _, err := kek.DecryptWithContext(t.Context(), ct, keysetAAD); err != nil {
		t.Errorf("DecryptWithContext() once available again: err = %v", err)
	}
}

// TestClientLibraryRetriesUnavailable checks that, with the client library's
// default call options, a short outage is retried away.
func TestClientLibraryRetriesUnavailable(t *testing.T) {
	srv := startFake(t)
	kek, _ := newKEK(t, srv, dial(t, srv), nil)
	srv.FailWith(codes.Unavailable, 2)
	t.Cleanup(srv.ClearFaults)
	before := srv.Calls()
	if _, err := kek.EncryptWithContext(t.Context(), secretPlaintext, keysetAAD); err != nil {
		t.Fatalf("EncryptWithContext() through two Unavailable answers: err = %v, want success", err)
	}
	if got := srv.Calls() - before; got != 3 {
		t.Errorf("EncryptWithContext() made %d calls, want 3 (two retried)", got)
	}
}

// TestOutageOutlastsDeadline checks that a lasting outage ends at the
// caller's deadline with a transient error, not after the library's own
// 60-second budget.
func TestOutageOutlastsDeadline(t *testing.T) {
	srv := startFake(t)
	kek, _ := newKEK(t, srv, dial(t, srv), nil)
	srv.FailWith(codes.Unavailable, -1)
	t.Cleanup(srv.ClearFaults)
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := kek.EncryptWithContext(ctx, secretPlaintext, keysetAAD)
	if got := kms.CodeOf(err); got != kms.CodeDeadlineExceeded || !kms.IsTransient(err) {
		t.Errorf("EncryptWithContext() during an outage: code = %v, transient = %v, want transient %v (err = %v)",
			got, kms.IsTransient(err), kms.CodeDeadlineExceeded, err)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("EncryptWithContext() took %v with a 300ms deadline", elapsed)
	}
}

// TestServerDown stops the service: calls fail with a transient
// CodeUnavailable that carries the connection error.
func TestServerDown(t *testing.T) {
	srv := startFake(t)
	kek, _ := newKEK(t, srv, dial(t, srv), &gcpkms.Options{CallOptions: noRetry})
	ct, err := kek.EncryptWithContext(t.Context(), secretPlaintext, keysetAAD)
	if err != nil {
		t.Fatalf("EncryptWithContext() err = %v", err)
	}
	srv.Close()
	for _, tc := range []struct {
		name string
		call func() ([]byte, error)
	}{
		{"encrypt", func() ([]byte, error) { return kek.EncryptWithContext(t.Context(), secretPlaintext, keysetAAD) }},
		{"decrypt", func() ([]byte, error) { return kek.DecryptWithContext(t.Context(), ct, keysetAAD) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.call()
			wantCode(t, tc.name+" with the server down", err, kms.CodeUnavailable, codes.Unavailable)
			if !errors.Is(err, kms.ErrUnavailable) {
				t.Errorf("errors.Is(err, kms.ErrUnavailable) = false (err = %v)", err)
			}
		})
	}
}
