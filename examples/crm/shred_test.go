package main

import (
	"net/http"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// shred shreds tenant's keysets through the service's keyring, as
// `fieldcrypt keys shred` does.
func (ts *testServer) shred(t *testing.T, tenant string) {
	t.Helper()
	if _, err := keyring.NewManager(ts.s.kr).Shred(t.Context(), tenant); err != nil {
		t.Fatalf("Shred(%s): %v", tenant, err)
	}
}

// keysetRows counts tenant's rows in the keyset table of the CRM database.
func (ts *testServer) keysetRows(t *testing.T, tenant string) int {
	t.Helper()
	var n int
	if err := ts.raw(`SELECT COUNT(*) FROM fieldcrypt_keysets WHERE scope = ?`, tenant).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// asRole returns cfg for another role, on the same database and data
// directory.
func asRole(cfg Config, role Role) Config {
	cfg.Role = role
	return cfg
}

// TestStartsAfterShredOfFirstTenant: the startup check of the KEKs depends
// on no one tenant. With the tenant that sorts first shredded, both roles
// start, serve the other tenants, and create no keyset for the shredded
// one.
func TestStartsAfterShredOfFirstTenant(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, db string) {
		cfg := testConfig(t, db)
		ts := startServer(t, cfg)
		ts.createContact(t, "acme", contactInput{Name: "Ada Lovelace"})
		in := contactInput{Name: "Hank Scorpio", Notes: "globex notes"}
		g := ts.createContact(t, "globex", in)
		ts.shred(t, "acme")
		keysets := ts.keysetRows(t, "acme")

		admin := startServer(t, cfg)
		var v contactView
		admin.mustStatus(t, http.StatusOK, "GET", "/tenants/globex/contacts/"+g.ID, nil).decode(t, &v)
		checkContact(t, "restarted admin GET globex", v, in)

		support := startServer(t, asRole(cfg, RoleSupport))
		support.mustStatus(t, http.StatusOK, "GET", "/tenants/globex/contacts/"+g.ID, nil).decode(t, &v)
		if str(v.Notes) != in.Notes {
			t.Errorf("support GET globex: notes %q, want %q", str(v.Notes), in.Notes)
		}
		if n := ts.keysetRows(t, "acme"); n != keysets {
			t.Errorf("acme's keyset rows went from %d to %d over two starts", keysets, n)
		}
	})
}
