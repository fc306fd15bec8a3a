package sqlstore_test

import (
	"crypto/rand"
	"encoding/hex"
)

// randomName returns a fresh lower-case identifier for a test's own schema
// or database.
func randomName() string {
	b := make([]byte, 8)
	rand.Read(b)
	return "fieldcrypt_test_" + hex.EncodeToString(b)
}
