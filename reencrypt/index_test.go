package reencrypt_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/reencrypt"
)

// lookup finds contacts by e-mail as the application does: the blind index
// values under every enabled index key, then decrypt and compare.
func lookup(t *testing.T, db *testDB, enc *crypt.Encryptor, tenant, email string) []int64 {
	t.Helper()
	ctx := context.Background()
	vals, err := enc.BlindIndexValues(ctx, &Contact{TenantID: tenant, Email: email}, "EmailIdx")
	if err != nil {
		t.Fatalf("BlindIndexValues(%s) err = %v", tenant, err)
	}
	marks := make([]string, len(vals))
	args := []any{tenant}
	for i, v := range vals {
		marks[i] = db.ph(i + 2)
		args = append(args, v)
	}
	var ids []int64
	for _, c := range db.readContacts(t, "WHERE tenant_id = "+db.ph(1)+" AND email_idx IN ("+strings.Join(marks, ", ")+")", args...) {
		if err := enc.Decrypt(ctx, c); err != nil {
			t.Fatalf("Decrypt(%d) err = %v", c.ID, err)
		}
		if strings.EqualFold(strings.TrimSpace(c.Email), strings.TrimSpace(email)) {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

// TestIndexKeyRotation rotates the index keys and checks that lookups by
// blind index find the right contacts before, during (half the rows
// moved) and after the job, and once the old index key is disabled. The
// job rewrites only the index columns.
func TestIndexKeyRotation(t *testing.T) {
	eachDB(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		const n, tenants = 600, 2
		k := newKeys(t)
		app := k.encryptor(t)
		db.createContacts(t)
		db.seed(t, app, n, tenants)
		tab := contactsTable(t)
		scopes := tenantNames(tenants)
		check := func(stage string) {
			t.Helper()
			for id := int64(1); id <= n; id += 37 {
				c := contactFor(id, tenants)
				if got := lookup(t, db, app, c.TenantID, strings.ToUpper(c.Email)); !slices.Equal(got, []int64{id}) {
					t.Errorf("%s: lookup(%s) = %v, want [%d]", stage, c.Email, got, id)
				}
			}
		}
		check("before rotation")
		oldIndex := map[string]uint32{}
		for _, s := range scopes {
			ik, err := app.Keyring().IndexKeys(ctx, s, "pii")
			if err != nil {
				t.Fatal(err)
			}
			oldIndex[s] = ik.PrimaryID()
		}
		before := db.readContacts(t, "")

		rotate(t, app.Keyring(), keyring.PurposeIndex, scopes, "pii")
		check("after promotion, before the job")

		// A configuration that disagrees with the application about an
		// index (bits) must not overwrite it: the drift check refuses it
		// before any row is read for real (TestDriftIndexWidth has the
		// details).
		wrong := tab
		wrong.Indexes = slices.Clone(tab.Indexes)
		wrong.Indexes[0].Bits = 24
		sum, err := reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), wrong, jobOptions("wrong-index"))
		if !errors.Is(err, reencrypt.ErrConfigDrift) || sum.Outcome != reencrypt.Failed || sum.Scanned != 0 {
			t.Fatalf("Run(wrong index bits) = %s, %v; want failed with ErrConfigDrift, no row scanned", js(sum), err)
		}
		if got := db.rewriteCounts(t); got[0] != n {
			t.Fatalf("Run(wrong index bits) wrote rows: %v", got)
		}

		// Run the job for three batches, then stop it.
		stopCtx, stop := context.WithCancel(ctx)
		opts := jobOptions("index")
		var batches atomic.Int32
		reencrypt.BeforeWrite(opts, func(context.Context, []any) {
			if batches.Add(1) == 3 {
				stop()
			}
		})
		sum, err = reencrypt.Run(stopCtx, db.DB, db.d, k.encryptor(t), tab, opts)
		// A batch whose commit raced the cancellation may be missing from
		// this run's counts; the job's totals come from the database.
		moved := sum.JobTotals.Rewritten
		if err != nil || sum.Outcome != reencrypt.Partial || moved == 0 || moved >= n || sum.Rewritten > moved {
			t.Fatalf("Run(stopped after 3 batches) = %s, %v; want partial with some rows rewritten", js(sum), err)
		}
		check("during the job")
		v, err := reencrypt.Verify(ctx, db.DB, db.d, app, tab, nil)
		if err != nil || v.Rewritten != n-moved {
			t.Errorf("Verify(during) = %s, %v; want %d rows with stale indexes", js(v), err, n-moved)
		}

		sum, err = reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), tab, jobOptions("index"))
		if err != nil || sum.Outcome != reencrypt.Done || sum.JobTotals.Rewritten != n {
			t.Fatalf("Run(resumed) = %s, %v; want done, %d rows rewritten over both runs", js(sum), err, n)
		}
		check("after the job")
		for i, c := range db.readContacts(t, "") {
			b := before[i]
			if c.Name != b.Name || c.Email != b.Email || deref(c.Phone) != deref(b.Phone) || string(c.Notes) != string(b.Notes) {
				t.Errorf("contact %d: the job rewrote encrypted values; only indexes were stale", c.ID)
			}
			if c.EmailIdx == b.EmailIdx {
				t.Errorf("contact %d: email_idx unchanged by the job", c.ID)
			}
		}

		for _, s := range scopes {
			id := keyring.KeysetID{Scope: s, Class: "pii", Purpose: keyring.PurposeIndex}
			if err := keyring.NewManager(app.Keyring()).DisableKey(ctx, id, oldIndex[s]); err != nil {
				t.Fatalf("DisableKey(%v) err = %v", id, err)
			}
		}
		check("after disabling the old index key")
		if v, err := reencrypt.Verify(ctx, db.DB, db.d, app, tab, nil); err != nil || v.Outcome != reencrypt.Done {
			t.Errorf("Verify(after) = %s, %v; want done", js(v), err)
		}
	})
}
