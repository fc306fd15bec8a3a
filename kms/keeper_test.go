package kms_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fieldcrypt/fieldcrypt/kms"
)

// scripted is a Driver whose calls return what the test sets, and that
// records what the Keeper asked of it.
type scripted struct {
	err       error         // returned by Encrypt and Decrypt when set
	block     chan struct{} // when set, calls wait for it to close
	started   chan struct{} // when set, closed by the first call
	code      kms.Code      // what ErrorCode answers
	codeOps   []string      // the ops ErrorCode was asked about
	closed    atomic.Int32
	closeErr  error
	ctxCancel context.CancelFunc // when set, called inside the call
}

func (d *scripted) call(ctx context.Context, in []byte) ([]byte, error) {
	if d.started != nil {
		close(d.started)
		d.started = nil
	}
	if d.block != nil {
		<-d.block
	}
	if d.ctxCancel != nil {
		d.ctxCancel()
	}
	if d.err != nil {
		return nil, d.err
	}
	return append([]byte("ct:"), in...), nil
}

func (d *scripted) Encrypt(ctx context.Context, pt, _ []byte) ([]byte, error) { return d.call(ctx, pt) }
func (d *scripted) Decrypt(ctx context.Context, ct, _ []byte) ([]byte, error) { return d.call(ctx, ct) }
func (d *scripted) ErrorCode(op string, _ error) kms.Code {
	d.codeOps = append(d.codeOps, op)
	return d.code
}
func (d *scripted) Close() error { d.closed.Add(1); return d.closeErr }

const testURI = "test://keys/pii"

func TestKeeperClassifiesDriverErrors(t *testing.T) {
	vendor := errors.New("vendor says no")
	for _, tc := range []struct {
		name     string
		drv      *scripted
		cancel   bool // the call's context ends during the call
		want     kms.Code
		wantAsk  bool // ErrorCode is consulted
		wantSame bool // the vendor error stays reachable
	}{
		{"ErrorCode decides", &scripted{err: vendor, code: kms.CodeThrottled}, false, kms.CodeThrottled, true, true},
		{"a driver's *kms.Error keeps its code", &scripted{err: &kms.Error{Code: kms.CodeInvalidCiphertext, Err: vendor}}, false, kms.CodeInvalidCiphertext, false, true},
		{"the client's own timeout", &scripted{err: context.DeadlineExceeded, code: kms.CodeUnknown}, false, kms.CodeDeadlineExceeded, false, false},
		{"the context ended during the call", &scripted{err: vendor, code: kms.CodeUnavailable}, true, kms.CodeCanceled, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.cancel {
				tc.drv.ctxCancel = cancel
			}
			k := kms.NewKeeper(testURI, tc.drv)
			_, err := k.DecryptWithContext(ctx, []byte("ct"), nil)
			var kerr *kms.Error
			if !errors.As(err, &kerr) {
				t.Fatalf("DecryptWithContext() err = %v (%T), want a *kms.Error", err, err)
			}
			if kerr.Code != tc.want || kerr.Op != kms.OpDecrypt || kerr.Backend != "test" || kerr.KeyURI != testURI {
				t.Errorf("err = %+v, want code %v, op decrypt, backend test, key %s", kerr, tc.want, testURI)
			}
			if asked := len(tc.drv.codeOps) > 0; asked != tc.wantAsk {
				t.Errorf("ErrorCode consulted = %v, want %v", asked, tc.wantAsk)
			} else if asked && tc.drv.codeOps[0] != kms.OpDecrypt {
				t.Errorf("ErrorCode asked about op %q, want %q", tc.drv.codeOps[0], kms.OpDecrypt)
			}
			if tc.wantSame && !errors.Is(err, vendor) {
				t.Errorf("err = %v, want the vendor's error in its chain", err)
			}
		})
	}
}

func TestKeeperRefusesBeforeTheDriver(t *testing.T) {
	drv := &scripted{}
	k := kms.NewKeeper(testURI, drv)
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		call func() ([]byte, error)
		want kms.Code
	}{
		{"cancelled encrypt", func() ([]byte, error) { return k.EncryptWithContext(canceled, []byte("pt"), nil) }, kms.CodeCanceled},
		{"expired decrypt", func() ([]byte, error) { return k.DecryptWithContext(expired, []byte("ct"), nil) }, kms.CodeDeadlineExceeded},
		{"empty ciphertext", func() ([]byte, error) { return k.DecryptWithContext(ctx, nil, nil) }, kms.CodeInvalidCiphertext},
		{"empty plaintext", func() ([]byte, error) { return k.EncryptWithContext(ctx, []byte{}, nil) }, kms.CodeInvalidArgument},
		{"rewrap unsupported", func() ([]byte, error) { return k.Rewrap(ctx, []byte("ct"), nil) }, kms.CodeInvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := tc.call()
			if out != nil || kms.CodeOf(err) != tc.want {
				t.Errorf("%s = %d bytes, %v; want nil, code %v", tc.name, len(out), err, tc.want)
			}
		})
	}
	if _, err := k.Rewrap(ctx, []byte("ct"), nil); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Rewrap() on a driver without rewrap err = %v, want errors.ErrUnsupported", err)
	}
	if got := k.Calls(); got != 0 {
		t.Errorf("Calls() = %d, want 0: no call reached the driver", got)
	}
}

// TestKeeperCloseWaitsAndIsFinal checks that Close waits for a call in
// flight, closes the driver once, returns its error both times, and that
// later calls fail with ErrClosed without reaching the driver.
func TestKeeperCloseWaitsAndIsFinal(t *testing.T) {
	drv := &scripted{block: make(chan struct{}), started: make(chan struct{}), closeErr: errors.New("close failed")}
	started := drv.started
	k := kms.NewKeeper(testURI, drv)
	inFlight := make(chan error, 1)
	go func() {
		_, err := k.EncryptWithContext(context.Background(), []byte("pt"), nil)
		inFlight <- err
	}()
	<-started
	closed := make(chan error, 1)
	go func() { closed <- k.Close() }()
	select {
	case <-closed:
		t.Fatal("Close() returned while a call was in flight")
	case <-time.After(50 * time.Millisecond):
	}
	// A call made while Close waits is refused at once, not queued behind
	// the call in flight (whose KMS request may take its whole timeout).
	refused := make(chan error, 1)
	go func() {
		_, err := k.DecryptWithContext(context.Background(), []byte("ct"), nil)
		refused <- err
	}()
	select {
	case err := <-refused:
		if !errors.Is(err, kms.ErrClosed) {
			t.Errorf("a call made while Close waited: err = %v, want kms.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a call made while Close waited was blocked behind it")
	}
	close(drv.block)
	if err := <-inFlight; err != nil {
		t.Errorf("the call in flight during Close: err = %v, want nil", err)
	}
	first := <-closed
	if first == nil || !errors.Is(first, drv.closeErr) {
		t.Errorf("Close() err = %v, want the driver's close error", first)
	}
	if again := k.Close(); again == nil || again.Error() != first.Error() {
		t.Errorf("second Close() err = %v, want the first call's %v", again, first)
	}
	if n := drv.closed.Load(); n != 1 {
		t.Errorf("driver closed %d times, want 1", n)
	}
	calls := k.Calls()
	_, err := k.DecryptWithContext(context.Background(), []byte("ct"), nil)
	if !errors.Is(err, kms.ErrClosed) || kms.CodeOf(err) != kms.CodeClosed || kms.IsTransient(err) {
		t.Errorf("DecryptWithContext() after Close err = %v, want kms.ErrClosed, permanent", err)
	}
	if k.Calls() != calls {
		t.Errorf("a call after Close reached the driver")
	}
	if _, err := k.Rewrap(context.Background(), []byte("ct"), nil); !errors.Is(err, kms.ErrClosed) {
		t.Errorf("Rewrap() after Close err = %v, want kms.ErrClosed (before any other refusal)", err)
	}
}
