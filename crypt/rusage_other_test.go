//go:build !unix

package crypt_test

// minorFaults cannot read the count on this system.
func minorFaults() int64 { return -1 }
