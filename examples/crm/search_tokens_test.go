package main

import (
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestSearchByNamePrefix: a name-prefix search finds exactly the tenant's
// contacts whose name starts with the query (any case, surrounding spaces
// ignored), and no other tenant's, on SQLite and PostgreSQL. The contacts
// are many and their names alike, so the 12-bit tokens collide and the
// plugin must drop the false positives after decrypting.
func TestSearchByNamePrefix(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, db string) {
		ts := startServer(t, testConfig(t, db))
		r := rand.New(rand.NewPCG(7, 11))
		syllables := []string{"ada", "al", "an", "be", "ca", "da", "el", "lo", "ma", "ra", "ve", "zo"}
		names := map[string]string{} // acme's contacts: ID → name
		for range 120 {
			var b strings.Builder
			for range 2 + r.IntN(3) {
				b.WriteString(syllables[r.IntN(len(syllables))])
			}
			name := strings.ToUpper(b.String()[:1]) + b.String()[1:] + " Example"
			c := ts.createContact(t, "acme", contactInput{Name: name})
			names[c.ID] = name
		}
		// globex holds the same names: never found from acme.
		for _, name := range []string{"Adaal Example", "Loma Example"} {
			ts.createContact(t, "globex", contactInput{Name: name})
		}
		queries := []string{"ada", "ADA", "  lOm", "zoz", "alan", "veda", "abc", "Adaalan Example", "Ad\u00e1"}
		for range 40 {
			for _, name := range names {
				n := 3 + r.IntN(8)
				if n > len(name) {
					n = len(name)
				}
				queries = append(queries, name[:n])
				break
			}
		}
		for _, q := range queries {
			want := []string{}
			norm := strings.ToLower(strings.TrimSpace(q))
			for id, name := range names {
				if strings.HasPrefix(strings.ToLower(name), norm) {
					want = append(want, id)
				}
			}
			slices.Sort(want)
			got := ts.search(t, "acme", url.Values{"name_prefix": {q}}).ids()
			if !slices.Equal(got, want) {
				t.Errorf("name_prefix=%q found %v, want %v", q, got, want)
			}
		}
		// Every contact's tokens are in the side table; the query reads
		// more rows than it returns for a common prefix (false positives
		// of the truncated tokens are dropped).
		var rows int
		if err := ts.raw(`SELECT COUNT(*) FROM contacts_name_prefix`).Scan(&rows); err != nil {
			t.Fatal(err)
		}
		if rows < 120*3 {
			t.Errorf("contacts_name_prefix holds %d tokens, want at least 3 per contact", rows)
		}
	})
}

// TestSearchByBirthday: a birthday-range search finds exactly the contacts
// born in the interval, with either end open, on SQLite and PostgreSQL;
// contacts without a birthday are never found, and an update moves a
// contact in and out of the results.
func TestSearchByBirthday(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, db string) {
		ts := startServer(t, testConfig(t, db))
		r := rand.New(rand.NewPCG(3, 5))
		first := time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
		born := map[string]string{}
		for i := range 80 {
			day := first.AddDate(0, 0, r.IntN(73049))
			if i%10 == 0 {
				day = time.Date(1985, 3, 1+i/10, 0, 0, 0, 0, time.UTC) // a cluster in March 1985
			}
			c := ts.createContact(t, "acme", contactInput{Name: fmt.Sprintf("Person %d", i), Birthday: day.Format(time.DateOnly)})
			born[c.ID] = day.Format(time.DateOnly)
		}
		ts.createContact(t, "acme", contactInput{Name: "No birthday"})
		ts.createContact(t, "globex", contactInput{Name: "Other tenant", Birthday: "1985-03-04"})

		check := func(from, to string) {
			t.Helper()
			want := []string{}
			for id, b := range born {
				if (from == "" || b >= from) && (to == "" || b <= to) {
					want = append(want, id)
				}
			}
			slices.Sort(want)
			q := url.Values{}
			if from != "" {
				q.Set("born_from", from)
			}
			if to != "" {
				q.Set("born_to", to)
			}
			if got := ts.search(t, "acme", q).ids(); !slices.Equal(got, want) {
				t.Errorf("born_from=%s born_to=%s found %v, want %v", from, to, got, want)
			}
		}
		check("1985-03-01", "1985-03-31")
		check("1985-03-02", "1985-03-02")
		check("1900-01-01", "2099-12-31")
		check("", "1950-06-30")
		check("2000-01-01", "")
		check("1990-01-01", "1980-01-01") // an empty interval
		for range 30 {
			a := first.AddDate(0, 0, r.IntN(73049)).Format(time.DateOnly)
			b := first.AddDate(0, 0, r.IntN(73049)).Format(time.DateOnly)
			check(min(a, b), max(a, b))
		}

		// An update rewrites the tokens in the update's transaction.
		var moved string
		for id, b := range born {
			if b < "1985-03-01" || b > "1985-03-31" {
				moved = id
				break
			}
		}
		ts.mustStatus(t, 200, "PUT", "/tenants/acme/contacts/"+moved, contactInput{Name: "Moved", Birthday: "1985-03-15"})
		born[moved] = "1985-03-15"
		check("1985-03-01", "1985-03-31")
		ts.mustStatus(t, 200, "PUT", "/tenants/acme/contacts/"+moved, contactInput{Name: "Moved"})
		delete(born, moved)
		check("1985-03-01", "1985-03-31")
	})
}

// TestSearchTokensRefused: searches the indexes cannot answer are 400s
// that say why, and a made-up tenant finds nothing.
func TestSearchTokensRefused(t *testing.T) {
	ts := startServer(t, testConfig(t, ""))
	for _, q := range []string{
		"name_prefix=ad", "name_prefix=+++a+", "born_from=1985-02-30", "born_to=1899-12-31", "born_from=tomorrow",
		"name_prefix=ada&born_from=1985-01-01", "born_from=1985-01-01&email=a@b.c",
	} {
		ts.mustStatus(t, 400, "GET", "/tenants/acme/contacts?"+q, nil)
	}
	ts.mustStatus(t, 400, "POST", "/tenants/acme/contacts", contactInput{Name: "Bad", Birthday: "10/12/1985"})
	if got := ts.search(t, "made-up", url.Values{"name_prefix": {"ada"}}); len(got.Contacts) != 0 {
		t.Errorf("name_prefix on a made-up tenant found %v", got.ids())
	}
	if got := ts.search(t, "made-up", url.Values{"born_from": {"1900-01-01"}}); len(got.Contacts) != 0 {
		t.Errorf("born_from on a made-up tenant found %v", got.ids())
	}
}
