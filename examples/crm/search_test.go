package main

import (
	"fmt"
	"net/url"
	"slices"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// primaryIndexValue returns the value blind index index takes for probe
// under the primary index key.
func primaryIndexValue(t *testing.T, ts *testServer, probe *Contact, index string) string {
	t.Helper()
	vals, err := ts.s.enc.BlindIndexValues(t.Context(), probe, index)
	if err != nil || len(vals) == 0 {
		t.Fatalf("BlindIndexValues(%s) = %v, %v; want values", index, vals, err)
	}
	return vals[0]
}

// collision returns the first of candidates(0), candidates(1), ... whose
// index value equals that of target: a false positive of the index.
func collision(t *testing.T, ts *testServer, tenant, index string, target string, probe func(tenant, v string) *Contact, candidates func(int) string, n int) string {
	t.Helper()
	want := primaryIndexValue(t, ts, probe(tenant, target), index)
	for i := range n {
		v := candidates(i)
		if v != target && primaryIndexValue(t, ts, probe(tenant, v), index) == want {
			return v
		}
	}
	t.Fatalf("no value among %d candidates shares %s's index value with %q", n, index, target)
	return ""
}

func emailProbe(tenant, v string) *Contact { return &Contact{TenantID: tenant, Email: v} }
func phoneProbe(tenant, v string) *Contact { return &Contact{TenantID: tenant, Phone: v} }

// indexColumn reads a contact's blind-index column from the database.
func indexColumn(t *testing.T, ts *testServer, column, tenant, id string) string {
	t.Helper()
	var v string
	if err := ts.raw(`SELECT `+column+` FROM contacts WHERE tenant_id = ? AND id = ?`, tenant, id).Scan(&v); err != nil {
		t.Fatalf("SELECT %s: %v", column, err)
	}
	return v
}

// indexRows counts the rows of tenant whose blind-index column holds value:
// what a lookup of that value reads before dropping false positives.
func indexRows(t *testing.T, ts *testServer, column, tenant, value string) int {
	t.Helper()
	var n int
	if err := ts.raw(`SELECT COUNT(*) FROM contacts WHERE tenant_id = ? AND `+column+` = ?`, tenant, value).Scan(&n); err != nil {
		t.Fatalf("SELECT COUNT(*) by %s: %v", column, err)
	}
	return n
}

func TestSearchByEmail(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, db string) {
		ts := startServer(t, testConfig(t, db))
		ada := ts.createContact(t, "acme", contactInput{Name: "Ada", Email: "Ada@Example.com"})
		grace := ts.createContact(t, "acme", contactInput{Name: "Grace", Email: "grace@example.org"})
		ts.createContact(t, "acme", contactInput{Name: "No e-mail"})

		// A different address whose 11-bit index value is Ada's: about one
		// in 2,048 addresses is.
		decoyEmail := collision(t, ts, "acme", "EmailIdx", "ada@example.com", emailProbe,
			func(i int) string { return fmt.Sprintf("decoy%d@example.com", i) }, 200_000)
		decoy := ts.createContact(t, "acme", contactInput{Name: "Decoy", Email: decoyEmail})
		if a, d := indexColumn(t, ts, "email_idx", "acme", ada.ID), indexColumn(t, ts, "email_idx", "acme", decoy.ID); a != d {
			t.Fatalf("email_idx of Ada %q and of the decoy %q differ; the test needs them equal", a, d)
		}

		tests := []struct {
			name, email string
			want        []string
		}{
			{"as stored", "Ada@Example.com", []string{ada.ID}},
			{"lower case", "ada@example.com", []string{ada.ID}},
			{"upper case and spaces", "  ADA@EXAMPLE.COM \t", []string{ada.ID}},
			{"another contact", "GRACE@example.org ", []string{grace.ID}},
			{"the decoy itself", decoyEmail, []string{decoy.ID}},
			{"nobody", "nobody@example.com", []string{}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got := ts.search(t, "acme", url.Values{"email": {tt.email}})
				if !slices.Equal(got.ids(), tt.want) {
					t.Errorf("lookup email=%q = %v, want %v", tt.email, got.ids(), tt.want)
				}
			})
		}

		// The index value the lookup of Ada queries is held by the decoy
		// too; decrypting and comparing dropped it (above).
		if n := indexRows(t, ts, "email_idx", "acme", primaryIndexValue(t, ts, emailProbe("acme", "ada@example.com"), "EmailIdx")); n < 2 {
			t.Errorf("rows holding Ada's e-mail index value = %d, want at least 2 (Ada and the decoy)", n)
		}
	})
}

func TestSearchByPhoneLast4(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, db string) {
		ts := startServer(t, testConfig(t, db))
		p1 := ts.createContact(t, "acme", contactInput{Name: "One", Phone: "+1 (555) 010-4242"})
		p2 := ts.createContact(t, "acme", contactInput{Name: "Two", Phone: "555.010.4242"})
		p3 := ts.createContact(t, "acme", contactInput{Name: "Three", Phone: "+44 20 7946 0018"})
		ts.createContact(t, "acme", contactInput{Name: "No phone"})

		// Another last-4 whose 9-bit index value is 4242's: about 20 of the
		// 10,000 are.
		decoyLast4 := collision(t, ts, "acme", "PhoneLast4Idx", "4242", phoneProbe,
			func(i int) string {
				if v := fmt.Sprintf("%04d", i); v != "0018" { // Three's: not a decoy
					return v
				}
				return "4242" // skipped by collision
			}, 10_000)
		decoy := ts.createContact(t, "acme", contactInput{Name: "Decoy", Phone: "+1 555 010 " + decoyLast4})
		unused := "1357"
		if unused == decoyLast4 {
			unused = "2468"
		}

		ordered := func(ids ...string) []string { slices.Sort(ids); return ids }
		tests := []struct {
			last4 string
			want  []string
		}{
			{"4242", ordered(p1.ID, p2.ID)},
			{"0018", []string{p3.ID}},
			{decoyLast4, []string{decoy.ID}},
			{unused, []string{}},
		}
		for _, tt := range tests {
			t.Run(tt.last4, func(t *testing.T) {
				got := ts.search(t, "acme", url.Values{"phone_last4": {tt.last4}})
				if !slices.Equal(got.ids(), tt.want) {
					t.Errorf("lookup phone_last4=%s = %v, want %v", tt.last4, got.ids(), tt.want)
				}
			})
		}
		if n := indexRows(t, ts, "phone_last4_idx", "acme", primaryIndexValue(t, ts, phoneProbe("acme", "4242"), "PhoneLast4Idx")); n < 3 {
			t.Errorf("rows holding 4242's index value = %d, want at least 3 (two matches and the decoy)", n)
		}
	})
}

// TestSearchDuringIndexKeyRotation: contacts written before and after a
// new index key became primary are all found, because a lookup uses every
// enabled index key.
func TestSearchDuringIndexKeyRotation(t *testing.T) {
	ts := startServer(t, testConfig(t, ""))
	before := ts.createContact(t, "acme", contactInput{Name: "Before", Email: "same@example.com", Phone: "555 0100"})

	id := keyring.KeysetID{Scope: "acme", Class: classPII, Purpose: keyring.PurposeIndex}
	kr := ts.s.enc.Keyring()
	m := keyring.NewManager(kr)
	keyID, err := m.AddKey(t.Context(), id)
	if err != nil {
		t.Fatalf("AddKey(%v): %v", id, err)
	}
	if err := m.PromoteKey(t.Context(), id, keyID); err != nil {
		t.Fatalf("PromoteKey(%v, %d): %v", id, keyID, err)
	}
	after := ts.createContact(t, "acme", contactInput{Name: "After", Email: "SAME@example.com", Phone: "555 0100"})
	if indexColumn(t, ts, "email_idx", "acme", before.ID) == indexColumn(t, ts, "email_idx", "acme", after.ID) &&
		indexColumn(t, ts, "phone_last4_idx", "acme", before.ID) == indexColumn(t, ts, "phone_last4_idx", "acme", after.ID) {
		t.Fatalf("both index columns are equal before and after the rotation; the new key was not used")
	}

	want := []string{before.ID, after.ID}
	slices.Sort(want)
	for _, q := range []url.Values{{"email": {"same@example.com"}}, {"phone_last4": {"0100"}}} {
		if got := ts.search(t, "acme", q).ids(); !slices.Equal(got, want) {
			t.Errorf("lookup %s during the rotation = %v, want %v", q.Encode(), got, want)
		}
	}
}

// TestSearchOnMadeUpTenantsCreatesNothing: thirty unauthenticated searches
// on tenants that do not exist create no keyset, write nothing to the
// keyset store, call no KMS, and find nothing.
func TestSearchOnMadeUpTenantsCreatesNothing(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, db string) {
		ts := startServer(t, testConfig(t, db))
		ts.createContact(t, "acme", contactInput{Name: "Ada", Email: "ada@example.com"})
		count := func() int {
			var n int
			if err := ts.raw(`SELECT COUNT(*) FROM fieldcrypt_keysets`).Scan(&n); err != nil {
				t.Fatalf("counting keysets: %v", err)
			}
			return n
		}
		before, calls := count(), ts.s.kr.Stats().KMSCalls
		for i := range 30 {
			got := ts.search(t, fmt.Sprintf("made-up-%d", i), url.Values{"email": {"ada@example.com"}})
			if len(got.Contacts) != 0 {
				t.Errorf("search on made-up tenant %d found %v, want nothing", i, got.ids())
			}
		}
		if after := count(); after != before {
			t.Errorf("30 searches on made-up tenants created %d keysets, want 0", after-before)
		}
		if n := ts.s.kr.Stats().KMSCalls - calls; n != 0 {
			t.Errorf("30 searches on made-up tenants made %d KMS calls, want 0", n)
		}
	})
}
