package awskms

import "encoding/base64"

// EncryptionContextKey is the one key of the EncryptionContext that carries
// a KEK call's associated data.
const EncryptionContextKey = "fieldcrypt-aad"

// EncryptionContext returns the AWS KMS encryption context that carries
// associatedData: nil when associatedData is empty (nil and empty are the
// same associated data), and otherwise a map with the single key
// [EncryptionContextKey] whose value is the unpadded base64url encoding
// (RFC 4648 §5, no '=') of the bytes.
//
// The mapping is one-to-one, so a ciphertext decrypts only with the exact
// associated data it was made with. An independent implementation that passes
// the same map to AWS KMS Decrypt unwraps what this package wraps.
//
// AWS records the encryption context in CloudTrail in the clear: associated
// data is authenticated, not secret.
func EncryptionContext(associatedData []byte) map[string]string {
	if len(associatedData) == 0 {
		return nil
	}
	return map[string]string{EncryptionContextKey: base64.RawURLEncoding.EncodeToString(associatedData)}
}
