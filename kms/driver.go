package kms

import "context"

// The operations a [Keeper] performs, as they appear in [Error].Op.
const (
	OpEncrypt = "encrypt"
	OpDecrypt = "decrypt"
	OpRewrap  = "rewrap"
)

// Driver is what a backend implements: the calls to one key in one
// key-management system, and nothing else. A [Keeper] wraps a Driver and does
// the rest once, for every backend: it checks the context before each call,
// refuses calls after Close, rejects empty input, counts the calls,
// and turns every error into an [*Error] that names the operation, the
// backend and the key.
//
// Drivers are not called directly by users. A backend package's New returns
// the [*Keeper] built with [NewKeeper].
//
// A Driver must be safe for concurrent use and must bind associatedData, so
// that a ciphertext does not decrypt under other associated data.
type Driver interface {
	// Encrypt wraps plaintext, bound to associatedData. The Keeper never
	// passes an empty plaintext.
	Encrypt(ctx context.Context, plaintext, associatedData []byte) ([]byte, error)

	// Decrypt unwraps a ciphertext that Encrypt returned, under the same
	// associatedData. The Keeper never passes an empty ciphertext.
	Decrypt(ctx context.Context, ciphertext, associatedData []byte) ([]byte, error)

	// ErrorCode classifies an error that Encrypt, Decrypt or Rewrap returned
	// for op ([OpEncrypt], [OpDecrypt] or [OpRewrap]). The Keeper calls it
	// only when the caller's context is still live and err is not a context
	// error (it classifies those itself), and never for an error that is
	// already an [*Error]: a driver gives a failure it detects itself (a
	// malformed ciphertext, an answer of the wrong shape) its code by
	// returning &kms.Error{Code: ..., Err: ...}, and the Keeper fills in the
	// operation, backend and key.
	ErrorCode(op string, err error) Code

	// Close releases what the driver owns (a client it built). The Keeper
	// calls it once, after the calls in flight have returned.
	Close() error
}

// Rewrapper is the optional capability of a Driver whose key-management
// system moves a ciphertext to the key's newest version in one call, without
// the plaintext leaving it (Vault Transit's rewrap, AWS KMS ReEncrypt).
// [Keeper.Rewrap] uses it.
type Rewrapper interface {
	// Rewrap returns ciphertext wrapped under the newest version of the
	// driver's key, bound to the same associatedData, which must be the
	// associated data ciphertext was made with.
	Rewrap(ctx context.Context, ciphertext, associatedData []byte) ([]byte, error)
}
