package keyring

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/tink-crypto/tink-go/v2/prf"
	"github.com/tink-crypto/tink-go/v2/tink"
)

// KeyStatus is the state of one key in a keyset.
type KeyStatus int

// Key states. A destroyed key's ID is remembered so that values under it
// fail with a precise error, but its key material is gone.
const (
	KeyUnknown   KeyStatus = iota // never in this keyset
	KeyEnabled                    // decrypts; encrypts if primary
	KeyDisabled                   // kept, but neither encrypts nor decrypts
	KeyDestroyed                  // key material deleted for good
)

func (s KeyStatus) String() string {
	switch s {
	case KeyEnabled:
		return "enabled"
	case KeyDisabled:
		return "disabled"
	case KeyDestroyed:
		return "destroyed"
	}
	return "unknown"
}

// DataKeys is an unwrapped "data" keyset, ready for field encryption. It is
// immutable and safe for concurrent use; the keyring replaces it when the
// stored keyset changes.
type DataKeys struct {
	// AEAD encrypts with the primary key and decrypts with any enabled key,
	// found by the key ID in the ciphertext's Tink prefix.
	AEAD      tink.AEAD
	PrimaryID uint32

	status      map[uint32]KeyStatus
	encryptions *atomic.Int64 // shared by every load of the same primary key
	primaryAt   time.Time     // when the primary key was created
}

// Status returns the state of a key in this keyset.
func (d *DataKeys) Status(keyID uint32) KeyStatus { return d.status[keyID] }

// CountEncryption records one encryption under the primary key, for the
// nonce budget (see [KeyInfo.Encryptions]).
func (d *DataKeys) CountEncryption() { d.encryptions.Add(1) }

// IndexKeys is an unwrapped "index" keyset: a Tink PRF set. It is immutable
// and safe for concurrent use.
type IndexKeys struct {
	// PrimaryID is the key that computes index values for writes.
	PrimaryID uint32
	// PRFs holds every enabled key, by key ID. Queries compute index values
	// under each, so lookups keep working during index-key rotation.
	PRFs map[uint32]prf.PRF

	status  map[uint32]KeyStatus
	derived sync.Map // memo for Derived
}

// Status returns the state of a key in this keyset.
func (ix *IndexKeys) Status(keyID uint32) KeyStatus { return ix.status[keyID] }

// Derived returns the value derive computes for key, computing it at most
// once per loaded keyset (concurrent first calls may both compute; one value
// wins). Callers use it to cache per-index subkeys, which change whenever the
// keyset does.
func (ix *IndexKeys) Derived(key any, derive func() (any, error)) (any, error) {
	if v, ok := ix.derived.Load(key); ok {
		return v, nil
	}
	v, err := derive()
	if err != nil {
		return nil, err
	}
	v, _ = ix.derived.LoadOrStore(key, v)
	return v, nil
}
