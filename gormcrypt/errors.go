package gormcrypt

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Match them with errors.Is; the concrete error is [*Error],
// which names the model and the column.
var (
	// ErrNotRegistered means the *gorm.DB has no gormcrypt plugin: call
	// db.Use(gormcrypt.New(enc)) once when the service starts.
	ErrNotRegistered = errors.New("gormcrypt: plugin not registered on this *gorm.DB")

	// ErrUnknownIdentity means a write would store a ciphertext whose
	// record identity or scope is not known: a Create whose identity field
	// is zero (a key the database would assign), or an update of an
	// encrypted column, or of a source of a blind or token index (even a
	// plaintext one), that does not name one row by its model.
	ErrUnknownIdentity = errors.New("gormcrypt: the row's identity or scope is not known")

	// ErrUnsupportedWrite means a write to an encrypted or blind-index
	// column that gormcrypt cannot encrypt correctly: an SQL expression,
	// an upsert that would bind a ciphertext to another row or write a row
	// of another scope or identity (Save of another tenant's ID, an
	// association moved to another owner), a blind index
	// whose sources are not all written, a change of identity or scope.
	ErrUnsupportedWrite = errors.New("gormcrypt: write to an encrypted column refused")

	// ErrUnsupportedModel means a model's shape cannot be encrypted
	// through GORM: an association that holds a record of its own by value
	// (declare it as a pointer or a slice).
	ErrUnsupportedModel = errors.New("gormcrypt: model not supported")

	// ErrEncryptedCondition means a query condition built by GORM from a
	// struct, a map or a clause (Where(&Contact{Email: e}), First(&c,
	// map[string]any{"email": e}), clause.Eq) compares an encrypted column
	// with a value: the column holds ciphertexts, so the condition would
	// match nothing, and the plaintext would be sent to the database.
	// Search with [Matching] instead.
	ErrEncryptedCondition = errors.New("gormcrypt: condition on an encrypted column refused")

	// ErrUnsupportedSearch means a blind-index search ([Matching]) or a
	// token search ([Search]) was used
	// where its false positives could not be dropped: with a LIMIT (First,
	// Take, Last, Limit), with a GROUP BY, HAVING or DISTINCT, with a Select or Omit that leaves out a column
	// it compares, into something other than a slice of the
	// record type, or in Count, Pluck, Rows, Scan, Update or Delete.
	ErrUnsupportedSearch = errors.New("gormcrypt: blind-index search refused")
)

// Error reports a refused or failed operation on one model. It names the
// model and the column, never a value.
type Error struct {
	Op     string // "create", "update", "upsert", "search", ...
	Model  string // the Go type of the model
	Column string // the column concerned, or ""
	Field  string // the Go field of the column, or ""
	Reason string // what went wrong and what to do instead
	Err    error  // one of the sentinels, or the crypt error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("gormcrypt: ")
	b.WriteString(e.Op)
	b.WriteString(" ")
	b.WriteString(e.Model)
	if e.Column != "" {
		b.WriteString(", column ")
		b.WriteString(e.Column)
		if e.Field != "" && e.Field != e.Column {
			b.WriteString(" (field ")
			b.WriteString(e.Field)
			b.WriteString(")")
		}
	}
	if e.Reason != "" {
		b.WriteString(": ")
		b.WriteString(e.Reason)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// RecordErrors is the error of a read of several records (Find into a
// slice, Scan) some of which did not decrypt whole: one RecordError per
// such record, in result order. The others were decrypted. errors.Is and
// errors.As see every record's error (crypt.ErrNoAccess, a
// *crypt.AccessError, crypt.ErrDecrypt), the first one first; range over
// it to tell, record by record, which fields are still encrypted:
//
//	var recs gormcrypt.RecordErrors
//	if errors.As(err, &recs) {
//		for _, r := range recs { // r.Index is the position in the result
//			var ae *crypt.AccessError
//			if errors.As(r.Err, &ae) { ... ae.Fields were left encrypted ... }
//		}
//	}
type RecordErrors []RecordError

// RecordError is the error of one record of a read of several.
type RecordError struct {
	Index int   // the record's position in the result
	Err   error // a *Error
}

func (e RecordErrors) Error() string {
	if len(e) == 0 {
		return "gormcrypt: no record failed"
	}
	msg := fmt.Sprintf("record %d: %v", e[0].Index, e[0].Err)
	if len(e) > 1 {
		msg += fmt.Sprintf(" (and %d more records)", len(e)-1)
	}
	return msg
}

// Unwrap returns each record's error, for errors.Is and errors.As.
func (e RecordErrors) Unwrap() []error {
	errs := make([]error, len(e))
	for i, r := range e {
		errs[i] = r.Err
	}
	return errs
}
