package vault

import (
	"context"

	"github.com/fieldcrypt/fieldcrypt/kms"
)

// Rewrap implements [kms.Rewrapper], for [kms.Keeper.Rewrap].
//
// With [RewrapAuto] (the default) it calls transit/rewrap and, when
// associatedData is not empty, checks that the result decrypts under it:
// Transit's rewrap does not take associated_data (Vault 1.21 and earlier),
// so for such a ciphertext rewrap fails, or, on a server that would drop it
// on the way out, yields a ciphertext bound to none. Either way Rewrap falls
// back to decrypt and encrypt, and uses that directly for the rest of this
// KEK's life. With [RewrapDecryptEncrypt] it always decrypts and encrypts.
func (k *transit) Rewrap(ctx context.Context, ciphertext, associatedData []byte) ([]byte, error) {
	if _, ok := parseCiphertext(ciphertext); !ok {
		return nil, &kms.Error{Code: kms.CodeInvalidCiphertext, Err: errMalformed}
	}
	if k.mode == RewrapDecryptEncrypt || (len(associatedData) > 0 && k.rewrapDropsAD.Load()) {
		return k.decryptEncrypt(ctx, ciphertext, associatedData)
	}
	out, err := k.rewrap(ctx, ciphertext, associatedData)
	if err != nil {
		if len(associatedData) > 0 && codeOf(ctx, err) == kms.CodeInvalidCiphertext {
			// Transit may have ignored associated_data on the way in.
			return k.fallBack(ctx, ciphertext, associatedData)
		}
		return nil, err
	}
	if len(associatedData) == 0 {
		return out, nil
	}
	// Transit may have ignored associated_data on the way out.
	pt, err := k.decrypt(ctx, out, associatedData)
	clear(pt)
	if err != nil {
		if codeOf(ctx, err) != kms.CodeInvalidCiphertext {
			return nil, err
		}
		return k.fallBack(ctx, ciphertext, associatedData)
	}
	return out, nil
}

// rewrap calls transit/rewrap, passing associated_data for a server that
// takes it. Its errors are raw, for ErrorCode.
func (k *transit) rewrap(ctx context.Context, ciphertext, associatedData []byte) ([]byte, error) {
	body := map[string]any{"ciphertext": string(ciphertext)}
	addAssociatedData(body, associatedData)
	secret, err := k.client.Logical().WriteWithContext(ctx, k.ref.path("rewrap"), body)
	if err != nil {
		return nil, cause(err)
	}
	return ciphertextField(secret)
}

// fallBack rewraps by decrypt and encrypt and, when that works where Transit's
// rewrap did not, remembers that Transit's rewrap loses associated data.
func (k *transit) fallBack(ctx context.Context, ciphertext, associatedData []byte) ([]byte, error) {
	out, err := k.decryptEncrypt(ctx, ciphertext, associatedData)
	if err == nil {
		k.rewrapDropsAD.Store(true)
	}
	return out, err
}

// decryptEncrypt rewraps through this process: the plaintext is held only for
// the two calls and then cleared.
func (k *transit) decryptEncrypt(ctx context.Context, ciphertext, associatedData []byte) ([]byte, error) {
	pt, err := k.decrypt(ctx, ciphertext, associatedData)
	if err != nil {
		return nil, err
	}
	defer clear(pt)
	return k.encrypt(ctx, pt, associatedData)
}
