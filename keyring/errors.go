package keyring

import (
	"errors"
	"fmt"
)

// Errors the keyring returns. Match them with errors.Is.
var (
	// ErrNoAccess means this process holds no KEK for a field class, or its
	// KEK refused to unwrap the class's keysets (permission denied). Fields of
	// that class stay encrypted; this is how the role table is enforced.
	ErrNoAccess = errors.New("keyring: no access to field class")

	// ErrKEKRefused means the class has a KEK configured and the KMS
	// refused to use it (permission denied: revoked or missing
	// credentials). It always comes with ErrNoAccess, so the fields of the
	// class stay encrypted; match it to tell a refusing KEK from a class
	// this process was never given a KEK for.
	ErrKEKRefused = errors.New("keyring: the KEK refused")

	// ErrKEKUnavailable means the KEK, the keyset store or the anchor could
	// not be reached and no cached keyset was young enough to serve. It is
	// transient: retry later.
	ErrKEKUnavailable = errors.New("keyring: KEK unavailable")

	// ErrKEKNotAllowed means a stored keyset names a KEK that this keyring is
	// not configured to trust for its class: neither the class's KEK nor one
	// accepted for that class in Config.AcceptKEKs.
	ErrKEKNotAllowed = errors.New("keyring: keyset is wrapped by a KEK not configured for its class")

	// ErrKEKMismatch means a key operation (add, promote, disable, enable,
	// destroy) was asked of a keyset wrapped by a KEK other than the one
	// configured for its class. Only Rewrap moves a keyset to another KEK;
	// run `fieldcrypt keys rewrap` first, or fix the configuration.
	ErrKEKMismatch = errors.New("keyring: keyset is wrapped by another KEK than the configured one")

	// ErrIntegrity means a stored keyset's authenticated state does not
	// verify: its state document was edited, is missing or malformed, or the
	// record otherwise disagrees with what the KEK authenticated. A store
	// writer tampered with the keyset, or it predates authenticated state.
	ErrIntegrity = errors.New("keyring: keyset state fails its integrity check")

	// ErrRollback means a stored keyset is older than one this keyring (or
	// its Anchor) has already seen, or has vanished from the store after
	// being seen: a store writer put back an old copy or deleted it.
	ErrRollback = errors.New("keyring: keyset was rolled back")

	// ErrScopeShredded means the scope's keysets were shredded. Its data is
	// unreadable for good, and no keyset is created for it until an
	// administrator brings the scope back with [Manager.Unshred].
	ErrScopeShredded = errors.New("keyring: scope was shredded")

	// ErrCorruptKeyset means a stored keyset could not be unwrapped or parsed:
	// it was tampered with, moved to another scope, class or purpose, or
	// wrapped under another key.
	ErrCorruptKeyset = errors.New("keyring: stored keyset does not unwrap")

	// ErrClosed means the keyring was closed: its KEKs are closed and it
	// opens no other.
	ErrClosed = errors.New("keyring: closed")

	// ErrUnknownKey means a key ID is not in the keyset.
	ErrUnknownKey = errors.New("keyring: no such key in keyset")

	// ErrKeyIsPrimary means an operation would disable or destroy the primary
	// key; promote another key first.
	ErrKeyIsPrimary = errors.New("keyring: key is the primary")
)

// Error reports a failed keyring operation on one keyset. It names the
// keyset and the operation, never key material.
type Error struct {
	Op    string   // such as "load", "add key", "promote"
	ID    KeysetID // the keyset
	KeyID uint32   // the key, when the operation concerns one; 0 otherwise
	Err   error
}

func (e *Error) Error() string {
	msg := "keyring: " + e.Op + " " + e.ID.String()
	if e.KeyID != 0 {
		msg += fmt.Sprintf(" key %d", e.KeyID)
	}
	return msg + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }
