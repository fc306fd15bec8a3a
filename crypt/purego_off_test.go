//go:build !fieldcrypt_purego

package crypt_test

// The default build aliases strings and byte slices instead of copying
// them, so it allocates what the same calls by hand allocate.
const encryptCopies, decryptCopies = 0, 0
