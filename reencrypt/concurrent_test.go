package reencrypt_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/reencrypt"
)

// TestCompareAndSwap writes to rows between the job's read and its write,
// as a concurrent application would: every such write survives, the job
// counts the conflicts, and the rows end up under the new keys.
func TestCompareAndSwap(t *testing.T) {
	eachDB(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		const n, tenants = 300, 2
		k := newKeys(t)
		app := k.encryptor(t)
		db.createContacts(t)
		db.seed(t, app, n, tenants)
		tab := contactsTable(t)
		newKeys := rotate(t, app.Keyring(), keyring.PurposeData, tenantNames(tenants), classes...)

		// Before each batch's write, the application rewrites the first row
		// the job is about to rewrite, with a new name.
		var mu sync.Mutex
		written := map[int64]string{}
		opts := jobOptions("cas")
		reencrypt.BeforeWrite(opts, func(ctx context.Context, keys []any) {
			if len(keys) == 0 {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			id := keys[0].(int64)
			c := contactFor(id, tenants)
			c.Name = fmt.Sprintf("Renamed %d", id)
			if err := app.Encrypt(ctx, c); err != nil {
				t.Errorf("Encrypt(%d) err = %v", id, err)
				return
			}
			if err := db.update(ctx, c); err != nil {
				t.Errorf("update(%d) err = %v", id, err)
				return
			}
			written[id] = fmt.Sprintf("Renamed %d", id)
		})
		sum, err := reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), tab, opts)
		if err != nil || sum.Outcome != reencrypt.Done {
			t.Fatalf("Run = %s, %v; want done", js(sum), err)
		}
		if len(written) == 0 || sum.Conflicts != int64(len(written)) || sum.Rewritten != int64(n-len(written)) || sum.Current != int64(len(written)) {
			t.Errorf("Run = %s; want %d conflicts, those rows current (the application wrote them under the new keys), the other %d rewritten",
				js(sum), len(written), n-len(written))
		}
		for _, c := range db.decryptAll(t, app) {
			if want, ok := written[c.ID]; ok && c.Name != want {
				t.Errorf("contact %d name = %q, want the application's write %q", c.ID, c.Name, want)
			}
		}
		assertUnder(t, db, tab, newKeys)
	})
}

// TestConcurrentWriter runs the job while an application goroutine updates
// random contacts: none of its writes is lost, every other row keeps its
// plaintext, and every value ends under the new keys.
func TestConcurrentWriter(t *testing.T) {
	eachDB(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		const n, tenants = 3000, 3
		k := newKeys(t)
		db.createContacts(t)
		db.seed(t, k.encryptor(t), n, tenants)
		tab := contactsTable(t)
		scopes := tenantNames(tenants)
		newKeys := rotate(t, k.keyring(t), keyring.PurposeData, scopes, classes...)
		app := k.encryptor(t) // a fresh process: it sees the new primaries

		want := map[int64]*Contact{}
		for i := int64(1); i <= n; i++ {
			want[i] = contactFor(i, tenants)
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var writes int
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(1, 2))
			for v := 0; ; v++ {
				select {
				case <-stop:
					return
				default:
				}
				id := rng.Int64N(n) + 1
				c := contactFor(id, tenants)
				c.Name, c.Email = fmt.Sprintf("Writer %d v%d", id, v), fmt.Sprintf("w%d.v%d@example.org", id, v)
				plain := *c
				if err := app.Encrypt(ctx, c); err != nil {
					t.Errorf("Encrypt(%d) err = %v", id, err)
					return
				}
				if err := db.update(ctx, c); err != nil {
					t.Errorf("update(%d) err = %v", id, err)
					return
				}
				want[id] = &plain
				writes++
				time.Sleep(200 * time.Microsecond)
			}
		})

		opts := jobOptions("writer")
		opts.BatchSize = 25
		sum, err := reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), tab, opts)
		close(stop)
		wg.Wait()
		if err != nil || sum.Outcome != reencrypt.Done || sum.Scanned != n {
			t.Fatalf("Run = %s, %v; want done over %d rows", js(sum), err, n)
		}
		t.Logf("%d application writes during the job; %d compare-and-swap conflicts", writes, sum.Conflicts)
		lost := 0
		for _, c := range db.decryptAll(t, app) {
			w := want[c.ID]
			if c.Name != w.Name || c.Email != w.Email || deref(c.Phone) != deref(w.Phone) || string(c.Notes) != string(w.Notes) {
				lost++
				if lost < 5 {
					t.Errorf("contact %d = %q, %q; want %q, %q", c.ID, c.Name, c.Email, w.Name, w.Email)
				}
			}
		}
		if lost > 0 {
			t.Errorf("%d contacts lost a write or their plaintext", lost)
		}
		assertUnder(t, db, tab, newKeys)
		if v, err := reencrypt.Verify(ctx, db.DB, db.d, app, tab, nil); err != nil || v.Outcome != reencrypt.Done {
			t.Errorf("Verify = %s, %v; want done", js(v), err)
		}
	})
}
