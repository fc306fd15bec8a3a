package keyring

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/prf"
	tinkpb "github.com/tink-crypto/tink-go/v2/proto/tink_go_proto"
)

// template returns the key template for new keys of a purpose.
func (k *Keyring) template(p Purpose) *tinkpb.KeyTemplate {
	if p == PurposeIndex {
		return prf.HMACSHA256PRFKeyTemplate()
	}
	return k.cfg.DataKeyTemplate
}

// audit emits one structured audit event. It never logs key material.
func (k *Keyring) audit(ctx context.Context, what string, id KeysetID, err error, attrs ...any) {
	base := []any{
		slog.String("event", what),
		slog.String("scope", id.Scope),
		slog.String("class", id.Class),
		slog.String("purpose", string(id.Purpose)),
	}
	level := slog.LevelInfo
	if err != nil {
		level = slog.LevelError
		base = append(base, slog.String("outcome", "failed"), slog.String("error", err.Error()))
	} else {
		base = append(base, slog.String("outcome", "ok"))
	}
	k.log.Log(ctx, level, "fieldcrypt keyring: "+what, append(base, attrs...)...)
}

// CreateKeysets makes sure the data and index keysets of every class exist
// for scope, creating the missing ones. It is how a security team creates a
// tenant's keys ahead of first use (needed when DisableAutoCreate is set).
func (k *Keyring) CreateKeysets(ctx context.Context, scope string, classes ...string) error {
	for _, class := range classes {
		for _, p := range []Purpose{PurposeData, PurposeIndex} {
			id := KeysetID{Scope: scope, Class: class, Purpose: p}
			if err := id.Validate(); err != nil {
				return err
			}
			_, err := k.cfg.Store.Get(ctx, id)
			if errors.Is(err, ErrKeysetNotFound) {
				_, err = k.create(ctx, id)
			}
			if err != nil {
				return &Error{Op: "create", ID: id, Err: err}
			}
			k.cache.remove(id) // forget a failed lookup from before it existed
		}
	}
	return nil
}

// maxCASAttempts bounds retries of a keyset change that lost a race with
// another writer.
const maxCASAttempts = 5

// modify applies change to the stored keyset id, rewraps it under the
// class's current KEK and writes it back with compare-and-swap, retrying
// when another process changed it meanwhile. The local cache entry is
// dropped so this process sees the change at once; other processes see it
// within CacheTTL.
func (k *Keyring) modify(ctx context.Context, op string, id KeysetID, keyID uint32, change func(*keyset.Manager, *metadata) (uint32, error)) (uint32, error) {
	fail := func(err error) (uint32, error) {
		err = &Error{Op: op, ID: id, KeyID: keyID, Err: err}
		k.audit(ctx, op, id, err, "key_id", keyID)
		return 0, err
	}
	if err := id.Validate(); err != nil {
		return fail(err)
	}
	for range maxCASAttempts {
		rec, err := k.cfg.Store.Get(ctx, id)
		if err != nil {
			return fail(err)
		}
		handle, err := k.unwrap(ctx, rec)
		if err != nil {
			return fail(err)
		}
		meta, err := parseMetadata(rec.Metadata)
		if err != nil {
			return fail(err)
		}
		m := keyset.NewManagerFromHandle(handle)
		changed, err := change(m, meta)
		if err != nil {
			return fail(err)
		}
		newHandle, err := m.Handle()
		if err != nil {
			return fail(err)
		}
		wrapped, uri, err := k.wrap(ctx, id, newHandle)
		if err != nil {
			return fail(err)
		}
		mb, err := meta.marshal()
		if err != nil {
			return fail(err)
		}
		prev := rec.Version
		rec.EncryptedKeyset, rec.KEKURI, rec.Metadata, rec.Updated = wrapped, uri, mb, k.now().UTC()
		err = k.cfg.Store.Update(ctx, rec, prev)
		if errors.Is(err, ErrVersionConflict) {
			continue
		}
		if err != nil {
			return fail(err)
		}
		k.cache.remove(id)
		k.audit(ctx, op, id, nil, "key_id", changed, "kek", uri, "version", rec.Version)
		return changed, nil
	}
	return fail(fmt.Errorf("%w: gave up after %d attempts", ErrVersionConflict, maxCASAttempts))
}

// keyExists fails with ErrUnknownKey unless keyID is in m's keyset.
func keyExists(m *keyset.Manager, keyID uint32) error {
	h, err := m.Handle()
	if err != nil {
		return err
	}
	for i := range h.Len() {
		if e, err := h.Entry(i); err == nil && e.KeyID() == keyID {
			return nil
		}
	}
	return ErrUnknownKey
}

func isPrimary(m *keyset.Manager, keyID uint32) bool {
	h, err := m.Handle()
	if err != nil {
		return false
	}
	p, err := h.Primary()
	return err == nil && p.KeyID() == keyID
}

// AddKey adds a new key to the keyset id, enabled but not primary, and
// returns its ID. This is phase one of a fleet-safe rotation: once every
// instance has reloaded the keyset (wait longer than CacheTTL), promote the
// key with PromoteKey. Until then instances can already decrypt under it.
func (k *Keyring) AddKey(ctx context.Context, id KeysetID) (uint32, error) {
	return k.modify(ctx, "add key", id, 0, func(m *keyset.Manager, meta *metadata) (uint32, error) {
		keyID, err := m.Add(k.template(id.Purpose))
		if err != nil {
			return 0, err
		}
		meta.setCreated(keyID, k.now())
		return keyID, nil
	})
}

// PromoteKey makes keyID the primary key of the keyset id: new values are
// encrypted (or indexed) under it. Old values still decrypt by key ID.
func (k *Keyring) PromoteKey(ctx context.Context, id KeysetID, keyID uint32) error {
	_, err := k.modify(ctx, "promote key", id, keyID, func(m *keyset.Manager, _ *metadata) (uint32, error) {
		if err := keyExists(m, keyID); err != nil {
			return 0, err
		}
		return keyID, m.SetPrimary(keyID)
	})
	return err
}

// DisableKey disables keyID: values under it stop decrypting (with
// ErrKeyDisabled in package crypt) until EnableKey. The primary key cannot
// be disabled.
func (k *Keyring) DisableKey(ctx context.Context, id KeysetID, keyID uint32) error {
	_, err := k.modify(ctx, "disable key", id, keyID, func(m *keyset.Manager, _ *metadata) (uint32, error) {
		if err := keyExists(m, keyID); err != nil {
			return 0, err
		}
		if isPrimary(m, keyID) {
			return 0, ErrKeyIsPrimary
		}
		return keyID, m.Disable(keyID)
	})
	return err
}

// EnableKey re-enables a disabled key.
func (k *Keyring) EnableKey(ctx context.Context, id KeysetID, keyID uint32) error {
	_, err := k.modify(ctx, "enable key", id, keyID, func(m *keyset.Manager, _ *metadata) (uint32, error) {
		if err := keyExists(m, keyID); err != nil {
			return 0, err
		}
		return keyID, m.Enable(keyID)
	})
	return err
}

// DestroyKey deletes keyID's key material for good: every value under it
// becomes permanently unreadable (ErrKeyDestroyed in package crypt), in
// every backup of the data. The primary key cannot be destroyed. Check with
// `fieldcrypt status` that no stored value still uses the key first.
func (k *Keyring) DestroyKey(ctx context.Context, id KeysetID, keyID uint32) error {
	_, err := k.modify(ctx, "destroy key", id, keyID, func(m *keyset.Manager, meta *metadata) (uint32, error) {
		if err := keyExists(m, keyID); err != nil {
			return 0, err
		}
		if isPrimary(m, keyID) {
			return 0, ErrKeyIsPrimary
		}
		if err := m.Delete(keyID); err != nil {
			return 0, err
		}
		meta.markDestroyed(keyID)
		return keyID, nil
	})
	return err
}

// Shred destroys every keyset of scope: all of that tenant's encrypted
// values and blind indexes become permanently unreadable, in every backup of
// the data, while other scopes are untouched. Backups of the keyset store
// taken before the shred still hold the keysets; shredding is complete only
// once those expire.
func (k *Keyring) Shred(ctx context.Context, scope string) (int, error) {
	if err := validateName("scope", scope); err != nil {
		return 0, err
	}
	recs, err := k.cfg.Store.List(ctx, scope)
	if err != nil {
		return 0, fmt.Errorf("keyring: shred %q: %w", scope, err)
	}
	n := 0
	for _, rec := range recs {
		err := k.cfg.Store.Delete(ctx, rec.ID)
		k.audit(ctx, "keyset shredded", rec.ID, err, "kek", rec.KEKURI)
		if err != nil && !errors.Is(err, ErrKeysetNotFound) {
			k.cache.removeScope(scope)
			return n, &Error{Op: "shred", ID: rec.ID, Err: err}
		}
		n++
	}
	k.cache.removeScope(scope)
	return n, nil
}
