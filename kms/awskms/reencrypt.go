package awskms

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	awskms "github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/fieldcrypt/fieldcrypt/kms"
)

// ReEncrypt moves a ciphertext of k to the key of dst without the plaintext
// leaving AWS KMS (AWS KMS ReEncrypt): it returns a ciphertext of dst bound
// to the same associated data. It is how a keyset wrapped by one KEK is
// re-wrapped under another, for instance when a field class moves to a new
// key. Rotating a key inside AWS (automatic key rotation) needs no
// re-encryption at all: the ARN stays and old ciphertexts keep decrypting.
//
// Both keys must be in the same region; the call goes through k's client and
// needs kms:ReEncryptFrom on k's key and kms:ReEncryptTo on dst's key. A
// ciphertext that is not k's under associatedData fails with
// CodeInvalidCiphertext, as in [KEK.DecryptWithContext]; errors of the
// destination key (disabled, denied) carry their own codes.
func (k *KEK) ReEncrypt(ctx context.Context, ciphertext, associatedData []byte, dst *KEK) ([]byte, error) {
	const op = "reencrypt"
	if err := ctx.Err(); err != nil {
		return nil, k.contextError(op, err)
	}
	if dst == nil {
		return nil, k.fail(op, kms.CodeInvalidArgument, errors.New("nil destination KEK"))
	}
	if dst.ref.region != k.ref.region {
		return nil, k.fail(op, kms.CodeInvalidArgument, fmt.Errorf(
			"destination %s is in region %s, not %s: AWS KMS re-encrypts only within a region (decrypt, then encrypt with the destination instead)",
			dst.ref.uri, dst.ref.region, k.ref.region))
	}
	if len(ciphertext) == 0 || len(ciphertext) > MaxCiphertext {
		return nil, k.fail(op, kms.CodeInvalidCiphertext,
			fmt.Errorf("ciphertext is %d bytes; AWS KMS ciphertexts are 1 to %d bytes", len(ciphertext), MaxCiphertext))
	}
	ec := EncryptionContext(associatedData)
	out, err := k.client.ReEncrypt(ctx, &awskms.ReEncryptInput{
		SourceKeyId:                  aws.String(k.ref.arn),
		DestinationKeyId:             aws.String(dst.ref.arn),
		CiphertextBlob:               ciphertext,
		SourceEncryptionContext:      ec,
		DestinationEncryptionContext: ec,
		GrantTokens:                  slices.Concat(k.grantTokens, dst.grantTokens),
	})
	if err != nil {
		return nil, k.classify(ctx, op, err)
	}
	if err := k.checkKeyID(out.SourceKeyId); err != nil {
		// The new ciphertext exists but was not made from this KEK's
		// ciphertext; do not hand it out.
		return nil, k.fail(op, kms.CodeInvalidCiphertext, err)
	}
	if err := dst.checkKeyID(out.KeyId); err != nil {
		return nil, k.fail(op, kms.CodeUnknown, fmt.Errorf("destination: %w", err))
	}
	if len(out.CiphertextBlob) == 0 {
		return nil, k.fail(op, kms.CodeUnknown, errors.New("AWS KMS returned an empty ciphertext"))
	}
	return out.CiphertextBlob, nil
}
