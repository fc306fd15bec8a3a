package reencrypt_test

import (
	"context"
	"slices"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/reencrypt"
)

// TestVerify checks that Verify passes a freshly re-encrypted table and
// catches each kind of damage: a value moved from another row, a malformed
// value, a blind index under no key, and a value left under the old key.
func TestVerify(t *testing.T) {
	eachDB(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		const n, tenants = 300, 2
		k := newKeys(t)
		app := k.encryptor(t)
		db.createContacts(t)
		db.seed(t, app, n, tenants)
		tab := contactsTable(t)
		beforeJob := db.readContacts(t, "")
		rotate(t, app.Keyring(), keyring.PurposeData, tenantNames(tenants), classes...)
		if sum, err := reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), tab, jobOptions("verify")); err != nil || sum.Outcome != reencrypt.Done {
			t.Fatalf("Run = %s, %v; want done", js(sum), err)
		}
		opts := &reencrypt.Options{BatchSize: 50, Concurrency: 2, RangeSize: 100}
		sum, err := reencrypt.Verify(ctx, db.DB, db.d, k.encryptor(t), tab, opts)
		if err != nil || sum.Outcome != reencrypt.Done || sum.Scanned != n || sum.Current != n {
			t.Fatalf("Verify(after the job) = %s, %v; want done, %d rows current", js(sum), err, n)
		}

		// Damage four rows. Rows 5 and 7 are in the same tenant, so the
		// moved value fails only by its row binding.
		stored := db.readContacts(t, "")
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := db.Exec(q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		exec("UPDATE contacts SET email = "+db.ph(1)+" WHERE id = 5", stored[6].Email)    // contact 7's email
		exec("UPDATE contacts SET phone = "+db.ph(1)+" WHERE id = 9", "fc1:AAAA")         // too short
		exec("UPDATE contacts SET email_idx = "+db.ph(1)+" WHERE id = 11", "00000000")    // wrong index
		exec("UPDATE contacts SET name = "+db.ph(1)+" WHERE id = 13", beforeJob[12].Name) // its value under the old key
		sum, err = reencrypt.Verify(ctx, db.DB, db.d, k.encryptor(t), tab, opts)
		if err != nil {
			t.Fatalf("Verify err = %v", err)
		}
		if sum.Outcome != reencrypt.Partial || sum.Failed != 3 || sum.Rewritten != 1 || sum.Current != n-4 ||
			sum.Failures["decrypt"] != 1 || sum.Failures["malformed"] != 1 || sum.Failures["index_mismatch"] != 1 {
			t.Errorf("Verify(damaged) = %s, want partial: rows 5, 9 and 11 failed, row 13 stale", js(sum))
		}
		for _, want := range []reencrypt.RowFailure{{Key: "5", Column: "email", Reason: "decrypt"}, {Key: "9", Column: "phone", Reason: "malformed"},
			{Key: "11", Column: "email_idx", Reason: "index_mismatch"}} {
			if !slices.Contains(sum.FailedRows, want) {
				t.Errorf("Verify(damaged).FailedRows = %v, want it to name %+v", sum.FailedRows, want)
			}
		}
	})
}

// TestMigrateLegacy checks that legacy plaintext is skipped and counted
// without Migrate, and encrypted (with its blind indexes) with it.
func TestMigrateLegacy(t *testing.T) {
	eachDB(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		const n, legacy, tenants = 100, 20, 2
		k := newKeys(t)
		app := k.encryptor(t)
		db.createContacts(t)
		db.seed(t, app, n, tenants)
		var plain []*Contact
		for i := n + 1; i <= n+legacy; i++ {
			plain = append(plain, contactFor(int64(i), tenants))
		}
		db.insert(t, plain)
		tab := contactsTable(t)
		before := db.rawDigest(t)

		sum, err := reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), tab, jobOptions("legacy"))
		if err != nil || sum.Outcome != reencrypt.Partial || sum.Skipped != legacy || sum.Legacy != legacy ||
			sum.Failures["legacy"] != legacy || sum.Current != n || sum.Rewritten != 0 {
			t.Errorf("Run(no Migrate) = %s, %v; want partial with %d legacy rows skipped", js(sum), err, legacy)
		}
		if db.rawDigest(t) != before {
			t.Errorf("Run(no Migrate) changed the table")
		}

		opts := jobOptions("legacy")
		opts.Migrate, opts.Restart = true, true
		sum, err = reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), tab, opts)
		if err != nil || sum.Outcome != reencrypt.Done || sum.Rewritten != legacy || sum.Legacy != legacy || sum.Current != n {
			t.Errorf("Run(Migrate) = %s, %v; want done with %d legacy rows encrypted", js(sum), err, legacy)
		}
		got := db.decryptAll(t, app) // fails on any plaintext left
		want := db.readContacts(t, "WHERE id <= "+db.ph(1), n)
		for _, c := range want {
			if err := app.Decrypt(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		want = append(want, plain...)
		if digest(got) != digest(want) {
			t.Errorf("plaintexts after migration differ from the originals")
		}
		// The migrated rows' blind indexes are those the application
		// computes.
		for _, c := range db.readContacts(t, "WHERE id > "+db.ph(1), n) {
			wantIdx := contactFor(c.ID, tenants)
			if err := app.Encrypt(ctx, wantIdx); err != nil {
				t.Fatal(err)
			}
			if c.EmailIdx != wantIdx.EmailIdx || c.PhoneIdx != wantIdx.PhoneIdx {
				t.Errorf("contact %d indexes = %q, %q; want %q, %q", c.ID, c.EmailIdx, c.PhoneIdx, wantIdx.EmailIdx, wantIdx.PhoneIdx)
			}
		}
	})
}

// TestUnreadableRowsLeftWhole runs the job with a keyring that cannot
// unwrap the support class: rows with support notes are counted as failed
// and left exactly as they were; the other rows move to the new keys.
func TestUnreadableRowsLeftWhole(t *testing.T) {
	eachDB(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		const n, tenants = 200, 2
		k := newKeys(t)
		app := k.encryptor(t)
		db.createContacts(t)
		db.seed(t, app, n, tenants)
		tab := contactsTable(t)
		rotate(t, app.Keyring(), keyring.PurposeData, tenantNames(tenants), classes...)
		withNotes := db.readContacts(t, "WHERE notes IS NOT NULL")

		sum, err := reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t, "pii"), tab, jobOptions("access"))
		if err != nil {
			t.Fatalf("Run err = %v", err)
		}
		if sum.Outcome != reencrypt.Partial || sum.Failed != int64(len(withNotes)) || sum.Failures["no_access"] != int64(len(withNotes)) ||
			sum.Rewritten != int64(n-len(withNotes)) {
			t.Errorf("Run(pii only) = %s, want partial: %d rows failed for no access, %d rewritten", js(sum), len(withNotes), n-len(withNotes))
		}
		if len(sum.FailedRows) == 0 || sum.FailedRows[0].Column != "notes" {
			t.Errorf("Run(pii only).FailedRows = %v, want rows named with column notes", sum.FailedRows)
		}
		if after := db.readContacts(t, "WHERE notes IS NOT NULL"); digestRaw(after) != digestRaw(withNotes) {
			t.Errorf("rows the job could not read were changed")
		}
		if got := db.rewriteCounts(t); got[0] != len(withNotes) || got[1] != n-len(withNotes) {
			t.Errorf("rows by number of writes = %v, want %d unwritten, %d written once", got, len(withNotes), n-len(withNotes))
		}
	})
}

// digestRaw hashes stored contacts as they are.
func digestRaw(cs []*Contact) string {
	var b []byte
	for _, c := range cs {
		b = append(b, js(c)...)
	}
	return string(b)
}
