package reencrypt_test

import (
	"context"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/crypt/reencrypt"
	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// TestIndexStatus rotates tenant-0's pii index key and tenant-1's data
// keys: IndexStatus of (tenant-0, pii) sees only tenant-0's pii index
// values, all under the older key, and none of the stale data values;
// after the job every one is under the primary index key.
func TestIndexStatus(t *testing.T) {
	eachDB(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		const n, tenants = 90, 3
		k := newKeys(t)
		app := k.encryptor(t)
		db.createContacts(t)
		db.seed(t, app, n, tenants)
		tab := contactsTable(t)
		rotate(t, app.Keyring(), keyring.PurposeIndex, []string{"tenant-0"}, "pii")
		rotate(t, app.Keyring(), keyring.PurposeData, []string{"tenant-1"}, classes...)

		check := func(when string, primary, older int64) {
			t.Helper()
			rep, err := reencrypt.IndexStatus(ctx, db.DB, db.d, k.encryptor(t), tab, &reencrypt.IndexStatusOptions{Scope: "tenant-0", Class: "pii", BatchSize: 7})
			if err != nil {
				t.Fatalf("IndexStatus(%s) err = %v", when, err)
			}
			if rep.Rows != n/tenants || len(rep.Columns) != 2 {
				t.Fatalf("IndexStatus(%s) = %s, want %d rows of tenant-0 and the two pii index columns", when, js(rep), n/tenants)
			}
			var got reencrypt.IndexScopeCounts
			for _, c := range rep.Columns {
				if len(c.Scopes) != 1 || c.Scopes[0].Scope != "tenant-0" || c.Class != "pii" {
					t.Errorf("IndexStatus(%s) column %s = %+v, want tenant-0 only, class pii", when, c.Column, c)
					continue
				}
				sc := c.Scopes[0]
				got.Primary += sc.Primary
				got.Older += sc.Older
				got.Unmatched += sc.Unmatched
				got.Unreadable += sc.Unreadable
			}
			if got.Primary != primary || got.Older != older || got.Unmatched != 0 || got.Unreadable != 0 {
				t.Errorf("IndexStatus(%s) = %+v, want %d under the primary index key, %d under the older one", when, got, primary, older)
			}
		}
		rows := db.readContacts(t, "WHERE tenant_id = 'tenant-0'")
		var indexed int64
		for _, c := range rows {
			if c.EmailIdx != "" {
				indexed++
			}
			if c.PhoneIdx != "" {
				indexed++
			}
		}
		check("before the job", 0, indexed)
		if sum, err := reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), tab, jobOptions("index-status")); err != nil || sum.Outcome != reencrypt.Done {
			t.Fatalf("Run = %s, %v", js(sum), err)
		}
		check("after the job", indexed, 0)

		none, err := reencrypt.IndexStatus(ctx, db.DB, db.d, k.encryptor(t), tab, &reencrypt.IndexStatusOptions{Class: "support"})
		if err != nil || len(none.Columns) != 0 {
			t.Errorf("IndexStatus(class support, which has no index) = %s, %v; want no column", js(none), err)
		}
	})
}
