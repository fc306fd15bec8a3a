package crypt

import "unsafe"

// bytesToString returns b as a string without copying. The caller must not
// modify b afterwards; every caller passes a buffer it just filled and drops.
func bytesToString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// stringToBytes returns the bytes of s without copying. The caller must
// only read them; every caller hands them to a function that does not
// modify or retain its input (Tink's Encrypt, HMAC).
func stringToBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}
