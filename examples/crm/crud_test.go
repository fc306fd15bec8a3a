package main

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

func TestContactCRUD(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, db string) {
		ts := startServer(t, testConfig(t, db))
		in := contactInput{Name: "Ada Lovelace", Email: "Ada@Example.com", Phone: "+44 20 7946 0018",
			Company: "Analytical Engines Ltd", Notes: "prefers e-mail"}

		// Create.
		r := ts.mustStatus(t, http.StatusCreated, "POST", "/tenants/acme/contacts", in)
		var created contactView
		r.decode(t, &created)
		if !strings.HasPrefix(created.ID, "c_") || created.Tenant != "acme" {
			t.Fatalf("POST: id %q tenant %q, want c_... and acme", created.ID, created.Tenant)
		}
		if loc, want := r.header.Get("Location"), "/tenants/acme/contacts/"+created.ID; loc != want {
			t.Errorf("POST: Location %q, want %q", loc, want)
		}
		checkContact(t, "POST", created, in)

		// Read.
		var got contactView
		ts.mustStatus(t, http.StatusOK, "GET", "/tenants/acme/contacts/"+created.ID, nil).decode(t, &got)
		checkContact(t, "GET", got, in)
		if !got.CreatedAt.Equal(created.CreatedAt) || !got.UpdatedAt.Equal(created.UpdatedAt) {
			t.Errorf("GET: times %v/%v, want %v/%v as created", got.CreatedAt, got.UpdatedAt, created.CreatedAt, created.UpdatedAt)
		}

		// Replace.
		time.Sleep(2 * time.Millisecond)
		in2 := contactInput{Name: "Augusta Ada King", Email: "countess@example.org", Company: "Lovelace & Co"}
		var updated contactView
		ts.mustStatus(t, http.StatusOK, "PUT", "/tenants/acme/contacts/"+created.ID, in2).decode(t, &updated)
		checkContact(t, "PUT", updated, in2)
		ts.mustStatus(t, http.StatusOK, "GET", "/tenants/acme/contacts/"+created.ID, nil).decode(t, &got)
		checkContact(t, "GET after PUT", got, in2)
		if !got.CreatedAt.Equal(created.CreatedAt) || !got.UpdatedAt.After(created.UpdatedAt) {
			t.Errorf("GET after PUT: created %v updated %v, want created %v and a later update", got.CreatedAt, got.UpdatedAt, created.CreatedAt)
		}
		// The e-mail index followed the new address.
		if ids := ts.search(t, "acme", map[string][]string{"email": {"countess@example.org"}}).ids(); len(ids) != 1 || ids[0] != created.ID {
			t.Errorf("lookup of the new e-mail = %v, want [%s]", ids, created.ID)
		}
		if ids := ts.search(t, "acme", map[string][]string{"email": {in.Email}}).ids(); len(ids) != 0 {
			t.Errorf("lookup of the old e-mail = %v, want none", ids)
		}

		// Delete.
		ts.mustStatus(t, http.StatusNoContent, "DELETE", "/tenants/acme/contacts/"+created.ID, nil)
		for _, method := range []string{"GET", "DELETE"} {
			if r := ts.do(t, method, "/tenants/acme/contacts/"+created.ID, nil); r.status != http.StatusNotFound || r.errorCode() != "not_found" {
				t.Errorf("%s after DELETE: %d %s, want 404 not_found", method, r.status, r.body)
			}
		}
		if r := ts.do(t, "PUT", "/tenants/acme/contacts/"+created.ID, in2); r.status != http.StatusNotFound {
			t.Errorf("PUT after DELETE: status %d, want 404", r.status)
		}
	})
}

// checkContact compares a returned contact with what was sent.
func checkContact(t *testing.T, what string, got contactView, want contactInput) {
	t.Helper()
	if str(got.Name) != want.Name || str(got.Email) != want.Email || str(got.Phone) != want.Phone ||
		got.Company != want.Company || str(got.Notes) != want.Notes || len(got.Redacted) != 0 {
		t.Errorf("%s: got name %q email %q phone %q company %q notes %q redacted %v, want %+v",
			what, str(got.Name), str(got.Email), str(got.Phone), got.Company, str(got.Notes), got.Redacted, want)
	}
}

func TestListContactsPages(t *testing.T) {
	ts := startServer(t, testConfig(t, ""))
	var want []string
	for _, name := range []string{"A", "B", "C", "D", "E"} {
		want = append(want, ts.createContact(t, "acme", contactInput{Name: name}).ID)
	}
	ts.createContact(t, "other", contactInput{Name: "not acme's"})

	var got []string
	after := ""
	for range 10 {
		var page contactList
		ts.mustStatus(t, http.StatusOK, "GET", "/tenants/acme/contacts?limit=2&after="+after, nil).decode(t, &page)
		got = append(got, page.ids()...)
		if page.NextAfter == "" {
			break
		}
		after = page.NextAfter
	}
	if len(got) != len(want) {
		t.Fatalf("pages listed %v, want the %d contacts of acme %v", got, len(want), want)
	}
	for _, id := range want {
		if !strings.Contains(strings.Join(got, ","), id) {
			t.Errorf("pages listed %v, missing %s", got, id)
		}
	}
}

func TestInteractions(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, db string) {
		ts := startServer(t, testConfig(t, db))
		c := ts.createContact(t, "acme", contactInput{Name: "Grace Hopper", Email: "grace@example.org"})
		path := "/tenants/acme/contacts/" + c.ID + "/interactions"

		var empty interactionList
		ts.mustStatus(t, http.StatusOK, "GET", path, nil).decode(t, &empty)
		if empty.Interactions == nil || len(empty.Interactions) != 0 {
			t.Fatalf("GET history of a new contact = %s, want an empty list", ts.do(t, "GET", path, nil).body)
		}

		later := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
		earlier := later.Add(-48 * time.Hour)
		var first interactionView
		ts.mustStatus(t, http.StatusCreated, "POST", path,
			interactionInput{Channel: "ticket", Summary: "export drops the last row", At: &later}).decode(t, &first)
		if str(first.Summary) != "export drops the last row" || first.ContactID != c.ID || !first.At.Equal(later) {
			t.Errorf("POST interaction = %+v", first)
		}
		ts.mustStatus(t, http.StatusCreated, "POST", path, interactionInput{Channel: "phone", Summary: "called back", At: &earlier})

		var list interactionList
		ts.mustStatus(t, http.StatusOK, "GET", path, nil).decode(t, &list)
		if len(list.Interactions) != 2 || str(list.Interactions[0].Summary) != "called back" ||
			str(list.Interactions[1].Summary) != "export drops the last row" {
			t.Fatalf("GET history = %+v, want the two interactions oldest first", list.Interactions)
		}

		for _, p := range []string{"/tenants/acme/contacts/c_missing/interactions", "/tenants/other/contacts/" + c.ID + "/interactions"} {
			if r := ts.do(t, "GET", p, nil); r.status != http.StatusNotFound {
				t.Errorf("GET %s: status %d, want 404", p, r.status)
			}
			if r := ts.do(t, "POST", p, interactionInput{Channel: "chat", Summary: "x"}); r.status != http.StatusNotFound {
				t.Errorf("POST %s: status %d, want 404", p, r.status)
			}
		}

		// Deleting the contact deletes its history.
		ts.mustStatus(t, http.StatusNoContent, "DELETE", "/tenants/acme/contacts/"+c.ID, nil)
		var n int
		if err := ts.raw(`SELECT COUNT(*) FROM interactions WHERE tenant_id = ? AND contact_id = ?`, "acme", c.ID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("after DELETE of the contact, %d interactions remain, want 0", n)
		}
	})
}

// TestInteractionTimeWindow: an interaction's "at" is refused outside
// 1900..2099 in UTC, with 400 naming the field. encoding/json takes any
// RFC 3339 time, and a time whose UTC year is outside 0000..9999 was
// accepted, and then broke every read of the contact's history on SQLite.
// Times inside the window, at its edges too, are kept and read back.
func TestInteractionTimeWindow(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, db string) {
		ts := startServer(t, testConfig(t, db))
		for _, tt := range []struct {
			at   string
			want int
		}{
			{"0000-01-01T00:00:00Z", http.StatusBadRequest},
			{"0000-01-01T00:00:00+23:59", http.StatusBadRequest}, // year -1 in UTC
			{"9999-12-31T23:59:59-23:59", http.StatusBadRequest}, // year 10000 in UTC
			{"1899-12-31T23:59:59.999999999Z", http.StatusBadRequest},
			{"1900-01-01T00:30:00+01:00", http.StatusBadRequest},
			{"2100-01-01T00:00:00Z", http.StatusBadRequest},
			{"1900-01-01T00:00:00Z", http.StatusCreated},
			{"2099-12-31T23:59:59.999999Z", http.StatusCreated},
			{"1969-12-31T23:59:59.999999999Z", http.StatusCreated},
			{"2024-02-29T12:00:00.1234567+05:45", http.StatusCreated},
		} {
			c := ts.createContact(t, "acme", contactInput{Name: "Ada"})
			history := "/tenants/acme/contacts/" + c.ID + "/interactions"
			r := ts.do(t, "POST", history, `{"channel":"chat","summary":"s","at":"`+tt.at+`"}`)
			if r.status != tt.want {
				t.Errorf("POST interaction at %s: %d %s, want %d", tt.at, r.status, r.body, tt.want)
			}
			if r.status == http.StatusBadRequest && (r.errorCode() != "invalid_field" || !strings.Contains(string(r.body), "at must be")) {
				t.Errorf("POST interaction at %s: %s, want invalid_field naming at", tt.at, r.body)
			}
			var list interactionList
			ts.mustStatus(t, http.StatusOK, "GET", history, nil).decode(t, &list)
			if tt.want == http.StatusCreated {
				at, _ := time.Parse(time.RFC3339Nano, tt.at)
				if len(list.Interactions) != 1 || !list.Interactions[0].At.Equal(at.Truncate(time.Microsecond)) {
					t.Errorf("history after POST at %s = %+v, want one interaction at that time to the microsecond", tt.at, list.Interactions)
				}
			}
		}
	})
}

// TestClearFieldRefusesControlCharacters: the company, kept in clear, is
// refused with 400 when it holds a control character (PostgreSQL refuses
// NUL in a text column: it was a 500). The encrypted fields take any text,
// NUL and newlines included, and read back as sent.
func TestClearFieldRefusesControlCharacters(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, db string) {
		ts := startServer(t, testConfig(t, db))
		c := ts.createContact(t, "acme", contactInput{Name: "Ada"})
		for _, company := range []string{"Acme\x00Corp", "Acme\nCorp", "Acme\tCorp", "Acme\x7f", "Acme\u0085Corp"} {
			for _, req := range []struct{ method, path string }{
				{"POST", "/tenants/acme/contacts"}, {"PUT", "/tenants/acme/contacts/" + c.ID},
			} {
				r := ts.do(t, req.method, req.path, contactInput{Name: "x", Company: company})
				if r.status != http.StatusBadRequest || r.errorCode() != "invalid_field" || !strings.Contains(string(r.body), "company") {
					t.Errorf("%s company %q: %d %s, want 400 invalid_field naming company", req.method, company, r.status, r.body)
				}
			}
		}
		in := contactInput{Name: "Ada\x00Lovelace", Notes: "line one\nline two\x00", Company: "Analytical Engines Ltd"}
		var got contactView
		ts.mustStatus(t, http.StatusOK, "GET", "/tenants/acme/contacts/"+ts.createContact(t, "acme", in).ID, nil).decode(t, &got)
		checkContact(t, "GET of encrypted fields holding NUL and newlines", got, in)
	})
}

func TestRequestErrors(t *testing.T) {
	ts := startServer(t, testConfig(t, ""))
	c := ts.createContact(t, "acme", contactInput{Name: "Ada", Email: "ada@example.com"})
	contact := "/tenants/acme/contacts/" + c.ID
	tests := []struct {
		name         string
		method, path string
		body         any
		status       int
		code         string
	}{
		{"not JSON", "POST", "/tenants/acme/contacts", "{name:", 400, "invalid_json"},
		{"empty body", "POST", "/tenants/acme/contacts", "", 400, "invalid_json"},
		{"unknown field", "POST", "/tenants/acme/contacts", `{"name":"x","ssn":"1"}`, 400, "invalid_json"},
		{"two objects", "POST", "/tenants/acme/contacts", `{"name":"x"}{"name":"y"}`, 400, "invalid_json"},
		{"no name", "POST", "/tenants/acme/contacts", contactInput{Email: "a@b.c"}, 400, "invalid_field"},
		{"bad e-mail", "POST", "/tenants/acme/contacts", contactInput{Name: "x", Email: "nope"}, 400, "invalid_field"},
		{"long notes", "POST", "/tenants/acme/contacts", contactInput{Name: "x", Notes: strings.Repeat("n", 4001)}, 400, "invalid_field"},
		{"body too large", "POST", "/tenants/acme/contacts", `{"name":"` + strings.Repeat("x", maxBody) + `"}`, 413, "body_too_large"},
		{"bad tenant", "GET", "/tenants/ACME/contacts", nil, 400, "invalid_tenant"},
		{"bad id", "GET", "/tenants/acme/contacts/a.b", nil, 400, "invalid_id"},
		{"unknown id", "GET", "/tenants/acme/contacts/c_nope", nil, 404, "not_found"},
		{"method", "PATCH", contact, nil, 405, "method_not_allowed"},
		{"method on collection", "DELETE", "/tenants/acme/contacts", nil, 405, "method_not_allowed"},
		{"unknown path", "GET", "/contacts", nil, 404, "not_found"},
		{"two lookups", "GET", "/tenants/acme/contacts?email=a@b.c&phone_last4=1234", nil, 400, "invalid_query"},
		{"typo in query", "GET", "/tenants/acme/contacts?mail=a@b.c", nil, 400, "invalid_query"},
		{"repeated query", "GET", "/tenants/acme/contacts?email=a@b.c&email=d@e.f", nil, 400, "invalid_query"},
		{"blank e-mail", "GET", "/tenants/acme/contacts?email=%20", nil, 400, "invalid_query"},
		{"last-4 not digits", "GET", "/tenants/acme/contacts?phone_last4=12a4", nil, 400, "invalid_query"},
		{"last-5", "GET", "/tenants/acme/contacts?phone_last4=12345", nil, 400, "invalid_query"},
		{"limit 0", "GET", "/tenants/acme/contacts?limit=0", nil, 400, "invalid_query"},
		{"bad channel", "POST", contact + "/interactions", interactionInput{Channel: "fax", Summary: "x"}, 400, "invalid_field"},
		{"no summary", "POST", contact + "/interactions", interactionInput{Channel: "chat"}, 400, "invalid_field"},
		{"long summary", "POST", contact + "/interactions", interactionInput{Channel: "chat", Summary: strings.Repeat("s", 4001)}, 400, "invalid_field"},
		// encoding/json would read each invalid byte as U+FFFD: the
		// value stored would not be the one sent.
		{"body not UTF-8", "POST", "/tenants/acme/contacts", "{\"name\":\"Ren\xe9e\"}", 400, "invalid_json"},
		{"summary not UTF-8", "POST", contact + "/interactions", "{\"channel\":\"chat\",\"summary\":\"caf\xe9\"}", 400, "invalid_json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do(t, tt.method, tt.path, tt.body)
			if r.status != tt.status || r.errorCode() != tt.code {
				t.Errorf("%s %s: %d %q, want %d with code %q; body %s", tt.method, tt.path, r.status, r.errorCode(), tt.status, tt.code, r.body)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("%s %s: Content-Type %q, want application/json", tt.method, tt.path, ct)
			}
		})
	}

	t.Run("content type", func(t *testing.T) {
		req, _ := http.NewRequestWithContext(t.Context(), "POST", ts.URL+"/tenants/acme/contacts", strings.NewReader(`{"name":"x"}`))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusUnsupportedMediaType {
			t.Errorf("POST as a form: status %d, want 415", res.StatusCode)
		}
	})
	t.Run("Allow", func(t *testing.T) {
		if allow := ts.do(t, "PATCH", contact, nil).header.Get("Allow"); allow != "GET, PUT, DELETE" {
			t.Errorf("PATCH: Allow %q, want %q", allow, "GET, PUT, DELETE")
		}
	})
}

// ciphertextShapedInputs are plaintexts a user may type that parse as stored
// values (crypt.InspectText accepts them: "fc1:" and the canonical
// base64url of a Tink prefix byte and a key ID), but name no key of the
// tenant's keysets, so Encrypt takes them for plaintext.
var ciphertextShapedInputs = []string{"fc1:AQAAAAAA", "fc1:AQAAAAEAAAA"}

// TestCiphertextShapedInputIsPlaintext: input that looks like a stored
// value is a name, a note or a summary like any other, stored encrypted
// and read back as typed (docs/FORMAT.md section 6), by both roles and in
// every read: the contact, the listing, the searches and the history.
// What decides that a field was not decrypted is the read's error, never
// the value's shape.
func TestCiphertextShapedInputIsPlaintext(t *testing.T) {
	for _, v := range ciphertextShapedInputs {
		if _, err := crypt.InspectText(v); err != nil {
			t.Fatalf("InspectText(%q) = %v: the probe is not ciphertext-shaped", v, err)
		}
	}
	forEachDatabase(t, func(t *testing.T, db string) {
		cfg := testConfig(t, db)
		admin := startServer(t, cfg)
		support := startServer(t, asRole(cfg, RoleSupport))
		for _, value := range append([]string{"fc1:AAAA", "fc7:hello", "fc1:"}, ciphertextShapedInputs...) {
			t.Run(value, func(t *testing.T) {
				in := contactInput{Name: value, Email: "x@example.com", Notes: value}
				var created contactView
				admin.mustStatus(t, http.StatusCreated, "POST", "/tenants/acme/contacts", in).decode(t, &created)
				checkContact(t, "POST", created, in)
				contact := "/tenants/acme/contacts/" + created.ID
				var got contactView
				admin.mustStatus(t, http.StatusOK, "GET", contact, nil).decode(t, &got)
				checkContact(t, "admin GET", got, in)

				for _, q := range []url.Values{{}, {"name_prefix": {value}}, {"email": {in.Email}}} {
					if r := admin.do(t, "GET", "/tenants/acme/contacts?"+q.Encode(), nil); r.status != http.StatusOK {
						t.Errorf("admin GET ?%s: %d %s, want 200", q.Encode(), r.status, r.body)
					}
				}

				history := contact + "/interactions"
				support.mustStatus(t, http.StatusCreated, "POST", history, interactionInput{Channel: "chat", Summary: value})
				for _, p := range []struct {
					who string
					s   *testServer
				}{{"admin", admin}, {"support", support}} {
					var list interactionList
					p.s.mustStatus(t, http.StatusOK, "GET", history, nil).decode(t, &list)
					if len(list.Interactions) != 1 || str(list.Interactions[0].Summary) != value {
						t.Errorf("%s GET history = %+v, want the summary %q", p.who, list.Interactions, value)
					}
				}

				// The support role: the name is redacted for want of the
				// pii key, the notes (class support) are read as typed.
				support.mustStatus(t, http.StatusOK, "GET", contact, nil).decode(t, &got)
				if got.Name != nil || str(got.Notes) != value {
					t.Errorf("support GET: name %s notes %q, want null and %q", str(got.Name), str(got.Notes), value)
				}
				var list contactList
				support.mustStatus(t, http.StatusOK, "GET", "/tenants/acme/contacts", nil).decode(t, &list)
				for _, c := range list.Contacts {
					if c.Name != nil || !slices.Contains(c.Redacted, "name") {
						t.Errorf("support listing: %s has name %s, redacted %v, want its name redacted", c.ID, str(c.Name), c.Redacted)
					}
				}
			})
		}
		if strings.Contains(admin.logs.String()+support.logs.String(), "stored data does not decrypt") {
			t.Errorf("a user's input was logged as stored data that does not decrypt")
		}
	})
}

// TestListingDecidesPerRecord: a support process lists a tenant whose
// first contact reads with its pii fields redacted and whose second does
// not decrypt at all (its notes were copied from the first in the
// database). The listing fails as a whole (500 undecryptable) and shows
// no ciphertext: each record's own decryption decides, not the first
// record's error.
func TestListingDecidesPerRecord(t *testing.T) {
	cfg := testConfig(t, "")
	admin := startServer(t, cfg)
	a := admin.createContact(t, "acme", contactInput{Name: "Ada Lovelace", Notes: "first notes"})
	b := admin.createContact(t, "acme", contactInput{Name: "Alan Turing", Notes: "second notes"})
	first, second := a.ID, b.ID
	if second < first {
		first, second = second, first
	}
	admin.exec(t, `UPDATE contacts SET notes = (SELECT notes FROM contacts WHERE id = ?) WHERE id = ?`, first, second)

	support := startServer(t, asRole(cfg, RoleSupport))
	r := support.do(t, "GET", "/tenants/acme/contacts", nil)
	if r.status != http.StatusInternalServerError || r.errorCode() != "undecryptable" {
		t.Errorf("support listing with a row that does not decrypt: %d %s, want 500 undecryptable", r.status, r.body)
	}
	checkNoPlaintext(t, "support listing", r.body, "first notes", "second notes")
}
