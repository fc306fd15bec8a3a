package keyring

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/prf"
)

// DataKeys returns the scope's unwrapped data keyset for class, loading and
// (unless DisableAutoCreate) creating it on first use. After warm-up it is a
// map lookup: no store or KMS call until CacheTTL passes.
func (k *Keyring) DataKeys(ctx context.Context, scope, class string) (*DataKeys, error) {
	v, err := k.get(ctx, KeysetID{Scope: scope, Class: class, Purpose: PurposeData}, !k.cfg.DisableAutoCreate)
	if err != nil {
		return nil, err
	}
	return v.(*DataKeys), nil
}

// ExistingDataKeys is DataKeys for reading: it never creates a keyset or
// calls a KMS to wrap one. It fails with ErrKeysetNotFound when the scope
// never had such a keyset, and with ErrScopeShredded when the scope was
// shredded. Decryption uses it, so that reading rows whose scope column
// names an unknown tenant cannot make the keyring create keysets.
func (k *Keyring) ExistingDataKeys(ctx context.Context, scope, class string) (*DataKeys, error) {
	v, err := k.get(ctx, KeysetID{Scope: scope, Class: class, Purpose: PurposeData}, false)
	if err != nil {
		return nil, err
	}
	return v.(*DataKeys), nil
}

// IndexKeys returns the scope's unwrapped index keyset for class, as
// DataKeys does for data keysets: for writes, which may create it.
func (k *Keyring) IndexKeys(ctx context.Context, scope, class string) (*IndexKeys, error) {
	v, err := k.get(ctx, KeysetID{Scope: scope, Class: class, Purpose: PurposeIndex}, !k.cfg.DisableAutoCreate)
	if err != nil {
		return nil, err
	}
	return v.(*IndexKeys), nil
}

// ExistingIndexKeys is IndexKeys for reading: it never creates a keyset or
// calls a KMS to wrap one, and fails with ErrKeysetNotFound when the scope
// has none (ErrScopeShredded when it was shredded). Blind-index lookups use it, so that a search on a made-up or
// shredded tenant creates nothing.
func (k *Keyring) ExistingIndexKeys(ctx context.Context, scope, class string) (*IndexKeys, error) {
	v, err := k.get(ctx, KeysetID{Scope: scope, Class: class, Purpose: PurposeIndex}, false)
	if err != nil {
		return nil, err
	}
	return v.(*IndexKeys), nil
}

// get returns the cached keyset for id, reloading it when it is past its TTL.
//
//   - Fresh (younger than CacheTTL): served from the cache.
//   - Expired but within StalePeriod: served from the cache while one
//     background reload runs; if reloads keep failing with a transient error
//     the entry keeps serving until StalePeriod ends.
//   - Otherwise: loaded now, with concurrent loads of the same keyset
//     collapsed into one.
//
// A missing keyset is created when create is set.
func (k *Keyring) get(ctx context.Context, id KeysetID, create bool) (any, error) {
	now := k.clock()
	if e := k.cache.get(id, now); e != nil {
		if now < e.expires {
			k.stats.hits.Add(1)
			return e.value, nil
		}
		if now < e.staleUntil {
			k.stats.hits.Add(1)
			if e.failing.Load() {
				k.stats.stale.Add(1)
			}
			k.refreshInBackground(id, e, now)
			return e.value, nil
		}
	}
	k.stats.misses.Add(1)
	if err := id.Validate(); err != nil {
		return nil, err
	}
	if err := k.checkClassAccess(id.Class); err != nil {
		return nil, &Error{Op: "load", ID: id, Err: err}
	}
	if err := k.cache.recentFailure(id, now); err != nil && !(create && errors.Is(err, ErrKeysetNotFound)) {
		return nil, err // a creating caller does not heed a reader's "not found"
	}
	ch := k.loads.DoChan(k.flight(id, create), func() (any, error) {
		// A load that finished between the cache check above and this
		// call has cached the keyset: use it rather than load again.
		if e := k.cache.lookup(id); e != nil && k.clock() < e.expires {
			return e.value, nil
		}
		// The load is shared: it must not die with the first caller's ctx.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), k.cfg.LoadTimeout)
		defer cancel()
		return k.loadAndCache(lctx, id, create)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val, nil
	case <-ctx.Done():
		return nil, &Error{Op: "load", ID: id, Err: ctx.Err()}
	}
}

// refreshInBackground starts one reload of an expired entry, unless one is
// in flight or the last failed less than RetryBackoff ago.
func (k *Keyring) refreshInBackground(id KeysetID, e *entry, now int64) {
	if k.cache.recentFailure(id, now) != nil || !e.refreshing.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer e.refreshing.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), k.cfg.LoadTimeout)
		defer cancel()
		// A reload never creates: a keyset that vanished was shredded.
		_, err, _ := k.loads.Do(k.flight(id, false), func() (any, error) { return k.loadAndCache(ctx, id, false) })
		if err != nil {
			e.failing.Store(true)
			if !errors.Is(err, ErrKEKUnavailable) {
				// A permanent failure (keyset shredded, access revoked)
				// must not be papered over by the stale entry.
				k.cache.remove(id)
			}
		}
	}()
}

// flight names the load of id that concurrent callers share. It holds the
// count of invalidations of id's scope, so that a caller who comes after a
// key change (which invalidates) never gets the result of a load that read
// the store before it, while changes to other tenants' keysets do not split
// the callers of this one; and a reader's load never answers a creator.
func (k *Keyring) flight(id KeysetID, create bool) string {
	f := id.String() + "\x00" + strconv.FormatUint(k.cache.scopeGen(id.Scope), 10)
	if create {
		f += "\x00create"
	}
	return f
}

// loadAndCache loads id from the store and caches the result; a failure is
// remembered for RetryBackoff.
func (k *Keyring) loadAndCache(ctx context.Context, id KeysetID, create bool) (any, error) {
	k.stats.loads.Add(1)
	epoch := k.cache.epoch.Load()     // before the store is read: see cache.put
	gen := k.cache.scopeGen(id.Scope) // likewise, for cache.fail
	// A keyset this process has loaded before and no longer caches was
	// dropped: by the eviction policy, or by a key change.
	prev := k.cache.lookup(id)
	reload := prev == nil && k.versions.latest(id) > 0
	v, org, err := k.load(ctx, id, create, prev)
	now := k.clock()
	if err != nil {
		k.stats.loadErrors.Add(1)
		k.cache.fail(id, err, now+int64(k.cfg.RetryBackoff), now, gen)
		return nil, err
	}
	expires := addClock(now, k.cfg.CacheTTL)
	if org != nil {
		// A kept keyset is vouched for by its unwrap for no longer than
		// KEKCheckInterval: a revoked KEK is noticed within it.
		expires = min(expires, addClock(org.unwrapped, k.cfg.KEKCheckInterval))
	}
	e := &entry{
		value:      v,
		expires:    expires,
		staleUntil: addClock(expires, k.cfg.StalePeriod),
		origin:     org,
	}
	k.cache.put(id, e, epoch)
	if reload && k.cache.evictions.Load() > 0 {
		k.cache.reloads.Add(1)
		k.warnThrash(now)
	}
	return v, nil
}

// Thrash warnings: at most one per thrashWarnEvery, and only after
// thrashMinReloads reloads since the last one, so that a new tenant the
// full cache turned away once does not warn.
const (
	thrashWarnEvery  = time.Minute
	thrashMinReloads = 16
)

// warnThrash logs that keysets the cache evicted are being loaded again:
// the working set exceeds MaxKeysets, and each reload is a KMS call.
func (k *Keyring) warnThrash(now int64) {
	last := k.warned.Load()
	if last != 0 && now-(last-1) < int64(thrashWarnEvery) {
		return
	}
	reloads := k.cache.reloads.Load()
	if reloads-k.warnedAt.Load() < thrashMinReloads {
		return
	}
	if !k.warned.CompareAndSwap(last, now+1) {
		return // another load is warning
	}
	k.warnedAt.Store(reloads)
	s := k.Stats()
	k.log.Warn("keyring: the keyset cache is thrashing: keysets it evicted for room are being loaded again, each with a KMS call; the working set exceeds Config.MaxKeysets, raise it",
		"max_keysets", k.cfg.MaxKeysets,
		"cached_keysets", s.CachedKeysets,
		"evictions", s.Evictions,
		"reloads", s.Reloads,
		"kms_calls_per_second", s.KMSCallsPerSecond)
}

// load reads, authenticates and builds the keyset id, creating it if it
// is missing and create is set. prev is the cached entry it replaces, if
// any: when the stored record is still the one prev was unwrapped from,
// recently enough (Config.KEKCheckInterval), its value is kept. load also
// returns what the value was unwrapped from, when that is kept track of.
func (k *Keyring) load(ctx context.Context, id KeysetID, create bool, prev *entry) (any, *origin, error) {
	for attempt := 1; ; attempt++ {
		v, org, rec, err := k.loadOnce(ctx, id, create, prev)
		// A key change (or the first creation) that landed between the
		// store read and the version check looks like a rollback. A
		// rollback is the same record when the store is read again; a
		// change is another one, and is loaded.
		if !errors.Is(err, ErrRollback) || attempt == maxLoadAttempts || !k.storeMoved(ctx, id, rec) {
			return v, org, err
		}
	}
}

// maxLoadAttempts bounds the loads of one keyset that key changes landing
// mid-load can make one call take (a rotation is two or three changes).
const maxLoadAttempts = 4

// storeMoved reports whether the store now holds a record of id in
// another state than rec (nil: none was found) that claims a version at
// least the highest seen, as a key change landing mid-load writes. Only
// the state document is read: every key change writes a new one. The claim
// is not yet authenticated; it only decides whether to look again, and the
// next attempt unwraps and checks it. So a store writer cannot make a
// refusal cost more than two unwraps: not by rewriting a refused row's
// cleartext key list, nor by swapping old rows, which claim older versions.
func (k *Keyring) storeMoved(ctx context.Context, id KeysetID, rec *Record) bool {
	// The highest version seen, before the store is read: a change that
	// lands after this read is not one the record must match.
	hw, err := k.highWater(ctx, id)
	if err != nil {
		return false
	}
	now, err := k.cfg.Store.Get(ctx, id)
	if err != nil || rec != nil && bytes.Equal(now.Metadata, rec.Metadata) {
		return false
	}
	st, err := parseState(now.Metadata)
	return err == nil && st.Version >= hw
}

// addClock returns t+d on the keyring clock, saturating rather than
// wrapping for durations that mean "for ever".
func addClock(t int64, d time.Duration) int64 {
	if d > 0 && t > math.MaxInt64-int64(d) {
		return math.MaxInt64
	}
	return t + int64(d)
}

// loadOnce is one attempt of load. It also returns the record it read,
// when it read one.
func (k *Keyring) loadOnce(ctx context.Context, id KeysetID, create bool, prev *entry) (any, *origin, *Record, error) {
	rec, err := k.cfg.Store.Get(ctx, id)
	if errors.Is(err, ErrKeysetNotFound) {
		err = k.checkNotVanished(ctx, id, err)
		switch {
		case !errors.Is(err, ErrKeysetNotFound):
		case create:
			rec, err = k.create(ctx, id)
		default:
			// A read of a class the scope never had: say so if the
			// scope was shredded, rather than "not found".
			if serr := k.checkNotShredded(ctx, id.Scope); serr != nil {
				err = serr
			}
		}
	}
	if err != nil {
		return nil, nil, rec, &Error{Op: "load", ID: id, Err: err}
	}
	if org := k.unchanged(prev, rec); org != nil {
		if err := k.revalidate(ctx, id, org.version); err != nil {
			return nil, nil, rec, &Error{Op: "load", ID: id, Err: err}
		}
		return prev.value, org, rec, nil
	}
	o, err := k.open(ctx, rec)
	if err != nil {
		return nil, nil, rec, &Error{Op: "unwrap", ID: id, Err: err}
	}
	k.observe(ctx, id, o.state.Version)
	if o.tombstone() {
		k.versions.observeTombstone(id, o.state.Version)
		return nil, nil, rec, &Error{Op: "load", ID: id, Err: fmt.Errorf("%w on %s", ErrScopeShredded, o.state.Shredded.Format(time.RFC3339))}
	}
	if err := k.checkLiveScope(ctx, id.Scope); err != nil {
		return nil, nil, rec, &Error{Op: "load", ID: id, Err: err}
	}
	v, err := k.build(id, o.handle, o.state)
	if err != nil {
		return nil, nil, rec, &Error{Op: "load", ID: id, Err: err}
	}
	return v, k.originOf(rec, o.state.Version), rec, nil
}

// checkNotVanished turns the store's "not found" into ErrRollback when this
// keyring or its anchor has seen the keyset: keysets are never deleted
// (a shred leaves a tombstone), so a missing one was removed by a store
// writer.
func (k *Keyring) checkNotVanished(ctx context.Context, id KeysetID, notFound error) error {
	hw, err := k.highWater(ctx, id)
	if err != nil {
		return err
	}
	if hw > 0 {
		return fmt.Errorf("%w: the keyset is missing from the store, but state version %d was seen", ErrRollback, hw)
	}
	return notFound
}

// build turns an unwrapped keyset into the primitive its purpose calls for.
func (k *Keyring) build(id KeysetID, handle *keyset.Handle, meta *state) (any, error) {
	status := make(map[uint32]KeyStatus, handle.Len()+len(meta.Destroyed))
	for _, keyID := range meta.Destroyed {
		status[keyID] = KeyDestroyed
	}
	for i := range handle.Len() {
		e, err := handle.Entry(i)
		if err != nil {
			return nil, err
		}
		if e.KeyStatus() == keyset.Enabled {
			status[e.KeyID()] = KeyEnabled
		} else {
			status[e.KeyID()] = KeyDisabled
		}
	}
	primary, err := handle.Primary()
	if err != nil {
		return nil, fmt.Errorf("keyset has no primary key: %w", err)
	}
	switch id.Purpose {
	case PurposeData:
		a, err := aead.New(handle)
		if err != nil {
			return nil, fmt.Errorf("data keyset is not an AEAD keyset: %w", err)
		}
		return &DataKeys{
			aead:        a,
			primary:     primary.KeyID(),
			status:      status,
			encryptions: k.usageCounter(id, primary.KeyID()),
			primaryAt:   meta.created(primary.KeyID()),
		}, nil
	case PurposeIndex:
		set, err := prf.NewPRFSet(handle)
		if err != nil {
			return nil, fmt.Errorf("index keyset is not a PRF keyset: %w", err)
		}
		return newIndexKeys(set, status), nil
	}
	return nil, fmt.Errorf("unknown purpose %q", id.Purpose)
}

// create makes a new keyset with one primary key, wraps it and stores it.
// When another process created it first, that one is used. It refuses a
// scope that was shredded, before and after storing: a keyset that raced
// with a shred is turned into a tombstone itself. A check after storing
// that fails for an outage returns its error and leaves the keyset.
func (k *Keyring) create(ctx context.Context, id KeysetID) (*Record, error) {
	if err := k.checkNotShredded(ctx, id.Scope); err != nil {
		return nil, err
	}
	handle, err := keyset.NewHandle(k.template(id.Purpose))
	if err != nil {
		return nil, fmt.Errorf("generate keyset: %w", err)
	}
	primary, err := handle.Primary()
	if err != nil {
		return nil, err
	}
	now := k.now().UTC()
	st := &state{Version: 1}
	st.setCreated(primary.KeyID(), now)
	uri, err := k.KEKURI(id.Class)
	if err != nil {
		return nil, err
	}
	rec, err := k.seal(ctx, id, handle, st, uri)
	if err != nil {
		return nil, err
	}
	rec.Created, rec.Updated = now, now
	err = k.cfg.Store.Create(ctx, rec)
	if errors.Is(err, ErrKeysetExists) {
		return k.cfg.Store.Get(ctx, id)
	}
	if err != nil {
		return nil, err
	}
	// A creation is a change of the scope: a reader's load that found
	// nothing before it must not remember "not found" after it.
	k.cache.changed(id.Scope)
	if serr := k.checkNotShredded(ctx, id.Scope); serr != nil {
		if !errors.Is(serr, ErrScopeShredded) {
			// The check could not be made (the anchor or the store is
			// out). The keyset stays: another instance may have loaded it
			// since it was stored and written data under it, which a
			// tombstone would destroy for an outage. Every load checks
			// the anchor's shred mark again; a retry loads the keyset.
			return nil, serr
		}
		// A shred ran meanwhile: shred what was just made too.
		if _, err := k.shredOne(ctx, id, rec); err != nil {
			return nil, errors.Join(serr, err)
		}
		return nil, serr
	}
	k.observe(ctx, id, st.Version)
	k.audit(ctx, "keyset created", id, nil, "kek", rec.KEKURI, "key_id", primary.KeyID(), "version", st.Version)
	return rec, nil
}

// checkLiveScope fails with ErrScopeShredded when a keyset that is not a
// tombstone belongs to a scope the anchor marks shredded, or one this
// process saw shredded and has not seen brought back (checkNotShredded).
// A store writer who hides a keyset while the scope is shredded, so that
// it gets no tombstone, and then puts it back, gets a keyset whose version
// is the newest anyone saw: only the scope's mark tells it was shredded.
// With an anchor it costs one anchor read per load.
func (k *Keyring) checkLiveScope(ctx context.Context, scope string) error {
	marked, err := k.anchorSaysShredded(ctx, scope)
	if err != nil {
		return err
	}
	if marked {
		return fmt.Errorf("%w (the anchor marks it shredded)", ErrScopeShredded)
	}
	if k.versions.sawShred(scope) {
		return k.checkNotShredded(ctx, scope)
	}
	return nil
}

// checkNotShredded fails with ErrScopeShredded when scope was shredded:
// the anchor marks it so, this process saw its tombstones and they were
// not all replaced by authentic newer keysets, or any stored keyset of the
// scope is a tombstone. A tombstone in the store is trusted here without
// unwrapping it: refusing to create is the safe side, and loading the
// tombstone authenticates it.
func (k *Keyring) checkNotShredded(ctx context.Context, scope string) error {
	marked, err := k.anchorSaysShredded(ctx, scope)
	if err != nil {
		return err
	}
	if marked {
		return fmt.Errorf("%w (the anchor marks it shredded)", ErrScopeShredded)
	}
	recs, err := k.cfg.Store.List(ctx, scope)
	if err != nil {
		return err
	}
	for _, rec := range recs {
		if st, err := parseState(rec.Metadata); err == nil && st.Shredded != nil {
			return fmt.Errorf("%w (tombstone %s)", ErrScopeShredded, rec.ID)
		}
	}
	shredded, newer := k.versions.shreddedIn(scope, recs)
	if shredded {
		return fmt.Errorf("%w (seen by this process)", ErrScopeShredded)
	}
	if len(newer) > 0 {
		// Every tombstone this process saw was replaced by a newer
		// record: believe it only once each authenticates.
		for _, rec := range newer {
			if o, err := k.open(ctx, rec); err != nil || o.tombstone() {
				return fmt.Errorf("%w (seen by this process; %s does not authenticate as a newer keyset)", ErrScopeShredded, rec.ID)
			}
		}
		k.versions.forgetShred(scope)
	}
	return nil
}
