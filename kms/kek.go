package kms

import "github.com/tink-crypto/tink-go/v2/tink"

// KEK is a key-encryption key held by a key-management system. It is Tink's
// [tink.AEADWithContext]: any Tink remote AEAD is a KEK, and every fieldcrypt
// backend is a Tink AEAD.
//
// Implementations must be safe for concurrent use, must honour ctx (a
// cancelled context returns promptly), must bind associatedData so that a
// ciphertext does not decrypt under different associated data, and must
// return errors of type [*Error]. Plaintexts handed to a KEK are never empty.
type KEK interface {
	tink.AEADWithContext
}
