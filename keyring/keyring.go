package keyring

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tink-crypto/tink-go/v2/aead"
	tinkpb "github.com/tink-crypto/tink-go/v2/proto/tink_go_proto"
	"go.opentelemetry.io/otel/metric"
	"golang.org/x/sync/singleflight"

	"github.com/fieldcrypt/fieldcrypt/kms"
)

// Defaults for [Config].
const (
	DefaultCacheTTL     = 5 * time.Minute
	DefaultStalePeriod  = 15 * time.Minute
	DefaultMaxKeysets   = 300_000
	DefaultLoadTimeout  = 10 * time.Second
	DefaultRetryBackoff = 2 * time.Second
)

// Config configures a [Keyring]. Store, Opener and at least one KEK are
// required; every other field has a default.
type Config struct {
	// Store keeps the wrapped keysets.
	Store Store

	// Opener opens KEK URIs; register the backends the program uses.
	Opener *kms.Opener

	// KEKs maps a field class to the URI of the KEK that wraps its keysets.
	KEKs map[string]string

	// DefaultKEK wraps the keysets of classes not in KEKs. Leave it empty to
	// give this process no access to unlisted classes: the least-privilege
	// setting for a role that may read only some classes.
	DefaultKEK string

	// AcceptKEKs maps a field class to further KEK URIs that may unwrap that
	// class's stored keysets, such as the class's previous KEK while its
	// keysets are rewrapped under a new one. An accepted KEK is accepted for
	// the classes it is listed under only: a stored keyset wrapped by any
	// KEK that is neither its class's nor accepted for its class is refused
	// (ErrKEKNotAllowed), on every path (load, key operations, rewrap,
	// export, import). So a holder of the old support KEK cannot plant a
	// pii keyset while the support KEK is being moved.
	AcceptKEKs map[string][]string

	// Anchor, when set, records the latest state version of every keyset
	// outside the keyset store, so that a keyset rolled back or deleted in
	// the store is refused (ErrRollback) across restarts and on fresh
	// instances too. Without one, a rollback is caught only by a process
	// that saw the newer version. See docs/SECURITY.md for which
	// deployments need one. An anchor that is also an [AnchorLister] (as
	// sqlstore.Anchor is) lets Shred find keysets hidden from it; a
	// wrapper around one should keep its Seen method.
	Anchor Anchor

	// CacheTTL is how long an unwrapped keyset is used before it is reloaded
	// from the store. Key promotions made by other processes take effect
	// within it. Default 5 minutes.
	CacheTTL time.Duration

	// StalePeriod is how long past CacheTTL a cached keyset keeps serving
	// while reloading it fails with a transient error (the KEK or store is
	// down). After it, calls fail with ErrKEKUnavailable. Default 15 minutes;
	// a negative value disables stale serving.
	StalePeriod time.Duration

	// KEKCheckInterval is how long an unwrap through the KEK vouches for a
	// stored keyset that has not changed. Each reload (every CacheTTL)
	// reads the store, and the anchor where there is one. When the record
	// is byte for byte the one unwrapped last, and that unwrap is younger
	// than KEKCheckInterval, the reload keeps the cached keyset and makes
	// no KMS call. A changed record (a new or promoted key, a shred, a
	// rewrap) is always unwrapped, and the rollback and shred checks run on
	// every reload either way.
	//
	// Default (and any value up to CacheTTL): CacheTTL, so every reload
	// calls the KMS and a revoked KEK is noticed within CacheTTL. Reloads
	// cost one KMS call per cached keyset per CacheTTL: 1,000 a second
	// for 300,000 keysets at the default TTL. Raising KEKCheckInterval
	// to an hour cuts that twelvefold, while key changes still reach the
	// process within CacheTTL; a revoked KEK, or one the KMS cannot
	// reach, is then noticed only within KEKCheckInterval.
	KEKCheckInterval time.Duration

	// MaxKeysets bounds how many unwrapped keysets are cached. A cached
	// keyset takes about 2.3 KB of heap (BENCHMARKS.md), so the default,
	// 300,000, holds the working set of 100,000 tenants with three
	// classes in about 700 MB when full. Size it to the tenants active
	// within CacheTTL times the classes each uses. When it is too small,
	// keysets the cache evicted are loaded again, each with a KMS call:
	// Stats().Reloads rises and the keyring logs a warning once a minute.
	// The eviction policy (W-TinyLFU) keeps the most used keysets, so a
	// scan over every tenant does not flush the busy ones.
	MaxKeysets int

	// LoadTimeout bounds one reload done in the background. Default 10s.
	LoadTimeout time.Duration

	// RetryBackoff is how long the keyring waits after a failed reload
	// before trying again, so an outage does not turn every request into a
	// KMS call. Default 2s.
	RetryBackoff time.Duration

	// DisableAutoCreate stops the keyring from creating a scope's keysets on
	// first use; missing keysets are then ErrKeysetNotFound. Only writes
	// (DataKeys and IndexKeys, which Encrypt uses) ever create keysets;
	// reads (ExistingDataKeys, ExistingIndexKeys) never do. Run a fleet
	// with it set and create each tenant's keysets ahead with
	// [Manager.CreateKeysets] (`fieldcrypt keys init`) so that no request
	// path can make keysets at all.
	DisableAutoCreate bool

	// DataKeyTemplate is the template for new data keys. Default Tink's
	// AES256GCMKeyTemplate; XChaCha20Poly1305KeyTemplate is an option. It
	// must produce AEAD keys with Tink output prefixes.
	DataKeyTemplate *tinkpb.KeyTemplate

	// Logger receives one structured event per keyset operation (never key
	// material). Default: discard.
	Logger *slog.Logger

	// MeterProvider receives the keyring's OpenTelemetry metrics (KMS calls,
	// cache hits and misses, loads). Default: the global provider, which
	// does nothing until one is installed. The counters are read only at
	// collection, so they cost nothing on the hot path.
	MeterProvider metric.MeterProvider
}

// Keyring hands out unwrapped keysets per (scope, class, purpose), creating
// them on first use, caching them, and keeping the KMS off the hot path. It
// is safe for concurrent use. Key administration is on a [Manager] made
// from it.
type Keyring struct {
	cfg    Config
	now    func() time.Time // wall clock, for records and audit events
	clock  func() int64     // nanoseconds since New, for cache expiry
	coarse *coarseClock     // clock's ticker, unless a test set the clock
	log    *slog.Logger
	cache  *cache
	loads  singleflight.Group

	keksMu     sync.Mutex
	keks       map[string]*kms.Keeper // opened KEKs by URI; the keyring closes them
	keksClosed bool                   // Close ran: no KEK is opened again

	versions *versions // newest state versions seen, shredded scopes

	usageMu sync.Mutex
	usage   map[usageKey]*atomic.Int64

	stats    counters
	kmsRate  rateWindow
	warned   atomic.Int64 // keyring clock of the last thrash warning, +1
	warnedAt atomic.Int64 // Reloads at the last thrash warning
	metrics  metric.Registration
	close    closer
}

type usageKey struct {
	id    KeysetID
	keyID uint32
}

// New returns a Keyring for cfg.
func New(cfg Config) (*Keyring, error) {
	return newKeyring(cfg, nil)
}

// newKeyring returns a Keyring for cfg whose clock is now, or the real
// clock when now is nil. Only tests set now (export_test.go).
func newKeyring(cfg Config, now func() time.Time) (*Keyring, error) {
	if cfg.Store == nil {
		return nil, errors.New("keyring: Config.Store is nil")
	}
	if cfg.Opener == nil {
		return nil, errors.New("keyring: Config.Opener is nil")
	}
	if cfg.DefaultKEK == "" && len(cfg.KEKs) == 0 {
		return nil, errors.New("keyring: no KEK configured (set Config.KEKs or Config.DefaultKEK)")
	}
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = DefaultCacheTTL
	}
	switch {
	case cfg.StalePeriod == 0:
		cfg.StalePeriod = DefaultStalePeriod
	case cfg.StalePeriod < 0:
		cfg.StalePeriod = 0
	}
	if cfg.KEKCheckInterval < cfg.CacheTTL {
		cfg.KEKCheckInterval = cfg.CacheTTL
	}
	if cfg.MaxKeysets <= 0 {
		cfg.MaxKeysets = DefaultMaxKeysets
	}
	if cfg.LoadTimeout <= 0 {
		cfg.LoadTimeout = DefaultLoadTimeout
	}
	if cfg.RetryBackoff <= 0 {
		cfg.RetryBackoff = DefaultRetryBackoff
	}
	if cfg.DataKeyTemplate == nil {
		cfg.DataKeyTemplate = aead.AES256GCMKeyTemplate()
	}
	if cfg.DataKeyTemplate.GetOutputPrefixType() != tinkpb.OutputPrefixType_TINK {
		return nil, errors.New("keyring: Config.DataKeyTemplate must use Tink's TINK output prefix, so ciphertexts carry their key ID")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Store = exactStore{cfg.Store}
	k := &Keyring{
		cfg:      cfg,
		now:      now,
		log:      cfg.Logger,
		keks:     make(map[string]*kms.Keeper),
		usage:    make(map[usageKey]*atomic.Int64),
		versions: newVersions(),
	}
	if now == nil {
		k.now = time.Now
		k.coarse = newCoarseClock(&k.stats.hits)
		k.clock = k.coarse.read
	} else {
		start := now()
		k.clock = func() int64 { return int64(now().Sub(start)) }
	}
	clock := k.clock
	if err := k.openKEKs(); err != nil {
		k.closeKEKs()
		return nil, err
	}
	if cfg.Anchor != nil {
		// A misconfigured anchor (no table, no permission) fails here,
		// not on the first keyset load.
		ctx, cancel := context.WithTimeout(context.Background(), cfg.LoadTimeout)
		_, err := cfg.Anchor.Latest(ctx, scopeMarker(DefaultScope))
		cancel()
		if err != nil {
			k.closeKEKs()
			return nil, fmt.Errorf("keyring: Config.Anchor cannot be read: %w", err)
		}
	}
	cache, err := newCache(cfg.MaxKeysets, clock)
	if err != nil {
		k.closeKEKs()
		return nil, fmt.Errorf("keyring: cache: %w", err)
	}
	k.cache = cache
	reg, err := k.registerMetrics(cfg.MeterProvider)
	if err != nil {
		k.closeKEKs()
		return nil, fmt.Errorf("keyring: register metrics: %w", err)
	}
	k.metrics = reg
	return k, nil
}

// KEKURI returns the URI of the KEK that wraps new keysets of class, or
// ErrNoAccess when this keyring has none for it.
func (k *Keyring) KEKURI(class string) (string, error) {
	if uri, ok := k.cfg.KEKs[class]; ok && uri != "" {
		return uri, nil
	}
	if k.cfg.DefaultKEK != "" {
		return k.cfg.DefaultKEK, nil
	}
	return "", fmt.Errorf("%w %q: no KEK configured for it", ErrNoAccess, class)
}

// checkClassAccess fails with ErrNoAccess when this keyring could unwrap no
// keyset of class: it has no KEK for it and accepts none. It is checked
// before the store is read, so a process without a class's KEK gets the
// same answer for every scope, whether or not the scope has a keyset of
// the class: a search or read of a class it cannot use is refused even on
// a tenant that never stored one, and the answer does not tell which
// tenants have.
func (k *Keyring) checkClassAccess(class string) error {
	if len(k.cfg.AcceptKEKs[class]) > 0 {
		return nil
	}
	_, err := k.KEKURI(class)
	return err
}

// allowedKEK reports whether a stored keyset of class may be unwrapped with
// the KEK at uri: it is the class's KEK, or one accepted for that class.
func (k *Keyring) allowedKEK(class, uri string) bool {
	if want, err := k.KEKURI(class); err == nil && want == uri {
		return true
	}
	return slices.Contains(k.cfg.AcceptKEKs[class], uri)
}

// openKEKs opens every KEK the configuration names, so that a mistyped URI,
// an unregistered scheme or a missing local key file fails New rather than
// the first request that needs the class. Opening makes no KMS call.
func (k *Keyring) openKEKs() error {
	type named struct{ setting, uri string }
	var all []named
	for _, class := range slices.Sorted(maps.Keys(k.cfg.KEKs)) {
		all = append(all, named{fmt.Sprintf("KEKs[%q]", class), k.cfg.KEKs[class]})
	}
	if k.cfg.DefaultKEK != "" {
		all = append(all, named{"DefaultKEK", k.cfg.DefaultKEK})
	}
	for _, class := range slices.Sorted(maps.Keys(k.cfg.AcceptKEKs)) {
		if err := validateName("class", class); err != nil {
			return fmt.Errorf("keyring: Config.AcceptKEKs: %w", err)
		}
		for _, uri := range k.cfg.AcceptKEKs[class] {
			all = append(all, named{fmt.Sprintf("AcceptKEKs[%q]", class), uri})
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), k.cfg.LoadTimeout)
	defer cancel()
	for _, n := range all {
		if n.uri == "" {
			return fmt.Errorf("keyring: Config.%s is empty", n.setting)
		}
		if _, err := k.kek(ctx, n.uri); err != nil {
			return fmt.Errorf("keyring: Config.%s: %w", n.setting, err)
		}
	}
	return nil
}

// kek opens (once) and returns the KEK at uri. The keyring owns what it
// opens, and Close closes it; after Close no KEK is opened again.
func (k *Keyring) kek(ctx context.Context, uri string) (*kms.Keeper, error) {
	k.keksMu.Lock()
	defer k.keksMu.Unlock()
	if kek, ok := k.keks[uri]; ok {
		return kek, nil
	}
	if k.keksClosed {
		return nil, fmt.Errorf("%w: cannot open KEK %s", ErrClosed, uri)
	}
	kek, err := k.cfg.Opener.Open(ctx, uri)
	if err != nil {
		return nil, err
	}
	k.keks[uri] = kek
	return kek, nil
}

// kmsCalls is the number of calls the keyring's KEKs have made, counted by
// each Keeper.
func (k *Keyring) kmsCalls() int64 {
	k.keksMu.Lock()
	defer k.keksMu.Unlock()
	var n int64
	for _, kek := range k.keks {
		n += kek.Calls()
	}
	return n
}

// closeKEKs closes every KEK the keyring opened, once, and stops it opening
// more. It returns the first error.
//
// The KEKs are closed outside keksMu: a Close waits for the calls in
// flight, and Stats and KEK lookups must not wait with it. Once
// keksClosed is set the map no longer changes.
func (k *Keyring) closeKEKs() error {
	k.keksMu.Lock()
	k.keksClosed = true
	keks := maps.Clone(k.keks)
	k.keksMu.Unlock()
	var errs []error
	for _, uri := range slices.Sorted(maps.Keys(keks)) {
		if err := keks[uri].Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// usageCounter returns the process-wide encryption counter of one key.
func (k *Keyring) usageCounter(id KeysetID, keyID uint32) *atomic.Int64 {
	k.usageMu.Lock()
	defer k.usageMu.Unlock()
	key := usageKey{id, keyID}
	c, ok := k.usage[key]
	if !ok {
		c = new(atomic.Int64)
		k.usage[key] = c
	}
	return c
}
