package reencrypt_test

import (
	"context"
	"slices"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/reencrypt"
)

// insertLegacyPeople stores people from..to in plaintext, without tokens,
// as an application wrote them before it adopted encryption.
func (db *testDB) insertLegacyPeople(t testing.TB, from, to int64, tenants int) {
	t.Helper()
	q := "INSERT INTO people (id, tenant_id, name, email, phone, born) VALUES (" + db.marks(6) + ")"
	for i := from; i <= to; i++ {
		p := personFor(i, tenants)
		var phone, born any
		if p.Phone != nil {
			phone = *p.Phone
		}
		if p.Born != nil {
			born = *p.Born
		}
		if _, err := db.Exec(q, p.ID, p.TenantID, p.Name, p.Email, phone, born); err != nil {
			t.Fatalf("inserting legacy person %d: %v", i, err)
		}
	}
}

// TestMigrateLegacyTokens migrates legacy plaintext rows of a table with
// token indexes: the job writes each migrated row's tokens in its side
// tables with its encryption, so that Verify finds every row current,
// searches of every kind find the migrated rows, and a second run
// rewrites nothing. Rows left without tokens by a migration (as an older
// version of the job did) are computed by a run that lists the token
// indexes in rebuild_indexes.
func TestMigrateLegacyTokens(t *testing.T) {
	eachDB(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		const n, legacy, tenants = 40, 20, 2 // 60 people: every search of personSearches finds some
		k := newKeys(t)
		app := k.encryptor(t)
		db.createPeople(t)
		db.seedPeople(t, app, n, tenants)
		db.insertLegacyPeople(t, n+1, n+legacy, tenants)
		tab := peopleTable(t)

		opts := jobOptions("migrate-tokens")
		opts.Migrate = true
		sum, err := reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), tab, opts)
		if err != nil || sum.Outcome != reencrypt.Done || sum.Rewritten != legacy || sum.Legacy != legacy || sum.Current != n {
			t.Fatalf("Run(Migrate) = %s, %v; want done, %d legacy rows encrypted", js(sum), err, legacy)
		}
		assertTokensPrimary(t, db, app, tab)
		checkSearches(t, "after the migration", db, app, n+legacy, tenants)
		v, err := reencrypt.Verify(ctx, db.DB, db.d, k.encryptor(t), tab, jobOptions("migrate-tokens-verify"))
		if err != nil || v.Outcome != reencrypt.Done || v.Rewritten != 0 || v.Failed != 0 || v.Current != n+legacy {
			t.Errorf("Verify(after the migration) = %s, %v; want done, %d rows current", js(v), err, n+legacy)
		}
		sum, err = reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), tab, jobOptions("migrate-tokens-again"))
		if err != nil || sum.Outcome != reencrypt.Done || sum.Rewritten != 0 {
			t.Errorf("Run(again) = %s, %v; want done, nothing rewritten", js(sum), err)
		}

		// The migrated rows with their tokens gone. Verify counts them
		// not current; rebuild_indexes computes them.
		var keys []int64
		for i := int64(n + 1); i <= n+legacy; i++ {
			keys = append(keys, i)
		}
		rebuild := tab
		for _, tk := range personTokens {
			if err := db.writeSideTokens(ctx, db.DB, "people", tk.side, keys, make([][]int64, legacy)); err != nil {
				t.Fatal(err)
			}
			rebuild.RebuildIndexes = append(rebuild.RebuildIndexes, tk.name)
		}
		v, err = reencrypt.Verify(ctx, db.DB, db.d, k.encryptor(t), tab, nil)
		if err != nil || v.Outcome != reencrypt.Partial || v.Rewritten != legacy {
			t.Fatalf("Verify(tokens deleted) = %s, %v; want partial, %d rows not current", js(v), err, legacy)
		}
		sum, err = reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), rebuild, jobOptions("migrate-tokens-rebuild"))
		if err != nil || sum.Outcome != reencrypt.Done || sum.Rewritten != legacy {
			t.Fatalf("Run(rebuild_indexes) = %s, %v; want done, %d rows' tokens written", js(sum), err, legacy)
		}
		assertTokensPrimary(t, db, app, tab)
		checkSearches(t, "after the rebuild", db, app, n+legacy, tenants)
	})
}

// TestMigrateLegacyKeepsTokens migrates a legacy row whose side table
// already holds tokens under no key for one index: the row is encrypted
// and gets its other indexes' tokens, the unexplained ones are left as
// they are (as a blind index already set is), and Verify names them.
func TestMigrateLegacyKeepsTokens(t *testing.T) {
	eachDB(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		const n, tenants = 10, 1
		k := newKeys(t)
		app := k.encryptor(t)
		db.createPeople(t)
		db.seedPeople(t, app, n, tenants)
		db.insertLegacyPeople(t, n+1, n+1, tenants)
		if err := db.writeSideTokens(ctx, db.DB, "people", "people_name_prefix", []int64{n + 1}, [][]int64{{1, 2}}); err != nil {
			t.Fatal(err)
		}
		tab := peopleTable(t)

		opts := jobOptions("migrate-keep")
		opts.Migrate = true
		sum, err := reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), tab, opts)
		if err != nil || sum.Outcome != reencrypt.Done || sum.Rewritten != 1 || sum.Failed != 0 {
			t.Fatalf("Run(Migrate) = %s, %v; want done, the legacy row encrypted", js(sum), err)
		}
		p := db.readPeople(t)[n]
		want := *p
		if err := app.Decrypt(ctx, &want); err != nil {
			t.Fatalf("Decrypt(person %d) err = %v; want it encrypted", p.ID, err)
		}
		if err := app.Encrypt(ctx, &want); err != nil {
			t.Fatal(err)
		}
		for _, tk := range personTokens {
			got, computed := *tk.field(p), *tk.field(&want)
			switch {
			case tk.name == "NamePrefix" && !slices.Equal(got, []int64{1, 2}):
				t.Errorf("person %d: %s = %v, want the tokens it held left as they were", p.ID, tk.side, got)
			case tk.name != "NamePrefix" && !slices.Equal(got, computed):
				t.Errorf("person %d: %s = %v, want the application's %v", p.ID, tk.side, got, computed)
			}
		}
		v, err := reencrypt.Verify(ctx, db.DB, db.d, k.encryptor(t), tab, nil)
		if err != nil || v.Failed != 1 || v.Failures["token_mismatch"] != 1 || len(v.FailedRows) != 1 || v.FailedRows[0].Column != "NamePrefix" {
			t.Errorf("Verify = %s, %v; want person %d failed (token_mismatch, NamePrefix)", js(v), err, n+1)
		}
	})
}
