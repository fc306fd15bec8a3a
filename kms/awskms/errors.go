package awskms

import (
	"context"
	"errors"
	"net"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
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

// classify turns an error of the AWS SDK into an [*kms.Error] that keeps it
// as the cause, so errors.As still reaches the smithy.APIError and the
// typed AWS KMS exception.
func (k *KEK) classify(ctx context.Context, op string, err error) error {
	return k.fail(op, classifyCode(ctx, op, err), err)
}

func classifyCode(ctx context.Context, op string, err error) kms.Code {
	// A call whose context ended fails because it ended, whatever the SDK
	// wrapped around that.
	if ctxErr := ctx.Err(); ctxErr != nil {
		code, _ := kms.ContextCode(ctxErr)
		return code
	}
	if code, ok := kms.ContextCode(err); ok {
		return code
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		if code, ok := apiErrorCodes[apiErr.ErrorCode()]; ok {
			if op != "encrypt" && apiErr.ErrorCode() == "ValidationException" {
				// The only variable input of a decryption that AWS
				// validates is the ciphertext (size and form).
				return kms.CodeInvalidCiphertext
			}
			return code
		}
	}
	var credErr *credentialsError
	if errors.As(err, &credErr) {
		return kms.CodePermissionDenied
	}
	var respErr *awshttp.ResponseError
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
