package main

import (
	"strings"
	"testing"
)

// TestHostileInput sends malformed and edge input to every endpoint: no
// answer is a 5xx, and neither the log nor an answer's error holds what
// was sent.
func TestHostileInput(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, db string) {
		ts := startServer(t, testConfig(t, db))
		c := ts.createContact(t, "acme", contactInput{Name: "Ada Lovelace", Email: "ada@example.com", Birthday: "1985-12-10"})
		contact := "/tenants/acme/contacts/" + c.ID
		tests := []struct {
			name, method, path string
			body               any
		}{
			{"e-mail lookup, invalid UTF-8", "GET", "/tenants/acme/contacts?email=%FF%FEsecret-one@x", nil},
			{"e-mail lookup, NUL", "GET", "/tenants/acme/contacts?email=a%00secret-two@x", nil},
			{"e-mail lookup, 254 bytes", "GET", "/tenants/acme/contacts?email=" + strings.Repeat("%C3%A9", 126) + "@x", nil},
			{"prefix, combining marks only", "GET", "/tenants/acme/contacts?name_prefix=%CC%81%CC%81%CC%81", nil},
			{"prefix, dotted capital I", "GET", "/tenants/acme/contacts?name_prefix=%C4%B0%C4%B0%C4%B0", nil},
			{"prefix, 200 bytes", "GET", "/tenants/acme/contacts?name_prefix=" + strings.Repeat("a", 200), nil},
			{"prefix, NUL", "GET", "/tenants/acme/contacts?name_prefix=ad%00a", nil},
			{"range reversed", "GET", "/tenants/acme/contacts?born_from=1990-01-01&born_to=1980-01-01", nil},
			{"range, whole domain", "GET", "/tenants/acme/contacts?born_from=1900-01-01&born_to=2099-12-31", nil},
			{"range, both ends empty", "GET", "/tenants/acme/contacts?born_from=&born_to=", nil},
			{"range, February 30", "GET", "/tenants/acme/contacts?born_from=1990-02-30", nil},
			{"range, year 0", "GET", "/tenants/acme/contacts?born_from=0000-01-01", nil},
			{"limit negative", "GET", "/tenants/acme/contacts?limit=-1", nil},
			{"limit huge", "GET", "/tenants/acme/contacts?limit=99999999999999999999999", nil},
			{"after NUL", "GET", "/tenants/acme/contacts?after=%00", nil},
			{"company NUL", "POST", "/tenants/acme/contacts", `{"name":"secret-three","company":"Acme\u0000Corp"}`},
			{"notes NUL", "POST", "/tenants/acme/contacts", `{"name":"secret-four","notes":"a\u0000b"}`},
			{"name invalid UTF-8", "POST", "/tenants/acme/contacts", "{\"name\":\"secret-five\xff\"}"},
			{"birthday year 1899", "PUT", contact, `{"name":"secret-six","birthday":"1899-12-31"}`},
			{"interaction at year 1", "POST", contact + "/interactions", `{"channel":"chat","summary":"secret-seven","at":"0001-01-01T00:00:00Z"}`},
			{"interaction at year 9999", "POST", contact + "/interactions", `{"channel":"chat","summary":"secret-eight","at":"9999-12-31T23:59:59.999999999+14:00"}`},
			{"interaction at month 13", "POST", contact + "/interactions", `{"channel":"chat","summary":"secret-nine","at":"2024-13-01T00:00:00Z"}`},
			{"deep JSON", "POST", "/tenants/acme/contacts", strings.Repeat("[", 20000)},
			{"JSON number as name", "POST", "/tenants/acme/contacts", `{"name":1e400}`},
			{"tenant of 63 characters", "GET", "/tenants/" + strings.Repeat("a", 63) + "/contacts?email=a@b", nil},
		}
		secrets := []string{"secret-one", "secret-two", "secret-three", "secret-four", "secret-five", "secret-six", "secret-seven", "secret-eight", "secret-nine"}
		for _, tt := range tests {
			r := ts.do(t, tt.method, tt.path, tt.body)
			if r.status >= 500 {
				t.Errorf("%s: %s %s: %d %s, want a 2xx or 4xx", tt.name, tt.method, tt.path, r.status, r.body)
			}
			if r.status >= 400 {
				checkNoPlaintext(t, tt.name, r.body, secrets...)
			}
		}
		logs := ts.logs.String()
		for _, s := range append(secrets, "Ada", "ada@", "fc1:") {
			if strings.Contains(logs, s) {
				t.Errorf("the log holds %q:\n%s", s, logs)
			}
		}
	})
}
