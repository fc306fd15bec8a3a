package kms

import (
	"context"
	"errors"
	"fmt"
)

// Code classifies a KEK failure by what the caller should do about it.
type Code int

// The codes. The zero value is CodeUnknown, which is treated as permanent.
const (
	CodeUnknown           Code = iota // unclassified; permanent
	CodeNotFound                      // the key does not exist or is disabled; permanent
	CodePermissionDenied              // the caller may not use the key; permanent
	CodeInvalidCiphertext             // the ciphertext is malformed, tampered or bound to other associated data; permanent
	CodeInvalidArgument               // the request is malformed (bad URI, bad option); permanent
	CodeCanceled                      // the caller cancelled the context; permanent
	CodeUnavailable                   // the service cannot be reached or is sealed; transient
	CodeThrottled                     // the service rate-limited the call; transient
	CodeDeadlineExceeded              // the call ran out of time; transient
	CodeClosed                        // the Keeper was closed; permanent
)

var codeNames = [...]string{
	CodeUnknown:           "unknown",
	CodeNotFound:          "not found",
	CodePermissionDenied:  "permission denied",
	CodeInvalidCiphertext: "invalid ciphertext",
	CodeInvalidArgument:   "invalid argument",
	CodeCanceled:          "canceled",
	CodeUnavailable:       "unavailable",
	CodeThrottled:         "throttled",
	CodeDeadlineExceeded:  "deadline exceeded",
	CodeClosed:            "closed",
}

// String returns the code's name, such as "permission denied".
func (c Code) String() string {
	if c < 0 || int(c) >= len(codeNames) {
		return fmt.Sprintf("code(%d)", int(c))
	}
	return codeNames[c]
}

// Transient reports whether a failure with this code may succeed if retried
// later: the service was unavailable, throttled the call or ran out of time.
func (c Code) Transient() bool {
	return c == CodeUnavailable || c == CodeThrottled || c == CodeDeadlineExceeded
}

// Sentinels, one per code, for errors.Is. An [*Error] matches the sentinel of
// its code.
var (
	ErrUnknown           = &sentinel{CodeUnknown}
	ErrNotFound          = &sentinel{CodeNotFound}
	ErrPermissionDenied  = &sentinel{CodePermissionDenied}
	ErrInvalidCiphertext = &sentinel{CodeInvalidCiphertext}
	ErrInvalidArgument   = &sentinel{CodeInvalidArgument}
	ErrCanceled          = &sentinel{CodeCanceled}
	ErrUnavailable       = &sentinel{CodeUnavailable}
	ErrThrottled         = &sentinel{CodeThrottled}
	ErrDeadlineExceeded  = &sentinel{CodeDeadlineExceeded}
	// ErrClosed matches every call made after [Keeper.Close].
	ErrClosed = &sentinel{CodeClosed}
)

var sentinels = [...]*sentinel{
	ErrUnknown, ErrNotFound, ErrPermissionDenied, ErrInvalidCiphertext,
	ErrInvalidArgument, ErrCanceled, ErrUnavailable, ErrThrottled, ErrDeadlineExceeded, ErrClosed,
}

type sentinel struct{ code Code }

func (s *sentinel) Error() string { return "kms: " + s.code.String() }

// Error is the error every [Keeper] returns. Its message names the operation,
// the backend and the key URI (never plaintext, key bytes or credentials);
// Err is the vendor's error, reachable with errors.As.
type Error struct {
	Code    Code   // what kind of failure this is
	Op      string // OpEncrypt, OpDecrypt, OpRewrap, or "open", "close"
	Backend string // the URI scheme, such as "hcvault"
	KeyURI  string // the KEK's URI
	Err     error  // the underlying cause; may be nil
}

// Error implements error.
func (e *Error) Error() string {
	msg := "kms: " + e.Backend + " " + e.Op
	if e.KeyURI != "" {
		msg += " " + e.KeyURI
	}
	msg += ": " + e.Code.String()
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the code's sentinel and the cause, so that both errors.Is
// with a sentinel and errors.As with a vendor type work.
func (e *Error) Unwrap() []error {
	errs := []error{codeSentinel(e.Code)}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// Transient reports whether retrying the call later may succeed.
func (e *Error) Transient() bool { return e.Code.Transient() }

func codeSentinel(c Code) error {
	if c < 0 || int(c) >= len(sentinels) {
		return ErrUnknown
	}
	return sentinels[c]
}

// CodeOf returns the code of the first [*Error] in err's chain. A bare
// context error maps to CodeCanceled or CodeDeadlineExceeded; anything else,
// including nil, is CodeUnknown.
func CodeOf(err error) Code {
	var e *Error
	switch {
	case errors.As(err, &e):
		return e.Code
	case errors.Is(err, context.DeadlineExceeded):
		return CodeDeadlineExceeded
	case errors.Is(err, context.Canceled):
		return CodeCanceled
	}
	return CodeUnknown
}

// IsTransient reports whether err is a KEK failure worth retrying later.
func IsTransient(err error) bool {
	return err != nil && CodeOf(err).Transient()
}

// ContextCode maps a context error to its code: CodeDeadlineExceeded for
// context.DeadlineExceeded, CodeCanceled for context.Canceled, and ok=false
// for anything else. The Keeper uses it to classify a call whose context has
// ended; backends, a failure to open or dial.
func ContextCode(err error) (code Code, ok bool) {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return CodeDeadlineExceeded, true
	case errors.Is(err, context.Canceled):
		return CodeCanceled, true
	}
	return CodeUnknown, false
}
