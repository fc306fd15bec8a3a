package keyring_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/local"
)

// switchableKEK wraps a real local KEK and can be made to fail, as a KMS
// outage would, or to block, as a slow KMS would. It is a kms.Driver, so
// the fixture's opener gives every keyring a Keeper of its own on it (which
// the keyring closes), and a tink.AEADWithContext for tests that unwrap
// stored keysets themselves.
type switchableKEK struct {
	real  *kms.Keeper
	down  atomic.Bool
	calls atomic.Int64
	gate  chan struct{} // when non-nil, calls wait for it
}

func (s *switchableKEK) fail(op string) error {
	return &kms.Error{Code: kms.CodeUnavailable, Op: op, Backend: "test", Err: errors.New("connection refused")}
}

func (s *switchableKEK) EncryptWithContext(ctx context.Context, pt, ad []byte) ([]byte, error) {
	s.calls.Add(1)
	if s.down.Load() {
		return nil, s.fail("encrypt")
	}
	return s.real.EncryptWithContext(ctx, pt, ad)
}

func (s *switchableKEK) DecryptWithContext(ctx context.Context, ct, ad []byte) ([]byte, error) {
	s.calls.Add(1)
	if s.gate != nil {
		<-s.gate
	}
	if s.down.Load() {
		return nil, s.fail("decrypt")
	}
	return s.real.DecryptWithContext(ctx, ct, ad)
}

func (s *switchableKEK) Encrypt(ctx context.Context, pt, ad []byte) ([]byte, error) {
	return s.EncryptWithContext(ctx, pt, ad)
}

func (s *switchableKEK) Decrypt(ctx context.Context, ct, ad []byte) ([]byte, error) {
	return s.DecryptWithContext(ctx, ct, ad)
}

// ErrorCode is not reached: every error is a *kms.Error already.
func (s *switchableKEK) ErrorCode(_ string, err error) kms.Code { return kms.CodeOf(err) }

// Close leaves the real KEK open: the fixture shares it between keyrings.
func (s *switchableKEK) Close() error { return nil }

// clock is a manual clock for TTL tests.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	store  *keyring.MemoryStore
	opener *kms.Opener
	kek    *switchableKEK
	uri    string
	clock  *clock
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kek.json")
	if _, err := local.CreateInsecureKeyFile(path); err != nil {
		t.Fatal(err)
	}
	real, err := local.OpenInsecure(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{store: keyring.NewMemoryStore(), opener: kms.NewOpener(), kek: &switchableKEK{real: real},
		uri: "test://kek", clock: &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}}
	f.opener.Register("test", func(_ context.Context, uri string) (*kms.Keeper, error) { return kms.NewKeeper(uri, f.kek), nil })
	return f
}

func (f *fixture) keyring(t testing.TB, mod func(*keyring.Config)) *keyring.Keyring {
	t.Helper()
	cfg := keyring.Config{
		Store: f.store, Opener: f.opener, DefaultKEK: f.uri,
		CacheTTL: time.Minute, StalePeriod: 10 * time.Minute, RetryBackoff: time.Second,
	}
	if mod != nil {
		mod(&cfg)
	}
	kr, err := keyring.NewWithClock(cfg, f.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func TestCreatesOnFirstUseAndCaches(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	kr := f.keyring(t, nil)
	dk, err := kr.DataKeys(ctx, "acme", "pii")
	if err != nil {
		t.Fatalf("DataKeys() err = %v", err)
	}
	ct, err := dk.Encrypt([]byte("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	before := kr.Stats()
	for range 1000 {
		if _, err := kr.DataKeys(ctx, "acme", "pii"); err != nil {
			t.Fatal(err)
		}
	}
	after := kr.Stats()
	if after.KMSCalls != before.KMSCalls {
		t.Errorf("1000 cached lookups made %d KMS calls, want 0", after.KMSCalls-before.KMSCalls)
	}
	if after.CacheHits-before.CacheHits != 1000 {
		t.Errorf("cache hits = %d, want 1000", after.CacheHits-before.CacheHits)
	}
	// Another process on the same store reads the same keyset.
	other := f.keyring(t, nil)
	dk2, err := other.DataKeys(ctx, "acme", "pii")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dk2.Decrypt(ct, nil); err != nil {
		t.Errorf("second keyring cannot decrypt the first one's ciphertext: %v", err)
	}
}

func TestDisableAutoCreate(t *testing.T) {
	f := newFixture(t)
	kr := f.keyring(t, func(c *keyring.Config) { c.DisableAutoCreate = true })
	_, err := kr.DataKeys(context.Background(), "acme", "pii")
	if !errors.Is(err, keyring.ErrKeysetNotFound) {
		t.Errorf("DataKeys() err = %v, want ErrKeysetNotFound", err)
	}
	if err := keyring.NewManager(kr).CreateKeysets(context.Background(), "acme", "pii"); err != nil {
		t.Fatal(err)
	}
	if _, err := kr.DataKeys(context.Background(), "acme", "pii"); err != nil {
		t.Errorf("DataKeys() after CreateKeysets err = %v", err)
	}
}

func TestConcurrentLoadsCollapse(t *testing.T) {
	f := newFixture(t)
	if err := keyring.NewManager(f.keyring(t, nil)).CreateKeysets(context.Background(), "acme", "pii"); err != nil {
		t.Fatal(err)
	}
	f.kek.gate = make(chan struct{})
	kr := f.keyring(t, nil)
	calls := f.kek.calls.Load()
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := kr.DataKeys(context.Background(), "acme", "pii")
			errs <- err
		}()
	}
	time.Sleep(50 * time.Millisecond) // let the callers pile up on the one load
	close(f.kek.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("DataKeys() err = %v", err)
		}
	}
	if got := f.kek.calls.Load() - calls; got != 1 {
		t.Errorf("32 concurrent first loads made %d KEK calls, want 1", got)
	}
}

func TestOutageServesStaleThenFails(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	kr := f.keyring(t, nil)
	if _, err := kr.DataKeys(ctx, "acme", "pii"); err != nil {
		t.Fatal(err)
	}
	f.kek.down.Store(true)

	// Past the TTL, within the stale period: served from the cache while a
	// background reload fails.
	f.clock.Advance(2 * time.Minute)
	for range 3 {
		if _, err := kr.DataKeys(ctx, "acme", "pii"); err != nil {
			t.Fatalf("DataKeys() during outage within stale period err = %v, want cached keyset", err)
		}
		time.Sleep(20 * time.Millisecond)
		f.clock.Advance(2 * time.Second) // past RetryBackoff
	}
	if kr.Stats().StaleServed == 0 {
		t.Errorf("Stats().StaleServed = 0, want > 0")
	}

	// Past the stale period: a typed, transient error.
	f.clock.Advance(10 * time.Minute)
	_, err := kr.DataKeys(ctx, "acme", "pii")
	if !errors.Is(err, keyring.ErrKEKUnavailable) || !kms.IsTransient(err) {
		t.Fatalf("DataKeys() after stale period err = %v, want ErrKEKUnavailable (transient)", err)
	}
	// Within RetryBackoff no further KEK call is made.
	calls := f.kek.calls.Load()
	if _, err := kr.DataKeys(ctx, "acme", "pii"); err == nil {
		t.Fatalf("DataKeys() err = nil, want the remembered failure")
	}
	if f.kek.calls.Load() != calls {
		t.Errorf("a call within RetryBackoff reached the KEK")
	}

	// The KEK comes back: the same keyring recovers.
	f.kek.down.Store(false)
	f.clock.Advance(2 * time.Second)
	if _, err := kr.DataKeys(ctx, "acme", "pii"); err != nil {
		t.Errorf("DataKeys() after recovery err = %v", err)
	}
}

func TestNoAccessWithoutKEK(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	admin := f.keyring(t, nil)
	if err := keyring.NewManager(admin).CreateKeysets(ctx, "acme", "pii", "support"); err != nil {
		t.Fatal(err)
	}
	support := f.keyring(t, func(c *keyring.Config) {
		c.DefaultKEK = ""
		c.KEKs = map[string]string{"support": f.uri}
	})
	if _, err := support.DataKeys(ctx, "acme", "support"); err != nil {
		t.Errorf("support keyring: DataKeys(support) err = %v", err)
	}
	_, err := support.DataKeys(ctx, "acme", "pii")
	if !errors.Is(err, keyring.ErrNoAccess) || errors.Is(err, keyring.ErrKEKRefused) {
		t.Errorf("support keyring: DataKeys(pii) err = %v, want ErrNoAccess and not ErrKEKRefused", err)
	}
}

// storeReads counts the Gets of a store.
type storeReads struct {
	keyring.Store
	gets atomic.Int32
}

func (s *storeReads) Get(ctx context.Context, id keyring.KeysetID) (*keyring.Record, error) {
	s.gets.Add(1)
	return s.Store.Get(ctx, id)
}

// TestNoAccessWithoutKEKWhateverTheScope: a process without a class's KEK
// gets ErrNoAccess for that class on every scope, before the store is read.
// Otherwise a support process searching personal fields would be refused on
// a tenant that has pii keysets and answered "nothing found" on one that
// never stored any: the answer would tell it which tenants hold personal
// data. An accepted KEK alone still gives access (a KEK move in progress).
func TestNoAccessWithoutKEKWhateverTheScope(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	if err := keyring.NewManager(f.keyring(t, nil)).CreateKeysets(ctx, "acme", "pii", "support"); err != nil {
		t.Fatal(err)
	}
	store := &storeReads{Store: f.store}
	support := f.keyring(t, func(c *keyring.Config) {
		c.Store = store
		c.DefaultKEK = ""
		c.KEKs = map[string]string{"support": f.uri}
	})
	reads := map[string]func(scope string) error{
		"ExistingDataKeys": func(scope string) error {
			_, err := support.ExistingDataKeys(ctx, scope, "pii")
			return err
		},
		"ExistingIndexKeys": func(scope string) error {
			_, err := support.ExistingIndexKeys(ctx, scope, "pii")
			return err
		},
		"IndexKeys": func(scope string) error {
			_, err := support.IndexKeys(ctx, scope, "pii")
			return err
		},
	}
	for name, read := range reads {
		for _, scope := range []string{"acme", "never-stored"} {
			before := store.gets.Load()
			err := read(scope)
			if !errors.Is(err, keyring.ErrNoAccess) || errors.Is(err, keyring.ErrKeysetNotFound) {
				t.Errorf("%s(%q, pii) without the pii KEK: err = %v, want ErrNoAccess (and not ErrKeysetNotFound)", name, scope, err)
			}
			if got := store.gets.Load() - before; got != 0 {
				t.Errorf("%s(%q, pii) without the pii KEK read the store %d times, want 0", name, scope, got)
			}
		}
	}
	if _, err := support.ExistingDataKeys(ctx, "never-stored", "support"); !errors.Is(err, keyring.ErrKeysetNotFound) {
		t.Errorf("ExistingDataKeys(never-stored, support) with the support KEK: err = %v, want ErrKeysetNotFound", err)
	}

	accepting := f.keyring(t, func(c *keyring.Config) {
		c.DefaultKEK = ""
		c.KEKs = map[string]string{"support": f.uri}
		c.AcceptKEKs = map[string][]string{"pii": {f.uri}}
	})
	if _, err := accepting.ExistingDataKeys(ctx, "acme", "pii"); err != nil {
		t.Errorf("ExistingDataKeys(acme, pii) with the pii KEK accepted: err = %v", err)
	}
}

func TestKEKPermissionDeniedIsNoAccess(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	if err := keyring.NewManager(f.keyring(t, nil)).CreateKeysets(ctx, "acme", "pii"); err != nil {
		t.Fatal(err)
	}
	denied := kms.NewOpener()
	denied.Register("test", func(_ context.Context, uri string) (*kms.Keeper, error) { return kms.NewKeeper(uri, deniedKEK{}), nil })
	kr := f.keyring(t, func(c *keyring.Config) { c.Opener = denied })
	_, err := kr.DataKeys(ctx, "acme", "pii")
	if !errors.Is(err, keyring.ErrNoAccess) || !errors.Is(err, keyring.ErrKEKRefused) || !errors.Is(err, kms.ErrPermissionDenied) {
		t.Errorf("DataKeys() with a refusing KEK err = %v, want ErrNoAccess and ErrKEKRefused wrapping kms.ErrPermissionDenied", err)
	}
}

// deniedKEK is a kms.Driver whose KMS refuses every call.
type deniedKEK struct{}

func (deniedKEK) Encrypt(context.Context, []byte, []byte) ([]byte, error) {
	return nil, errors.New("403 permission denied")
}
func (deniedKEK) Decrypt(context.Context, []byte, []byte) ([]byte, error) {
	return nil, errors.New("403 permission denied")
}
func (deniedKEK) ErrorCode(string, error) kms.Code { return kms.CodePermissionDenied }
func (deniedKEK) Close() error                     { return nil }

func TestMovedKeysetDoesNotUnwrap(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	kr := f.keyring(t, nil)
	if err := keyring.NewManager(kr).CreateKeysets(ctx, "acme", "pii"); err != nil {
		t.Fatal(err)
	}
	src, err := f.store.Get(ctx, keyring.KeysetID{Scope: "acme", Class: "pii", Purpose: keyring.PurposeData})
	if err != nil {
		t.Fatal(err)
	}
	for _, dst := range []keyring.KeysetID{
		{Scope: "globex", Class: "pii", Purpose: keyring.PurposeData},   // another tenant
		{Scope: "acme", Class: "support", Purpose: keyring.PurposeData}, // another class
		{Scope: "acme", Class: "pii", Purpose: keyring.PurposeIndex},    // another purpose
	} {
		t.Run(dst.String(), func(t *testing.T) {
			moved := *src
			moved.ID = dst
			_ = f.store.Delete(ctx, dst)
			if err := f.store.Create(ctx, &moved); err != nil {
				t.Fatal(err)
			}
			var err error
			if dst.Purpose == keyring.PurposeIndex {
				_, err = kr.IndexKeys(ctx, dst.Scope, dst.Class)
			} else {
				_, err = kr.DataKeys(ctx, dst.Scope, dst.Class)
			}
			if !errors.Is(err, keyring.ErrCorruptKeyset) {
				t.Errorf("loading a keyset moved to %v: err = %v, want ErrCorruptKeyset", dst, err)
			}
		})
	}
}

func TestForeignKEKRefused(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	kr := f.keyring(t, nil)
	if err := keyring.NewManager(kr).CreateKeysets(ctx, "acme", "pii"); err != nil {
		t.Fatal(err)
	}
	id := keyring.KeysetID{Scope: "acme", Class: "pii", Purpose: keyring.PurposeData}
	rec, err := f.store.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	rec.KEKURI = "test://attacker"
	if err := f.store.Update(ctx, rec, rec.Version); err != nil {
		t.Fatal(err)
	}
	fresh := f.keyring(t, nil)
	if _, err := fresh.DataKeys(ctx, "acme", "pii"); !errors.Is(err, keyring.ErrKEKNotAllowed) {
		t.Errorf("DataKeys() of a record naming an unconfigured KEK: err = %v, want ErrKEKNotAllowed", err)
	}
}

func TestRotationOperations(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	kr := f.keyring(t, nil)
	m := keyring.NewManager(kr)
	id := keyring.KeysetID{Scope: "acme", Class: "pii", Purpose: keyring.PurposeData}
	old, err := kr.DataKeys(ctx, id.Scope, id.Class)
	if err != nil {
		t.Fatal(err)
	}
	oldCT, _ := old.Encrypt([]byte("old"), nil)

	newID, err := m.AddKey(ctx, id)
	if err != nil {
		t.Fatalf("AddKey() err = %v", err)
	}
	dk, _ := kr.DataKeys(ctx, id.Scope, id.Class)
	if dk.PrimaryID() != old.PrimaryID() || dk.Status(newID) != keyring.KeyEnabled {
		t.Errorf("after AddKey: primary %d (want %d), new key status %v (want enabled)", dk.PrimaryID(), old.PrimaryID(), dk.Status(newID))
	}
	if err := m.DisableKey(ctx, id, old.PrimaryID()); !errors.Is(err, keyring.ErrKeyIsPrimary) {
		t.Errorf("DisableKey(primary) err = %v, want ErrKeyIsPrimary", err)
	}
	if err := m.PromoteKey(ctx, id, newID); err != nil {
		t.Fatalf("PromoteKey() err = %v", err)
	}
	dk, _ = kr.DataKeys(ctx, id.Scope, id.Class)
	if dk.PrimaryID() != newID {
		t.Errorf("after PromoteKey: primary = %d, want %d", dk.PrimaryID(), newID)
	}
	if _, err := dk.Decrypt(oldCT, nil); err != nil {
		t.Errorf("old ciphertext after promotion: %v", err)
	}
	if err := m.DisableKey(ctx, id, old.PrimaryID()); err != nil {
		t.Fatalf("DisableKey(old) err = %v", err)
	}
	dk, _ = kr.DataKeys(ctx, id.Scope, id.Class)
	if dk.Status(old.PrimaryID()) != keyring.KeyDisabled {
		t.Errorf("status after DisableKey = %v, want disabled", dk.Status(old.PrimaryID()))
	}
	if err := m.EnableKey(ctx, id, old.PrimaryID()); err != nil {
		t.Fatalf("EnableKey() err = %v", err)
	}
	if err := m.DestroyKey(ctx, id, old.PrimaryID()); err != nil {
		t.Fatalf("DestroyKey() err = %v", err)
	}
	dk, _ = kr.DataKeys(ctx, id.Scope, id.Class)
	if dk.Status(old.PrimaryID()) != keyring.KeyDestroyed {
		t.Errorf("status after DestroyKey = %v, want destroyed", dk.Status(old.PrimaryID()))
	}
	if _, err := dk.Decrypt(oldCT, nil); err == nil {
		t.Errorf("old ciphertext decrypts after DestroyKey")
	}
	if err := m.PromoteKey(ctx, id, 12345); !errors.Is(err, keyring.ErrUnknownKey) {
		t.Errorf("PromoteKey(unknown) err = %v, want ErrUnknownKey", err)
	}
	infos, err := m.Keys(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var sawPrimary, sawDestroyed bool
	for _, ki := range infos {
		sawPrimary = sawPrimary || ki.Primary && ki.ID == newID
		sawDestroyed = sawDestroyed || ki.ID == old.PrimaryID() && ki.Status == keyring.KeyDestroyed
	}
	if !sawPrimary || !sawDestroyed || len(infos) != 2 {
		t.Errorf("Keys() = %+v, want the new primary and the destroyed old key", infos)
	}
}

func TestPromotionReachesOtherProcessWithinTTL(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	admin := f.keyring(t, nil)
	m := keyring.NewManager(admin)
	app := f.keyring(t, nil)
	id := keyring.KeysetID{Scope: "acme", Class: "pii", Purpose: keyring.PurposeData}
	before, err := app.DataKeys(ctx, id.Scope, id.Class)
	if err != nil {
		t.Fatal(err)
	}
	newID, err := m.AddKey(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.PromoteKey(ctx, id, newID); err != nil {
		t.Fatal(err)
	}
	if dk, _ := app.DataKeys(ctx, id.Scope, id.Class); dk.PrimaryID() != before.PrimaryID() {
		t.Errorf("app saw the promotion before its cache expired")
	}
	f.clock.Advance(2 * time.Minute)
	deadline := time.Now().Add(5 * time.Second)
	for {
		dk, err := app.DataKeys(ctx, id.Scope, id.Class) // background reload after the TTL
		if err == nil && dk.PrimaryID() == newID {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("app did not pick up the promoted key after its TTL")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestShred(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	kr := f.keyring(t, func(c *keyring.Config) { c.DisableAutoCreate = true })
	m := keyring.NewManager(kr)
	for _, scope := range []string{"acme", "globex"} {
		if err := m.CreateKeysets(ctx, scope, "pii"); err != nil {
			t.Fatal(err)
		}
	}
	n, err := m.Shred(ctx, "acme")
	if err != nil || n != 2 {
		t.Fatalf("Shred() = %d, %v; want 2 keysets", n, err)
	}
	if _, err := kr.DataKeys(ctx, "acme", "pii"); !errors.Is(err, keyring.ErrScopeShredded) {
		t.Errorf("DataKeys(shredded) err = %v, want ErrScopeShredded", err)
	}
	if _, err := kr.DataKeys(ctx, "globex", "pii"); err != nil {
		t.Errorf("DataKeys(other tenant) err = %v", err)
	}
}

func TestInvalidNames(t *testing.T) {
	f := newFixture(t)
	kr := f.keyring(t, nil)
	for _, scope := range []string{"", "a/b", "tab\there"} {
		if _, err := kr.DataKeys(context.Background(), scope, "pii"); !errors.Is(err, keyring.ErrInvalidName) {
			t.Errorf("DataKeys(scope %q) err = %v, want ErrInvalidName", scope, err)
		}
	}
}

// TestExistingDataKeysNeverCreates checks the read path: it creates no
// keyset, and its "not found" does not stop a writer from creating one.
func TestExistingDataKeysNeverCreates(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	kr := f.keyring(t, nil)
	if _, err := kr.ExistingDataKeys(ctx, "acme", "pii"); !errors.Is(err, keyring.ErrKeysetNotFound) {
		t.Fatalf("ExistingDataKeys(unknown scope) err = %v, want ErrKeysetNotFound", err)
	}
	if recs, _ := f.store.List(ctx, ""); len(recs) != 0 {
		t.Fatalf("ExistingDataKeys created %d keysets, want none", len(recs))
	}
	if _, err := kr.DataKeys(ctx, "acme", "pii"); err != nil {
		t.Fatalf("DataKeys() right after a reader's miss err = %v, want the keyset created", err)
	}
	if _, err := kr.ExistingDataKeys(ctx, "acme", "pii"); err != nil {
		t.Errorf("ExistingDataKeys() after creation err = %v", err)
	}
}
