package main

import (
	"net/http"
	"slices"
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

// shredRequest is a request on a shredded tenant's data.
type shredRequest struct {
	method, path string
	body         any
}

// shreddedTenantRequests are the reads, searches and writes a shredded
// tenant's users (or anyone) may still send: contact is the path of one of
// its contacts.
func shreddedTenantRequests(contact string) []shredRequest {
	return []shredRequest{
		{"GET", contact, nil},
		{"GET", "/tenants/acme/contacts", nil},
		{"GET", contact + "/interactions", nil},
		{"GET", "/tenants/acme/contacts?email=ada@example.com", nil},
		{"GET", "/tenants/acme/contacts?phone_last4=0018", nil},
		{"GET", "/tenants/acme/contacts?name_prefix=ada", nil},
		{"GET", "/tenants/acme/contacts?born_from=1980-01-01", nil},
		{"PUT", contact, contactInput{Name: "New Name"}},
		{"POST", contact + "/interactions", interactionInput{Channel: "chat", Summary: "after the shred"}},
		{"POST", "/tenants/acme/contacts", contactInput{Name: "Newcomer", Email: "new@example.com"}},
	}
}

// TestShreddedTenantIsGone shreds tenant acme and then, in the process
// that shredded it, in a support process and in a freshly started admin
// process, reads, searches and writes acme's data. Every answer is 410
// keys_destroyed (or, for the support role, 403 no_access where the pii
// keys are needed), never a 500 and never data; and nothing creates a
// keyset for acme. Another tenant is untouched.
func TestShreddedTenantIsGone(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, db string) {
		cfg := testConfig(t, db)
		ts := startServer(t, cfg)
		in := contactInput{Name: "Ada Lovelace", Email: "ada@example.com", Phone: "+44 20 7946 0018", Birthday: "1985-12-10",
			Company: "Analytical Engines Ltd", Notes: "secret notes"}
		c := ts.createContact(t, "acme", in)
		ts.mustStatus(t, http.StatusCreated, "POST", "/tenants/acme/contacts/"+c.ID+"/interactions", interactionInput{Channel: "chat", Summary: "secret summary"})
		other := ts.createContact(t, "globex", contactInput{Name: "Hank Scorpio"})
		ts.shred(t, "acme")
		keysets := ts.keysetRows(t, "acme")

		support := startServer(t, asRole(cfg, RoleSupport))
		restarted := startServer(t, cfg) // a fresh admin process: it never saw the shred
		for _, p := range []struct {
			who string
			s   *testServer
		}{{"same process", ts}, {"support", support}, {"restarted admin", restarted}} {
			for _, req := range shreddedTenantRequests("/tenants/acme/contacts/" + c.ID) {
				r := p.s.do(t, req.method, req.path, req.body)
				checkNoPlaintext(t, p.who+" "+req.method+" "+req.path, r.body, in.Name, in.Email, in.Notes, "secret summary", in.Company)
				gone := r.status == http.StatusGone && r.errorCode() == "keys_destroyed"
				noAccess := p.s == support && r.status == http.StatusForbidden && r.errorCode() == "no_access"
				if !gone && !noAccess {
					t.Errorf("%s %s %s on shredded acme: %d %s, want 410 keys_destroyed", p.who, req.method, req.path, r.status, r.body)
				}
			}
		}
		if n := ts.keysetRows(t, "acme"); n != keysets {
			t.Errorf("acme's keyset rows went from %d to %d after the shred", keysets, n)
		}
		ts.mustStatus(t, http.StatusOK, "GET", "/tenants/globex/contacts/"+other.ID, nil)
	})
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

// TestShredSurvivesKeysetStoreWriter plays a writer of the CRM database,
// which holds the keyset table, undoing a shred: it puts back acme's
// keyset rows from before the shred (a backup, a replica), or deletes the
// tombstones the shred left. Freshly started processes, which never saw
// the shred, still start, and refuse acme: its data stays unreadable and
// no keyset is created for it. The rollback anchor, outside the CRM
// database, is what tells them.
func TestShredSurvivesKeysetStoreWriter(t *testing.T) {
	for _, undo := range []struct {
		name string
		sql  []string
	}{
		{"pre-shred rows put back", []string{
			`DELETE FROM fieldcrypt_keysets WHERE scope = 'acme'`,
			`INSERT INTO fieldcrypt_keysets SELECT * FROM pre_shred_keysets`,
		}},
		{"tombstones deleted", []string{
			`DELETE FROM fieldcrypt_keysets WHERE scope = 'acme'`,
		}},
	} {
		t.Run(undo.name, func(t *testing.T) {
			forEachDatabase(t, func(t *testing.T, db string) {
				testShredUndone(t, testConfig(t, db), undo.sql)
			})
		})
	}
}

// testShredUndone shreds acme, runs undo as a writer of the CRM database
// and checks that fresh processes of both roles still refuse acme.
func testShredUndone(t *testing.T, cfg Config, undo []string) {
	ts := startServer(t, cfg)
	in := contactInput{Name: "Ada Lovelace", Email: "ada@example.com", Notes: "secret notes"}
	c := ts.createContact(t, "acme", in)
	ts.mustStatus(t, http.StatusCreated, "POST", "/tenants/acme/contacts/"+c.ID+"/interactions", interactionInput{Channel: "chat", Summary: "secret summary"})
	other := ts.createContact(t, "globex", contactInput{Name: "Hank Scorpio"})
	// The writer's copy of the keyset rows, from before the shred.
	ts.exec(t, `CREATE TABLE pre_shred_keysets AS SELECT * FROM fieldcrypt_keysets WHERE scope = 'acme'`)
	ts.shred(t, "acme")
	for _, stmt := range undo {
		ts.exec(t, stmt)
	}
	keysets := ts.keysetRows(t, "acme")

	for _, role := range []Role{RoleAdmin, RoleSupport} {
		fresh := startServer(t, asRole(cfg, role))
		for _, req := range shreddedTenantRequests("/tenants/acme/contacts/" + c.ID) {
			r := fresh.do(t, req.method, req.path, req.body)
			checkNoPlaintext(t, string(role)+" "+req.method+" "+req.path, r.body, in.Name, in.Email, in.Notes, "secret summary")
			if r.status < 400 {
				t.Errorf("fresh %s process, %s %s on shredded acme after the writer's undo: %d %s, want a refusal", role, req.method, req.path, r.status, r.body)
			}
			if code := r.errorCode(); r.status >= 500 && !slices.Contains([]string{"keys_rolled_back", "keys_destroyed"}, code) {
				t.Errorf("fresh %s process, %s %s: %d %s, want keys_rolled_back", role, req.method, req.path, r.status, code)
			}
		}
		fresh.mustStatus(t, http.StatusOK, "GET", "/tenants/globex/contacts/"+other.ID, nil)
	}
	if n := ts.keysetRows(t, "acme"); n != keysets {
		t.Errorf("acme's keyset rows went from %d to %d: keysets were created for the shredded tenant", keysets, n)
	}
}

// TestAnchorOnPostgreSQL runs the rollback anchor in PostgreSQL, apart
// from a SQLite CRM database: a pre-shred keyset row put back is refused
// by a fresh process.
func TestAnchorOnPostgreSQL(t *testing.T) {
	cfg := testConfig(t, "")
	cfg.Anchor = postgresSchema(t)
	testShredUndone(t, cfg, []string{
		`DELETE FROM fieldcrypt_keysets WHERE scope = 'acme'`,
		`INSERT INTO fieldcrypt_keysets SELECT * FROM pre_shred_keysets`,
	})
}
