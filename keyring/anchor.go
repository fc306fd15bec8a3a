package keyring

import (
	"context"
	"fmt"
	"slices"
	"sync"
)

// An Anchor records the latest state version of every keyset somewhere a
// writer of the keyset store cannot reach: a second database, Vault KV.
// With one, a keyset rolled back or deleted in the store is caught across
// restarts and by freshly started instances, not only by a process that saw
// the newer version (see docs/SECURITY.md). The keyring reads the anchor
// on every keyset load (a cache miss) and advances it after every write.
//
// Implementations must be safe for concurrent use. keyring/sqlstore has an
// anchor in a SQL table; [MemoryAnchor] is for tests.
type Anchor interface {
	// Latest returns the highest version recorded for id, or 0 when none
	// is.
	Latest(ctx context.Context, id KeysetID) (uint64, error)

	// Advance records that id has reached version. It never lowers a
	// recorded version: advancing to a lower one is a no-op, so concurrent
	// writers and a lagging reader cannot move the anchor back.
	Advance(ctx context.Context, id KeysetID, version uint64) error
}

// An AnchorLister is an [Anchor] that can also list the keysets of a scope
// it holds a version for. With one, Shred finds every keyset of the scope
// that a store writer hid from the store's listing, whatever its class,
// and gives it a tombstone. sqlstore.Anchor and [MemoryAnchor] are
// AnchorListers.
type AnchorLister interface {
	Anchor
	// Seen returns the data and index keysets of scope that have a
	// recorded version.
	Seen(ctx context.Context, scope string) ([]KeysetID, error)
}

// MemoryAnchor is an [Anchor] in memory, for tests. The zero value is
// ready to use.
type MemoryAnchor struct {
	mu       sync.Mutex
	versions map[KeysetID]uint64
}

var _ AnchorLister = (*MemoryAnchor)(nil)

// Seen implements [AnchorLister].
func (a *MemoryAnchor) Seen(_ context.Context, scope string) ([]KeysetID, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var ids []KeysetID
	for id := range a.versions {
		if id.Scope == scope && (id.Purpose == PurposeData || id.Purpose == PurposeIndex) {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, CompareIDs)
	return ids, nil
}

// Latest implements [Anchor].
func (a *MemoryAnchor) Latest(_ context.Context, id KeysetID) (uint64, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.versions[id], nil
}

// Advance implements [Anchor].
func (a *MemoryAnchor) Advance(_ context.Context, id KeysetID, version uint64) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.versions == nil {
		a.versions = make(map[KeysetID]uint64)
	}
	if version > a.versions[id] {
		a.versions[id] = version
	}
	return nil
}

// versions is the keyring's in-process memory of the newest state version
// it has seen of each keyset, and of the tombstones it has seen. It is
// touched on loads and writes only, never on a cache hit.
type versions struct {
	mu   sync.Mutex
	seen map[KeysetID]uint64
	// tombs maps a scope to the tombstones seen in it, by keyset and
	// version: the scope stays shredded for this process until each of
	// them is replaced by a newer record (Unshred).
	tombs map[string]map[KeysetID]uint64
}

func newVersions() *versions {
	return &versions{seen: make(map[KeysetID]uint64), tombs: make(map[string]map[KeysetID]uint64)}
}

func (v *versions) latest(id KeysetID) uint64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.seen[id]
}

func (v *versions) observe(id KeysetID, version uint64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if version > v.seen[id] {
		v.seen[id] = version
	}
}

// observeTombstone records a tombstone of id at version.
func (v *versions) observeTombstone(id KeysetID, version uint64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.tombs[id.Scope] == nil {
		v.tombs[id.Scope] = make(map[KeysetID]uint64)
	}
	v.tombs[id.Scope][id] = max(v.tombs[id.Scope][id], version)
}

// shreddedIn reports whether this process saw scope shredded and the store
// (as listed in recs) has not replaced every tombstone it saw with a newer
// record. A tombstone that vanished keeps the scope shredded: keysets are
// never deleted, so a store writer removed it. When every tombstone seen
// has a newer record, those records are returned: the caller must
// authenticate them before calling forgetShred.
func (v *versions) shreddedIn(scope string, recs []*Record) (shredded bool, newer []*Record) {
	v.mu.Lock()
	defer v.mu.Unlock()
	seen := v.tombs[scope]
	for id, tomb := range seen {
		i := slices.IndexFunc(recs, func(r *Record) bool { return r.ID == id })
		if i < 0 {
			return true, nil
		}
		st, err := parseState(recs[i].Metadata)
		if err != nil || st.Shredded != nil || st.Version <= tomb {
			return true, nil
		}
		newer = append(newer, recs[i])
	}
	return false, newer
}

// sawShred reports whether this process saw a tombstone in scope that it
// has not seen replaced since.
func (v *versions) sawShred(scope string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.tombs[scope]) > 0
}

// forgetShred drops the tombstones seen in scope: it was brought back.
func (v *versions) forgetShred(scope string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.tombs, scope)
}

// highWater returns the newest version of id known to this process or to
// the anchor: a stored keyset older than it was rolled back.
func (k *Keyring) highWater(ctx context.Context, id KeysetID) (uint64, error) {
	seen := k.versions.latest(id)
	if k.cfg.Anchor == nil {
		return seen, nil
	}
	anchored, err := k.cfg.Anchor.Latest(ctx, id)
	if err != nil {
		return 0, anchorUnavailable(err)
	}
	return max(seen, anchored), nil
}

// anchorUnavailable classifies a failed anchor read as transient, like a
// KEK outage: cached keysets keep serving for the stale period. A
// misconfigured anchor (no table, no permission) fails New instead.
func anchorUnavailable(err error) error {
	return fmt.Errorf("%w: the anchor cannot be read: %w", ErrKEKUnavailable, err)
}

// checkFresh fails with ErrRollback when version is older than the high
// water mark of id.
func (k *Keyring) checkFresh(ctx context.Context, id KeysetID, version uint64) error {
	hw, err := k.highWater(ctx, id)
	if err != nil {
		return err
	}
	if version < hw {
		return fmt.Errorf("%w: the store holds state version %d, but version %d was seen", ErrRollback, version, hw)
	}
	return nil
}

// observe records that id is at an authenticated version, in process and
// in the anchor. The anchor is advanced on a best-effort basis: the
// version was already checked against it, so a failed advance only leaves
// it lagging until the next load or write advances it, and is logged
// rather than failing a change that is already durable.
func (k *Keyring) observe(ctx context.Context, id KeysetID, version uint64) {
	k.versions.observe(id, version)
	if k.cfg.Anchor == nil {
		return
	}
	if err := k.cfg.Anchor.Advance(ctx, id, version); err != nil {
		k.log.WarnContext(ctx, "fieldcrypt keyring: anchor not advanced; it lags until the next load or write of the keyset",
			"event", "anchor lagging", "scope", id.Scope, "class", id.Class, "purpose", string(id.Purpose),
			"version", version, "error", err.Error())
	}
}

// scopeMarker is the anchor entry that records whether a scope is
// shredded: its version is odd while it is. A shred makes it odd before
// writing any tombstone, Unshred makes it even again. With it, a store
// writer who deletes a scope's tombstones cannot get keysets created for
// the scope, even for a class that had none when it was shredded.
func scopeMarker(scope string) KeysetID {
	return KeysetID{Scope: scope, Class: "", Purpose: "scope-shred"}
}

// anchorSaysShredded reports whether the anchor marks scope shredded.
func (k *Keyring) anchorSaysShredded(ctx context.Context, scope string) (bool, error) {
	if k.cfg.Anchor == nil {
		return false, nil
	}
	v, err := k.cfg.Anchor.Latest(ctx, scopeMarker(scope))
	if err != nil {
		return false, anchorUnavailable(err)
	}
	return v%2 == 1, nil
}

// markScope sets the anchor's shred marker of scope to shredded or alive.
func (k *Keyring) markScope(ctx context.Context, scope string, shredded bool) error {
	if k.cfg.Anchor == nil {
		return nil
	}
	id := scopeMarker(scope)
	v, err := k.cfg.Anchor.Latest(ctx, id)
	if err != nil {
		return anchorUnavailable(err)
	}
	if (v%2 == 1) == shredded {
		return nil
	}
	if err := k.cfg.Anchor.Advance(ctx, id, v+1); err != nil {
		return fmt.Errorf("%w: the anchor cannot be written: %w", ErrKEKUnavailable, err)
	}
	return nil
}
