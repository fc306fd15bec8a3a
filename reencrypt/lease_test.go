package reencrypt_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/reencrypt"
)

// TestLostLeaseRollsBack takes a range away from the worker between its
// read and its write, as a worker whose lease expired would see: the
// batch's writes roll back, and once the thief's lease expires the worker
// takes the range back and finishes it. Every row is written once.
func TestLostLeaseRollsBack(t *testing.T) {
	eachDB(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		const n, tenants = 300, 2
		k := newKeys(t)
		app := k.encryptor(t)
		db.createContacts(t)
		db.seed(t, app, n, tenants)
		tab := contactsTable(t)
		newKeys := rotate(t, app.Keyring(), keyring.PurposeData, tenantNames(tenants), classes...)

		opts := &reencrypt.Options{Job: "fence", BatchSize: 64, RangeSize: 1000, Lease: time.Second}
		var stolen atomic.Bool
		reencrypt.BeforeWrite(opts, func(ctx context.Context, keys []any) {
			if stolen.Swap(true) {
				return
			}
			// Another worker claims the range (its lease, renewed from now).
			q := "UPDATE " + reencrypt.RangesTable + " SET owner = 'thief', run_id = 'thief', token = 'thief' WHERE job = 'fence'"
			if _, err := db.ExecContext(ctx, q); err != nil {
				t.Errorf("%s: %v", q, err)
			}
		})
		sum, err := reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), tab, opts)
		if err != nil || sum.Outcome != reencrypt.Done || sum.Scanned != n || sum.Rewritten != n {
			t.Fatalf("Run = %s, %v; want done, every row rewritten once", js(sum), err)
		}
		if rs := db.ranges(t, "fence"); len(rs) != 1 || rs[0].claims != 2 || rs[0].rowsDone != n {
			t.Errorf("ranges = %+v, want one range claimed twice with %d rows done", rs, n)
		}
		if got := db.rewriteCounts(t); got[1] != n {
			t.Errorf("rows by number of writes = %v, want all %d written once (the fenced batch rolled back)", got, n)
		}
		assertUnder(t, db, tab, newKeys)
	})
}

// TestJobTables covers an empty table and a job name reused for another
// table.
func TestJobTables(t *testing.T) {
	eachDB(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		k := newKeys(t)
		db.createContacts(t)
		tab := contactsTable(t)
		sum, err := reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), tab, jobOptions("empty"))
		if err != nil || sum.Outcome != reencrypt.Done || sum.Scanned != 0 || sum.JobTotals.Ranges != 1 {
			t.Errorf("Run(empty table) = %s, %v; want done with one empty range", js(sum), err)
		}
		other := tab
		other.Name = "other_contacts"
		if _, err := db.Exec("CREATE TABLE other_contacts (id INTEGER PRIMARY KEY, tenant_id TEXT, name TEXT, email TEXT, email_idx TEXT, phone TEXT, phone_idx TEXT, notes TEXT)"); err != nil {
			t.Fatal(err)
		}
		sum, err = reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), other, jobOptions("empty"))
		if !errors.Is(err, reencrypt.ErrJobMismatch) || sum.Outcome != reencrypt.Failed || sum.Error == "" {
			t.Errorf("Run(job of another table) = %s, %v; want failed with ErrJobMismatch", js(sum), err)
		}
	})
}

// TestRateLimit checks that Options.Rate slows a run to about that many
// rows per second.
func TestRateLimit(t *testing.T) {
	db := openSQLite(t)
	ctx := context.Background()
	const n = 600
	k := newKeys(t)
	db.createContacts(t)
	db.seed(t, k.encryptor(t), n, 2)
	start := time.Now()
	opts := &reencrypt.Options{BatchSize: 100, Rate: 1000, DryRun: true}
	sum, err := reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), contactsTable(t), opts)
	if err != nil || sum.Scanned != n {
		t.Fatalf("Run = %s, %v", js(sum), err)
	}
	// 7 reads of 100 tokens at 1000/s, the first 100 free: at least 0.6s.
	if d := time.Since(start); d < 500*time.Millisecond {
		t.Errorf("Run(Rate 1000) over %d rows took %v, want at least 0.5s", n, d)
	}
}
