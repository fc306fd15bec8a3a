package reencrypt_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/reencrypt"
)

// jobOptions are small batches and ranges, so that a few hundred rows make
// several of each; Concurrency 2 (one on SQLite).
func jobOptions(job string) *reencrypt.Options {
	return &reencrypt.Options{Job: job, BatchSize: 64, RangeSize: 300, Concurrency: 2}
}

// TestRotation rotates every data key, runs the job, and checks that every
// value moved to the new keys with its plaintext unchanged, that each row
// was written once, and that running again rewrites nothing.
func TestRotation(t *testing.T) {
	eachDB(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		const n, tenants = 1000, 3
		k := newKeys(t)
		app := k.encryptor(t)
		db.createContacts(t)
		db.seed(t, app, n, tenants)
		before := digest(db.decryptAll(t, app))
		tab := contactsTable(t)

		newKeys := rotate(t, app.Keyring(), keyring.PurposeData, tenantNames(tenants), classes...)
		sum, err := reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), tab, jobOptions("rotation"))
		if err != nil {
			t.Fatalf("Run err = %v", err)
		}
		if sum.Outcome != reencrypt.Done || sum.Scanned != n || sum.Rewritten != n || sum.Current != 0 || sum.Failed+sum.Skipped != 0 {
			t.Errorf("Run = %s, want done with %d rows scanned and rewritten", js(sum), n)
		}
		if jt := sum.JobTotals; jt == nil || !jt.Complete || jt.Rows != n || jt.Rewritten != n {
			t.Errorf("Run JobTotals = %+v, want complete with %d rows", sum.JobTotals, n)
		}
		assertUnder(t, db, tab, newKeys)
		if after := digest(db.decryptAll(t, app)); after != before {
			t.Errorf("plaintext digest after the job = %s, want %s (as before)", after, before)
		}
		if got := db.rewriteCounts(t); got[1] != n {
			t.Errorf("rows by number of writes = %v, want all %d written exactly once", got, n)
		}

		// The job is complete: running it again does nothing.
		again, err := reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), tab, jobOptions("rotation"))
		if err != nil || again.Outcome != reencrypt.Done || again.Scanned != 0 {
			t.Errorf("Run(complete job) = %s, %v; want done with nothing scanned", js(again), err)
		}
		// A new pass over current rows rewrites none of them.
		opts := jobOptions("rotation")
		opts.Restart = true
		again, err = reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), tab, opts)
		if err != nil || again.Outcome != reencrypt.Done || again.Scanned != n || again.Current != n || again.Rewritten != 0 {
			t.Errorf("Run(Restart) = %s, %v; want done with %d rows current, 0 rewritten", js(again), err, n)
		}
		if got := db.rewriteCounts(t); got[1] != n {
			t.Errorf("after a second pass, rows by number of writes = %v, want all %d still written once", got, n)
		}
	})
}

// TestDryRunWritesNothing checks that a dry run counts the stale rows and
// leaves the table, and the job tables, untouched.
func TestDryRunWritesNothing(t *testing.T) {
	eachDB(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		const n, tenants = 400, 2
		k := newKeys(t)
		app := k.encryptor(t)
		db.createContacts(t)
		db.seed(t, app, n, tenants)
		// Rotate one tenant's pii keys: only its rows are stale.
		rotate(t, app.Keyring(), keyring.PurposeData, []string{"tenant-1"}, "pii")
		before := db.rawDigest(t)

		opts := jobOptions("dry")
		opts.DryRun = true
		sum, err := reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), contactsTable(t), opts)
		if err != nil {
			t.Fatalf("Run(DryRun) err = %v", err)
		}
		if sum.Mode != reencrypt.ModeDryRun || sum.Outcome != reencrypt.Partial || sum.Scanned != n || sum.Rewritten != n/2 || sum.Current != n/2 {
			t.Errorf("Run(DryRun) = %s, want partial, %d scanned, %d to rewrite", js(sum), n, n/2)
		}
		if after := db.rawDigest(t); after != before {
			t.Errorf("table changed by a dry run")
		}
		if _, err := db.Exec("SELECT 1 FROM " + reencrypt.JobsTable); err == nil {
			t.Errorf("dry run created %s", reencrypt.JobsTable)
		}
	})
}

func js(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return err.Error()
	}
	return string(b)
}
