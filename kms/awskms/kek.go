package awskms

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awskms "github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/fieldcrypt/fieldcrypt/kms"
)

// Limits of AWS KMS symmetric encryption, checked before calling so that the
// error names the problem.
const (
	// MaxPlaintext is the largest plaintext AWS KMS Encrypt accepts.
	MaxPlaintext = 4096
	// MaxCiphertext is the largest ciphertext AWS KMS Decrypt accepts.
	MaxCiphertext = 6144
)

// driver is the [kms.Driver] on one AWS KMS symmetric encryption key, named
// by its key ARN or an alias ARN.
type driver struct {
	client      *awskms.Client
	ref         keyRef
	grantTokens []string
}

var (
	_ kms.Driver    = (*driver)(nil)
	_ kms.Rewrapper = (*driver)(nil)
)

// New returns the KEK that keyURI names, calling AWS through client, which
// the caller keeps (an AWS client holds nothing to close). opts may be nil;
// of its fields New uses only GrantTokens (the client carries region,
// endpoint, credentials and retries). New makes no call.
//
// The Keeper can rewrap ([kms.Keeper.Rewrap]) with AWS KMS ReEncrypt.
func New(client *awskms.Client, keyURI string, opts *Options) (*kms.Keeper, error) {
	ref, err := parseURI(keyURI)
	if err != nil {
		return nil, err
	}
	if client == nil {
		return nil, &kms.Error{Code: kms.CodeInvalidArgument, Op: "open", Backend: Scheme, KeyURI: keyURI,
			Err: errors.New("nil AWS KMS client (build one with NewClient)")}
	}
	d := &driver{client: client, ref: ref}
	if opts != nil {
		d.grantTokens = slices.Clone(opts.GrantTokens)
	}
	return kms.NewKeeper(keyURI, d), nil
}

// OpenFunc returns the [kms.OpenFunc] for aws-kms:// URIs. It builds one
// client per region from opts (which may be nil) on first use and shares it
// between the KEKs it opens.
func OpenFunc(opts *Options) kms.OpenFunc {
	var (
		mu      sync.Mutex
		clients = make(map[string]*awskms.Client)
	)
	return func(ctx context.Context, uri string) (*kms.Keeper, error) {
		ref, err := parseURI(uri)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		defer mu.Unlock()
		client := clients[ref.region]
		if client == nil {
			client, err = NewClient(ctx, ref.region, opts)
			if err != nil {
				var kerr *kms.Error
				if errors.As(err, &kerr) {
					kerr.KeyURI = uri
				}
				return nil, err
			}
			clients[ref.region] = client
		}
		return New(client, uri, opts)
	}
}

// Encrypt encrypts plaintext under the key with AWS KMS Encrypt, binding
// associatedData as the encryption context (see [EncryptionContext]). The
// ciphertext is AWS's ciphertext blob.
func (k *driver) Encrypt(ctx context.Context, plaintext, associatedData []byte) ([]byte, error) {
	if len(plaintext) == 0 || len(plaintext) > MaxPlaintext {
		return nil, &kms.Error{Code: kms.CodeInvalidArgument,
			Err: fmt.Errorf("plaintext is %d bytes; AWS KMS encrypts 1 to %d bytes", len(plaintext), MaxPlaintext)}
	}
	out, err := k.client.Encrypt(ctx, &awskms.EncryptInput{
		KeyId:             aws.String(k.ref.arn),
		Plaintext:         plaintext,
		EncryptionContext: EncryptionContext(associatedData),
		GrantTokens:       k.grantTokens,
	})
	if err != nil {
		return nil, err
	}
	if len(out.CiphertextBlob) == 0 {
		return nil, &kms.Error{Code: kms.CodeUnknown, Err: errors.New("AWS KMS returned an empty ciphertext")}
	}
	return out.CiphertextBlob, nil
}

// Decrypt decrypts ciphertext with AWS KMS Decrypt. It always names the key
// (KeyId), so a ciphertext of another key fails with CodeInvalidCiphertext
// instead of being decrypted under that key.
func (k *driver) Decrypt(ctx context.Context, ciphertext, associatedData []byte) ([]byte, error) {
	if err := checkCiphertextSize(ciphertext); err != nil {
		return nil, err
	}
	out, err := k.client.Decrypt(ctx, &awskms.DecryptInput{
		KeyId:             aws.String(k.ref.arn),
		CiphertextBlob:    ciphertext,
		EncryptionContext: EncryptionContext(associatedData),
		GrantTokens:       k.grantTokens,
	})
	if err != nil {
		return nil, err
	}
	if err := k.checkKeyID(out.KeyId); err != nil {
		return nil, &kms.Error{Code: kms.CodeInvalidCiphertext, Err: err}
	}
	if len(out.Plaintext) == 0 {
		return nil, &kms.Error{Code: kms.CodeUnknown, Err: errors.New("AWS KMS returned an empty plaintext")}
	}
	return out.Plaintext, nil
}

// Close does nothing: an AWS client holds no connection of its own to close.
func (k *driver) Close() error { return nil }

func checkCiphertextSize(ciphertext []byte) error {
	if len(ciphertext) > MaxCiphertext {
		return &kms.Error{Code: kms.CodeInvalidCiphertext,
			Err: fmt.Errorf("ciphertext is %d bytes; AWS KMS ciphertexts are 1 to %d bytes", len(ciphertext), MaxCiphertext)}
	}
	return nil
}

// checkKeyID verifies, for a KEK named by key ARN, that AWS used that key.
// AWS reports the key ARN even when the request named an alias, so an alias
// KEK cannot be checked this way; AWS itself enforces the KeyId it was sent.
func (k *driver) checkKeyID(used *string) error {
	if k.ref.alias || used == nil || *used == k.ref.arn {
		return nil
	}
	return fmt.Errorf("AWS KMS used key %s, not this KEK's key", *used)
}
