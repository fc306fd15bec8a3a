package keyring

import (
	"cmp"
	"fmt"
	"math"
	"slices"
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

// DataKeys is an unwrapped "data" keyset, ready for field encryption: an
// opaque handle whose keys never leave it. It is immutable and safe for
// concurrent use. The keyring replaces it when the stored keyset changes or
// its cache entry is reloaded: hold one for a call or a batch, then ask the
// keyring again, so that rotations are seen.
type DataKeys struct {
	aead        tink.AEAD // encrypts with the primary; decrypts with any enabled key
	primary     uint32
	status      map[uint32]KeyStatus
	encryptions *atomic.Int64 // shared by every load of the same primary key
	primaryAt   time.Time     // when the primary key was created
}

// Encrypt encrypts plaintext with the primary key, bound to associatedData,
// and counts the encryption against the key's nonce budget (see
// [KeyInfo.Encryptions]). The result is a Tink ciphertext: 0x01, the
// primary's key ID (4 bytes, big-endian), then the AEAD output.
func (d *DataKeys) Encrypt(plaintext, associatedData []byte) ([]byte, error) {
	ct, err := d.aead.Encrypt(plaintext, associatedData)
	if err == nil {
		d.encryptions.Add(1)
	}
	return ct, err
}

// Decrypt decrypts a ciphertext from [DataKeys.Encrypt] with the enabled key
// its Tink prefix names. Every failure (a key that is not enabled, a wrong
// associatedData, a tampered ciphertext) is one opaque error; use
// [DataKeys.Status] with the key ID to tell a missing key from the rest.
func (d *DataKeys) Decrypt(ciphertext, associatedData []byte) ([]byte, error) {
	return d.aead.Decrypt(ciphertext, associatedData)
}

// PrimaryID returns the ID of the key that [DataKeys.Encrypt] uses.
func (d *DataKeys) PrimaryID() uint32 { return d.primary }

// Status returns the state of a key in this keyset.
func (d *DataKeys) Status(keyID uint32) KeyStatus { return d.status[keyID] }

// IndexKeys is an unwrapped "index" keyset, a set of PRF keys that compute
// blind indexes: an opaque handle whose keys never leave it. It is
// immutable and safe for concurrent use; the keyring replaces it when the
// stored keyset changes or its cache entry is reloaded.
type IndexKeys struct {
	primary uint32
	ids     []uint32           // the enabled keys: primary first, then ascending
	prfs    map[uint32]prf.PRF // the enabled keys, by ID
	status  map[uint32]KeyStatus
}

func newIndexKeys(set *prf.Set, status map[uint32]KeyStatus) *IndexKeys {
	ids := make([]uint32, 0, len(set.PRFs))
	for id := range set.PRFs {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b uint32) int {
		switch set.PrimaryID {
		case a:
			return -1
		case b:
			return 1
		}
		return cmp.Compare(a, b)
	})
	return &IndexKeys{primary: set.PrimaryID, ids: ids, prfs: set.PRFs, status: status}
}

// PrimaryID returns the ID of the key that computes index values for
// writes.
func (ix *IndexKeys) PrimaryID() uint32 { return ix.primary }

// Status returns the state of a key in this keyset.
func (ix *IndexKeys) Status(keyID uint32) KeyStatus { return ix.status[keyID] }

// KeyIDs returns the IDs of the enabled keys, the primary first, then in
// ascending order. Queries compute index values under each, so lookups keep
// working during an index-key rotation. The slice is the caller's.
func (ix *IndexKeys) KeyIDs() []uint32 { return slices.Clone(ix.ids) }

// Compute returns outLen bytes of the PRF of the enabled key keyID on input
// (for the keyring's HMAC-SHA-256 keys, HMAC-SHA-256(key, input) truncated,
// at most 32 bytes). It fails with [ErrUnknownKey] unless keyID is one of
// [IndexKeys.KeyIDs]. Each call costs a keyed hash: derive subkeys from it
// once per loaded keyset rather than once per value.
func (ix *IndexKeys) Compute(keyID uint32, input []byte, outLen int) ([]byte, error) {
	p, ok := ix.prfs[keyID]
	if !ok {
		return nil, fmt.Errorf("%w: index key %d is not enabled (%v)", ErrUnknownKey, keyID, ix.status[keyID])
	}
	if outLen < 0 || uint64(outLen) > math.MaxUint32 {
		return nil, fmt.Errorf("keyring: PRF output length %d out of range", outLen)
	}
	return p.ComputePRF(input, uint32(outLen))
}
