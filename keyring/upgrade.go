package keyring

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tink-crypto/tink-go/v2/keyset"
)

// legacyWrapLabel starts the associated data of keysets wrapped before the
// state was authenticated (docs/FORMAT.md section 10).
const legacyWrapLabel = "fieldcrypt keyset v1"

// legacyMetadata is the unauthenticated metadata of a version 1 record.
type legacyMetadata struct {
	Created   map[string]time.Time `json:"created,omitempty"`
	Destroyed []uint32             `json:"destroyed,omitempty"`
}

// UpgradeLegacy rewrites every version 1 keyset record of scope (every
// scope when scope is "") in the current format: the keyset is unwrapped
// under the version 1 associated data with the KEK it names (which must be
// trusted for its class), and sealed again, under the same KEK, with an
// authenticated state document at version 1 that carries the old
// metadata's creation times and destroyed IDs. Records already in the
// current format are left alone. It is one unwrap and one wrap per
// keyset, and it returns how many it upgraded.
//
// The old metadata was never authenticated, so an upgrade trusts it as the
// version 1 keyring did: run it once, from a trusted host, right after
// deploying this version. Statuses and the primary come from the
// encrypted keyset and were always authenticated.
func (m *Manager) UpgradeLegacy(ctx context.Context, scope string) (int, error) {
	k := m.k
	recs, err := k.cfg.Store.List(ctx, scope)
	if err != nil {
		return 0, fmt.Errorf("keyring: upgrade: %w", err)
	}
	n := 0
	for _, rec := range recs {
		if _, err := parseState(rec.Metadata); err == nil {
			continue
		}
		if err := k.upgradeOne(ctx, rec); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

func (k *Keyring) upgradeOne(ctx context.Context, rec *Record) error {
	fail := func(err error) error {
		err = &Error{Op: "upgrade", ID: rec.ID, Err: err}
		k.audit(ctx, "keyset upgraded", rec.ID, err, "kek", rec.KEKURI)
		return err
	}
	if err := k.checkKEKAllowed(rec); err != nil {
		return fail(err)
	}
	// A keyset that was ever seen in the current format is never taken
	// back to a legacy one: that is a rollback.
	if hw, err := k.highWater(ctx, rec.ID); err != nil {
		return fail(err)
	} else if hw > 0 {
		return fail(fmt.Errorf("%w: a version 1 record replaced a keyset seen at state version %d", ErrRollback, hw))
	}
	var old legacyMetadata
	if len(rec.Metadata) > 0 {
		if err := json.Unmarshal(rec.Metadata, &old); err != nil {
			return fail(fmt.Errorf("%w: version 1 metadata does not parse: %w", ErrIntegrity, err))
		}
	}
	kek, err := k.kek(ctx, rec.KEKURI)
	if err != nil {
		return fail(classifyKEKError(rec.ID.Class, err))
	}
	capture := &errorCapturingKEK{kek: kek}
	handle, err := keyset.ReadWithContext(ctx, keyset.NewBinaryReader(bytes.NewReader(rec.EncryptedKeyset)), capture, legacyAssociatedData(rec.ID))
	if err != nil {
		if capture.err != nil {
			return fail(classifyKEKError(rec.ID.Class, capture.err))
		}
		return fail(fmt.Errorf("%w: %w", ErrCorruptKeyset, err))
	}
	st := &state{Version: 1, Created: old.Created, Destroyed: old.Destroyed}
	sealed, err := k.seal(ctx, rec.ID, handle, st, rec.KEKURI)
	if err != nil {
		return fail(err)
	}
	sealed.Created, sealed.Updated = rec.Created, k.now().UTC()
	if err := k.cfg.Store.Update(ctx, sealed, rec.Version); err != nil {
		if errors.Is(err, ErrVersionConflict) {
			err = fmt.Errorf("%w: run the upgrade again", err)
		}
		return fail(err)
	}
	k.observe(ctx, rec.ID, st.Version)
	k.cache.remove(rec.ID)
	k.audit(ctx, "keyset upgraded", rec.ID, nil, "kek", rec.KEKURI, "version", st.Version)
	return nil
}

// legacyAssociatedData is the version 1 wrap associated data:
// lp("fieldcrypt keyset v1") || lp(scope) || lp(class) || lp(purpose).
func legacyAssociatedData(id KeysetID) []byte {
	var b []byte
	for _, p := range [...]string{legacyWrapLabel, id.Scope, id.Class, string(id.Purpose)} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(p)))
		b = append(b, p...)
	}
	return b
}
