//go:build unix

package crypt_test

import "syscall"

// minorFaults returns the process's minor page faults so far (a page the
// kernel maps on first touch), or -1 where the count cannot be read.
func minorFaults() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return -1
	}
	return int64(ru.Minflt)
}
