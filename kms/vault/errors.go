package vault

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/hashicorp/vault/api"

	"github.com/fieldcrypt/fieldcrypt/kms"
)

// VaultError is the cause of a [*kms.Error] when Vault answered with an error
// status. Its message is one line; the [*api.ResponseError] it wraps, with
// the full list of Vault's messages, stays reachable with [errors.As].
type VaultError struct {
	Response *api.ResponseError
}

// Error implements error: "vault answered 400: message one; message two".
func (e *VaultError) Error() string {
	msgs := e.Response.Errors
	msg := strings.Join(msgs, "; ")
	if e.Response.RawError && len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	if msg == "" {
		msg = "no error message"
	}
	return fmt.Sprintf("vault answered %d: %s", e.Response.StatusCode, msg)
}

// Unwrap returns the api's response error.
func (e *VaultError) Unwrap() error { return e.Response }

// Messages Vault returns (HTTP 400) when a ciphertext is malformed, tampered
// with or bound to other associated data.
var invalidCiphertextMessages = []string{
	"message authentication failed",
	"invalid ciphertext",
	"could not decode base64",
	"illegal base64",
	"invalid ciphertext length",
}

// Messages that mean the key, or the key version a ciphertext names, cannot
// be used: the key does not exist, or the version is below the key's
// min_decryption_version or was trimmed.
var notFoundMessages = []string{
	"encryption key not found",
	"disallowed by policy (too old)",
	"no such key version",
}

// ErrorCode implements [kms.Driver]: it says what the caller should do about
// the error of a Vault call (the Keeper has already classified an ended
// context).
func (k *transit) ErrorCode(_ string, err error) kms.Code {
	var rerr *responseError
	if errors.As(err, &rerr) {
		return kms.CodeUnknown
	}
	return errorCode(err)
}

// cause makes a one-line error of a Vault response error, keeping it
// reachable.
func cause(err error) error {
	var re *api.ResponseError
	if errors.As(err, &re) {
		return &VaultError{Response: re}
	}
	return err
}

// codeOf classifies the error of a call made outside a Keeper (login): ctx
// is the caller's context, and when it has ended the code is Canceled or
// DeadlineExceeded whatever the transport reported.
func codeOf(ctx context.Context, err error) kms.Code {
	if code, ok := kms.ContextCode(ctx.Err()); ok {
		return code
	}
	return errorCode(err)
}

// errorCode classifies the error of a Vault call whose context is live.
func errorCode(err error) kms.Code {
	var re *api.ResponseError
	if errors.As(err, &re) {
		return responseCode(re)
	}
	// The api client's own per-request timeout, not the caller's context.
	if code, ok := kms.ContextCode(err); ok {
		return code
	}
	var (
		unknownCA  x509.UnknownAuthorityError
		hostErr    x509.HostnameError
		invalidErr x509.CertificateInvalidError
	)
	if errors.As(err, &unknownCA) || errors.As(err, &hostErr) || errors.As(err, &invalidErr) {
		// A certificate that does not verify will not verify on retry.
		return kms.CodeUnknown
	}
	var netErr net.Error
	var urlErr *url.Error
	if errors.As(err, &netErr) || errors.As(err, &urlErr) {
		return kms.CodeUnavailable
	}
	return kms.CodeUnknown
}

func responseCode(re *api.ResponseError) kms.Code {
	msg := strings.ToLower(strings.Join(re.Errors, "\n"))
	has := func(list []string) bool {
		for _, m := range list {
			if strings.Contains(msg, m) {
				return true
			}
		}
		return false
	}
	switch s := re.StatusCode; {
	case has(notFoundMessages) || s == 404:
		return kms.CodeNotFound
	case s == 403:
		return kms.CodePermissionDenied
	case s == 429:
		return kms.CodeThrottled
	case s >= 500 || s == 412 || strings.Contains(msg, "vault is sealed"):
		// 412: a performance standby has not caught up yet.
		return kms.CodeUnavailable
	case s == 400 && has(invalidCiphertextMessages):
		return kms.CodeInvalidCiphertext
	case s == 400:
		return kms.CodeInvalidArgument
	}
	return kms.CodeUnknown
}
