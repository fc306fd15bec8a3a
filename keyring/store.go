package keyring

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Purpose says what a keyset's keys are for.
type Purpose string

// The purposes.
const (
	PurposeData  Purpose = "data"  // AEAD keys that encrypt field values
	PurposeIndex Purpose = "index" // PRF keys that compute blind indexes
)

// DefaultScope is the scope of records that have no scope field.
const DefaultScope = "default"

// DefaultClass is the field class of encrypted fields that name none.
const DefaultClass = "default"

// KeysetID names a keyset: one per (scope, class, purpose).
type KeysetID struct {
	Scope   string  // a tenant, or DefaultScope
	Class   string  // a field class, such as "pii" or "support"
	Purpose Purpose // PurposeData or PurposeIndex
}

// String returns "scope/class/purpose". Scopes and classes are names, not
// secrets.
func (id KeysetID) String() string {
	return id.Scope + "/" + id.Class + "/" + string(id.Purpose)
}

// maxNameLen bounds scope and class names, so they fit any store's column.
const maxNameLen = 200

// Validate reports whether id is well formed: scope and class are non-empty
// UTF-8 of at most 200 bytes with no control characters or '/', and the
// purpose is known.
func (id KeysetID) Validate() error {
	if err := validateName("scope", id.Scope); err != nil {
		return err
	}
	if err := validateName("class", id.Class); err != nil {
		return err
	}
	if id.Purpose != PurposeData && id.Purpose != PurposeIndex {
		return fmt.Errorf("%w: unknown purpose %q (want %q or %q)", ErrInvalidName, id.Purpose, PurposeData, PurposeIndex)
	}
	return nil
}

func validateName(what, name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty %s", ErrInvalidName, what)
	case len(name) > maxNameLen:
		return fmt.Errorf("%w: %s longer than %d bytes", ErrInvalidName, what, maxNameLen)
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalidName, what)
	case strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '/' }):
		return fmt.Errorf("%w: %s %q contains '/' or a control character", ErrInvalidName, what, name)
	}
	return nil
}

// Record is a keyset as a [Store] keeps it: wrapped under its class's KEK.
// Nothing in a Record is secret; it is safe to back up.
type Record struct {
	ID KeysetID

	// KEKURI names the KEK that wrapped the keyset.
	KEKURI string

	// EncryptedKeyset is a Tink EncryptedKeyset in Tink's binary (protobuf)
	// format: the keyset encrypted under the KEK with associated data naming
	// ID, plus Tink's cleartext KeysetInfo (key IDs and statuses, no key
	// material).
	EncryptedKeyset []byte

	// Metadata is fieldcrypt's cleartext bookkeeping about the keys (creation
	// times, destroyed key IDs), as JSON. It holds no key material.
	Metadata []byte

	// Version counts writes: 1 after Create, incremented by each Update. The
	// store maintains it; it makes updates compare-and-swap.
	Version int64

	// Created and Updated are set by the keyring and kept by the store.
	Created, Updated time.Time
}

// Store keeps wrapped keysets. Implementations must be safe for concurrent
// use, must keep every field of a Record as given (times may lose precision
// below a microsecond), and must return errors that match the sentinels
// below with errors.Is. Packages keyring/filestore and keyring/sqlstore hold
// the durable stores; keyring/storetest is their conformance suite.
type Store interface {
	// Get returns the record with the given ID, or ErrKeysetNotFound.
	Get(ctx context.Context, id KeysetID) (*Record, error)

	// Create stores a new record and sets rec.Version to 1. It fails with
	// ErrKeysetExists when a record with the same ID exists, so that two
	// processes creating a scope's keysets at once agree on one.
	Create(ctx context.Context, rec *Record) error

	// Update replaces the record with rec.ID if its stored version is
	// prevVersion, and sets rec.Version to prevVersion+1. It fails with
	// ErrVersionConflict when the stored version differs and with
	// ErrKeysetNotFound when there is no such record.
	Update(ctx context.Context, rec *Record, prevVersion int64) error

	// Delete removes the record with the given ID, or fails with
	// ErrKeysetNotFound.
	Delete(ctx context.Context, id KeysetID) error

	// List returns every record whose scope is scope, or every record when
	// scope is "", sorted by scope, class and purpose.
	List(ctx context.Context, scope string) ([]*Record, error)
}

// Store errors.
var (
	ErrKeysetNotFound  = errors.New("keyring: keyset not found")
	ErrKeysetExists    = errors.New("keyring: keyset already exists")
	ErrVersionConflict = errors.New("keyring: keyset was changed concurrently")
	ErrInvalidName     = errors.New("keyring: invalid keyset name")
)
