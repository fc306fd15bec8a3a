package gcpkms

import (
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/fieldcrypt/fieldcrypt/kms"
)

// Op names, as they appear in errors.
const (
	opEncrypt = "encrypt"
	opDecrypt = "decrypt"
)

// ErrorCode implements [kms.Driver]: it classifies an error of the client
// library by its gRPC status code (the Keeper has already classified an
// ended context):
//
//	InvalidArgument     decrypt: CodeInvalidCiphertext; encrypt: CodeInvalidArgument
//	NotFound            CodeNotFound
//	FailedPrecondition  CodeNotFound (the key version is disabled or destroyed)
//	PermissionDenied    CodePermissionDenied
//	Unauthenticated     CodePermissionDenied
//	Unavailable         CodeUnavailable
//	Aborted             CodeUnavailable
//	ResourceExhausted   CodeThrottled
//	DeadlineExceeded    CodeDeadlineExceeded
//	Canceled            CodeCanceled
//	anything else       CodeUnknown
func (k *driver) ErrorCode(op string, err error) kms.Code {
	st, ok := status.FromError(err)
	if !ok {
		return kms.CodeUnknown
	}
	switch st.Code() {
	case codes.InvalidArgument:
		if op == opDecrypt {
			return kms.CodeInvalidCiphertext
		}
		return kms.CodeInvalidArgument
	case codes.NotFound, codes.FailedPrecondition:
		return kms.CodeNotFound
	case codes.PermissionDenied, codes.Unauthenticated:
		return kms.CodePermissionDenied
	case codes.Unavailable, codes.Aborted:
		return kms.CodeUnavailable
	case codes.ResourceExhausted:
		return kms.CodeThrottled
	case codes.DeadlineExceeded:
		return kms.CodeDeadlineExceeded
	case codes.Canceled:
		return kms.CodeCanceled
	}
	return kms.CodeUnknown
}
