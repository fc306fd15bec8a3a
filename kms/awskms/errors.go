package awskms

import (
	"errors"
	"net"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/fieldcrypt/fieldcrypt/kms"
)

// apiErrorCodes maps AWS KMS error codes (and the generic AWS ones that
// reach KMS callers) to fieldcrypt codes.
var apiErrorCodes = map[string]kms.Code{
	// The ciphertext is not one of this key's under this encryption context.
	"InvalidCiphertextException": kms.CodeInvalidCiphertext,
	"IncorrectKeyException":      kms.CodeInvalidCiphertext,

	// The key cannot be used: it does not exist, is disabled, is pending
	// deletion or import, or its key material is unavailable.
	"NotFoundException":        kms.CodeNotFound,
	"DisabledException":        kms.CodeNotFound,
	"KMSInvalidStateException": kms.CodeNotFound,

	// The caller is not allowed to use the key, or is not who it claims.
	"AccessDeniedException":       kms.CodePermissionDenied,
	"UnrecognizedClientException": kms.CodePermissionDenied,
	"InvalidClientTokenId":        kms.CodePermissionDenied,
	"InvalidSignatureException":   kms.CodePermissionDenied,
	"IncompleteSignature":         kms.CodePermissionDenied,
	"MissingAuthenticationToken":  kms.CodePermissionDenied,
	"ExpiredTokenException":       kms.CodePermissionDenied,
	"InvalidGrantTokenException":  kms.CodePermissionDenied,

	// The request is malformed, or the key is not a symmetric encryption
	// key.
	"InvalidKeyUsageException":        kms.CodeInvalidArgument,
	"ValidationException":             kms.CodeInvalidArgument,
	"SerializationException":          kms.CodeInvalidArgument,
	"InvalidArnException":             kms.CodeInvalidArgument,
	"MissingParameterException":       kms.CodeInvalidArgument,
	"UnsupportedOperationException":   kms.CodeInvalidArgument,
	"CustomKeyStoreNotFoundException": kms.CodeNotFound,

	// Too many requests.
	"ThrottlingException":      kms.CodeThrottled,
	"LimitExceededException":   kms.CodeThrottled,
	"RequestLimitExceeded":     kms.CodeThrottled,
	"TooManyRequestsException": kms.CodeThrottled,

	// AWS, or what the key depends on, failed or is unreachable.
	"KMSInternalException":        kms.CodeUnavailable,
	"DependencyTimeoutException":  kms.CodeUnavailable,
	"KeyUnavailableException":     kms.CodeUnavailable,
	"InternalFailure":             kms.CodeUnavailable,
	"InternalFailureException":    kms.CodeUnavailable,
	"ServiceUnavailable":          kms.CodeUnavailable,
	"ServiceUnavailableException": kms.CodeUnavailable,
}

// ErrorCode implements [kms.Driver]: it classifies an error of the AWS SDK
// (the Keeper has already classified an ended context). The Keeper keeps
// the error as the cause, so errors.As still reaches the smithy.APIError
// and the typed AWS KMS exception.
func (k *driver) ErrorCode(op string, err error) kms.Code { return errorCode(op, err) }

func errorCode(op string, err error) kms.Code {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		if code, ok := apiErrorCodes[apiErr.ErrorCode()]; ok {
			if op != kms.OpEncrypt && apiErr.ErrorCode() == "ValidationException" {
				// The only variable input of a decryption that AWS
				// validates is the ciphertext (size and form).
				return kms.CodeInvalidCiphertext
			}
			return code
		}
	}
	var credErr *credentialsError
	if errors.As(err, &credErr) {
		// The credential source (the instance metadata service, STS, a
		// container or SSO endpoint) could not be reached, or failed or
		// throttled: an outage, as for AWS KMS itself. Any other failure to
		// obtain credentials is permission denied.
		if code := errorCode(op, credErr.err); code.Transient() {
			return code
		}
		return kms.CodePermissionDenied
	}
	// AWS's own answers are *awshttp.ResponseError, which errors.As also
	// finds as the *smithyhttp.ResponseError it embeds; those of the
	// instance metadata service are the latter alone.
	var respErr *smithyhttp.ResponseError
	if errors.As(err, &respErr) {
		switch status := respErr.HTTPStatusCode(); {
		case status == 401 || status == 403:
			return kms.CodePermissionDenied
		case status == 429:
			return kms.CodeThrottled
		case status >= 500:
			return kms.CodeUnavailable
		}
	}
	var sendErr *smithyhttp.RequestSendError
	var netErr net.Error
	if errors.As(err, &sendErr) || errors.As(err, &netErr) {
		return kms.CodeUnavailable
	}
	return kms.CodeUnknown
}
