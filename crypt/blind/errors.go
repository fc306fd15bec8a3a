package blind

import (
	"errors"
	"strconv"
)

// ErrNilPRF is returned by [DeriveSubkey] when it is given no PRF.
var ErrNilPRF = errors.New("blind: nil PRF")

// TransformError reports a transform spec that [ParseTransforms] cannot use:
// an unknown name, an empty name between two '+', or a bad N in last<N> or
// first<N>. Name is the offending name as written in the spec; names are not
// secret. No error of this package ever contains a value being indexed.
type TransformError struct {
	Name   string // the transform name as written, possibly ""
	Reason string // why it was rejected, such as "unknown transform"
}

// Error implements error.
func (e *TransformError) Error() string {
	reason := e.Reason
	if reason == "" {
		reason = "unknown transform"
	}
	return "blind: transform " + strconv.Quote(e.Name) + ": " + reason
}

// BitsError reports an index width outside 1..[MaxBits].
type BitsError struct {
	Bits int // the rejected width
}

// Error implements error.
func (e *BitsError) Error() string {
	return "blind: index width " + strconv.Itoa(e.Bits) + " bits is outside 1.." + strconv.Itoa(MaxBits)
}

// SubkeyError reports a subkey too short to key an index. Only its length is
// kept: key bytes never appear in an error.
type SubkeyError struct {
	Len int // the length of the rejected subkey, in bytes
}

// Error implements error.
func (e *SubkeyError) Error() string {
	return "blind: subkey is " + strconv.Itoa(e.Len) + " bytes, want at least " + strconv.Itoa(MinSubkeySize)
}

// SlowParamsError reports Argon2id parameters the slow tier cannot use.
type SlowParamsError struct {
	Params SlowParams // the rejected parameters (not secret)
	Reason string     // what is wrong with them
}

// Error implements error.
func (e *SlowParamsError) Error() string {
	return "blind: slow-tier parameters time=" + strconv.FormatUint(uint64(e.Params.Time), 10) +
		" memory=" + strconv.FormatUint(uint64(e.Params.MemoryKiB), 10) + "KiB" +
		" threads=" + strconv.FormatUint(uint64(e.Params.Threads), 10) + ": " + e.Reason
}

// Sentinel errors of token indexes, wrapped by a [*TokenError]: test for
// them with errors.Is.
var (
	// ErrOutOfDomain: a range index value below the domain's Min or above
	// its Max.
	ErrOutOfDomain = errors.New("blind: value outside the range token index's domain")
	// ErrQueryTooShort: a prefix, suffix or substring query of fewer runes
	// than the index can look up (MinLen, or N).
	ErrQueryTooShort = errors.New("blind: query shorter than the token index's minimum")
	// ErrWrongKind: a method of one kind of token index called on a
	// Tokenizer of another kind.
	ErrWrongKind = errors.New("blind: operation does not apply to the token index's kind")
	// ErrValueTooLong: a set element longer than [MaxValueLen] bytes, which
	// the message encoding cannot carry.
	ErrValueTooLong = errors.New("blind: value longer than 2^32-1 bytes")
)

// TokenError reports a value or query that a [Tokenizer] cannot tokenize.
// It names the operation, the index kind and what was wrong, and for
// [ErrOutOfDomain] which bound was crossed and for [ErrQueryTooShort] the
// minimum length; it never holds the value or the query.
type TokenError struct {
	Op   string    // the method, such as "PrefixQuery" or "AppendRangeTokens"
	Kind TokenKind // the Tokenizer's kind
	Err  error     // ErrOutOfDomain, ErrQueryTooShort, ErrWrongKind or ErrValueTooLong

	// Bound is "Min" or "Max" for ErrOutOfDomain: the bound the value is
	// below or above; Limit is that bound's value, from the spec.
	Bound string
	// Limit is the crossed bound for ErrOutOfDomain, and the minimum query
	// length in runes for ErrQueryTooShort.
	Limit int64
}

// Error implements error.
func (e *TokenError) Error() string {
	msg := "blind: " + kindName(e.Kind) + " token index: " + e.Op + ": "
	switch e.Err {
	case ErrOutOfDomain:
		side := "below"
		if e.Bound == "Max" {
			side = "above"
		}
		return msg + "value " + side + " the domain's " + e.Bound + " " + strconv.FormatInt(e.Limit, 10)
	case ErrQueryTooShort:
		return msg + "query shorter than the minimum of " + strconv.FormatInt(e.Limit, 10) + " runes"
	case ErrWrongKind:
		return msg + "does not apply to a " + kindName(e.Kind) + " index"
	case ErrValueTooLong:
		return msg + "value longer than 2^32-1 bytes"
	}
	if e.Err != nil {
		return msg + e.Err.Error()
	}
	return msg + "failed"
}

// Unwrap returns the sentinel, for errors.Is.
func (e *TokenError) Unwrap() error { return e.Err }

// TokenSpecError reports a [TokenSpec] (or a token kind) that
// [NewTokenizer] or [DeriveTokenSubkey] cannot use. Field names the spec
// field, such as "Bits" or "Domain"; specs are configuration, not secrets.
type TokenSpecError struct {
	Kind   TokenKind // the spec's kind, possibly not a valid one
	Field  string    // "Kind", "Bits", "MinLen", "MaxLen", "N", "MaxTokens" or "Domain"
	Reason string    // what is wrong with it
}

// Error implements error.
func (e *TokenSpecError) Error() string {
	return "blind: " + kindName(e.Kind) + " token index spec: " + e.Field + ": " + e.Reason
}

// TokenLeakageError reports a substring, prefix or suffix token index
// whose tokens would nearly identify the n-grams, prefixes or suffixes they
// stand for: see [CheckSubstring] and [CheckPrefix].
type TokenLeakageError struct {
	Kind     TokenKind // TokenSubstring, TokenPrefix or TokenSuffix
	Len      int       // the n-gram length N, or the shortest prefix or suffix MinLen
	Bits     int       // the rejected width
	MaxBits  int       // the widest that keeps about 4 or more strings per token value
	Alphabet int       // the alphabet size estimate A
}

// Error implements error.
func (e *TokenLeakageError) Error() string {
	what, one := strconv.Itoa(e.Len)+"-grams", strconv.Itoa(e.Len)+"-gram"
	if e.Kind != TokenSubstring {
		what = string(e.Kind) + "es of " + strconv.Itoa(e.Len) + " runes"
		one = string(e.Kind)
	}
	a := strconv.Itoa(e.Alphabet)
	return "blind: " + kindName(e.Kind) + " token index of " + strconv.Itoa(e.Bits) + " bits leaks: " +
		"the about " + a + "^" + strconv.Itoa(e.Len) + " possible " + what + " (over an alphabet of about " + a + " symbols)" +
		" are fewer than 4 per token value of 2^" + strconv.Itoa(e.Bits) +
		", so each stored token nearly names its " + one + " and the index column reveals which " + what +
		" each value has; use at most " + strconv.Itoa(e.MaxBits) + " bits"
}

// kindName returns a token kind for a message: its name if it is a known
// kind, else a quoted, shortened form.
func kindName(k TokenKind) string {
	if k.valid() {
		return string(k)
	}
	q := strconv.Quote(string(k))
	if len(k) > 32 {
		q = strconv.Quote(string(k[:32])) + "..."
	}
	return "kind " + q
}
