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
