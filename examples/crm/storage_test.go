package main

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

// TestStoredValuesAreCiphertext reads the raw rows: every encrypted column
// holds a fieldcrypt ciphertext and no trace of its plaintext.
func TestStoredValuesAreCiphertext(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, db string) {
		ts := startServer(t, testConfig(t, db))
		in := contactInput{Name: "Zelda Quartermaine", Email: "Zelda.Q@Example.com", Phone: "+1 555 010 9182",
			Company: "Quartermaine Holdings", Notes: "allergic to cold calls"}
		c := ts.createContact(t, "acme", in)
		summary := "asked about the zebra invoice"
		ts.mustStatus(t, http.StatusCreated, "POST", "/tenants/acme/contacts/"+c.ID+"/interactions",
			interactionInput{Channel: "email", Summary: summary})

		var name, email, emailIdx, phone, phoneIdx, company, notes, stored string
		err := ts.raw(`SELECT name, email, email_idx, phone, phone_last4_idx, company, notes
			FROM contacts WHERE tenant_id = ? AND id = ?`, "acme", c.ID).Scan(&name, &email, &emailIdx, &phone, &phoneIdx, &company, &notes)
		if err != nil {
			t.Fatalf("SELECT contact: %v", err)
		}
		if err := ts.raw(`SELECT summary FROM interactions WHERE tenant_id = ? AND contact_id = ?`,
			"acme", c.ID).Scan(&stored); err != nil {
			t.Fatalf("SELECT interaction: %v", err)
		}

		plaintexts := []string{in.Name, "Zelda", "Quartermaine", in.Email, strings.ToLower(in.Email), in.Phone, "9182", in.Notes, summary, "zebra"}
		for _, col := range []struct{ name, value string }{
			{"name", name}, {"email", email}, {"phone", phone}, {"notes", notes}, {"summary", stored},
		} {
			if !strings.HasPrefix(col.value, "fc1:") {
				t.Errorf("column %s = %q, want an fc1: ciphertext", col.name, col.value)
			}
			if _, err := crypt.InspectText(col.value); err != nil {
				t.Errorf("InspectText(column %s) err = %v, want a well-formed value", col.name, err)
			}
			for _, p := range plaintexts {
				if strings.Contains(strings.ToLower(col.value), strings.ToLower(p)) {
					t.Errorf("column %s holds plaintext %q: %q", col.name, p, col.value)
				}
			}
		}
		// 11 and 9 bits are kept in 2 bytes each: 4 hex digits.
		hex4 := regexp.MustCompile(`^[0-9a-f]{4}$`)
		for _, col := range []struct{ name, value string }{{"email_idx", emailIdx}, {"phone_last4_idx", phoneIdx}} {
			if !hex4.MatchString(col.value) {
				t.Errorf("column %s = %q, want 4 hex digits", col.name, col.value)
			}
		}
		if company != in.Company {
			t.Errorf("column company = %q, want %q (kept in clear by design)", company, in.Company)
		}

		// The keysets sit in the same database, wrapped: no column of the
		// keyset table holds a Tink key in clear.
		rows, err := ts.s.db.pool.Query(`SELECT class, purpose, kek_uri FROM fieldcrypt_keysets WHERE scope = 'acme' ORDER BY class, purpose`)
		if err != nil {
			t.Fatalf("SELECT keysets: %v", err)
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			var class, purpose, uri string
			if err := rows.Scan(&class, &purpose, &uri); err != nil {
				t.Fatal(err)
			}
			n++
			if !strings.HasSuffix(uri, "/keks/"+class+".json") {
				t.Errorf("keyset %s/%s is wrapped by %q, want its class's own KEK", class, purpose, uri)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if n < 3 {
			t.Errorf("tenant acme has %d stored keysets, want at least 3 (pii data and index, support data)", n)
		}
	})
}

// TestLogsHoldNoPlaintext: request logs name routes and statuses, never the
// values of a request, including the e-mail address of a lookup.
func TestLogsHoldNoPlaintext(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			cfg := testConfig(t, "")
			cfg.LogFormat = format
			ts := startServer(t, cfg)
			in := contactInput{Name: "Yolanda Logsworth", Email: "yolanda@example.com", Phone: "+1 555 010 6161", Notes: "secret-note-text"}
			c := ts.createContact(t, "acme", in)
			ts.search(t, "acme", url.Values{"email": {"  YOLANDA@example.com"}})
			ts.search(t, "acme", url.Values{"phone_last4": {"6161"}})
			ts.mustStatus(t, http.StatusOK, "GET", "/tenants/acme/contacts/"+c.ID, nil)
			ts.mustStatus(t, http.StatusCreated, "POST", "/tenants/acme/contacts/"+c.ID+"/interactions",
				interactionInput{Channel: "chat", Summary: "secret-summary-text"})
			ts.do(t, "POST", "/tenants/acme/contacts", `{"name": "Yolanda Logsworth", "bogus": 1}`)

			logs := ts.logs.String()
			status := func(code string) string {
				if format == "json" {
					return `"status":` + code
				}
				return "status=" + code
			}
			for _, want := range []string{"POST /tenants/{tenant}/contacts", "GET /tenants/{tenant}/contacts/{id}", status("201"), status("400")} {
				if !strings.Contains(logs, want) {
					t.Errorf("logs lack %q:\n%s", want, logs)
				}
			}
			// (The last four digits are not searched for: durations could
			// hold them by chance. The query string is.)
			for _, secret := range []string{"Yolanda", "yolanda", "YOLANDA", "Logsworth", "example.com", "010 6161", "secret-note", "secret-summary", "email=", "phone_last4="} {
				if strings.Contains(logs, secret) {
					t.Errorf("logs hold %q:\n%s", secret, logs)
				}
			}
		})
	}
}

// TestOldSchemaRefused: a data directory whose tables an earlier version
// keyed (tenant_id, id) is refused at start with a message saying what to
// do, rather than run with keys the re-encryption job cannot page by.
func TestOldSchemaRefused(t *testing.T) {
	cfg := testConfig(t, "")
	d, err := openDatabase(t.Context(), cfg, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	err = d.Exec(`CREATE TABLE contacts (tenant_id TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL, PRIMARY KEY (tenant_id, id))`).Error
	d.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newServer(t.Context(), cfg, newLogger(&syncBuffer{}, "text")); !errors.Is(err, errOldSchema) {
		t.Errorf("newServer(old tables) err = %v, want errOldSchema", err)
	}
}
