package reencrypt_test

import (
	"context"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/reencrypt"
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

// TestIndexStatusReadsOnlyItsScope: IndexStatus of one scope has the
// database select that scope's rows. The table is a view whose rows of
// other scopes fail as soon as they are read (their e-mail is an
// expression that raises an error), so filtering them after reading them
// would fail.
func TestIndexStatusReadsOnlyItsScope(t *testing.T) {
	for _, c := range []struct {
		name  string
		open  func(testing.TB) *testDB
		fails string // an expression on tenant_id that raises an error
	}{
		{"SQLite", openSQLite, "json(tenant_id)"},
		{"PostgreSQL", openPostgres, "(1 / (length(tenant_id) - length(tenant_id)))::text"},
	} {
		t.Run(c.name, func(t *testing.T) {
			db := c.open(t)
			ctx := context.Background()
			k := newKeys(t)
			app := k.encryptor(t)
			db.createContacts(t)
			db.seed(t, app, 30, 3)
			if _, err := db.ExecContext(ctx, `CREATE VIEW contacts_tenant0 AS SELECT id, tenant_id, name,
				CASE WHEN tenant_id = 'tenant-0' THEN email ELSE `+c.fails+` END AS email,
				email_idx, phone, phone_idx, notes FROM contacts`); err != nil {
				t.Fatal(err)
			}
			tab := contactsTable(t)
			tab.Name = "contacts_tenant0"
			if _, err := reencrypt.IndexStatus(ctx, db.DB, db.d, k.encryptor(t), tab, &reencrypt.IndexStatusOptions{Class: "pii", BatchSize: 4}); err == nil {
				t.Fatal("IndexStatus of every scope read the view without an error: the test cannot tell a filtered read")
			}
			rep, err := reencrypt.IndexStatus(ctx, db.DB, db.d, k.encryptor(t), tab, &reencrypt.IndexStatusOptions{Scope: "tenant-0", Class: "pii", BatchSize: 4})
			if err != nil {
				t.Fatalf("IndexStatus(tenant-0) read rows of other scopes: %v", err)
			}
			if rep.Rows != 10 {
				t.Errorf("IndexStatus(tenant-0) = %s, want the 10 rows of tenant-0", js(rep))
			}
			for _, col := range rep.Columns {
				for _, sc := range col.Scopes {
					if sc.Scope != "tenant-0" || sc.Older+sc.Unmatched+sc.Unreadable != 0 {
						t.Errorf("IndexStatus(tenant-0) column %s = %+v, want tenant-0 only, every value under the primary", col.Column, sc)
					}
				}
			}
		})
	}
}
