package keyring

import (
	"context"
	"fmt"
	"slices"
	"time"

	tinkpb "github.com/tink-crypto/tink-go/v2/proto/tink_go_proto"
	"google.golang.org/protobuf/proto"
)

// NonceBudget is the number of encryptions one AES-GCM key may perform with
// random 96-bit nonces before the chance of a nonce collision passes 2^-32
// (NIST SP 800-38D, section 8.3). Rotate data keys well before it: see
// [KeyInfo.Encryptions] and [KeyInfo.Created].
const NonceBudget = 1 << 32

// KeyInfo describes one key of a keyset. It holds no key material.
type KeyInfo struct {
	ID      uint32
	Status  KeyStatus
	Primary bool
	// Created is when the key was added (zero if unknown).
	Created time.Time
	// Encryptions counts the values this process encrypted under the key
	// since it started. Summed over a fleet and over time it must stay far
	// below NonceBudget; the age (Created) is the fleet-wide bound to watch.
	Encryptions int64
}

// Keys lists the keys of the keyset id from the store's cleartext keyset
// info: it makes no KMS call, so it works for a process without access to
// the class. Destroyed keys are listed with status KeyDestroyed.
func (k *Keyring) Keys(ctx context.Context, id KeysetID) ([]KeyInfo, error) {
	rec, err := k.cfg.Store.Get(ctx, id)
	if err != nil {
		return nil, &Error{Op: "list keys", ID: id, Err: err}
	}
	return k.keyInfos(rec)
}

func (k *Keyring) keyInfos(rec *Record) ([]KeyInfo, error) {
	var eks tinkpb.EncryptedKeyset
	if err := proto.Unmarshal(rec.EncryptedKeyset, &eks); err != nil {
		return nil, &Error{Op: "list keys", ID: rec.ID, Err: fmt.Errorf("%w: %w", ErrCorruptKeyset, err)}
	}
	meta, err := parseMetadata(rec.Metadata)
	if err != nil {
		return nil, &Error{Op: "list keys", ID: rec.ID, Err: err}
	}
	info := eks.GetKeysetInfo()
	var out []KeyInfo
	for _, ki := range info.GetKeyInfo() {
		status := KeyDisabled
		if ki.GetStatus() == tinkpb.KeyStatusType_ENABLED {
			status = KeyEnabled
		}
		id := ki.GetKeyId()
		out = append(out, KeyInfo{
			ID:          id,
			Status:      status,
			Primary:     id == info.GetPrimaryKeyId(),
			Created:     meta.created(id),
			Encryptions: k.usageCounter(rec.ID, id).Load(),
		})
	}
	for _, id := range meta.Destroyed {
		out = append(out, KeyInfo{ID: id, Status: KeyDestroyed, Created: meta.created(id)})
	}
	slices.SortFunc(out, func(a, b KeyInfo) int { return a.Created.Compare(b.Created) })
	return out, nil
}
