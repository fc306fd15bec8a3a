package main

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// copyContactRow copies a contact's stored row, ciphertexts and all, to
// another tenant and ID, as someone with write access to the database
// could.
func copyContactRow(t *testing.T, ts *testServer, fromTenant, fromID, toTenant, toID string) {
	t.Helper()
	ts.exec(t, `INSERT INTO contacts (tenant_id, id, name, email, email_idx, phone, phone_last4_idx, birthday, company, notes, created_at, updated_at)
		SELECT CAST(? AS TEXT), CAST(? AS TEXT), name, email, email_idx, phone, phone_last4_idx, birthday, company, notes, created_at, updated_at
		FROM contacts WHERE tenant_id = ? AND id = ?`, toTenant, toID, fromTenant, fromID)
}

// checkNoPlaintext fails if body holds any of secrets or a ciphertext.
func checkNoPlaintext(t *testing.T, what string, body []byte, secrets ...string) {
	t.Helper()
	for _, s := range append(secrets, "fc1:") {
		if strings.Contains(string(body), s) {
			t.Errorf("%s: body holds %q: %s", what, s, body)
		}
	}
}

func TestTenantIsolation(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, db string) {
		ts := startServer(t, testConfig(t, db))
		in := contactInput{Name: "Alpha Person", Email: "person@alpha.example", Phone: "+1 555 010 7788", Notes: "alpha only"}
		a := ts.createContact(t, "alpha", in)
		ts.createContact(t, "beta", contactInput{Name: "Beta Person", Email: "person@beta.example"})
		ts.mustStatus(t, http.StatusCreated, "POST", "/tenants/alpha/contacts/"+a.ID+"/interactions",
			interactionInput{Channel: "chat", Summary: "alpha's history"})

		// Tenant beta names alpha's contact by its ID: it does not exist there.
		for _, req := range []struct {
			method, path string
			body         any
		}{
			{"GET", "/tenants/beta/contacts/" + a.ID, nil},
			{"PUT", "/tenants/beta/contacts/" + a.ID, contactInput{Name: "overwritten"}},
			{"DELETE", "/tenants/beta/contacts/" + a.ID, nil},
			{"GET", "/tenants/beta/contacts/" + a.ID + "/interactions", nil},
			{"POST", "/tenants/beta/contacts/" + a.ID + "/interactions", interactionInput{Channel: "chat", Summary: "x"}},
		} {
			r := ts.do(t, req.method, req.path, req.body)
			if r.status != http.StatusNotFound {
				t.Errorf("%s %s: status %d, want 404", req.method, req.path, r.status)
			}
			checkNoPlaintext(t, req.method+" "+req.path, r.body, in.Name, in.Email)
		}
		if ids := ts.search(t, "beta", url.Values{"email": {in.Email}}).ids(); len(ids) != 0 {
			t.Errorf("beta's lookup of alpha's e-mail = %v, want none", ids)
		}
		// Alpha's contact is untouched.
		var got contactView
		ts.mustStatus(t, http.StatusOK, "GET", "/tenants/alpha/contacts/"+a.ID, nil).decode(t, &got)
		checkContact(t, "alpha's GET after beta's attempts", got, in)

		// The swap attack: the stored row copied into another ID of alpha,
		// or into beta (under another ID: IDs are the primary key), does not
		// decrypt. The answer is an error that shows neither plaintext nor
		// ciphertext. (The row moved to beta under its own ID is below.)
		copyContactRow(t, ts, "alpha", a.ID, "alpha", "c_swapped")
		copyContactRow(t, ts, "alpha", a.ID, "beta", "c_swapped_beta")
		for _, path := range []string{"/tenants/alpha/contacts/c_swapped", "/tenants/beta/contacts/c_swapped_beta"} {
			r := ts.do(t, "GET", path, nil)
			if r.status != http.StatusInternalServerError || r.errorCode() != "undecryptable" {
				t.Errorf("GET %s of a copied row: %d %s, want 500 undecryptable", path, r.status, r.body)
			}
			checkNoPlaintext(t, "GET "+path, r.body, in.Name, in.Email, in.Phone, in.Notes)
		}

		// An interaction moved to another contact does not decrypt either:
		// the contact's ID is in its associated data.
		other := ts.createContact(t, "alpha", contactInput{Name: "Other"})
		ts.exec(t, `UPDATE interactions SET contact_id = ? WHERE tenant_id = ? AND contact_id = ?`, other.ID, "alpha", a.ID)
		r := ts.do(t, "GET", "/tenants/alpha/contacts/"+other.ID+"/interactions", nil)
		if r.status != http.StatusInternalServerError || r.errorCode() != "undecryptable" {
			t.Errorf("GET history holding a moved interaction: %d %s, want 500 undecryptable", r.status, r.body)
		}
		checkNoPlaintext(t, "GET moved interaction", r.body, "alpha's history")

		// The row itself moved to beta, keeping its ID: the tenant is the
		// scope of its ciphertexts (and selects beta's keys), so it does not
		// decrypt there either, and alpha no longer has it.
		ts.exec(t, `UPDATE contacts SET tenant_id = ? WHERE tenant_id = ? AND id = ?`, "beta", "alpha", a.ID)
		r = ts.do(t, "GET", "/tenants/beta/contacts/"+a.ID, nil)
		if r.status != http.StatusInternalServerError || r.errorCode() != "undecryptable" {
			t.Errorf("GET of alpha's row moved to beta: %d %s, want 500 undecryptable", r.status, r.body)
		}
		checkNoPlaintext(t, "GET moved row", r.body, in.Name, in.Email, in.Phone, in.Notes)
		if r := ts.do(t, "GET", "/tenants/alpha/contacts/"+a.ID, nil); r.status != http.StatusNotFound {
			t.Errorf("GET of alpha's contact after the move: status %d, want 404", r.status)
		}
		if !strings.Contains(ts.logs.String(), "stored data does not decrypt") {
			t.Errorf("log does not report the undecryptable rows:\n%s", ts.logs)
		}
	})
}

// TestCrossTenantWritesByID: tenant beta names alpha's contact by its ID
// in PUT and DELETE. Both answer 404, and alpha's row, its search indexes
// (the token side tables are keyed by the contact's ID alone) and beta's
// are untouched.
func TestCrossTenantWritesByID(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, db string) {
		ts := startServer(t, testConfig(t, db))
		in := contactInput{Name: "Alpha Person", Email: "person@alpha.example", Phone: "+1 555 010 7788", Birthday: "1984-02-03"}
		a := ts.createContact(t, "alpha", in)
		ts.createContact(t, "beta", contactInput{Name: "Beta Person"})
		for _, req := range []struct {
			method string
			body   any
		}{
			{"PUT", contactInput{Name: "Zzz Overwritten", Email: "z@z.example", Birthday: "2001-01-01"}},
			{"DELETE", nil},
		} {
			if r := ts.do(t, req.method, "/tenants/beta/contacts/"+a.ID, req.body); r.status != http.StatusNotFound {
				t.Errorf("beta %s alpha's ID: %d, want 404", req.method, r.status)
			}
		}
		for _, q := range []url.Values{
			{"name_prefix": {"alpha"}}, {"born_from": {"1984-02-03"}, "born_to": {"1984-02-03"}},
			{"email": {in.Email}}, {"phone_last4": {"7788"}},
		} {
			if got := ts.search(t, "alpha", q).ids(); !slices.Equal(got, []string{a.ID}) {
				t.Errorf("alpha search %s after beta's writes = %v, want [%s]", q.Encode(), got, a.ID)
			}
		}
		if got := ts.search(t, "beta", url.Values{"name_prefix": {"zzz"}}).ids(); len(got) != 0 {
			t.Errorf("beta search for the name it tried to write = %v, want none", got)
		}
	})
}

// TestDatabaseWriterCrossesNoTenant: someone with write access to the CRM
// tables gives beta's row alpha's blind-index values and side-table
// tokens, and repoints beta's interaction at alpha's contact (its tenant
// changed too). No search of alpha returns beta's row, and alpha's
// history does not serve beta's interaction.
func TestDatabaseWriterCrossesNoTenant(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, db string) {
		ts := startServer(t, testConfig(t, db))
		a := ts.createContact(t, "alpha", contactInput{Name: "Adalbert Alpha", Email: "same@example.com", Phone: "555 0101", Birthday: "1985-01-01"})
		b := ts.createContact(t, "beta", contactInput{Name: "Adalbert Beta", Email: "same@example.com", Phone: "555 0101", Birthday: "1985-01-01"})
		ts.mustStatus(t, http.StatusCreated, "POST", "/tenants/beta/contacts/"+b.ID+"/interactions", interactionInput{Channel: "chat", Summary: "beta's secret history"})

		ts.exec(t, `UPDATE contacts SET email_idx = (SELECT email_idx FROM contacts WHERE id = ?), phone_last4_idx = (SELECT phone_last4_idx FROM contacts WHERE id = ?) WHERE id = ?`, a.ID, a.ID, b.ID)
		for _, side := range []string{"contacts_name_prefix", "contacts_birthday_range"} {
			ts.exec(t, `INSERT INTO `+side+` (id, token) SELECT CAST(? AS TEXT), token FROM `+side+` WHERE id = ? AND token NOT IN (SELECT token FROM `+side+` WHERE id = ?)`, b.ID, a.ID, b.ID)
		}
		for _, q := range []url.Values{
			{"email": {"same@example.com"}}, {"phone_last4": {"0101"}}, {"name_prefix": {"adalbert"}},
			{"born_from": {"1985-01-01"}, "born_to": {"1985-01-01"}},
		} {
			if got := ts.search(t, "alpha", q).ids(); !slices.Equal(got, []string{a.ID}) {
				t.Errorf("alpha search %s after index tampering = %v, want only [%s]", q.Encode(), got, a.ID)
			}
		}

		ts.exec(t, `UPDATE interactions SET contact_id = ?, tenant_id = 'alpha' WHERE contact_id = ?`, a.ID, b.ID)
		r := ts.do(t, "GET", "/tenants/alpha/contacts/"+a.ID+"/interactions", nil)
		checkNoPlaintext(t, "alpha's history holding beta's repointed interaction", r.body, "beta's secret history")
		if r.status != http.StatusInternalServerError || r.errorCode() != "undecryptable" {
			t.Errorf("alpha's history holding beta's repointed interaction: %d %s, want 500 undecryptable", r.status, r.body)
		}
	})
}
