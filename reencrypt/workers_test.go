package reencrypt_test

import (
	"context"
	"sync"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/reencrypt"
)

// TestTwoWorkers runs two workers (two processes, in effect: each has its
// own keyring and name) on one job: they finish it together, each range is
// claimed once, and each row is processed and written once.
func TestTwoWorkers(t *testing.T) {
	for _, c := range []struct {
		name string
		open func(testing.TB) *testDB
	}{{"PostgreSQL", openPostgres}, {"MariaDB", openMySQL}} {
		t.Run(c.name, func(t *testing.T) {
			db := c.open(t)
			ctx := context.Background()
			const n, tenants = 4000, 3
			k := newKeys(t)
			app := k.encryptor(t)
			db.createContacts(t)
			db.seed(t, app, n, tenants)
			before := digest(db.decryptAll(t, app))
			tab := contactsTable(t)
			newKeys := rotate(t, app.Keyring(), keyring.PurposeData, tenantNames(tenants), classes...)

			sums := make([]*reencrypt.Summary, 2)
			errs := make([]error, 2)
			var wg sync.WaitGroup
			for i, worker := range []string{"worker-a", "worker-b"} {
				wg.Go(func() {
					opts := &reencrypt.Options{Job: "shared", Worker: worker, BatchSize: 50, RangeSize: 250, Rate: 3000}
					sums[i], errs[i] = reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), tab, opts)
				})
			}
			wg.Wait()
			var scanned int64
			for i, s := range sums {
				if errs[i] != nil || s.Outcome != reencrypt.Done || s.Ranges == 0 {
					t.Errorf("worker %d: Run = %s, %v; want done, with at least one range of its own", i, js(s), errs[i])
				}
				scanned += s.Scanned
			}
			t.Logf("worker-a: %d ranges, %d rows; worker-b: %d ranges, %d rows", sums[0].Ranges, sums[0].Scanned, sums[1].Ranges, sums[1].Scanned)
			if scanned != n || sums[0].Ranges+sums[1].Ranges != 17 {
				t.Errorf("workers scanned %d rows in %d ranges, want %d rows in 17 ranges", scanned, sums[0].Ranges+sums[1].Ranges, n)
			}
			var done int64
			for _, r := range db.ranges(t, "shared") {
				if r.claims != 1 || r.state != "done" {
					t.Errorf("range %d: claims %d, state %s; want claimed once and done", r.no, r.claims, r.state)
				}
				done += r.rowsDone
			}
			if done != n {
				t.Errorf("ranges processed %d rows, want %d", done, n)
			}
			if got := db.rewriteCounts(t); got[1] != n {
				t.Errorf("rows by number of writes = %v, want all %d written once", got, n)
			}
			assertUnder(t, db, tab, newKeys)
			if after := digest(db.decryptAll(t, app)); after != before {
				t.Errorf("plaintext digest changed")
			}
		})
	}
}
