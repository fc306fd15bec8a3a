package kms

import "context"

// Rewrapper is implemented by KEKs that can move a ciphertext to their
// newest key version in one call, without the plaintext leaving the KMS
// (Vault Transit's rewrap). The keyring uses it for KEK-version rotation:
// one KMS call per keyset.
type Rewrapper interface {
	Rewrap(ctx context.Context, ciphertext, associatedData []byte) ([]byte, error)
}
