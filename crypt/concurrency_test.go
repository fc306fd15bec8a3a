package crypt_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/local"
)

// TestConcurrentEncryptDecrypt runs 16 goroutines that encrypt and decrypt
// their own records through one Encryptor. Run it with -race.
func TestConcurrentEncryptDecrypt(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	const workers, rounds = 16, 40
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			tenant := []string{"acme", "globex"}[w%2]
			for r := range rounds {
				want := &Contact{
					ID:       fmt.Sprintf("c-%d-%d", w, r),
					TenantID: tenant,
					Name:     fmt.Sprintf("name %d/%d", w, r),
					Email:    fmt.Sprintf("user%d.%d@example.com", w, r),
					Phone:    ptr(fmt.Sprintf("+1 555 %04d", w*100+r)),
					Notes:    []byte(fmt.Sprintf("notes %d/%d", w, r)),
				}
				c := clone(want)
				if err := e.enc.Encrypt(ctx, c); err != nil {
					errs <- fmt.Errorf("worker %d: Encrypt err = %w", w, err)
					return
				}
				if err := e.enc.Decrypt(ctx, c); err != nil {
					errs <- fmt.Errorf("worker %d: Decrypt err = %w", w, err)
					return
				}
				want.EmailIdx, want.PhoneIdx = c.EmailIdx, c.PhoneIdx
				if !assert.ObjectsAreEqual(want, c) {
					errs <- fmt.Errorf("worker %d: Decrypt(Encrypt(%s)) differs", w, want.ID)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestKeysetLoadsCollapse checks the KMS budget: N concurrent first calls on
// a fresh keyring make one KMS call per keyset they need, and warm calls
// make none.
func TestKeysetLoadsCollapse(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	// The keysets exist already (another process created them), so loading
	// one is exactly one unwrap.
	require.NoError(t, e.admin.CreateKeysets(ctx, "acme", "pii", "support"))
	// Encrypt of a Contact needs acme/pii/data, acme/pii/index and
	// acme/support/data.
	const keysetsUsed = 3

	tests := []struct {
		name    string
		latency time.Duration // added to every KEK call
		rounds  int
	}{
		// A real KMS answers in milliseconds: every caller joins the load.
		{"KMS with 5ms latency", 5 * time.Millisecond, 3},
		// With a local KEK a load finishes in microseconds, so a caller that
		// missed the cache just before a load finished must still not start
		// another one. Many rounds, because that window is narrow.
		{"local KEK", 0, 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opener := kms.NewOpener()
			opener.Register(local.Scheme, func(ctx context.Context, uri string) (*kms.Keeper, error) {
				kek, err := local.OpenFunc(nil)(ctx, uri)
				if err != nil {
					return nil, err
				}
				return kms.NewKeeper(uri, &slowKEK{kek: kek, latency: tt.latency}), nil
			})
			for round := range tt.rounds {
				kr, err := keyring.New(keyring.Config{Store: e.store, Opener: opener, KEKs: e.keks})
				require.NoError(t, err)
				firstCalls(t, crypt.New(kr, nil), 32)
				st := kr.Stats()
				if st.KMSCalls != keysetsUsed || st.Loads != keysetsUsed {
					t.Fatalf("round %d: 32 concurrent first Encrypts made %d KMS calls and %d loads, want %d of each "+
						"(a caller that misses the cache while a load of the same keyset is finishing must join it, not start another)",
						round, st.KMSCalls, st.Loads, keysetsUsed)
				}
			}
		})
	}

	t.Run("warm", func(t *testing.T) {
		kr := e.newKeyring(t, e.keks)
		enc := crypt.New(kr, nil)
		c := secretContact("c-warm")
		require.NoError(t, enc.Encrypt(ctx, c))
		require.NoError(t, enc.Decrypt(ctx, c))
		before := kr.Stats()
		for i := range 10_000 {
			if err := enc.Encrypt(ctx, c); err != nil {
				t.Fatalf("Encrypt #%d err = %v", i, err)
			}
			if err := enc.Decrypt(ctx, c); err != nil {
				t.Fatalf("Decrypt #%d err = %v", i, err)
			}
		}
		after := kr.Stats()
		assert.Equal(t, before.KMSCalls, after.KMSCalls, "KMS calls during 10,000 warm Encrypt+Decrypt")
		assert.Equal(t, before.Loads, after.Loads, "keyset loads during 10,000 warm Encrypt+Decrypt")
		assert.Equal(t, before.CacheMisses, after.CacheMisses, "cache misses during warm calls")
		assert.Greater(t, after.CacheHits-before.CacheHits, int64(10_000), "cache hits during warm calls")
		assert.Equal(t, secretName, c.Name)
	})
}

// firstCalls runs n Encrypts at once on enc and fails the test on error.
func firstCalls(t *testing.T, enc *crypt.Encryptor, n int) {
	t.Helper()
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = enc.Encrypt(context.Background(), secretContact(fmt.Sprintf("c-%d", i)))
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "caller %d: Encrypt", i)
	}
}

// slowKEK is a kms.Driver that adds latency to every call of a KEK, as a
// remote KMS has.
type slowKEK struct {
	kek     *kms.Keeper
	latency time.Duration
}

func (s *slowKEK) Encrypt(ctx context.Context, pt, ad []byte) ([]byte, error) {
	time.Sleep(s.latency)
	return s.kek.EncryptWithContext(ctx, pt, ad)
}

func (s *slowKEK) Decrypt(ctx context.Context, ct, ad []byte) ([]byte, error) {
	time.Sleep(s.latency)
	return s.kek.DecryptWithContext(ctx, ct, ad)
}

func (s *slowKEK) ErrorCode(_ string, err error) kms.Code { return kms.CodeOf(err) }
func (s *slowKEK) Close() error                           { return s.kek.Close() }
