package reencrypt_test

import (
	"context"
	"errors"
	"maps"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/reencrypt"
)

// expectedStatus computes, from the seeded plaintexts, how many values of
// each column each tenant has.
func expectedStatus(n, tenants int) map[string]map[string]int64 {
	want := map[string]map[string]int64{"name": {}, "email": {}, "phone": {}, "notes": {}}
	for i := 1; i <= n; i++ {
		c := contactFor(int64(i), tenants)
		want["name"][c.TenantID]++
		want["email"][c.TenantID]++
		if c.Phone != nil {
			want["phone"][c.TenantID]++
		}
		if c.Notes != nil {
			want["notes"][c.TenantID]++
		}
	}
	return want
}

// checkStatus compares a report with the expected counts, every value of
// a (scope, class) being under the key in keys.
func checkStatus(t *testing.T, rep *reencrypt.Report, want map[string]map[string]int64, keys primaries, legacy, malformed int64) {
	t.Helper()
	for _, col := range rep.Columns {
		got := map[string]int64{}
		for _, k := range col.Keys {
			got[k.Scope] += k.Values
			if w := keys[[2]string{k.Scope, col.Class}]; k.KeyID != w {
				t.Errorf("Status: %s has %d values of %s under key %d, want them under %d", col.Column, k.Values, k.Scope, k.KeyID, w)
			}
		}
		for scope, w := range want[col.Column] {
			if got[scope] != w {
				t.Errorf("Status: %s has %d encrypted values in %s, want %d", col.Column, got[scope], scope, w)
			}
		}
		wantLegacy, wantMalformed := int64(0), int64(0)
		if col.Column == "email" {
			wantLegacy, wantMalformed = legacy, malformed
		}
		if col.Legacy != wantLegacy || col.Malformed != wantMalformed {
			t.Errorf("Status: %s legacy, malformed = %d, %d; want %d, %d", col.Column, col.Legacy, col.Malformed, wantLegacy, wantMalformed)
		}
	}
}

// TestStatus counts values per key before and after a rotation of one
// tenant, with a legacy and a malformed value in the table, and checks
// KeyUsage, the evidence before destroying a key.
func TestStatus(t *testing.T) {
	eachDB(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		const n, tenants = 300, 2
		k := newKeys(t)
		app := k.encryptor(t)
		db.createContacts(t)
		db.seed(t, app, n, tenants)
		// One legacy email (plaintext) and one malformed one, in rows
		// otherwise empty.
		db.insert(t, []*Contact{{ID: 901, TenantID: "tenant-0", Email: "legacy@example.com"}, {ID: 902, TenantID: "tenant-0", Email: "fc1:@@@"}})
		tab := contactsTable(t)
		old := dataPrimaries(t, app.Keyring(), tenantNames(tenants))
		want := expectedStatus(n, tenants)

		rep, err := reencrypt.Status(ctx, db.DB, db.d, tab)
		if err != nil {
			t.Fatalf("Status err = %v", err)
		}
		if rep.Rows != n+2 || len(rep.Columns) != 4 {
			t.Errorf("Status = %d rows, %d columns; want %d, 4", rep.Rows, len(rep.Columns), n+2)
		}
		checkStatus(t, rep, want, old, 1, 1)
		if got := rep.Columns[2]; got.Column != "phone" || got.Empty != int64(n/7)+2 {
			t.Errorf("Status: %s has %d empty values, want %d", got.Column, got.Empty, n/7+2)
		}

		rotated := rotate(t, app.Keyring(), keyring.PurposeData, []string{"tenant-1"}, "pii")
		sum, err := reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), tab, jobOptions("status"))
		if err != nil {
			t.Fatalf("Run err = %v", err)
		}
		if sum.Outcome != reencrypt.Partial || sum.Rewritten != n/2 || sum.Failed != 1 || sum.Skipped != 1 ||
			sum.Failures["malformed"] != 1 || sum.Failures["legacy"] != 1 {
			t.Errorf("Run = %s, want partial: %d rewritten, the malformed row failed, the legacy row skipped", js(sum), n/2)
		}
		if c := sum.Columns["email"]; c == nil || c.Keys[old[[2]string{"tenant-1", "pii"}]] != int64(n/2) || c.Legacy != 1 || c.Malformed != 1 {
			t.Errorf("Run Columns[email] = %s, want %d values under tenant-1's old key, 1 legacy, 1 malformed", js(c), n/2)
		}

		now := primaries{}
		maps.Copy(now, old)
		now[[2]string{"tenant-1", "pii"}] = rotated[[2]string{"tenant-1", "pii"}]
		rep, err = reencrypt.Status(ctx, db.DB, db.d, tab)
		if err != nil {
			t.Fatalf("Status err = %v", err)
		}
		checkStatus(t, rep, want, now, 1, 1)

		tables := []reencrypt.Table{tab}
		id := keyring.KeysetID{Scope: "tenant-1", Class: "pii", Purpose: keyring.PurposeData}
		wantUsage := want["name"]["tenant-1"] + want["email"]["tenant-1"] + want["phone"]["tenant-1"]
		for _, c := range []struct {
			keyID uint32
			want  int64
		}{{old[[2]string{"tenant-1", "pii"}], 0}, {now[[2]string{"tenant-1", "pii"}], wantUsage}} {
			got, err := reencrypt.KeyUsage(ctx, db.DB, db.d, tables, id, c.keyID)
			if err != nil || got != c.want {
				t.Errorf("KeyUsage(%v, %d) = %d, %v; want %d", id, c.keyID, got, err, c.want)
			}
		}
		id.Purpose = keyring.PurposeIndex
		if _, err := reencrypt.KeyUsage(ctx, db.DB, db.d, tables, id, 1); !errors.Is(err, reencrypt.ErrIndexKeyUsage) {
			t.Errorf("KeyUsage(index keyset) err = %v, want ErrIndexKeyUsage", err)
		}
	})
}
