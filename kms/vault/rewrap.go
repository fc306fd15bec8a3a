package vault

import (
	"context"

	"github.com/fieldcrypt/fieldcrypt/kms"
)

// Rewrapper is implemented by the KEKs of this package. A type assertion
// reaches it:
//
//	if rw, ok := kek.(vault.Rewrapper); ok { ct, err = rw.Rewrap(ctx, ct, ad) }
type Rewrapper interface {
	// Rewrap returns ciphertext wrapped under the latest version of the
	// Transit key, bound to the same associatedData, which must be the
	// associated data ciphertext was made with. The old ciphertext stays
	// valid until the key's min_decryption_version passes its version.
	Rewrap(ctx context.Context, ciphertext, associatedData []byte) ([]byte, error)
}

// Rewrap implements [Rewrapper].
//
// With [RewrapAuto] (the default) it calls transit/rewrap and, when
// associatedData is not empty, checks that the result decrypts under it:
// Transit's rewrap does not take associated_data (Vault 1.21 and earlier),
// so for such a ciphertext rewrap fails, or, on a server that would drop it
// on the way out, yields a ciphertext bound to none. Either way Rewrap falls
// back to decrypt and encrypt, and uses that directly for the rest of this
// KEK's life. With [RewrapDecryptEncrypt] it always decrypts and encrypts.
func (k *transitKEK) Rewrap(ctx context.Context, ciphertext, associatedData []byte) ([]byte, error) {
	const op = "rewrap"
	if _, ok := parseCiphertext(ciphertext); !ok {
		return nil, &kms.Error{Code: kms.CodeInvalidCiphertext, Op: op, Backend: Scheme, KeyURI: k.ref.uri(), Err: errMalformed}
	}
	if err := ctx.Err(); err != nil {
		return nil, k.classify(ctx, op, err)
	}
	if k.mode == RewrapDecryptEncrypt || (len(associatedData) > 0 && k.rewrapDropsAD.Load()) {
		return k.decryptEncrypt(ctx, ciphertext, associatedData)
	}
	out, err := k.rewrap(ctx, ciphertext, associatedData)
	if err != nil {
		if len(associatedData) > 0 && kms.CodeOf(err) == kms.CodeInvalidCiphertext {
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
		if kerr := k.fail(ctx, op, err); kms.CodeOf(kerr) != kms.CodeInvalidCiphertext {
			return nil, kerr
		}
		return k.fallBack(ctx, ciphertext, associatedData)
	}
	return out, nil
}

// rewrap calls transit/rewrap, passing associated_data for a server that
// takes it.
func (k *transitKEK) rewrap(ctx context.Context, ciphertext, associatedData []byte) ([]byte, error) {
	body := map[string]any{"ciphertext": string(ciphertext)}
	addAssociatedData(body, associatedData)
	secret, err := k.client.Logical().WriteWithContext(ctx, k.ref.path("rewrap"), body)
	if err != nil {
		return nil, k.fail(ctx, "rewrap", err)
	}
	out, err := ciphertextField(secret)
	if err != nil {
		return nil, k.fail(ctx, "rewrap", err)
	}
	return out, nil
}

// fallBack rewraps by decrypt and encrypt and, when that works where Transit's
// rewrap did not, remembers that Transit's rewrap loses associated data.
func (k *transitKEK) fallBack(ctx context.Context, ciphertext, associatedData []byte) ([]byte, error) {
	out, err := k.decryptEncrypt(ctx, ciphertext, associatedData)
	if err == nil {
		k.rewrapDropsAD.Store(true)
	}
	return out, err
}

// decryptEncrypt rewraps through this process: the plaintext is held only for
// the two calls and then cleared.
func (k *transitKEK) decryptEncrypt(ctx context.Context, ciphertext, associatedData []byte) ([]byte, error) {
	const op = "rewrap"
	pt, err := k.decrypt(ctx, ciphertext, associatedData)
	if err != nil {
		return nil, k.fail(ctx, op, err)
	}
	defer clear(pt)
	out, err := k.encrypt(ctx, pt, associatedData)
	if err != nil {
		return nil, k.fail(ctx, op, err)
	}
	return out, nil
}
