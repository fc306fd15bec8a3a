package keyring

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"

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
// for scope, creating the missing ones and authenticating the existing ones
// (one KMS call each). It is how a security team creates a
// tenant's keys ahead of first use (needed when DisableAutoCreate is set).
func (m *Manager) CreateKeysets(ctx context.Context, scope string, classes ...string) error {
	k := m.k
	for _, class := range classes {
		for _, p := range []Purpose{PurposeData, PurposeIndex} {
			id := KeysetID{Scope: scope, Class: class, Purpose: p}
			if err := id.Validate(); err != nil {
				return err
			}
			rec, err := k.cfg.Store.Get(ctx, id)
			switch {
			case errors.Is(err, ErrKeysetNotFound):
				if err = k.checkNotVanished(ctx, id, err); errors.Is(err, ErrKeysetNotFound) {
					_, err = k.create(ctx, id)
				}
			case err == nil:
				// An existing keyset counts only if it authenticates: a
				// planted or edited one is reported, not taken as created.
				var o *opened
				if o, err = k.open(ctx, rec); err == nil {
					if o.tombstone() {
						err = ErrScopeShredded
					} else {
						err = k.checkLiveScope(ctx, scope)
					}
				}
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

// modify applies change to the stored keyset id and writes it back, under
// the KEK that wraps it now, with its state version one higher and
// compare-and-swap, retrying when another process changed it meanwhile.
// It refuses (ErrKEKMismatch) a keyset whose KEK is not the one configured
// for its class: only Rewrap moves a keyset to another KEK. The local cache
// entry is dropped so this process sees the change at once; other
// processes see it within CacheTTL.
func (k *Keyring) modify(ctx context.Context, op string, id KeysetID, keyID uint32, change func(*keyset.Manager, *state) (uint32, error)) (uint32, error) {
	fail := func(err error, attrs ...any) (uint32, error) {
		err = &Error{Op: op, ID: id, KeyID: keyID, Err: err}
		k.audit(ctx, op, id, err, append([]any{"key_id", keyID}, attrs...)...)
		return 0, err
	}
	if err := id.Validate(); err != nil {
		return fail(err)
	}
	want, err := k.KEKURI(id.Class)
	if err != nil {
		return fail(err)
	}
	for range maxCASAttempts {
		rec, err := k.cfg.Store.Get(ctx, id)
		if errors.Is(err, ErrKeysetNotFound) {
			err = k.checkNotVanished(ctx, id, err)
		}
		if err != nil {
			return fail(err)
		}
		if rec.KEKURI != want {
			return fail(fmt.Errorf("%w: it is wrapped by %q, but the KEK configured for class %q is %q; run `fieldcrypt keys rewrap` to move it, or fix the configuration",
				ErrKEKMismatch, rec.KEKURI, id.Class, want), "from_kek", rec.KEKURI, "to_kek", want)
		}
		o, err := k.open(ctx, rec)
		if err != nil {
			return fail(err)
		}
		if o.tombstone() {
			return fail(ErrScopeShredded)
		}
		if err := k.checkLiveScope(ctx, id.Scope); err != nil {
			return fail(err)
		}
		next := o.state.next()
		m := keyset.NewManagerFromHandle(o.handle)
		changed, err := change(m, next)
		if err != nil {
			return fail(err)
		}
		newHandle, err := m.Handle()
		if err != nil {
			return fail(err)
		}
		sealed, err := k.seal(ctx, id, newHandle, next, rec.KEKURI)
		if err != nil {
			return fail(err)
		}
		prev := rec.Version
		sealed.Created, sealed.Updated = rec.Created, k.now().UTC()
		err = k.cfg.Store.Update(ctx, sealed, prev)
		if errors.Is(err, ErrVersionConflict) {
			continue
		}
		if err != nil {
			return fail(err)
		}
		k.cache.remove(id)
		k.observe(ctx, id, next.Version)
		k.audit(ctx, op, id, nil, "key_id", changed, "kek", sealed.KEKURI, "version", next.Version)
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
func (m *Manager) AddKey(ctx context.Context, id KeysetID) (uint32, error) {
	k := m.k
	return k.modify(ctx, "add key", id, 0, func(ks *keyset.Manager, meta *state) (uint32, error) {
		keyID, err := ks.Add(k.template(id.Purpose))
		if err != nil {
			return 0, err
		}
		meta.setCreated(keyID, k.now())
		return keyID, nil
	})
}

// PromoteKey makes keyID the primary key of the keyset id: new values are
// encrypted (or indexed) under it. Old values still decrypt by key ID.
func (m *Manager) PromoteKey(ctx context.Context, id KeysetID, keyID uint32) error {
	_, err := m.k.modify(ctx, "promote key", id, keyID, func(ks *keyset.Manager, _ *state) (uint32, error) {
		if err := keyExists(ks, keyID); err != nil {
			return 0, err
		}
		return keyID, ks.SetPrimary(keyID)
	})
	return err
}

// DisableKey disables keyID: values under it stop decrypting (with
// ErrKeyDisabled in package crypt) until EnableKey. The primary key cannot
// be disabled.
func (m *Manager) DisableKey(ctx context.Context, id KeysetID, keyID uint32) error {
	_, err := m.k.modify(ctx, "disable key", id, keyID, func(ks *keyset.Manager, _ *state) (uint32, error) {
		if err := keyExists(ks, keyID); err != nil {
			return 0, err
		}
		if isPrimary(ks, keyID) {
			return 0, ErrKeyIsPrimary
		}
		return keyID, ks.Disable(keyID)
	})
	return err
}

// EnableKey re-enables a disabled key.
func (m *Manager) EnableKey(ctx context.Context, id KeysetID, keyID uint32) error {
	_, err := m.k.modify(ctx, "enable key", id, keyID, func(ks *keyset.Manager, _ *state) (uint32, error) {
		if err := keyExists(ks, keyID); err != nil {
			return 0, err
		}
		return keyID, ks.Enable(keyID)
	})
	return err
}

// DestroyKey deletes keyID's key material for good: every value under it
// becomes permanently unreadable (ErrKeyDestroyed in package crypt), in
// every backup of the data. The primary key cannot be destroyed. Check with
// `fieldcrypt status` that no stored value still uses the key first.
func (m *Manager) DestroyKey(ctx context.Context, id KeysetID, keyID uint32) error {
	_, err := m.k.modify(ctx, "destroy key", id, keyID, func(ks *keyset.Manager, meta *state) (uint32, error) {
		if err := keyExists(ks, keyID); err != nil {
			return 0, err
		}
		if isPrimary(ks, keyID) {
			return 0, ErrKeyIsPrimary
		}
		if err := ks.Delete(keyID); err != nil {
			return 0, err
		}
		meta.markDestroyed(keyID)
		return keyID, nil
	})
	return err
}

// Shred destroys every keyset of scope: all of that tenant's encrypted
// values and blind indexes become permanently unreadable, in every backup of
// the data, while other scopes are untouched. Each keyset is replaced by a
// tombstone: a record with no keys whose state (shredded, and a version one
// higher) is authenticated under the class's KEK, one KMS call each. After
// it, every read and write of the scope fails with ErrScopeShredded and no
// keyset is created for it until Unshred. A scope with no keysets gets one
// tombstone, under the first class this keyring has a KEK for. A keyset
// it cannot shred (of a class this keyring has no KEK for, or whose KEK
// fails) does not stop it: every other keyset gets its tombstone, and the
// failures are returned together.
//
// Backups of the keyset store taken before the shred still hold the
// keysets; shredding is complete only once those expire. It returns how
// many keysets it shredded (tombstones already there are not counted).
func (m *Manager) Shred(ctx context.Context, scope string) (int, error) {
	k := m.k
	if err := validateName("scope", scope); err != nil {
		return 0, err
	}
	defer k.cache.removeScope(scope)
	// Mark the scope first, so that no keyset is created for it from now
	// on, even if a tombstone below fails to be written.
	if err := k.markScope(ctx, scope, true); err != nil {
		return 0, fmt.Errorf("keyring: shred %q: %w", scope, err)
	}
	n := 0
	done := make(map[KeysetID]bool) // tombstones made or found by this call
	// A keyset created concurrently with the first listing is caught by a
	// later one (and by create's own check after storing).
	for pass := 0; ; pass++ {
		recs, err := k.cfg.Store.List(ctx, scope)
		if err != nil {
			return n, fmt.Errorf("keyring: shred %q: %w", scope, err)
		}
		if len(recs) == 0 {
			id := KeysetID{Scope: scope, Class: k.someClass(), Purpose: PurposeData}
			if _, err := k.shredOne(ctx, id, nil); err != nil {
				return 0, err
			}
			done[id] = true
			continue
		}
		// A keyset that cannot be shredded (a row of a class this
		// keyring has no KEK for, planted to sort first) must not keep
		// the others from their tombstones: they are all tried, and
		// the failures reported together.
		live := 0
		var failed []error
		for _, rec := range recs {
			if done[rec.ID] {
				continue
			}
			done[rec.ID] = true
			shredded, err := k.shredOne(ctx, rec.ID, rec)
			if err != nil {
				failed = append(failed, err)
				continue
			}
			if shredded {
				n++
				live++
			}
		}
		hidden, err := k.shredHidden(ctx, scope, recs, done)
		n += hidden
		if err != nil {
			failed = append(failed, err)
		}
		if len(failed) > 0 {
			return n, errors.Join(failed...)
		}
		if live == 0 {
			return n, nil
		}
		if pass == maxCASAttempts {
			return n, fmt.Errorf("keyring: shred %q: %w: keysets kept appearing", scope, ErrVersionConflict)
		}
	}
}

// shredHidden gives a tombstone to every keyset of scope that this
// process or the anchor saw and that the store did not list: a store
// writer hid it from the shred. Its tombstone takes its place, so the
// keyset put back later is a rollback, caught as any other, and cannot
// outlive an Unshred. The keysets looked for are those of the classes this
// keyring has a KEK for, and with an [AnchorLister] every one the anchor
// recorded. It returns how many it found.
func (k *Keyring) shredHidden(ctx context.Context, scope string, listed []*Record, done map[KeysetID]bool) (int, error) {
	ids, err := k.scopeIDs(ctx, scope)
	if err != nil {
		return 0, fmt.Errorf("keyring: shred %q: %w", scope, err)
	}
	n := 0
	for _, id := range ids {
		if done[id] || listedID(listed, id) {
			continue
		}
		err := k.checkNotVanished(ctx, id, ErrKeysetNotFound)
		if errors.Is(err, ErrKeysetNotFound) {
			continue // never seen: the scope has no keyset of the class
		}
		if !errors.Is(err, ErrRollback) {
			return n, &Error{Op: "shred", ID: id, Err: err}
		}
		k.audit(ctx, "keyset missing at shred", id, &Error{Op: "shred", ID: id, Err: err})
		if _, kerr := k.KEKURI(id.Class); kerr != nil {
			// A class this keyring holds no KEK for (retired, or
			// another process's): no tombstone can be sealed for it
			// here. The keyset stays refused while the anchor marks
			// the scope shredded; the audit event above names it.
			continue
		}
		if _, err := k.shredOne(ctx, id, nil); err != nil {
			return n, err
		}
		done[id] = true
		n++
	}
	return n, nil
}

// scopeIDs returns the keysets of scope to look for beyond the store's
// listing: those of the classes this keyring holds a KEK for and, with an
// [AnchorLister], every one the anchor recorded.
func (k *Keyring) scopeIDs(ctx context.Context, scope string) ([]KeysetID, error) {
	ids := k.configuredIDs(scope)
	if l, ok := k.cfg.Anchor.(AnchorLister); ok {
		seen, err := l.Seen(ctx, scope)
		if err != nil {
			return nil, anchorUnavailable(err)
		}
		for _, id := range seen {
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	return ids, nil
}

func listedID(recs []*Record, id KeysetID) bool {
	return slices.ContainsFunc(recs, func(r *Record) bool { return r.ID == id })
}

// configuredIDs returns the data and index keysets of scope for every
// class this keyring holds a KEK for (DefaultClass with a DefaultKEK).
func (k *Keyring) configuredIDs(scope string) []KeysetID {
	classes := slices.Sorted(maps.Keys(k.cfg.KEKs))
	if k.cfg.DefaultKEK != "" && !slices.Contains(classes, DefaultClass) {
		classes = append(classes, DefaultClass)
	}
	var ids []KeysetID
	for _, class := range classes {
		for _, p := range []Purpose{PurposeData, PurposeIndex} {
			ids = append(ids, KeysetID{Scope: scope, Class: class, Purpose: p})
		}
	}
	return ids
}

// shredOne replaces the keyset id (stored as rec, nil when absent) with a
// tombstone under the class's configured KEK. It reports false for a
// keyset that already is a tombstone.
func (k *Keyring) shredOne(ctx context.Context, id KeysetID, rec *Record) (bool, error) {
	fail := func(err error) (bool, error) {
		err = &Error{Op: "shred", ID: id, Err: err}
		k.audit(ctx, "keyset shredded", id, err)
		return false, err
	}
	uri, err := k.KEKURI(id.Class)
	if err != nil {
		return fail(err)
	}
	for range maxCASAttempts {
		// The tombstone must be newer than anything seen, and than what
		// the stored record claims, authentic or not: a higher claim only
		// makes the tombstone newer, so a tampered record can neither
		// block its own shredding nor make the tombstone older than the
		// authentic keyset it replaces.
		version, err := k.highWater(ctx, id)
		if err != nil {
			return fail(err)
		}
		if rec != nil {
			if claimed, err := parseState(rec.Metadata); err == nil {
				version = max(version, claimed.Version)
			}
			if o, err := k.open(ctx, rec); err == nil {
				if o.tombstone() {
					// Already shredded (perhaps by a run that failed to
					// advance the anchor): record it again.
					k.versions.observeTombstone(id, o.state.Version)
					k.observe(ctx, id, o.state.Version)
					return false, nil
				}
			} else if errors.Is(err, ErrKEKUnavailable) || errors.Is(err, ErrNoAccess) {
				return fail(err)
			}
		}
		now := k.now().UTC()
		tomb := &state{Version: version + 1, Shredded: &now}
		sealed, err := k.seal(ctx, id, nil, tomb, uri)
		if err != nil {
			return fail(err)
		}
		sealed.Created, sealed.Updated = now, now
		if rec == nil {
			err = k.cfg.Store.Create(ctx, sealed)
		} else {
			sealed.Created = rec.Created
			err = k.cfg.Store.Update(ctx, sealed, rec.Version)
		}
		if errors.Is(err, ErrVersionConflict) || errors.Is(err, ErrKeysetExists) {
			if rec, err = k.cfg.Store.Get(ctx, id); err != nil {
				return fail(err)
			}
			continue
		}
		if err != nil {
			return fail(err)
		}
		k.versions.observeTombstone(id, tomb.Version)
		k.observe(ctx, id, tomb.Version)
		attrs := []any{"kek", uri, "version", tomb.Version}
		if rec != nil && rec.KEKURI != uri {
			attrs = append(attrs, "from_kek", rec.KEKURI, "to_kek", uri)
		}
		k.audit(ctx, "keyset shredded", id, nil, attrs...)
		return true, nil
	}
	return fail(fmt.Errorf("%w: gave up after %d attempts", ErrVersionConflict, maxCASAttempts))
}

// Unshred brings a shredded scope back: each tombstone is replaced by a
// new keyset with fresh keys (its state version continues from the
// tombstone's, so anchors stay monotonic). While the anchor marks the
// scope shredded, a keyset of it that is not a tombstone gets fresh keys
// too: every load refused it, so nothing uses it, and it may be one the
// shred missed (a pre-shred copy put back over a tombstone whose version
// the anchor did not record). For the same reason Unshred refuses
// (ErrRollback), and leaves the scope shredded, while a keyset of the
// scope that this keyring or the anchor saw is missing from the store:
// put back after the mark is cleared, it would serve its old keys. Shred
// again, with a KEK for its class, to give it a tombstone.
//
// The scope's old data stays unreadable for good (but for a keyset a store
// writer hid from the shred that no anchor recorded: docs/SECURITY.md);
// only new writes use the new keys. It is an explicit administrative act
// (`fieldcrypt keys unshred --yes`), audited per keyset. It returns how
// many keysets it created.
func (m *Manager) Unshred(ctx context.Context, scope string) (int, error) {
	k := m.k
	if err := validateName("scope", scope); err != nil {
		return 0, err
	}
	marked, err := k.anchorSaysShredded(ctx, scope)
	if err != nil {
		return 0, fmt.Errorf("keyring: unshred %q: %w", scope, err)
	}
	recs, err := k.cfg.Store.List(ctx, scope)
	if err != nil {
		return 0, fmt.Errorf("keyring: unshred %q: %w", scope, err)
	}
	if marked {
		if err := k.checkNoneMissing(ctx, scope, recs); err != nil {
			return 0, err
		}
	}
	defer k.cache.removeScope(scope)
	n := 0
	for _, rec := range recs {
		fail := func(err error) (int, error) {
			err = &Error{Op: "unshred", ID: rec.ID, Err: err}
			k.audit(ctx, "keyset unshredded", rec.ID, err)
			return n, err
		}
		o, err := k.open(ctx, rec)
		if err != nil {
			return fail(err)
		}
		if !o.tombstone() && !marked {
			continue
		}
		handle, err := keyset.NewHandle(k.template(rec.ID.Purpose))
		if err != nil {
			return fail(fmt.Errorf("generate keyset: %w", err))
		}
		primary, err := handle.Primary()
		if err != nil {
			return fail(err)
		}
		now := k.now().UTC()
		st := &state{Version: o.state.Version + 1}
		st.setCreated(primary.KeyID(), now)
		uri, err := k.KEKURI(rec.ID.Class)
		if err != nil {
			return fail(err)
		}
		sealed, err := k.seal(ctx, rec.ID, handle, st, uri)
		if err != nil {
			return fail(err)
		}
		sealed.Created, sealed.Updated = now, now
		if err := k.cfg.Store.Update(ctx, sealed, rec.Version); err != nil {
			return fail(err)
		}
		k.observe(ctx, rec.ID, st.Version)
		attrs := []any{"kek", uri, "key_id", primary.KeyID(), "version", st.Version}
		if !o.tombstone() {
			attrs = append(attrs, "replaced", "live keyset of a scope the anchor marks shredded")
		}
		k.audit(ctx, "keyset unshredded", rec.ID, nil, attrs...)
		n++
	}
	if err := k.markScope(ctx, scope, false); err != nil {
		return n, fmt.Errorf("keyring: unshred %q: %w", scope, err)
	}
	k.versions.forgetShred(scope)
	return n, nil
}

// checkNoneMissing fails with ErrRollback when a keyset of scope that
// this keyring or the anchor saw is missing from the store (listed in
// recs): a store writer removed it, and would put it back once Unshred
// cleared the scope's shred mark.
func (k *Keyring) checkNoneMissing(ctx context.Context, scope string, recs []*Record) error {
	ids, err := k.scopeIDs(ctx, scope)
	if err != nil {
		return fmt.Errorf("keyring: unshred %q: %w", scope, err)
	}
	for _, id := range ids {
		if listedID(recs, id) {
			continue
		}
		err := k.checkNotVanished(ctx, id, ErrKeysetNotFound)
		if errors.Is(err, ErrKeysetNotFound) {
			continue // never seen: the scope has no keyset of the class
		}
		if errors.Is(err, ErrRollback) {
			err = fmt.Errorf("%w; the scope stays shredded: run Shred again (with a KEK for class %q) to give it a tombstone, then Unshred", err, id.Class)
		}
		err = &Error{Op: "unshred", ID: id, Err: err}
		k.audit(ctx, "keyset unshredded", id, err)
		return err
	}
	return nil
}

// someClass returns a class this keyring holds a KEK for.
func (k *Keyring) someClass() string {
	if k.cfg.DefaultKEK != "" {
		return DefaultClass
	}
	return slices.Sorted(maps.Keys(k.cfg.KEKs))[0]
}
