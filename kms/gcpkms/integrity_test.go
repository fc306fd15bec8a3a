package gcpkms_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/googleapis/gax-go/v2/apierror"
	"google.golang.org/grpc/codes"

	"github.com/fieldcrypt/fieldcrypt/internal/fakekms"
	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/gcpkms"
)

var (
	secretPlaintext = []byte("serialized keyset: AES256_GCM key bytes would be here")
	keysetAAD       = []byte("fieldcrypt keyset v1|tenant-a|pii|data")
)

// wantIntegrityFailure fails t unless err is the transient error of a call
// whose every attempt failed the integrity check named check.
func wantIntegrityFailure(t *testing.T, what string, err error, check string, attempts int) *gcpkms.IntegrityError {
	t.Helper()
	if err == nil {
		t.Fatalf("%s err = nil, want an integrity failure", what)
	}
	if got := kms.CodeOf(err); got != kms.CodeUnavailable {
		t.Errorf("%s code = %v, want %v (err = %v)", what, got, kms.CodeUnavailable, err)
	}
	if !kms.IsTransient(err) {
		t.Errorf("%s IsTransient = false, want true (err = %v)", what, err)
	}
	if !errors.Is(err, gcpkms.ErrIntegrity) {
		t.Errorf("errors.Is(%s err, ErrIntegrity) = false (err = %v)", what, err)
	}
	var ierr *gcpkms.IntegrityError
	if !errors.As(err, &ierr) {
		t.Fatalf("%s err = %v, want an *IntegrityError in its chain", what, err)
	}
	if ierr.Check != check {
		t.Errorf("%s IntegrityError.Check = %q, want %q", what, ierr.Check, check)
	}
	if ierr.Attempts != attempts {
		t.Errorf("%s IntegrityError.Attempts = %d, want %d", what, ierr.Attempts, attempts)
	}
	if bytes.Contains([]byte(err.Error()), secretPlaintext) {
		t.Errorf("%s error message contains the plaintext", what)
	}
	return ierr
}

// TestRequestCorruptedInTransit corrupts requests on their way to the
// service. The service sees that the data does not match the checksum the
// client sent and answers InvalidArgument; the client retries a limited number
// of times, then reports a transient integrity failure. Without the request
// checksums the corruption would go unseen: Encrypt would wrap the wrong bytes
// and Decrypt would report an invalid ciphertext.
func TestRequestCorruptedInTransit(t *testing.T) {
	srv := startFake(t)
	client := dial(t, srv)
	kek, _ := newKEK(t, srv, client, nil)
	ctx := t.Context()
	ct, err := kek.EncryptWithContext(ctx, secretPlaintext, keysetAAD)
	if err != nil {
		t.Fatalf("EncryptWithContext() err = %v", err)
	}

	for _, tc := range []struct {
		name  string
		op    string
		fault fakekms.Fault
		check string // the field the service names
	}{
		{"encrypt plaintext", "encrypt", fakekms.CorruptRequest, "plaintext_crc32c"},
		{"encrypt associated data", "encrypt", fakekms.CorruptRequestAAD, "additional_authenticated_data_crc32c"},
		{"decrypt ciphertext", "decrypt", fakekms.CorruptRequest, "ciphertext_crc32c"},
		{"decrypt associated data", "decrypt", fakekms.CorruptRequestAAD, "additional_authenticated_data_crc32c"},
	} {
		call := func() ([]byte, error) {
			if tc.op == "encrypt" {
				return kek.EncryptWithContext(ctx, secretPlaintext, keysetAAD)
			}
			return kek.DecryptWithContext(ctx, ct, keysetAAD)
		}
		t.Run(tc.name+"/once", func(t *testing.T) {
			srv.Inject(tc.fault, 1)
			t.Cleanup(srv.ClearFaults)
			before := srv.Calls()
			out, err := call()
			if err != nil {
				t.Fatalf("%s with one corrupted request: err = %v, want success after a retry", tc.op, err)
			}
			if got := srv.Calls() - before; got != 2 {
				t.Errorf("%s with one corrupted request made %d calls, want 2", tc.op, got)
			}
			wantRoundTrip(t, kek, tc.op, out)
		})
		t.Run(tc.name+"/always", func(t *testing.T) {
			srv.Inject(tc.fault, -1)
			t.Cleanup(srv.ClearFaults)
			before := srv.Calls()
			out, err := call()
			if out != nil {
				t.Errorf("%s with corrupted requests returned %d bytes, want none", tc.op, len(out))
			}
			ierr := wantIntegrityFailure(t, tc.op, err, tc.check, gcpkms.DefaultIntegrityAttempts)
			if got := srv.Calls() - before; got != gcpkms.DefaultIntegrityAttempts {
				t.Errorf("%s with corrupted requests made %d calls, want %d", tc.op, got, gcpkms.DefaultIntegrityAttempts)
			}
			var apiErr *apierror.APIError
			if !errors.As(ierr, &apiErr) || apiErr.GRPCStatus().Code() != codes.InvalidArgument {
				t.Errorf("IntegrityError does not wrap the service's InvalidArgument: %v", ierr.Err)
			}
		})
	}
}

// wantRoundTrip checks the output of a successful call: a ciphertext that
// decrypts to secretPlaintext, or secretPlaintext itself.
func wantRoundTrip(t *testing.T, kek *kms.Keeper, op string, out []byte) {
	t.Helper()
	if op == "encrypt" {
		pt, err := kek.DecryptWithContext(t.Context(), out, keysetAAD)
		if err != nil {
			t.Fatalf("DecryptWithContext(ciphertext) err = %v", err)
		}
		out = pt
	}
	if !bytes.Equal(out, secretPlaintext) {
		t.Errorf("round trip gave %q, want %q", out, secretPlaintext)
	}
}

// TestResponseCorruptedInTransit corrupts responses on their way back. The
// client must reject each one (never returning its data), retry, and succeed
// when a later answer is sound.
func TestResponseCorruptedInTransit(t *testing.T) {
	srv := startFake(t)
	client := dial(t, srv)
	kek, _ := newKEK(t, srv, client, nil)
	ctx := t.Context()
	ct, err := kek.EncryptWithContext(ctx, secretPlaintext, keysetAAD)
	if err != nil {
		t.Fatalf("EncryptWithContext() err = %v", err)
	}

	for _, tc := range []struct {
		name  string
		op    string
		fault fakekms.Fault
		check string
	}{
		{"encrypt ciphertext flipped", "encrypt", fakekms.CorruptResponse, "ciphertext_crc32c"},
		{"encrypt wrong checksum", "encrypt", fakekms.WrongResponseChecksum, "ciphertext_crc32c"},
		{"encrypt plaintext checksum not verified", "encrypt", fakekms.DropVerifiedPlaintext, "verified_plaintext_crc32c"},
		{"encrypt associated-data checksum not verified", "encrypt", fakekms.DropVerifiedAAD, "verified_additional_authenticated_data_crc32c"},
		{"encrypt answered by another key", "encrypt", fakekms.WrongKeyName, "name"},
		{"decrypt plaintext flipped", "decrypt", fakekms.CorruptResponse, "plaintext_crc32c"},
		{"decrypt wrong checksum", "decrypt", fakekms.WrongResponseChecksum, "plaintext_crc32c"},
	} {
		call := func() ([]byte, error) {
			if tc.op == "encrypt" {
				return kek.EncryptWithContext(ctx, secretPlaintext, keysetAAD)
			}
			return kek.DecryptWithContext(ctx, ct, keysetAAD)
		}
		t.Run(tc.name+"/once", func(t *testing.T) {
			srv.Inject(tc.fault, 1)
			t.Cleanup(srv.ClearFaults)
			before := srv.Calls()
			out, err := call()
			if err != nil {
				t.Fatalf("%s with one corrupted response: err = %v, want success after a retry", tc.op, err)
			}
			if got := srv.Calls() - before; got != 2 {
				t.Errorf("%s with one corrupted response made %d calls, want 2", tc.op, got)
			}
			wantRoundTrip(t, kek, tc.op, out)
		})
		t.Run(tc.name+"/always", func(t *testing.T) {
			srv.Inject(tc.fault, -1)
			t.Cleanup(srv.ClearFaults)
			before := srv.Calls()
			out, err := call()
			if out != nil {
				t.Errorf("%s with corrupted responses returned %d bytes, want none", tc.op, len(out))
			}
			wantIntegrityFailure(t, tc.op, err, tc.check, gcpkms.DefaultIntegrityAttempts)
			if got := srv.Calls() - before; got != gcpkms.DefaultIntegrityAttempts {
				t.Errorf("%s with corrupted responses made %d calls, want %d", tc.op, got, gcpkms.DefaultIntegrityAttempts)
			}
		})
	}
}

// TestIntegrityAttempts checks that Options.IntegrityAttempts bounds the calls.
func TestIntegrityAttempts(t *testing.T) {
	srv := startFake(t)
	client := dial(t, srv)
	for _, attempts := range []int{1, 5} {
		kek, _ := newKEK(t, srv, client, &gcpkms.Options{IntegrityAttempts: attempts})
		srv.Inject(fakekms.WrongResponseChecksum, -1)
		before := srv.Calls()
		_, err := kek.EncryptWithContext(t.Context(), secretPlaintext, keysetAAD)
		srv.ClearFaults()
		wantIntegrityFailure(t, "EncryptWithContext", err, "ciphertext_crc32c", attempts)
		if got := srv.Calls() - before; got != attempts {
			t.Errorf("IntegrityAttempts %d: %d calls, want %d", attempts, got, attempts)
		}
	}
}

// TestNoAssociatedDataChecksumWithoutAssociatedData checks that without
// associated data no AAD checksum is sent, so the service's
// verified_additional_authenticated_data_crc32c flag is not required.
func TestNoAssociatedDataChecksumWithoutAssociatedData(t *testing.T) {
	srv := startFake(t)
	client := dial(t, srv)
	kek, _ := newKEK(t, srv, client, nil)
	srv.Inject(fakekms.DropVerifiedAAD, -1)
	t.Cleanup(srv.ClearFaults)
	ct, err := kek.EncryptWithContext(t.Context(), secretPlaintext, nil)
	if err != nil {
		t.Fatalf("EncryptWithContext(nil associated data) err = %v", err)
	}
	if _, err := kek.DecryptWithContext(t.Context(), ct, nil); err != nil {
		t.Fatalf("DecryptWithContext(nil associated data) err = %v", err)
	}
}

// TestRequestChecksumRejectionByMessage checks that a checksum rejection is
// recognised by its message when the service sends no BadRequest detail.
// Mistaking it for an invalid ciphertext would turn a transient corruption
// in transit into a permanent "this keyset is unreadable".
func TestRequestChecksumRejectionByMessage(t *testing.T) {
	srv := startFake(t)
	kek, _ := newKEK(t, srv, dial(t, srv), nil)
	ct, err := kek.EncryptWithContext(t.Context(), secretPlaintext, keysetAAD)
	if err != nil {
		t.Fatalf("EncryptWithContext() err = %v", err)
	}
	srv.OmitErrorDetails(true)
	srv.Inject(fakekms.CorruptRequest, -1)
	t.Cleanup(srv.ClearFaults)
	_, err = kek.DecryptWithContext(t.Context(), ct, keysetAAD)
	wantIntegrityFailure(t, "DecryptWithContext", err, "request checksum", gcpkms.DefaultIntegrityAttempts)
}
