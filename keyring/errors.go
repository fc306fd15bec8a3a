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

	// ErrKEKUnavailable means the KEK could not be reached and no cached
	// keyset was young enough to serve. It is transient: retry later.
	ErrKEKUnavailable = errors.New("keyring: KEK unavailable")

	// ErrKEKNotAllowed means a stored keyset names a KEK that this keyring is
	// not configured to trust for its class.
	ErrKEKNotAllowed = errors.New("keyring: keyset is wrapped by a KEK not configured for its class")

	// ErrCorruptKeyset means a stored keyset could not be unwrapped or parsed:
	// it was tampered with, moved to another scope, class or purpose, or
	// wrapped under another key.
	ErrCorruptKeyset = errors.New("keyring: stored keyset does not unwrap")

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
