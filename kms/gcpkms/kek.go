package gcpkms

import (
	"context"
	"errors"
	"fmt"
	"strings"

	cloudkms "cloud.google.com/go/kms/apiv1"
	"cloud.google.com/go/kms/apiv1/kmspb"
	"github.com/googleapis/gax-go/v2"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/fieldcrypt/fieldcrypt/kms"
)

// New returns the KEK that keyURI (gcp-kms://projects/…/cryptoKeys/…) names,
// using client for its calls. The caller keeps ownership of client: closing
// the Keeper leaves it open. opts may be nil; only its CallOptions and
// IntegrityAttempts are used here. New makes no call to the service: a
// missing key or a missing permission shows on the first Encrypt or Decrypt.
func New(client *cloudkms.KeyManagementClient, keyURI string, opts *Options) (*kms.Keeper, error) {
	d, err := newDriver(client, keyURI, opts)
	if err != nil {
		return nil, err
	}
	return kms.NewKeeper(keyURI, d), nil
}

func newDriver(client *cloudkms.KeyManagementClient, keyURI string, opts *Options) (*driver, error) {
	name, err := KeyName(keyURI)
	if err != nil {
		return nil, err
	}
	if client == nil {
		return nil, &kms.Error{Code: kms.CodeInvalidArgument, Op: "open", Backend: Scheme, KeyURI: keyURI,
			Err: errors.New("nil *KeyManagementClient")}
	}
	return &driver{
		name:     name,
		client:   client,
		callOpts: opts.callOptions(),
		attempts: opts.integrityAttempts(),
	}, nil
}

// OpenFunc returns the [kms.OpenFunc] for gcp-kms:// URIs. opts may be nil.
//
// When opts.Client is nil, each Keeper it opens gets its own client built by
// [NewClient] from opts, and owns it: closing the Keeper closes the client
// (its gRPC connection). When opts.Client is set, every Keeper shares it,
// and the caller closes it.
func OpenFunc(opts *Options) kms.OpenFunc {
	return func(ctx context.Context, uri string) (*kms.Keeper, error) {
		if _, err := KeyName(uri); err != nil {
			return nil, err
		}
		if opts != nil && opts.Client != nil {
			return New(opts.Client, uri, opts)
		}
		client, err := NewClient(ctx, opts)
		if err != nil {
			var kerr *kms.Error
			if errors.As(err, &kerr) {
				kerr.KeyURI = uri
			}
			return nil, err
		}
		d, err := newDriver(client, uri, opts)
		if err != nil {
			client.Close()
			return nil, err
		}
		d.ownsClient = true
		return kms.NewKeeper(uri, d), nil
	}
}

// driver is the [kms.Driver] on one CryptoKey.
type driver struct {
	name       string // the CryptoKey resource name
	client     *cloudkms.KeyManagementClient
	ownsClient bool
	callOpts   []gax.CallOption
	attempts   int
}

var _ kms.Driver = (*driver)(nil)

// Encrypt encrypts plaintext with the key's primary version, binding
// associatedData as Cloud KMS additional authenticated data.
func (k *driver) Encrypt(ctx context.Context, plaintext, associatedData []byte) ([]byte, error) {
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
			ierr, err := k.callError(opEncrypt, err, req.Plaintext, req.PlaintextCrc32C, req.AdditionalAuthenticatedData, req.AdditionalAuthenticatedDataCrc32C)
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
func (k *driver) checkEncryptResponse(req *kmspb.EncryptRequest, resp *kmspb.EncryptResponse) *IntegrityError {
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

// Decrypt decrypts a ciphertext of this key, whichever version encrypted
// it, checking associatedData.
func (k *driver) Decrypt(ctx context.Context, ciphertext, associatedData []byte) ([]byte, error) {
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
			ierr, err := k.callError(opDecrypt, err, req.Ciphertext, req.CiphertextCrc32C, req.AdditionalAuthenticatedData, req.AdditionalAuthenticatedDataCrc32C)
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
func withIntegrityRetries(ctx context.Context, k *driver, op string, attempt func() ([]byte, *IntegrityError, error)) ([]byte, error) {
	var last *IntegrityError
	for range k.attempts {
		if err := ctx.Err(); err != nil {
			return nil, err // the Keeper classifies it
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
// local fault if they are not; any other failure is returned as it is, for
// ErrorCode.
func (k *driver) callError(op string, err error, data []byte, dataCRC *wrapperspb.Int64Value, aad []byte, aadCRC *wrapperspb.Int64Value) (*IntegrityError, error) {
	field, ok := rejectedChecksum(err)
	switch {
	case !ok:
		return nil, err
	case !checksumMatches(data, dataCRC) || (aadCRC != nil && !checksumMatches(aad, aadCRC)):
		return nil, k.localChecksumError(op, err)
	}
	return &IntegrityError{Op: op, Check: field, Err: err, Detail: "the service found the request corrupted on its way"}, nil
}

// integrityFailure is the error after every attempt failed an integrity
// check: transient, since corruption in transit is not a property of the data.
func (k *driver) integrityFailure(last *IntegrityError) error {
	last.Attempts = k.attempts
	return &kms.Error{Code: kms.CodeUnavailable, Op: last.Op, Err: last}
}

// localChecksumError is the error when the service rejected a checksum and
// this process finds that its own checksum does not match the data it sent:
// the fault is here, so retrying does not help.
func (k *driver) localChecksumError(op string, err error) error {
	return &kms.Error{Code: kms.CodeUnknown, Op: op, Err: &IntegrityError{Op: op, Check: "request checksum", Attempts: 1, Err: err,
		Detail: "the checksum this process computed does not match the data it sent"}}
}

// Close closes the client when the Keeper's opener built it (see
// [OpenFunc]), and does nothing when the caller owns it.
func (k *driver) Close() error {
	if !k.ownsClient {
		return nil
	}
	return k.client.Close()
}
