package keyring

import (
	"errors"
	"sync"
)

// closer makes Close run once.
type closer struct {
	once sync.Once
	err  error
}

// Close closes the KEKs the keyring opened through Config.Opener (a Cloud
// KMS KEK opened with a client of its own closes its gRPC connection),
// stops reporting the keyring's metrics and stops the ticker of its cache
// clock. Call it when a keyring is dropped while the program goes on.
//
// Close is final: no KEK is opened again, so every keyset load, key
// operation, rewrap, export or import that needs a KEK fails afterwards,
// with ErrClosed or, for a KEK already closed, kms.ErrClosed. Calling it
// again does nothing and returns the first call's result.
//
// The keyring closes only what it opened: an OpenFunc returns a new
// kms.Keeper on every Open, and a client that the caller handed to a backend
// (gcpkms.Options.Client, a vault.Conn) stays the caller's to close.
func (k *Keyring) Close() error {
	k.close.once.Do(func() {
		if k.coarse != nil {
			k.coarse.halt()
		}
		k.close.err = errors.Join(k.closeKEKs(), k.stopMetrics())
	})
	return k.close.err
}
