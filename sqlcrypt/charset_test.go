package sqlcrypt_test

import (
	"testing"

	"github.com/fieldcrypt/fieldcrypt/sqlcrypt"
)

// TestLookupTenantColumnCharset: on MySQL, a tenant column in a character
// set other than the connection's (latin1 here) still finds the tenant's
// rows when the tenant's name is not ASCII, and only them: the byte-wise
// comparison compares the same encoding on both sides.
func TestLookupTenantColumnCharset(t *testing.T) {
	db := openDB(t, sqlcrypt.MySQL)
	db.exec(t, "ALTER TABLE contacts MODIFY tenant_id VARCHAR(255) CHARACTER SET latin1 COLLATE latin1_swedish_ci NOT NULL")
	e := newEnv(t)
	for _, tenant := range []string{"müller", "MÜLLER", "muller"} {
		if err := e.admin.CreateKeysets(t.Context(), tenant, "pii", "support"); err != nil {
			t.Fatal(err)
		}
	}
	db.insert(t, e.enc, &Contact{ID: 1, TenantID: "müller", Name: "M", Email: "m@example.com"})
	db.insert(t, e.enc, &Contact{ID: 2, TenantID: "MÜLLER", Name: "M", Email: "m@example.com"})
	db.insert(t, e.enc, &Contact{ID: 3, TenantID: "muller", Name: "M", Email: "m@example.com"})
	found, candidates := db.find(t, e.enc, "müller", "m@example.com")
	if got := ids(found); len(got) != 1 || got[0] != 1 || candidates != 1 {
		t.Errorf("find(müller) = %v from %d rows, want [1] from 1 row", got, candidates)
	}
}
