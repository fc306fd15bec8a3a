package crypt

import (
	"errors"
	"reflect"
	"strings"

	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// Sentinel errors. Match them with errors.Is; the concrete errors are
// [*FieldError], [*PlanError] and [*InvalidArgumentError].
var (
	// ErrDecrypt means a value did not authenticate: it was tampered with,
	// truncated inside its ciphertext, or moved from another record, field or
	// tenant (the swap attack). It is deliberately opaque: it does not say
	// which check failed.
	ErrDecrypt = errors.New("crypt: value does not decrypt for this record and field")

	// ErrMalformed means a stored value is not a well-formed fieldcrypt
	// encoding (wrong prefix, bad base64, too short, unknown version).
	ErrMalformed = errors.New("crypt: malformed encrypted value")

	// ErrNotEncrypted means Decrypt met a value that is not encrypted. It is
	// never returned as if it were decrypted; use DecryptMigrating to read
	// legacy plaintext on purpose.
	ErrNotEncrypted = errors.New("crypt: value is not encrypted")

	// ErrAlreadyEncrypted means Encrypt met a value that is already
	// encrypted. fieldcrypt never encrypts twice.
	ErrAlreadyEncrypted = errors.New("crypt: value is already encrypted")

	// ErrKeyNotFound means the value's key ID is not in the keyset.
	ErrKeyNotFound = errors.New("crypt: value's key is not in the keyset")

	// ErrKeyDisabled means the value's key is disabled.
	ErrKeyDisabled = errors.New("crypt: value's key is disabled")

	// ErrKeyDestroyed means the value's key was destroyed: the value is
	// permanently unreadable. When the whole scope was shredded the error
	// also matches ErrScopeShredded and names the scope's keyset.
	ErrKeyDestroyed = errors.New("crypt: value's key was destroyed")

	// ErrScopeShredded means the record's scope (tenant) was shredded.
	// Decrypt, Encrypt and BlindIndexValues all fail with it and create no
	// keyset. It is keyring.ErrScopeShredded.
	ErrScopeShredded = keyring.ErrScopeShredded

	// ErrNoAccess means this process has no access to the field's class. On
	// Decrypt such fields are left encrypted and the other fields are
	// decrypted; the error lists them. It is keyring.ErrNoAccess.
	ErrNoAccess = keyring.ErrNoAccess

	// ErrMissingScope means the record's scope field is empty.
	ErrMissingScope = errors.New("crypt: record has an empty scope")

	// ErrMissingIdentity means Encrypt was given a record of encrypted
	// fields whose identity fields are all zero ("" or 0, or behind a nil
	// pointer): its ciphertexts would bind no row, and another record with
	// a zero identity could take them. Set the identity before encrypting;
	// a key the database assigns (auto-increment) cannot be bound.
	ErrMissingIdentity = errors.New("crypt: record has a zero identity")

	// ErrUnknownIndex means a blind-index query named no blind-index field
	// of the record type.
	ErrUnknownIndex = errors.New("crypt: no such blind index")

	// ErrSharedValue means two fields of a record reach the same memory
	// (one pointer or slice held by both), so Encrypt would write one
	// value bound to two paths: the record is refused.
	ErrSharedValue = errors.New("crypt: two fields share one value")

	// ErrTypeMismatch means two values that must be of one record type
	// (a record and its probe) are not.
	ErrTypeMismatch = errors.New("crypt: values of different record types")

	// ErrHiddenTagged: a value whose type has crypt tags is held behind
	// an interface (an any field, a map[string]any), where Encrypt cannot
	// plan it and an ORM would store it as plaintext (CheckHidden).
	ErrHiddenTagged = errors.New("crypt: a value with crypt tags is held behind an interface, where it would be stored as plaintext")

	// ErrScopeMismatch: a record holds (as an association) a record of
	// another scope. Where both record types have a scope field, a held
	// record must be in the scope of its holder (or, for a holder without a
	// scope field, of the nearest record above it that has one): a foreign key repointed by a
	// database writer would otherwise load another tenant's record into
	// this tenant's. Encrypt, Decrypt and CheckScopes refuse it; tag the
	// holding field crypt:"anyscope" where records of other scopes are
	// held on purpose.
	ErrScopeMismatch = errors.New("crypt: associated record belongs to another scope than its holder")
)

// FieldError reports a failure on one field of one record. It names the
// record type and the field path, never the field's value.
type FieldError struct {
	Op     string // "encrypt", "decrypt", "index", "search" or "match"
	Record string // the record type, as bound into associated data
	Field  string // the field path, such as "Email" or "Addresses[].Street"
	Class  string // the field's class
	KeyID  uint32 // the value's key ID, when known
	Err    error
}

func (e *FieldError) Error() string {
	return "crypt: " + e.Op + " " + e.Record + "." + e.Field + " (class " + e.Class + "): " + strings.TrimPrefix(e.Err.Error(), "crypt: ")
}

func (e *FieldError) Unwrap() error { return e.Err }

// AccessError is returned by Decrypt when some fields belong to classes this
// process cannot unwrap. Those fields were left as they were (encrypted);
// every other field was decrypted. It matches ErrNoAccess.
type AccessError struct {
	Record  string
	Fields  []string // field paths left encrypted
	Classes []string // the classes without access
	Err     error    // the first underlying keyring error
}

func (e *AccessError) Error() string {
	return "crypt: no access to class " + strings.Join(e.Classes, ", ") + ": " + e.Record + " fields " +
		strings.Join(e.Fields, ", ") + " left encrypted"
}

func (e *AccessError) Unwrap() []error { return []error{ErrNoAccess, e.Err} }

// PlanError reports a struct type fieldcrypt cannot handle: a bad tag, an
// unsupported field type, or an ambiguous binding (two fields bound under
// one path, a shadowed promoted field, a repeated tag option, two indexes
// sharing a subkey, a record that binds no identity). It is returned before
// any value is touched.
type PlanError struct {
	Type  reflect.Type // the struct type that holds the field
	Field string       // the Go field name (a column, for a SchemaSpec)
	// Other names the other party of a conflict: the other field, as
	// "Type.Field" (a column, for a SchemaSpec), or the other occurrence of
	// a repeated option. It is empty when the error is about one field.
	Other string
	// Schema is the SchemaSpec's record type when the plan was compiled
	// from a SchemaSpec rather than from a Go struct.
	Schema string
	Msg    string
}

func (e *PlanError) Error() string {
	if e.Schema != "" {
		return "crypt: schema " + e.Schema + ": column " + e.Field + ": " + e.Msg
	}
	return "crypt: " + e.Type.String() + "." + e.Field + ": " + e.Msg
}

// InvalidArgumentError reports a value passed to Encrypt, Decrypt or a query
// that is not a non-nil pointer to a struct.
type InvalidArgumentError struct {
	Type reflect.Type // nil when the argument was nil
}

func (e *InvalidArgumentError) Error() string {
	if e.Type == nil {
		return "crypt: argument is nil; want a non-nil pointer to a struct"
	}
	if e.Type.Kind() != reflect.Pointer {
		return "crypt: argument of type " + e.Type.String() + " is not a pointer; want a non-nil pointer to a struct"
	}
	return "crypt: argument of type " + e.Type.String() + " is nil or does not point to a struct"
}
