// Package kmstest is the conformance suite every KEK backend passes.
//
// A backend's test builds a [Harness] that opens fresh keys on a real or
// emulated server and calls [Run]:
//
//	func TestConformance(t *testing.T) {
//		kmstest.Run(t, kmstest.Harness{NewKeeper: func(t *testing.T) *kms.Keeper { ... }})
//	}
//
// The suite drives the backend through the [*kms.Keeper] its New or URI
// opener returns, as users do, and checks the contract documented on
// [kms.Driver] and [kms.Keeper]: round trip, non-determinism,
// associated-data binding, rejection of tampered, truncated and empty
// ciphertexts with a permanent [kms.CodeInvalidCiphertext] error, key
// separation, prompt return on a cancelled context, safety under concurrent
// use, call counting, and a final Close after which every call fails with
// [kms.ErrClosed].
package kmstest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/fieldcrypt/fieldcrypt/kms"
)

// Harness supplies a backend to the suite.
type Harness struct {
	// NewKeeper returns a Keeper for a key that no other call returned: two
	// calls must give two different keys. It fails t if it cannot. The
	// suite closes some of the Keepers it gets; the harness closes the rest
	// if it must (closing twice is allowed).
	NewKeeper func(t *testing.T) *kms.Keeper

	// CancelTimeout bounds how long a call with a cancelled context may take
	// before the suite calls it hung. Zero means 5 seconds.
	CancelTimeout time.Duration
}

// Run runs the conformance suite as subtests of t.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.NewKeeper == nil {
		t.Fatal("kmstest: Harness.NewKeeper is nil")
	}
	if h.CancelTimeout == 0 {
		h.CancelTimeout = 5 * time.Second
	}
	t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, h) })
	t.Run("NonDeterministic", func(t *testing.T) { testNonDeterministic(t, h) })
	t.Run("WrongAssociatedData", func(t *testing.T) { testWrongAssociatedData(t, h) })
	t.Run("MalformedCiphertext", func(t *testing.T) { testMalformedCiphertext(t, h) })
	t.Run("KeySeparation", func(t *testing.T) { testKeySeparation(t, h) })
	t.Run("CanceledContext", func(t *testing.T) { testCanceledContext(t, h) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, h) })
	t.Run("Calls", func(t *testing.T) { testCalls(t, h) })
	t.Run("Close", func(t *testing.T) { testClose(t, h) })
}

var (
	plaintext = []byte("a serialized Tink keyset stands in here \x00\x01\xfe\xff")
	aad       = []byte("fieldcrypt keyset v1|tenant-a|pii|data")
)

func testRoundTrip(t *testing.T, h Harness) {
	ctx := context.Background()
	kek := h.NewKeeper(t)
	for _, tc := range []struct {
		name string
		pt   []byte
		ad   []byte
	}{
		{"with associated data", plaintext, aad},
		{"nil associated data", plaintext, nil},
		{"one byte", []byte{0}, aad},
		{"4 KiB", bytes.Repeat([]byte{0xa5}, 4096), aad},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ct, err := kek.EncryptWithContext(ctx, tc.pt, tc.ad)
			if err != nil {
				t.Fatalf("EncryptWithContext() err = %v", err)
			}
			if bytes.Contains(ct, tc.pt) && len(tc.pt) > 8 {
				t.Errorf("EncryptWithContext() output contains the plaintext")
			}
			got, err := kek.DecryptWithContext(ctx, ct, tc.ad)
			if err != nil {
				t.Fatalf("DecryptWithContext() err = %v", err)
			}
			if !bytes.Equal(got, tc.pt) {
				t.Errorf("DecryptWithContext() = %x, want %x", got, tc.pt)
			}
		})
	}
}

func testNonDeterministic(t *testing.T, h Harness) {
	ctx := context.Background()
	kek := h.NewKeeper(t)
	a, err := kek.EncryptWithContext(ctx, plaintext, aad)
	if err != nil {
		t.Fatalf("EncryptWithContext() err = %v", err)
	}
	b, err := kek.EncryptWithContext(ctx, plaintext, aad)
	if err != nil {
		t.Fatalf("EncryptWithContext() err = %v", err)
	}
	if bytes.Equal(a, b) {
		t.Errorf("two encryptions of the same plaintext are equal; want randomized encryption")
	}
}

// wantPermanent fails t unless err is a permanent kms error with code want.
func wantPermanent(t *testing.T, what string, err error, want kms.Code) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: err = nil, want %v", what, want)
		return
	}
	var kerr *kms.Error
	if !errors.As(err, &kerr) {
		t.Errorf("%s: err = %v (%T), want a *kms.Error", what, err, err)
		return
	}
	if got := kms.CodeOf(err); got != want {
		t.Errorf("%s: code = %v, want %v (err = %v)", what, got, want, err)
	}
	if kms.IsTransient(err) {
		t.Errorf("%s: IsTransient = true, want a permanent error", what)
	}
}

func testWrongAssociatedData(t *testing.T, h Harness) {
	ctx := context.Background()
	kek := h.NewKeeper(t)
	ct, err := kek.EncryptWithContext(ctx, plaintext, aad)
	if err != nil {
		t.Fatalf("EncryptWithContext() err = %v", err)
	}
	for _, tc := range []struct {
		name string
		ad   []byte
	}{
		{"other tenant", []byte("fieldcrypt keyset v1|tenant-b|pii|data")},
		{"missing", nil},
		{"one bit flipped", flip(aad, len(aad)-1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pt, err := kek.DecryptWithContext(ctx, ct, tc.ad)
			if pt != nil {
				t.Errorf("DecryptWithContext(wrong associated data) returned %d bytes of plaintext", len(pt))
			}
			wantPermanent(t, "DecryptWithContext(wrong associated data)", err, kms.CodeInvalidCiphertext)
		})
	}
}

func testMalformedCiphertext(t *testing.T, h Harness) {
	ctx := context.Background()
	kek := h.NewKeeper(t)
	ct, err := kek.EncryptWithContext(ctx, plaintext, aad)
	if err != nil {
		t.Fatalf("EncryptWithContext() err = %v", err)
	}
	cases := []struct {
		name string
		ct   []byte
	}{
		{"empty", []byte{}},
		{"nil", nil},
		{"truncated to half", ct[:len(ct)/2]},
		{"last byte dropped", ct[:len(ct)-1]},
		{"first byte flipped", flip(ct, 0)},
		{"middle byte flipped", flip(ct, len(ct)/2)},
		{"last byte flipped", flip(ct, len(ct)-1)},
		{"garbage", []byte("this is not a ciphertext of any backend")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pt, err := kek.DecryptWithContext(ctx, tc.ct, aad)
			if pt != nil {
				t.Errorf("DecryptWithContext(%s) returned %d bytes of plaintext", tc.name, len(pt))
			}
			wantPermanent(t, fmt.Sprintf("DecryptWithContext(%s)", tc.name), err, kms.CodeInvalidCiphertext)
		})
	}
}

func testKeySeparation(t *testing.T, h Harness) {
	ctx := context.Background()
	a, b := h.NewKeeper(t), h.NewKeeper(t)
	ctA, err := a.EncryptWithContext(ctx, plaintext, aad)
	if err != nil {
		t.Fatalf("A.EncryptWithContext() err = %v", err)
	}
	ctB, err := b.EncryptWithContext(ctx, plaintext, aad)
	if err != nil {
		t.Fatalf("B.EncryptWithContext() err = %v", err)
	}
	if _, err := b.DecryptWithContext(ctx, ctA, aad); err == nil {
		t.Errorf("B.DecryptWithContext(ciphertext of A) err = nil, want error")
	} else if kms.IsTransient(err) {
		t.Errorf("B.DecryptWithContext(ciphertext of A) err = %v, want a permanent error", err)
	}
	if _, err := a.DecryptWithContext(ctx, ctB, aad); err == nil {
		t.Errorf("A.DecryptWithContext(ciphertext of B) err = nil, want error")
	} else if kms.IsTransient(err) {
		t.Errorf("A.DecryptWithContext(ciphertext of B) err = %v, want a permanent error", err)
	}
}

func testCanceledContext(t *testing.T, h Harness) {
	kek := h.NewKeeper(t)
	ct, err := kek.EncryptWithContext(context.Background(), plaintext, aad)
	if err != nil {
		t.Fatalf("EncryptWithContext() err = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, op := range []struct {
		name string
		call func() ([]byte, error)
	}{
		{"encrypt", func() ([]byte, error) { return kek.EncryptWithContext(ctx, plaintext, aad) }},
		{"decrypt", func() ([]byte, error) { return kek.DecryptWithContext(ctx, ct, aad) }},
	} {
		t.Run(op.name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() {
				_, err := op.call()
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil {
					t.Fatalf("%s with a cancelled context: err = nil, want error", op.name)
				}
				if code := kms.CodeOf(err); code != kms.CodeCanceled && code != kms.CodeDeadlineExceeded {
					t.Errorf("%s with a cancelled context: code = %v, want canceled (err = %v)", op.name, code, err)
				}
			case <-time.After(h.CancelTimeout):
				t.Fatalf("%s with a cancelled context did not return within %v", op.name, h.CancelTimeout)
			}
		})
	}
}

func testConcurrent(t *testing.T, h Harness) {
	ctx := context.Background()
	kek := h.NewKeeper(t)
	const workers, rounds = 8, 5
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				pt := fmt.Appendf(nil, "worker %d round %d", w, r)
				ad := fmt.Appendf(nil, "ad %d", w)
				ct, err := kek.EncryptWithContext(ctx, pt, ad)
				if err != nil {
					errs <- fmt.Errorf("worker %d: EncryptWithContext() err = %w", w, err)
					return
				}
				got, err := kek.DecryptWithContext(ctx, ct, ad)
				if err != nil {
					errs <- fmt.Errorf("worker %d: DecryptWithContext() err = %w", w, err)
					return
				}
				if !bytes.Equal(got, pt) {
					errs <- fmt.Errorf("worker %d: DecryptWithContext() = %q, want %q", w, got, pt)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func flip(b []byte, i int) []byte {
	out := bytes.Clone(b)
	out[i] ^= 0x01
	return out
}

func testCalls(t *testing.T, h Harness) {
	ctx := context.Background()
	kek := h.NewKeeper(t)
	if got := kek.Calls(); got != 0 {
		t.Errorf("Calls() of a new Keeper = %d, want 0", got)
	}
	ct, err := kek.EncryptWithContext(ctx, plaintext, aad)
	if err != nil {
		t.Fatalf("EncryptWithContext() err = %v", err)
	}
	if _, err := kek.DecryptWithContext(ctx, ct, aad); err != nil {
		t.Fatalf("DecryptWithContext() err = %v", err)
	}
	if _, err := kek.DecryptWithContext(ctx, flip(ct, len(ct)-1), aad); err == nil {
		t.Fatalf("DecryptWithContext(tampered) err = nil, want error")
	}
	if got := kek.Calls(); got != 3 {
		t.Errorf("Calls() after encrypt, decrypt and a failed decrypt = %d, want 3", got)
	}
	// Calls refused before the backend are not counted.
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	_, _ = kek.EncryptWithContext(canceled, plaintext, aad)
	_, _ = kek.DecryptWithContext(ctx, nil, aad)
	if _, err := kek.EncryptWithContext(ctx, nil, aad); kms.CodeOf(err) != kms.CodeInvalidArgument {
		t.Errorf("EncryptWithContext(empty plaintext) code = %v, want %v (err = %v)", kms.CodeOf(err), kms.CodeInvalidArgument, err)
	}
	if got := kek.Calls(); got != 3 {
		t.Errorf("Calls() after a cancelled call and two with empty input = %d, want 3", got)
	}
}

func testClose(t *testing.T, h Harness) {
	ctx := context.Background()
	kek := h.NewKeeper(t)
	ct, err := kek.EncryptWithContext(ctx, plaintext, aad)
	if err != nil {
		t.Fatalf("EncryptWithContext() err = %v", err)
	}
	if err := kek.Close(); err != nil {
		t.Fatalf("Close() err = %v", err)
	}
	if err := kek.Close(); err != nil {
		t.Errorf("second Close() err = %v, want nil", err)
	}
	calls := kek.Calls()
	for _, op := range []struct {
		name string
		call func() ([]byte, error)
	}{
		{"encrypt", func() ([]byte, error) { return kek.EncryptWithContext(ctx, plaintext, aad) }},
		{"decrypt", func() ([]byte, error) { return kek.DecryptWithContext(ctx, ct, aad) }},
		{"rewrap", func() ([]byte, error) { return kek.Rewrap(ctx, ct, aad) }},
	} {
		t.Run(op.name, func(t *testing.T) {
			out, err := op.call()
			if out != nil {
				t.Errorf("%s after Close returned %d bytes", op.name, len(out))
			}
			if errors.Is(err, errors.ErrUnsupported) {
				return // a backend without rewrap says so first
			}
			if !errors.Is(err, kms.ErrClosed) {
				t.Fatalf("%s after Close: err = %v, want kms.ErrClosed", op.name, err)
			}
			wantPermanent(t, op.name+" after Close", err, kms.CodeClosed)
		})
	}
	if got := kek.Calls(); got != calls {
		t.Errorf("Calls() went from %d to %d after Close, want no call to reach the backend", calls, got)
	}
}
