package gcpkms

import (
	"context"
	"errors"
	"fmt"
	"google.golang.org/protobuf/types/known/wrapperspb"
	"io"
	"strings"

	cloudkms "cloud.google.com/go/kms/apiv1"
	"cloud.google.com/go/kms/apiv1/kmspb"
	"github.com/googleapis/gax-go/v2"

	"github.com/fieldcrypt/fieldcrypt/kms"
)

// New returns the KEK that keyURI (gcp-kms://projects/…/cryptoKeys/…) names,
// using client for its calls. The caller keeps ownership of client. opts may
// be nil; only its CallOptions and IntegrityAttempts are used here. New makes
// no call to the service: a missing key or a missing permission shows on the
// first Encrypt or Decrypt.
func New(client *cloudkms.KeyManagementClient, keyURI string, opts *Options) (kms.KEK, error) {
	return newKEK(client, keyURI, opts)
}

func newKEK(client *cloudkms.KeyManagementClient, keyURI string, opts *Options) (*kek, error) {
	name, err := KeyName(keyURI)
	if err != nil {
		return nil, err
	}
	if client == nil {
		return nil, &kms.Error{Code: kms.CodeInvalidArgument, Op: "open", Backend: Scheme, KeyURI: keyURI,
			Err: errors.New("nil *KeyManagementClient")}
	}
	return &kek{
		uri:      keyURI,
		name:     name,
		client:   client,
		callOpts: opts.callOptions(),
		attempts: opts.integrityAttempts(),
	}, nil
}

// OpenFunc returns the [kms.OpenFunc] for gcp-kms:// URIs. opts may be nil.
//
// When opts.Client is nil, each KEK it opens gets its own client built by
// [NewClient] from opts, and owns it: the KEK implements [io.Closer], and
// Close releases the client. When opts.Client is set, every KEK shares it and
// Close does nothing.
func OpenFunc(opts *Options) kms.OpenFunc {
	return func(ctx context.Context, uri string) (kms.KEK, error) {
		if _, err := KeyName(uri); err != nil {
			return nil, err
		}
		if opts != nil && opts.Client != nil {
			return newKEK(opts.Client, uri, opts)
		}
		client, err := NewClient(ctx, opts)
		if err != nil {
			var kerr *kms.Error
			if errors.As(err, &kerr) {
				kerr.KeyURI = uri
			}
			return nil, err
		}
		k, err := newKEK(client, uri, opts)
		if err != nil {
			client.Close()
			return nil, err
		}
		k.ownsClient = true
		return k, nil
	}
}

type kek struct {
	uri        string // gcp-kms://…
	name       string // the CryptoKey resource name
	client     *cloudkms.KeyManagementClient
	ownsClient bool
	callOpts   []gax.CallOption
	attempts   int
}

var (
	_ kms.KEK   = (*kek)(nil)
	_ io.Closer = (*kek)(nil)
)

// EncryptWithContext encrypts plaintext with the key's primary version,
// binding associatedData as Cloud KMS additional authenticated data.
func (k *kek) EncryptWithContext(ctx context.Context, plaintext, associatedData []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, k.contextError(opEncrypt, err)
	}
	req := &kmspb.EncryptRequest{
		Name:            k.name,
		Plaintext:       plaintext,
		PlaintextCrc32C: crc32c(plaintext),
	}
	if len(associatedData) > 0 {
		req.AdditionalAuthenticatedData = associatedData
		req.AdditionalAuthenticatedDataCrc32C = crc32c(associatedData)
	}
	return withIntegrityRetries(ctx, k, opEncrypt, func() ([]byte, *IntegrityError, error) {
		resp, err := k.client.Encrypt(ctx, req, k.callOpts...)
		if err != nil {
			ierr, err := k.callError(ctx, opEncrypt, err, req.Plaintext, req.PlaintextCrc32C, req.AdditionalAuthenticatedData, req.AdditionalAuthenticatedDataCrc32C)
			return nil, ierr, err
		}
		if ierr := k.checkEncryptResponse(req, resp); ierr != nil {
			return nil, ierr, nil
		}
		return resp.GetCiphertext(), nil, nil
	})
}

// checkEncryptResponse applies Google's checks to an Encrypt response: the
// service verified both request checksums, used a version of this key, and
// the ciphertext matches its checksum.
func (k *kek) checkEncryptResponse(req *kmspb.EncryptRequest, resp *kmspb.EncryptResponse) *IntegrityError {
	fail := func(check, detail string) *IntegrityError {
		return &IntegrityError{Op: opEncrypt, Check: check, Detail: detail}
	}
	switch {
	case !resp.GetVerifiedPlaintextCrc32C():
		return fail("verified_plaintext_crc32c", "the service did not confirm the plaintext checksum it was sent")
	case req.AdditionalAuthenticatedDataCrc32C != nil && !resp.GetVerifiedAdditionalAuthenticatedDataCrc32C():
		return fail("verified_additional_authenticated_data_crc32c", "the service did not confirm the associated-data checksum it was sent")
	case !isVersionOf(resp.GetName(), k.name):
		return fail("name", fmt.Sprintf("the response names %q, not a version of this key", resp.GetName()))
	case !checksumMatches(resp.GetCiphertext(), resp.GetCiphertextCrc32C()):
		return fail("ciphertext_crc32c", "the returned ciphertext does not match its checksum")
	}
	return nil
}

// isVersionOf reports whether versionName is projects/…/cryptoKeys/<k>/cryptoKeyVersions/<n>
// for the CryptoKey keyName.
func isVersionOf(versionName, keyName string) bool {
	id, ok := strings.CutPrefix(versionName, keyName+"/cryptoKeyVersions/")
	return ok && id != "" && !strings.Contains(id, "/")
}

// DecryptWithContext decrypts a ciphertext of this key, whichever version
// encrypted it, checking associatedData.
func (k *kek) DecryptWithContext(ctx context.Context, ciphertext, associatedData []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, k.contextError(opDecrypt, err)
	}
	if len(ciphertext) == 0 {
		return nil, k.fail(opDecrypt, kms.CodeInvalidCiphertext, errors.New("ciphertext is empty"))
	}
	req := &kmspb.DecryptRequest{
		Name:             k.name,
		Ciphertext:       ciphertext,
		CiphertextCrc32C: crc32c(ciphertext),
	}
	if len(associatedData) > 0 {
		req.AdditionalAuthenticatedData = associatedData
		req.AdditionalAuthenticatedDataCrc32C = crc32c(associatedData)
	}
	return withIntegrityRetries(ctx, k, opDecrypt, func() ([]byte, *IntegrityError, error) {
		resp, err := k.client.Decrypt(ctx, req, k.callOpts...)
		if err != nil {
			ierr, err := k.callError(ctx, opDecrypt, err, req.Ciphertext, req.CiphertextCrc32C, req.AdditionalAuthenticatedData, req.AdditionalAuthenticatedDataCrc32C)
			return nil, ierr, err
		}
		if !checksumMatches(resp.GetPlaintext(), resp.GetPlaintextCrc32C()) {
			return nil, &IntegrityError{Op: opDecrypt, Check: "plaintext_crc32c",
				Detail: "the returned plaintext does not match its checksum"}, nil
		}
		return resp.GetPlaintext(), nil, nil
	})
}

// withIntegrityRetries makes up to k.attempts calls of attempt, retrying only
// when one fails an integrity check (its *IntegrityError result): data
// corrupted on its way to or from the service. Any other error ends it.
func withIntegrityRetries(ctx context.Context, k *kek, op string, attempt func() ([]byte, *IntegrityError, error)) ([]byte, error) {
	var last *IntegrityError
	for range k.attempts {
		if err := ctx.Err(); err != nil {
			return nil, k.contextError(op, err)
		}
		out, ierr, err := attempt()
		switch {
		case err != nil:
			return nil, err
		case ierr != nil:
			last = ierr
			continue
		}
		return out, nil
	}
	return nil, k.integrityFailure(last)
}

// callError classifies a failed call. When the service rejected a request
// checksum, the result is an *IntegrityError worth retrying if this
// process's own checksums of the data it sent are right, and a permanent
// local fault if they are not; any other failure is a *kms.Error.
func (k *kek) callError(ctx context.Context, op string, err error, data []byte, dataCRC *wrapperspb.Int64Value, aad []byte, aadCRC *wrapperspb.Int64Value) (*IntegrityError, error) {
	field, ok := rejectedChecksum(err)
	switch {
	case !ok:
		return nil, k.fail(op, codeOf(ctx, op, err), err)
	case !checksumMatches(data, dataCRC) || (aadCRC != nil && !checksumMatches(aad, aadCRC)):
		return nil, k.localChecksumError(op, err)
	}
	return &IntegrityError{Op: op, Check: field, Err: err, Detail: "the service found the request corrupted on its way"}, nil
}

func (k *kek) fail(op string, code kms.Code, err error) error {
	return &kms.Error{Code: code, Op: op, Backend: Scheme, KeyURI: k.uri, Err: err}
}

func (k *kek) contextError(op string, err error) error {
	code, _ := kms.ContextCode(err)
	return k.fail(op, code, err)
}

// integrityFailure is the error after every attempt failed an integrity
// check: transient, since corruption in transit is not a property of the data.
func (k *kek) integrityFailure(last *IntegrityError) error {
	last.Attempts = k.attempts
	return k.fail(last.Op, kms.CodeUnavailable, last)
}

// localChecksumError is the error when the service rejected a checksum and
// this process finds that its own checksum does not match the data it sent:
// the fault is here, so retrying does not help.
func (k *kek) localChecksumError(op string, err error) error {
	return k.fail(op, kms.CodeUnknown, &IntegrityError{Op: op, Check: "request checksum", Attempts: 1, Err: err,
		Detail: "the checksum this process computed does not match the data it sent"})
}

// Close releases the client when this KEK built it (see [OpenFunc]).
func (k *kek) Close() error {
	if !k.ownsClient {
		return nil
	}
	return k.client.Close()
}

// String names the KEK; a Cloud KMS key name is not a secret.
func (k *kek) String() string { return "Google Cloud KMS KEK " + k.uri }
