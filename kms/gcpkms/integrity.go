package gcpkms

import (
	"errors"
	"fmt"
	"hash/crc32"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// ErrIntegrity matches, with errors.Is, every [*IntegrityError].
var ErrIntegrity = errors.New("gcpkms: CRC32C integrity check failed")

// IntegrityError reports that a request or a response failed one of the
// end-to-end integrity checks that Google's Cloud KMS data integrity
// guidelines describe: the data was corrupted between this process and the
// service. It never carries the checksum of a plaintext or the data itself.
//
// The backend has already retried the call (see Options.IntegrityAttempts);
// the [*kms.Error] that wraps an IntegrityError has [kms.CodeUnavailable], a
// transient code, because the data at rest is not at fault and a later call
// may take a healthy path.
type IntegrityError struct {
	Op       string // "encrypt" or "decrypt"
	Check    string // the field whose check failed, such as "ciphertext_crc32c"
	Detail   string // what was wrong with it
	Attempts int    // how many calls were made
	Err      error  // the service's error when the service rejected the request; may be nil
}

// Error implements error.
func (e *IntegrityError) Error() string {
	msg := fmt.Sprintf("gcpkms: %s: integrity check %s failed after %d attempt(s): %s", e.Op, e.Check, e.Attempts, e.Detail)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Is makes errors.Is(err, ErrIntegrity) true.
func (e *IntegrityError) Is(target error) bool { return target == ErrIntegrity }

// Unwrap returns the service's error, if any.
func (e *IntegrityError) Unwrap() error { return e.Err }

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// crc32c is the CRC32C checksum of b in the form Cloud KMS's fields take.
func crc32c(b []byte) *wrapperspb.Int64Value {
	return wrapperspb.Int64(int64(crc32.Checksum(b, castagnoli)))
}

// checksumMatches reports whether sum is present and is the CRC32C of b.
func checksumMatches(b []byte, sum *wrapperspb.Int64Value) bool {
	return sum != nil && sum.GetValue() == int64(crc32.Checksum(b, castagnoli))
}

// rejectedChecksum reports whether err is the service refusing a request
// because a checksum did not match its data: an InvalidArgument whose
// BadRequest details name a *_crc32c field, or whose message speaks of a
// checksum or CRC32C. It returns the field (or "request checksum").
func rejectedChecksum(err error) (field string, ok bool) {
	st, isStatus := status.FromError(err)
	if !isStatus || st.Code() != codes.InvalidArgument {
		return "", false
	}
	for _, d := range st.Details() {
		if br, isBR := d.(*errdetails.BadRequest); isBR {
			for _, v := range br.GetFieldViolations() {
				if strings.HasSuffix(v.GetField(), "_crc32c") {
					return v.GetField(), true
				}
			}
		}
	}
	msg := strings.ToLower(st.Message())
	if strings.Contains(msg, "crc32c") || strings.Contains(msg, "checksum") {
		return "request checksum", true
	}
	return "", false
}
