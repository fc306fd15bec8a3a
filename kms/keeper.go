package kms

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/tink-crypto/tink-go/v2/tink"
)

// Keeper is a key-encryption key (KEK) held by a key-management system: the
// one type every backend returns, whatever the system behind it. It wraps a
// backend's [Driver] and does, once for every backend, what a caller relies
// on:
//
//   - a call whose context has ended returns at once, with CodeCanceled or
//     CodeDeadlineExceeded, and a call that fails after its context ended is
//     classified by the context, whatever the backend answered;
//   - every error is an [*Error] naming the operation, the backend and the
//     key URI, with a [Code] that says whether to retry;
//   - an empty ciphertext is CodeInvalidCiphertext, and an empty plaintext
//     CodeInvalidArgument, without a call;
//   - the calls that reach the backend are counted ([Keeper.Calls]);
//   - [Keeper.Close] is final: it waits for calls in flight, releases what
//     the backend owns, and every later call fails with [ErrClosed].
//
// Keeper implements Tink's [tink.AEADWithContext], so it wraps and unwraps
// Tink keysets directly (keyset.ReadWithContext, Handle.WriteWithContext). A
// Keeper is safe for concurrent use.
type Keeper struct {
	uri     string
	backend string
	drv     Driver
	rw      Rewrapper // nil when the driver cannot rewrap

	calls atomic.Int64

	// mu guards closed; inflight counts the calls past the closed check,
	// which Close waits for. No call holds mu while it runs, so a call
	// started while Close waits is refused at once rather than queued.
	mu        sync.Mutex
	closed    bool
	inflight  sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

var _ tink.AEADWithContext = (*Keeper)(nil)

// NewKeeper returns the Keeper for the key that keyURI names, calling drv.
// Backends call it from their New; the backend in errors is keyURI's scheme.
func NewKeeper(keyURI string, drv Driver) *Keeper {
	k := &Keeper{uri: keyURI, backend: Scheme(keyURI), drv: drv}
	k.rw, _ = drv.(Rewrapper)
	return k
}

// URI returns the key's URI, such as "hcvault://transit/keys/pii".
func (k *Keeper) URI() string { return k.uri }

// String names the KEK. A key URI is not a secret.
func (k *Keeper) String() string { return "KEK " + k.uri }

// Calls returns how many calls of this Keeper reached its backend: one per
// Encrypt, Decrypt or Rewrap that was not refused beforehand (ended
// context, empty input, closed Keeper). A backend may make more than
// one request for a call (its own retries, Vault's rewrap fallback).
func (k *Keeper) Calls() int64 { return k.calls.Load() }

// EncryptWithContext wraps plaintext under the key, bound to associatedData.
func (k *Keeper) EncryptWithContext(ctx context.Context, plaintext, associatedData []byte) ([]byte, error) {
	return k.call(ctx, OpEncrypt, false, plaintext, associatedData, k.drv.Encrypt)
}

// DecryptWithContext unwraps a ciphertext that EncryptWithContext (or
// Rewrap) returned, under the same associatedData. A ciphertext of another
// key, or under other associated data, is a permanent CodeInvalidCiphertext
// error (or CodeNotFound when the key version that made it is disabled).
func (k *Keeper) DecryptWithContext(ctx context.Context, ciphertext, associatedData []byte) ([]byte, error) {
	return k.call(ctx, OpDecrypt, true, ciphertext, associatedData, k.drv.Decrypt)
}

// Rewrap moves a ciphertext of this key to the key's newest version, bound
// to the same associatedData, in one call to the key-management system and
// without the plaintext leaving it: KEK-version rotation at one call per
// keyset. Backends whose system has no such call (Google Cloud KMS, the
// local development key) return an [*Error] with CodeInvalidArgument that
// wraps [errors.ErrUnsupported], without a call; decrypt and encrypt
// instead.
func (k *Keeper) Rewrap(ctx context.Context, ciphertext, associatedData []byte) ([]byte, error) {
	if k.isClosed() {
		return nil, k.error(OpRewrap, CodeClosed, errClosed)
	}
	if k.rw == nil {
		return nil, k.error(OpRewrap, CodeInvalidArgument, errRewrapUnsupported)
	}
	return k.call(ctx, OpRewrap, true, ciphertext, associatedData, k.rw.Rewrap)
}

var errRewrapUnsupported = &unsupportedError{}

type unsupportedError struct{}

func (*unsupportedError) Error() string {
	return "the key-management system has no rewrap call; decrypt and encrypt instead"
}
func (*unsupportedError) Unwrap() error { return errors.ErrUnsupported }

// Close releases what the backend owns for this key (a client that its URI
// opener built for it), after waiting for the calls in flight. It is final:
// every later call fails with [ErrClosed] at once, including calls made
// while Close waits. Calling it again waits for the first Close and
// returns its result. Close must not be called from within a call of the
// same Keeper's driver.
func (k *Keeper) Close() error {
	k.mu.Lock()
	k.closed = true
	k.mu.Unlock()
	k.closeOnce.Do(func() {
		k.inflight.Wait()
		if err := k.drv.Close(); err != nil {
			k.closeErr = &Error{Code: CodeUnknown, Op: "close", Backend: k.backend, KeyURI: k.uri, Err: err}
		}
	})
	return k.closeErr
}

func (k *Keeper) isClosed() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.closed
}

// begin admits a call: false once Close has begun.
func (k *Keeper) begin() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return false
	}
	k.inflight.Add(1)
	return true
}

// call is the one path of every operation: closed check, context check,
// empty input check, count, driver call, error classification.
// isCiphertext says whether data is a ciphertext (decrypt, rewrap) or a
// plaintext (encrypt).
func (k *Keeper) call(ctx context.Context, op string, isCiphertext bool, data, associatedData []byte,
	do func(context.Context, []byte, []byte) ([]byte, error)) ([]byte, error) {
	if !k.begin() {
		return nil, k.error(op, CodeClosed, errClosed)
	}
	defer k.inflight.Done()
	if err := ctx.Err(); err != nil {
		code, _ := ContextCode(err)
		return nil, k.error(op, code, err)
	}
	if len(data) == 0 {
		if isCiphertext {
			return nil, k.error(op, CodeInvalidCiphertext, errors.New("ciphertext is empty"))
		}
		return nil, k.error(op, CodeInvalidArgument, errors.New("plaintext is empty"))
	}
	k.calls.Add(1)
	out, err := do(ctx, data, associatedData)
	if err != nil {
		return nil, k.classify(ctx, op, err)
	}
	return out, nil
}

// classify turns a driver's error into an *Error.
func (k *Keeper) classify(ctx context.Context, op string, err error) error {
	if e := (*Error)(nil); errors.As(err, &e) {
		out := *e
		if out.Op == "" {
			out.Op = op
		}
		if out.Backend == "" {
			out.Backend = k.backend
		}
		if out.KeyURI == "" {
			out.KeyURI = k.uri
		}
		return &out
	}
	if code, ok := ContextCode(ctx.Err()); ok {
		return k.error(op, code, err)
	}
	if code, ok := ContextCode(err); ok {
		// The client's own timeout, not the caller's context.
		return k.error(op, code, err)
	}
	return k.error(op, k.drv.ErrorCode(op, err), err)
}

func (k *Keeper) error(op string, code Code, err error) error {
	return &Error{Code: code, Op: op, Backend: k.backend, KeyURI: k.uri, Err: err}
}

// errClosed is the cause of every call after Close.
var errClosed = errors.New("the Keeper was closed")
