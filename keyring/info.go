package keyring

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	tinkpb "github.com/tink-crypto/tink-go/v2/proto/tink_go_proto"
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

// Keys lists the keys of the keyset id from its authenticated state only:
// key IDs, statuses and the primary come from the unwrapped keyset, and
// creation times and destroyed IDs from the state document the KEK
// authenticates. It therefore makes one KMS call and needs the class's KEK;
// a store writer cannot make it lie (an edited record fails with
// ErrIntegrity or ErrCorruptKeyset, a rolled-back one with ErrRollback, a
// shredded one with ErrScopeShredded). Destroyed keys are listed with
// status KeyDestroyed. Keys are sorted by creation time, then ID.
func (m *Manager) Keys(ctx context.Context, id KeysetID) ([]KeyInfo, error) {
	k := m.k
	fail := func(err error) ([]KeyInfo, error) { return nil, &Error{Op: "list keys", ID: id, Err: err} }
	rec, err := k.cfg.Store.Get(ctx, id)
	if errors.Is(err, ErrKeysetNotFound) {
		err = k.checkNotVanished(ctx, id, err)
	}
	if err != nil {
		return fail(err)
	}
	o, err := k.open(ctx, rec)
	if err != nil {
		return fail(err)
	}
	k.observe(ctx, id, o.state.Version)
	if o.tombstone() {
		return fail(ErrScopeShredded)
	}
	if err := k.checkLiveScope(ctx, id.Scope); err != nil {
		return fail(err)
	}
	info := o.handle.KeysetInfo()
	out := make([]KeyInfo, 0, len(info.GetKeyInfo())+len(o.state.Destroyed))
	for _, ki := range info.GetKeyInfo() {
		status := KeyDisabled
		if ki.GetStatus() == tinkpb.KeyStatusType_ENABLED {
			status = KeyEnabled
		}
		keyID := ki.GetKeyId()
		out = append(out, KeyInfo{
			ID:          keyID,
			Status:      status,
			Primary:     keyID == info.GetPrimaryKeyId(),
			Created:     o.state.created(keyID),
			Encryptions: k.usageCounter(id, keyID).Load(),
		})
	}
	for _, keyID := range o.state.Destroyed {
		out = append(out, KeyInfo{ID: keyID, Status: KeyDestroyed, Created: o.state.created(keyID)})
	}
	slices.SortFunc(out, func(a, b KeyInfo) int {
		return cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}
