package gcpkms

import (
	"regexp"
	"strings"

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
//	Unauthenticated     CodePermissionDenied, or CodeUnavailable and
//	                    CodeThrottled when no token could be had because
//	                    the token source was out (tokenFailureCode)
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
	case codes.PermissionDenied:
		return kms.CodePermissionDenied
	case codes.Unauthenticated:
		if cause, ok := strings.CutPrefix(st.Message(), credsFailurePrefix); ok {
			return tokenFailureCode(cause)
		}
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

// credsFailurePrefix starts the message of the Unauthenticated status that
// gRPC gives a call whose credentials could not produce a token: the call
// never reached Cloud KMS. gRPC keeps only the text of the cause.
const credsFailurePrefix = "transport: per-RPC creds failed due to error: "

// Failures to get a token that are outages of the token source (the GCE
// metadata server, Google's OAuth token endpoint, the network to them)
// rather than credentials that are refused, by the text the auth and
// metadata libraries and package net give them.
var (
	// tokenStatus is the HTTP status of a token endpoint's answer, which
	// decides before any text of the answer's body that follows it.
	tokenStatus = regexp.MustCompile(`auth: cannot fetch token: (\d{3})\b|compute: Received (\d{3})\b`)
	// networkFailure is the text of a failure to reach the token source.
	networkFailure = regexp.MustCompile(`dial tcp|connection refused|connection reset|no such host|i/o timeout|` +
		`TLS handshake timeout|unexpected EOF|deadline exceeded`)
)

// tokenFailureCode classifies the cause of a call's failure to get a
// token: an outage of the token source is transient, like one of Cloud KMS
// itself (the keyring then keeps serving cached keysets for the stale
// period); anything else, such as a token endpoint that refuses the
// credentials (a deleted service-account key), is permission denied.
func tokenFailureCode(cause string) kms.Code {
	if m := tokenStatus.FindStringSubmatch(cause); m != nil {
		switch status := m[1] + m[2]; {
		case status == "429":
			return kms.CodeThrottled
		case status == "408", status[0] == '5':
			return kms.CodeUnavailable
		}
		return kms.CodePermissionDenied
	}
	if networkFailure.MatchString(cause) {
		return kms.CodeUnavailable
	}
	return kms.CodePermissionDenied
}
