package reencrypt_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/keyring/filestore"
	"github.com/fieldcrypt/fieldcrypt/reencrypt"
)

// TestJobAfterShred is the finding 4 for the job: after a tenant
// is shredded, a job run creates no keyset for it and writes none of its
// rows; it counts them as scope_shredded and still moves the other
// tenants' rows.
func TestJobAfterShred(t *testing.T) {
	eachDB(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		const n, tenants = 300, 3
		k := newKeys(t)
		app := k.encryptor(t)
		db.createContacts(t)
		db.seed(t, app, n, tenants)
		tab := contactsTable(t)
		rotate(t, app.Keyring(), keyring.PurposeData, tenantNames(tenants), classes...)

		admin := k.keyring(t)
		if _, err := keyring.NewManager(admin).Shred(ctx, "tenant-0"); err != nil {
			t.Fatal(err)
		}
		store, err := filestore.Open(filepath.Join(k.Dir, "keysets"))
		if err != nil {
			t.Fatal(err)
		}
		tombs, err := store.List(ctx, "tenant-0")
		if err != nil {
			t.Fatal(err)
		}
		before := db.readContacts(t, "WHERE tenant_id = 'tenant-0'")

		sum, err := reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), tab, jobOptions("after-shred"))
		shreddedRows := int64(len(before))
		if err != nil {
			t.Fatalf("Run err = %v, want the shredded tenant's rows counted, not a stopped run", err)
		}
		if sum.Outcome == reencrypt.Done || sum.Failures["scope_shredded"] != shreddedRows || sum.Rewritten != n-shreddedRows {
			t.Errorf("Run = %s; want partial, the %d rows of the shredded tenant as scope_shredded, the other %d rewritten", js(sum), shreddedRows, n-shreddedRows)
		}
		after, err := store.List(ctx, "tenant-0")
		if err != nil {
			t.Fatal(err)
		}
		if len(after) != len(tombs) {
			t.Errorf("the job left %d records for the shredded tenant, want its %d tombstones", len(after), len(tombs))
		}
		for _, r := range after {
			if !isTombstone(r.Metadata) {
				t.Errorf("record %v of the shredded tenant is no longer a tombstone: %s", r.ID, r.Metadata)
			}
		}
		if got := db.readContacts(t, "WHERE tenant_id = 'tenant-0'"); digest(got) != digest(before) {
			t.Errorf("the job rewrote rows of the shredded tenant")
		}
	})
}

// isTombstone reports whether a state document is a tombstone's.
func isTombstone(state []byte) bool { return strings.Contains(string(state), `"shredded_at":`) }

// TestJobCreatesNoKeysetForScopesInRows: a row whose scope column names a
// tenant with no keysets (edited by a database writer, or a tenant that
// never existed) makes the job create nothing, even with auto-create on.
func TestJobCreatesNoKeysetForScopesInRows(t *testing.T) {
	eachDB(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		k := newKeys(t)
		app := k.encryptor(t)
		db.createContacts(t)
		db.seed(t, app, 50, 2)
		if _, err := db.Exec("UPDATE contacts SET tenant_id = 'made-up' WHERE id = 7"); err != nil {
			t.Fatal(err)
		}
		tab := contactsTable(t)
		rotate(t, app.Keyring(), keyring.PurposeIndex, tenantNames(2), classes...)
		if _, err := reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), tab, jobOptions("made-up")); err != nil {
			t.Logf("Run err = %v", err)
		}
		store, err := filestore.Open(filepath.Join(k.Dir, "keysets"))
		if err != nil {
			t.Fatal(err)
		}
		if recs, _ := store.List(ctx, "made-up"); len(recs) != 0 {
			t.Errorf("the job created %d keysets for a scope named only by a row", len(recs))
		}
	})
}
