package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// TestSupportRole runs an admin and a support process on one database and
// one data directory. The support process holds only the support KEK.
func TestSupportRole(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, db string) {
		cfg := testConfig(t, db)
		admin := startServer(t, cfg)
		in := contactInput{Name: "Ada Lovelace", Email: "ada@example.com", Phone: "+44 20 7946 0018",
			Company: "Analytical Engines Ltd", Notes: "evaluating the enterprise plan"}
		c := admin.createContact(t, "acme", in)
		history := "/tenants/acme/contacts/" + c.ID + "/interactions"
		admin.mustStatus(t, http.StatusCreated, "POST", history, interactionInput{Channel: "phone", Summary: "invoice 42 charged twice"})

		supportCfg := cfg
		supportCfg.Role = RoleSupport
		support := startServer(t, supportCfg)
		secrets := []string{in.Name, in.Email, in.Phone, "Lovelace", "0018"}

		t.Run("contact", func(t *testing.T) {
			r := support.mustStatus(t, http.StatusOK, "GET", "/tenants/acme/contacts/"+c.ID, nil)
			checkNoPlaintext(t, "support GET", r.body, secrets...)
			var raw map[string]json.RawMessage
			r.decode(t, &raw)
			for _, f := range []string{"name", "email", "phone"} {
				if string(raw[f]) != "null" {
					t.Errorf("support GET: %s = %s, want null", f, raw[f])
				}
			}
			var v contactView
			r.decode(t, &v)
			if want := []string{"email", "name", "phone"}; !slices.Equal(v.Redacted, want) {
				t.Errorf("support GET: redacted %v, want %v", v.Redacted, want)
			}
			if str(v.Notes) != in.Notes || v.Company != in.Company {
				t.Errorf("support GET: notes %q company %q, want %q and %q (class support and clear)", str(v.Notes), v.Company, in.Notes, in.Company)
			}
		})

		// The same through the data layer: the plugin's read returns an
		// AccessError naming class pii, the support fields decrypted and
		// the pii fields as stored.
		t.Run("read through GORM", func(t *testing.T) {
			got, err := support.s.db.contact(t.Context(), "acme", c.ID)
			var access *crypt.AccessError
			if !errors.Is(err, crypt.ErrNoAccess) || !errors.As(err, &access) {
				t.Fatalf("support read err = %v, want a *crypt.AccessError matching crypt.ErrNoAccess", err)
			}
			if fields := slices.Sorted(slices.Values(access.Fields)); !slices.Equal(access.Classes, []string{classPII}) ||
				!slices.Equal(fields, []string{"email", "name", "phone"}) {
				t.Errorf("AccessError classes %v fields %v, want [pii] and [email name phone]", access.Classes, fields)
			}
			if got.Notes != in.Notes {
				t.Errorf("support read: notes %q, want %q decrypted", got.Notes, in.Notes)
			}
			for _, v := range []string{got.Name, got.Email, got.Phone} {
				if _, err := crypt.InspectText(v); err != nil {
					t.Errorf("support read: pii field %q, want it left as stored ciphertext", v)
				}
			}
		})

		t.Run("list", func(t *testing.T) {
			r := support.mustStatus(t, http.StatusOK, "GET", "/tenants/acme/contacts", nil)
			checkNoPlaintext(t, "support list", r.body, secrets...)
			var list contactList
			r.decode(t, &list)
			if len(list.Contacts) != 1 || list.Contacts[0].Name != nil || len(list.Contacts[0].Redacted) != 3 {
				t.Errorf("support list = %s, want one contact with its personal fields redacted", r.body)
			}
		})

		// A listing reports the classes it could not read once, for all of
		// its rows; each row redacts its own non-empty fields of those
		// classes. The first row has no phone, the second has one.
		t.Run("list with empty fields", func(t *testing.T) {
			now := time.Now().UTC().Truncate(time.Microsecond)
			for _, c := range []Contact{
				{ID: "c_list_1", TenantID: "beta", Name: "No Phone", Email: "nophone@example.com", Notes: "n1", CreatedAt: now, UpdatedAt: now},
				{ID: "c_list_2", TenantID: "beta", Name: "Has Phone", Phone: "+1 555 010 2233", CreatedAt: now, UpdatedAt: now},
			} {
				if err := admin.s.db.WithContext(t.Context()).Create(&c).Error; err != nil {
					t.Fatalf("Create(%s): %v", c.ID, err)
				}
			}
			r := support.mustStatus(t, http.StatusOK, "GET", "/tenants/beta/contacts", nil)
			checkNoPlaintext(t, "support list", r.body, "No Phone", "nophone@", "Has Phone", "2233")
			var list contactList
			r.decode(t, &list)
			want := map[string][]string{"c_list_1": {"email", "name"}, "c_list_2": {"name", "phone"}}
			if len(list.Contacts) != 2 {
				t.Fatalf("support list = %s, want two contacts", r.body)
			}
			for _, c := range list.Contacts {
				if !slices.Equal(c.Redacted, want[c.ID]) {
					t.Errorf("support list: %s redacted %v, want %v", c.ID, c.Redacted, want[c.ID])
				}
			}
			if n := list.Contacts[0]; str(n.Phone) != "" || str(n.Notes) != "n1" {
				t.Errorf("support list: c_list_1 phone %q notes %q, want the empty phone and the notes", str(n.Phone), str(n.Notes))
			}
		})

		t.Run("history", func(t *testing.T) {
			var list interactionList
			support.mustStatus(t, http.StatusOK, "GET", history, nil).decode(t, &list)
			if len(list.Interactions) != 1 || str(list.Interactions[0].Summary) != "invoice 42 charged twice" || list.Interactions[0].Redacted != nil {
				t.Fatalf("support history = %+v, want the admin's interaction in clear", list.Interactions)
			}
			support.mustStatus(t, http.StatusCreated, "POST", history, interactionInput{Channel: "chat", Summary: "refund confirmed"})
			admin.mustStatus(t, http.StatusOK, "GET", history, nil).decode(t, &list)
			if len(list.Interactions) != 2 || str(list.Interactions[1].Summary) != "refund confirmed" {
				t.Errorf("admin history after support's entry = %+v, want both", list.Interactions)
			}
		})

		t.Run("refused", func(t *testing.T) {
			tests := []struct {
				name, method, path string
				body               any
				status             int
				code               string
			}{
				{"e-mail lookup", "GET", "/tenants/acme/contacts?" + url.Values{"email": {in.Email}}.Encode(), nil, 403, "no_access"},
				{"phone lookup", "GET", "/tenants/acme/contacts?phone_last4=0018", nil, 403, "no_access"},
				{"name-prefix search", "GET", "/tenants/acme/contacts?name_prefix=ada", nil, 403, "no_access"},
				{"birthday search", "GET", "/tenants/acme/contacts?born_from=1980-01-01&born_to=1989-12-31", nil, 403, "no_access"},
				{"create", "POST", "/tenants/acme/contacts", contactInput{Name: "New"}, 403, "no_access"},
				{"replace", "PUT", "/tenants/acme/contacts/" + c.ID, contactInput{Name: "Changed"}, 403, "no_access"},
				{"delete", "DELETE", "/tenants/acme/contacts/" + c.ID, nil, 403, "forbidden"},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					r := support.do(t, tt.method, tt.path, tt.body)
					if r.status != tt.status || r.errorCode() != tt.code {
						t.Errorf("support %s %s: %d %s, want %d %s", tt.method, tt.path, r.status, r.body, tt.status, tt.code)
					}
					if tt.code == "no_access" && !strings.Contains(string(r.body), "pii") {
						t.Errorf("support %s %s: %s does not name class pii", tt.method, tt.path, r.body)
					}
				})
			}
			// Nothing changed.
			var v contactView
			admin.mustStatus(t, http.StatusOK, "GET", "/tenants/acme/contacts/"+c.ID, nil).decode(t, &v)
			checkContact(t, "admin GET after support's attempts", v, in)
		})
	})
}

func TestSupportRoleStartup(t *testing.T) {
	t.Run("no KEK yet", func(t *testing.T) {
		cfg := testConfig(t, "")
		cfg.Role = RoleSupport
		_, err := newServer(t.Context(), cfg, newLogger(&syncBuffer{}, "text"))
		if err == nil || !strings.Contains(err.Error(), "start the service once as admin") {
			t.Errorf("newServer(support, empty data dir) err = %v, want one saying to start as admin first", err)
		}
	})
	t.Run("given the pii KEK", func(t *testing.T) {
		cfg := testConfig(t, "")
		cfg.Role = RoleSupport
		cfg.KEKs = map[string]string{classPII: "local:///somewhere/pii.json"}
		if _, err := newServer(t.Context(), cfg, newLogger(&syncBuffer{}, "text")); err == nil {
			t.Errorf("newServer(support with a pii KEK) err = nil, want error")
		}
	})
	t.Run("wrong support KEK", func(t *testing.T) {
		cfg := testConfig(t, "")
		admin := startServer(t, cfg)
		admin.createContact(t, "acme", contactInput{Name: "x", Notes: "y"})
		other := testConfig(t, "") // another data directory: another development KEK
		startServer(t, other)
		cfg.Role = RoleSupport
		cfg.KEKs = map[string]string{classSupport: "local://" + devKEKPath(other.DataDir, classSupport)}
		_, err := newServer(t.Context(), cfg, newLogger(&syncBuffer{}, "text"))
		if !errors.Is(err, keyring.ErrKEKNotAllowed) {
			t.Errorf("newServer(support, KEK of another installation) err = %v, want keyring.ErrKEKNotAllowed at startup", err)
		}
	})
}

// TestSupportSearchesRefusedUpFront: the support role, which holds no pii
// KEK, gets 403 no_access for every search shape, valid or not, on a
// tenant with data and on one that never stored anything (which has no
// index keys: the search used to find that out and answer 200 with an
// empty list, telling which tenants exist).
func TestSupportSearchesRefusedUpFront(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, db string) {
		cfg := testConfig(t, db)
		admin := startServer(t, cfg)
		admin.createContact(t, "acme", contactInput{Name: "Ada Lovelace", Email: "ada@example.com", Phone: "+44 20 7946 0018", Birthday: "1985-12-10"})
		support := startServer(t, asRole(cfg, RoleSupport))
		queries := []string{
			"email=ada@example.com", "email=nobody@example.com", "email=%20", "phone_last4=0018", "phone_last4=9999", "phone_last4=12a4",
			"name_prefix=ada", "name_prefix=zzz", "name_prefix=a", "born_from=", "born_to=", "born_from=&born_to=",
			"born_from=1985-12-10", "born_to=1985-12-10", "born_from=1985-12-10&born_to=1985-12-10",
			"born_from=1990-01-01&born_to=1980-01-01", "born_from=1900-01-01&born_to=2099-12-31", "born_from=1899-01-01",
		}
		for _, tenant := range []string{"acme", "never-seen"} {
			for _, q := range queries {
				r := support.do(t, "GET", "/tenants/"+tenant+"/contacts?"+q, nil)
				if r.status != http.StatusForbidden || r.errorCode() != "no_access" {
					t.Errorf("support GET %s ?%s: %d %s, want 403 no_access", tenant, q, r.status, r.body)
				}
			}
		}
		if n := admin.keysetRows(t, "never-seen"); n != 0 {
			t.Errorf("support's searches created %d keysets for a tenant that never stored anything", n)
		}
	})
}
