package awskms

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	awskms "github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/fieldcrypt/fieldcrypt/kms"
)

// Rewrap implements [kms.Rewrapper], for [kms.Keeper.Rewrap]: AWS KMS
// ReEncrypt from this key to this key, which wraps the ciphertext under the
// key's current key material without the plaintext leaving AWS KMS, bound
// to the same associated data. With automatic key rotation old ciphertexts
// keep decrypting, so rewrapping is needed only to stop depending on older
// key material. It needs kms:ReEncryptFrom and kms:ReEncryptTo on the key.
func (k *driver) Rewrap(ctx context.Context, ciphertext, associatedData []byte) ([]byte, error) {
	if err := checkCiphertextSize(ciphertext); err != nil {
		return nil, err
	}
	ec := EncryptionContext(associatedData)
	out, err := k.client.ReEncrypt(ctx, &awskms.ReEncryptInput{
		SourceKeyId:                  aws.String(k.ref.arn),
		DestinationKeyId:             aws.String(k.ref.arn),
		CiphertextBlob:               ciphertext,
		SourceEncryptionContext:      ec,
		DestinationEncryptionContext: ec,
		GrantTokens:                  k.grantTokens,
	})
	if err != nil {
		return nil, err
	}
	if err := k.checkKeyID(out.SourceKeyId); err != nil {
		// The new ciphertext exists but was not made from this KEK's
		// ciphertext; do not hand it out.
		return nil, &kms.Error{Code: kms.CodeInvalidCiphertext, Err: err}
	}
	if err := k.checkKeyID(out.KeyId); err != nil {
		return nil, &kms.Error{Code: kms.CodeUnknown, Err: err}
	}
	if len(out.CiphertextBlob) == 0 {
		return nil, &kms.Error{Code: kms.CodeUnknown, Err: errors.New("AWS KMS returned an empty ciphertext")}
	}
	return out.CiphertextBlob, nil
}
