package keyring

import (
	"context"
	"errors"
	"fmt"

	tinkpb "github.com/tink-crypto/tink-go/v2/proto/tink_go_proto"
	"google.golang.org/protobuf/proto"
)

// RewrapReport says what Rewrap did.
type RewrapReport struct {
	Rewrapped []KeysetID // keysets now wrapped by their class's current KEK
	KMSCalls  int64      // KMS calls made
}

// Rewrap re-encrypts every stored keyset of scope (every scope when scope
// is "") under its class's current KEK: the KEK URI in Config.KEKs or
// DefaultKEK, at its newest version. No data row is touched.
//
//   - KEK-version rotation (the same URI, a new key version in the KMS): one
//     KMS call per keyset when the KEK can rewrap in place
//     (kms.Keeper.Rewrap: Vault Transit, AWS KMS); otherwise an unwrap and
//     a wrap.
//   - A move to another KEK: list the old URI in Config.AcceptKEKs so the
//     keyring may unwrap with it, set the class's new URI in Config.KEKs,
//     and run Rewrap; each keyset is unwrapped with the old KEK and wrapped
//     with the new one.
//
// Each keyset is written with compare-and-swap, so Rewrap can run while
// applications use the keyring; it stops at the first failure, and running
// it again finishes the job.
func (m *Manager) Rewrap(ctx context.Context, scope string) (rep RewrapReport, err error) {
	k := m.k
	start := k.kmsCalls()
	defer func() { rep.KMSCalls = k.kmsCalls() - start }()
	recs, err := k.cfg.Store.List(ctx, scope)
	if err != nil {
		return rep, fmt.Errorf("keyring: rewrap: %w", err)
	}
	for _, rec := range recs {
		if err := k.rewrapOne(ctx, rec); err != nil {
			return rep, err
		}
		rep.Rewrapped = append(rep.Rewrapped, rec.ID)
	}
	return rep, nil
}

func (k *Keyring) rewrapOne(ctx context.Context, rec *Record) error {
	id := rec.ID
	fail := func(err error) error {
		err = &Error{Op: "rewrap", ID: id, Err: err}
		k.audit(ctx, "keyset rewrapped", id, err, "from_kek", rec.KEKURI)
		return err
	}
	target, err := k.KEKURI(id.Class)
	if err != nil {
		return fail(err)
	}
	for range maxCASAttempts {
		// A keyset wrapped by a KEK not trusted for its class, edited or
		// rolled back is never made permanent by rewrapping it. An in-place
		// rewrap decrypts under the same associated data, so it succeeds
		// only if the state document is the authentic one; the version is
		// checked on it first. Otherwise the keyset is opened (unwrapped
		// and authenticated) and sealed under the target KEK.
		st, err := k.checkBeforeRewrap(ctx, rec)
		if err != nil {
			return fail(err)
		}
		var wrapped []byte
		if rec.KEKURI == target {
			wrapped, err = k.rewrapInPlace(ctx, rec)
		} else {
			err = errNoInPlaceRewrap
		}
		if errors.Is(err, errNoInPlaceRewrap) {
			var o *opened
			if o, err = k.open(ctx, rec); err == nil {
				var sealed *Record
				// The state document is kept byte for byte: rewrapping
				// changes the KEK, not the keyset's state.
				if sealed, err = k.sealState(ctx, id, o.handle, rec.Metadata, target); err == nil {
					wrapped = sealed.EncryptedKeyset
				}
			}
		}
		if err != nil {
			return fail(err)
		}
		from, prev := rec.KEKURI, rec.Version
		next := *rec
		next.EncryptedKeyset, next.KEKURI, next.Updated = wrapped, target, k.now().UTC()
		err = k.cfg.Store.Update(ctx, &next, prev)
		if errors.Is(err, ErrVersionConflict) {
			if rec, err = k.cfg.Store.Get(ctx, id); err != nil {
				return fail(err)
			}
			continue
		}
		if err != nil {
			return fail(err)
		}
		k.cache.remove(id)
		attrs := []any{"kek", target, "version", st.Version}
		if from != target {
			attrs = append(attrs, "from_kek", from, "to_kek", target)
		}
		k.audit(ctx, "keyset rewrapped", id, nil, attrs...)
		return nil
	}
	return fail(fmt.Errorf("%w: gave up after %d attempts", ErrVersionConflict, maxCASAttempts))
}

var errNoInPlaceRewrap = errors.New("KEK cannot rewrap in place")

// checkBeforeRewrap makes the checks that need no KMS call: the KEK is
// trusted for the class, the state document parses and is not older than
// one seen. The KEK authenticates the state during the rewrap itself.
func (k *Keyring) checkBeforeRewrap(ctx context.Context, rec *Record) (*state, error) {
	if err := k.checkKEKAllowed(rec); err != nil {
		return nil, err
	}
	st, err := parseState(rec.Metadata)
	if err != nil {
		return nil, err
	}
	if err := k.checkFresh(ctx, rec.ID, st.Version); err != nil {
		return nil, err
	}
	return st, nil
}

// rewrapInPlace asks the KEK to move the wrapped keyset to its newest key
// version (kms.Keeper.Rewrap): one KMS call, no plaintext out of the KMS. A
// KEK whose system has no such call is errNoInPlaceRewrap, without a call.
func (k *Keyring) rewrapInPlace(ctx context.Context, rec *Record) ([]byte, error) {
	kek, err := k.kek(ctx, rec.KEKURI)
	if err != nil {
		return nil, classifyKEKError(rec.ID.Class, err)
	}
	var eks tinkpb.EncryptedKeyset
	if err := proto.Unmarshal(rec.EncryptedKeyset, &eks); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorruptKeyset, err)
	}
	ct, err := kek.Rewrap(ctx, eks.GetEncryptedKeyset(), WrapAssociatedData(rec.ID, rec.Metadata))
	if errors.Is(err, errors.ErrUnsupported) {
		return nil, errNoInPlaceRewrap
	}
	if err != nil {
		return nil, classifyKEKError(rec.ID.Class, err)
	}
	eks.EncryptedKeyset = ct
	return proto.Marshal(&eks)
}
