package crypt_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/crypt/blind"
	"github.com/fieldcrypt/fieldcrypt/internal/teststores"
	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/local"
)

// TestShredIsFinal is the finding 4 through the public API, on
// each real store: after `keys shred`, a search, an Encrypt (of a class
// the tenant had, and of one it never used) and a Decrypt all fail with
// ErrScopeShredded and create nothing. Searches on made-up tenants create
// nothing and call no KMS either.
func TestShredIsFinal(t *testing.T) {
	for _, kind := range teststores.Kinds() {
		t.Run(kind.Name, func(t *testing.T) {
			ctx := context.Background()
			store := kind.New(t)
			opener := kms.NewOpener()
			opener.Register(local.Scheme, local.OpenFunc(nil))
			keks := map[string]string{}
			for _, class := range []string{"pii", "support", "default"} {
				uri, err := local.CreateInsecureKeyFile(filepath.Join(t.TempDir(), class+".json"))
				if err != nil {
					t.Fatal(err)
				}
				keks[class] = uri
			}
			kr, err := keyring.New(keyring.Config{Store: store, Opener: opener, KEKs: keks})
			if err != nil {
				t.Fatal(err)
			}
			defer kr.Close()
			enc := crypt.New(kr, nil)

			stored := sampleContact()
			if err := enc.Encrypt(ctx, stored); err != nil {
				t.Fatal(err)
			}
			if _, err := keyring.NewManager(kr).Shred(ctx, "acme"); err != nil {
				t.Fatal(err)
			}
			tombs, _ := store.List(ctx, "acme")
			calls := kr.Stats().KMSCalls

			if _, err := enc.BlindIndexValues(ctx, &Contact{TenantID: "acme", Email: "ada@example.com"}, "EmailIdx"); !errors.Is(err, crypt.ErrScopeShredded) {
				t.Errorf("BlindIndexValues(shredded tenant) err = %v, want ErrScopeShredded", err)
			}
			if err := enc.Encrypt(ctx, sampleContact()); !errors.Is(err, crypt.ErrScopeShredded) {
				t.Errorf("Encrypt(shredded tenant) err = %v, want ErrScopeShredded", err)
			}
			other := &shapeOnlyDefault{ID: "x", Tenant: "acme", Memo: "a memo"} // the default class: never used by acme
			if err := enc.Encrypt(ctx, other); !errors.Is(err, crypt.ErrScopeShredded) {
				t.Errorf("Encrypt(shredded tenant, new class) err = %v, want ErrScopeShredded", err)
			}
			row := clone(stored)
			if err := enc.Decrypt(ctx, row); !errors.Is(err, crypt.ErrScopeShredded) || !errors.Is(err, crypt.ErrKeyDestroyed) {
				t.Errorf("Decrypt(shredded tenant) err = %v, want ErrScopeShredded and ErrKeyDestroyed", err)
			}
			if recs, _ := store.List(ctx, "acme"); !sameRecords(recs, tombs) {
				t.Errorf("after the shred, calls changed the tenant's records: %d now, want the %d tombstones unchanged", len(recs), len(tombs))
			}
			// Loading a tombstone authenticates it (one unwrap per keyset
			// the calls touched), and nothing is ever wrapped.
			if n := kr.Stats().KMSCalls - calls; n > int64(len(tombs)) {
				t.Errorf("calls on the shredded tenant made %d KMS calls, want at most %d (authenticating the tombstones)", n, len(tombs))
			}

			// Thirty searches on made-up tenants.
			all, _ := store.List(ctx, "")
			calls = kr.Stats().KMSCalls
			for i := range 30 {
				q := &Contact{TenantID: fmt.Sprintf("made-up-%d", i), Email: "someone@example.com"}
				vals, err := enc.BlindIndexValues(ctx, q, "EmailIdx")
				if err != nil || len(vals) != 0 {
					t.Fatalf("BlindIndexValues(made-up tenant) = %v, %v; want no values and no error", vals, err)
				}
			}
			if now, _ := store.List(ctx, ""); len(now) != len(all) {
				t.Errorf("30 searches on made-up tenants created %d keysets, want 0", len(now)-len(all))
			}
			if n := kr.Stats().KMSCalls - calls; n != 0 {
				t.Errorf("30 searches on made-up tenants made %d KMS calls, want 0", n)
			}
		})
	}
}

// shapeOnlyDefault has one field in the default class.
type shapeOnlyDefault struct {
	ID     string `crypt:"id"`
	Tenant string `crypt:"scope"`
	Memo   string `crypt:"encrypt"`
}

// sameRecords reports whether two listings hold the same records, byte for
// byte.
func sameRecords(a, b []*keyring.Record) bool {
	return slices.EqualFunc(a, b, func(x, y *keyring.Record) bool {
		return x.ID == y.ID && x.Version == y.Version && x.KEKURI == y.KEKURI &&
			bytes.Equal(x.Metadata, y.Metadata) && bytes.Equal(x.EncryptedKeyset, y.EncryptedKeyset)
	})
}

// slowTwoClass has a slow blind index, computed before the data fields,
// and data fields of two classes.
type slowTwoClass struct {
	ID     string `crypt:"id"`
	Tenant string `crypt:"scope"`
	B      string `crypt:"encrypt,class=support"`
	BIdx   string `crypt:"blind=B,slow,bits=16"`
	A      string `crypt:"encrypt,class=pii"`
}

// TestShredDuringAnEncrypt plays a record in flight across a shred: its
// index keyset is looked up, then its slow (Argon2id) index runs while the
// scope is shredded, then its data keysets are looked up. The Encrypt must
// fail with ErrScopeShredded: the shred had returned before those lookups,
// and a record written under destroyed keys could never be read.
// (The keyring's per-record scope view once served them from before the
// shred; found by a hostile review.)
func TestShredDuringAnEncrypt(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	enc := crypt.New(e.keyring, &crypt.Options{SlowParams: &blind.SlowParams{Time: 40, MemoryKiB: 19 * 1024, Threads: 1}})
	require.NoError(t, enc.Encrypt(ctx, &slowTwoClass{ID: "0", Tenant: "acme", A: "a", B: "b"}), "warm-up")

	hits := e.keyring.Stats().CacheHits
	rec := &slowTwoClass{ID: "1", Tenant: "acme", A: "a", B: "b"}
	var encryptDone atomic.Bool
	errc := make(chan error, 1)
	go func() {
		err := enc.Encrypt(ctx, rec)
		encryptDone.Store(true)
		errc <- err
	}()
	// The index keyset lookup is the record's first: once it has hit the
	// cache, the Argon2id index (about half a second) is running.
	for e.keyring.Stats().CacheHits == hits {
		time.Sleep(50 * time.Microsecond)
	}
	_, err := e.admin.Shred(ctx, "acme")
	require.NoError(t, err)
	require.False(t, encryptDone.Load(), "the Encrypt ended before the shred returned: the slow index is too fast to test with")
	err = <-errc
	require.ErrorIs(t, err, crypt.ErrScopeShredded, "a record in flight was encrypted under keys a returned shred destroyed")
	assert.Equal(t, "a", rec.A, "the failed Encrypt changed the record")
	assert.Equal(t, "b", rec.B)
}

// TestScopeViewKeptBetweenRecords checks the scope view an Encryptor keeps
// from one record to the next (a pooled op's, used again while it is
// Current): records of two tenants, alternating and in runs, each use their
// own tenant's keys, and a promotion or a shred between two records of one
// tenant is seen by the second. The alternation checks the view's scope;
// the promotion and the shred are seen both through Current and through
// the invalidation count each lookup checks, so those two halves hold
// with either alone (keyring's TestScopeKeysCurrent checks Current itself).
func TestScopeViewKeptBetweenRecords(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tenants := []string{"acme", "globex"}
	primary := map[string]uint32{}
	for _, tenant := range tenants {
		dk, err := e.keyring.DataKeys(ctx, tenant, "pii")
		require.NoError(t, err)
		primary[tenant] = dk.PrimaryID()
	}
	require.NotEqual(t, primary["acme"], primary["globex"], "the tenants' keys must differ for this test to see a mix-up")

	order := []string{"acme", "globex", "acme", "globex", "acme", "acme", "acme", "globex", "globex", "acme"}
	for i, tenant := range order {
		c := benchPlain()
		c.TenantID = tenant
		require.NoError(t, e.enc.Encrypt(ctx, &c), "record %d", i)
		assert.Equal(t, primary[tenant], textKeyID(t, c.FirstName), "record %d (%s) was encrypted under another tenant's key", i, tenant)
		require.NoError(t, e.enc.Decrypt(ctx, &c), "record %d", i)
		assert.Equal(t, "Ada", c.FirstName)
	}

	// A promotion between two records of acme.
	id := keyring.KeysetID{Scope: "acme", Class: "pii", Purpose: keyring.PurposeData}
	newKey, err := e.admin.AddKey(ctx, id)
	require.NoError(t, err)
	require.NoError(t, e.admin.PromoteKey(ctx, id, newKey))
	c := benchPlain()
	require.NoError(t, e.enc.Encrypt(ctx, &c))
	assert.Equal(t, newKey, textKeyID(t, c.FirstName), "the record after a promotion was encrypted under the old primary")

	// A shred between two records of acme.
	_, err = e.admin.Shred(ctx, "acme")
	require.NoError(t, err)
	c = benchPlain()
	require.ErrorIs(t, e.enc.Encrypt(ctx, &c), keyring.ErrScopeShredded, "a record after a shred was encrypted")
	g := benchPlain()
	g.TenantID = "globex"
	require.NoError(t, e.enc.Encrypt(ctx, &g), "another tenant's record after the shred")
}
