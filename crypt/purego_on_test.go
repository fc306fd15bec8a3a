//go:build fieldcrypt_purego

package crypt_test

// The fieldcrypt_purego build copies what the default build aliases: per
// encrypted text field, the plaintext handed to Tink and the encoded value
// on Encrypt, and the plaintext on Decrypt.
const encryptCopies, decryptCopies = 2, 1
