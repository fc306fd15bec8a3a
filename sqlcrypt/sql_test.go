package sqlcrypt_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/sqlcrypt"
)

func sampleContacts(tenant string, first int64, n int) []*Contact {
	var out []*Contact
	for i := range int64(n) {
		c := &Contact{
			ID:       first + i,
			TenantID: tenant,
			Name:     fmt.Sprintf("Contact %d", first+i),
			Email:    fmt.Sprintf("person%d@example.com", first+i),
			Company:  "Initech",
		}
		if i%2 == 0 {
			c.Phone = ptr(fmt.Sprintf("+44 20 7946 %04d", first+i))
			c.Notes = []byte(fmt.Sprintf("note %d", first+i))
		}
		out = append(out, c)
	}
	return out
}

// TestScanAll: the table holds ciphertexts, and ScanAll returns the
// plaintext records, on every dialect.
func TestScanAll(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testDB) {
		e := newEnv(t)
		want := sampleContacts("acme", 1, 6)
		db.insert(t, e.enc, want...)

		var name, email string
		err := db.db.QueryRowContext(t.Context(), db.d.Rebind("SELECT name, email FROM contacts WHERE id = ?"), 1).Scan(&name, &email)
		if err != nil {
			t.Fatal(err)
		}
		for _, stored := range []string{name, email} {
			if _, err := crypt.InspectText(stored); err != nil || strings.Contains(stored, "@") || strings.Contains(stored, "Contact") {
				t.Errorf("stored value %.20q...: InspectText err = %v, want a ciphertext", stored, err)
			}
		}

		got, err := db.scanAll(t, e.enc, "SELECT * FROM contacts ORDER BY id")
		if err != nil {
			t.Fatalf("ScanAll err = %v", err)
		}
		if len(got) != len(want) {
			t.Fatalf("ScanAll returned %d records, want %d", len(got), len(want))
		}
		for i := range want {
			w := *want[i]
			w.EmailIdx = got[i].EmailIdx // computed on insert
			if !reflect.DeepEqual(got[i], w) {
				t.Errorf("ScanAll record %d = %+v, want %+v", i, got[i], w)
			}
			if got[i].EmailIdx == "" {
				t.Errorf("ScanAll record %d has no e-mail index", i)
			}
		}

		// A subset of the columns, in another order, into pointers.
		rows, err := db.db.QueryContext(t.Context(), "SELECT email, id, tenant_id FROM contacts ORDER BY id")
		if err != nil {
			t.Fatal(err)
		}
		ptrs, err := sqlcrypt.ScanAll[*Contact](t.Context(), e.enc, rows)
		if err != nil {
			t.Fatalf("ScanAll[*Contact](email, id, tenant_id) err = %v", err)
		}
		if len(ptrs) != len(want) || ptrs[0].Email != want[0].Email || ptrs[0].Name != "" {
			t.Errorf("ScanAll[*Contact](email, id, tenant_id)[0] = %+v, want only ID, TenantID and Email %q", ptrs[0], want[0].Email)
		}
	})
}

// TestLookupDropsFalsePositives: with a 2-bit index most rows share an
// index value with others; the search returns exactly what a plaintext
// filter returns, whatever the case and spaces of the query.
func TestLookupDropsFalsePositives(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testDB) {
		e := newEnv(t)
		contacts := sampleContacts("acme", 1, 24)
		contacts[3].Email = "Shared@Example.com"
		contacts[17].Email = " shared@example.com"
		db.insert(t, e.enc, contacts...)

		queries := []string{"SHARED@example.com ", "person5@example.com", "Person12@Example.COM", "nobody@example.com"}
		falsePositives := 0
		for _, q := range queries {
			var want []int64
			for _, c := range contacts {
				if normEmail(c.Email) == normEmail(q) {
					want = append(want, c.ID)
				}
			}
			found, candidates := db.find(t, e.enc, "acme", q)
			if got := ids(found); !slices.Equal(got, want) {
				t.Errorf("find(%q) = %v, want %v (the plaintext filter)", q, got, want)
			}
			falsePositives += candidates - len(found)
		}
		if falsePositives == 0 {
			t.Errorf("the 2-bit index found no false positives in %d queries over %d rows; the test proves nothing", len(queries), len(contacts))
		}
	})
}

// TestLookupAcrossIndexKeyRotation: after a new index key is promoted,
// rows written under the old key and under the new one are both found.
func TestLookupAcrossIndexKeyRotation(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testDB) {
		e := newEnv(t)
		before := sampleContacts("acme", 1, 16)
		db.insert(t, e.enc, before...)
		e.rotateIndexKey(t, "acme")

		// A 2-bit index gives one value under both keys for a quarter of
		// the e-mails: search for one whose values differ, so that a
		// lookup under the new key alone would miss the old row.
		for _, old := range before {
			probe := &Contact{TenantID: "acme", Email: old.Email}
			_, args, err := sqlcrypt.Lookup(t.Context(), e.enc, db.d, probe, "EmailIdx", 1)
			if err != nil {
				t.Fatalf("Lookup err = %v", err)
			}
			if indexArgs(db.d, args) < 2 {
				continue
			}
			after := &Contact{ID: 100, TenantID: "acme", Name: "After", Email: strings.ToUpper(old.Email)}
			db.insert(t, e.enc, after)
			found, _ := db.find(t, e.enc, "acme", old.Email)
			if got, want := ids(found), []int64{old.ID, after.ID}; !slices.Equal(got, want) {
				t.Errorf("find after rotation = %v, want %v (before and after)", got, want)
			}
			return
		}
		t.Fatalf("no e-mail among %d with two index values after a rotation", len(before))
	})
}

// indexArgs counts the index values among Lookup's arguments.
func indexArgs(d sqlcrypt.Dialect, args []any) int {
	switch d {
	case sqlcrypt.Postgres:
		return len(args[len(args)-1].([]string))
	case sqlcrypt.MySQL:
		return len(args) - 2
	}
	return len(args) - 1
}

// TestLookupKeepsToTheTenant: another tenant's row holding the same
// e-mail, and the same index value, is not found; tenants whose names
// differ only in case or a trailing space are other tenants, whatever the
// column's collation.
func TestLookupKeepsToTheTenant(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testDB) {
		e := newEnv(t)
		ctx := t.Context()
		// Tenants that a collation may take for "acme": case, trailing
		// space, a combining accent (ignored by accent-insensitive
		// collations), full-width letters and a zero-width space.
		others := []string{"ACME", "acme ", "acme\u0301", "\uff41\uff43\uff4d\uff45", "acme\u200b", "globex"}
		for _, s := range append([]string{"acme"}, others...) {
			if err := e.admin.CreateKeysets(ctx, s, "pii", "support"); err != nil {
				t.Fatal(err)
			}
		}
		// An e-mail whose 2-bit index value is the same in every tenant,
		// so that only the tenant condition keeps the others out.
		email := ""
		for i := 0; i < 50000 && email == ""; i++ {
			candidate := fmt.Sprintf("shared%d@example.com", i)
			want := indexValue(t, e.enc, "acme", candidate)
			email = candidate
			for _, s := range others {
				if indexValue(t, e.enc, s, candidate) != want {
					email = ""
				}
			}
		}
		if email == "" {
			t.Fatal("no e-mail with one index value in every tenant")
		}
		db.insert(t, e.enc, &Contact{ID: 1, TenantID: "acme", Name: "Ours", Email: email})
		for i, s := range others {
			db.insert(t, e.enc, &Contact{ID: int64(10 + i), TenantID: s, Name: "Theirs", Email: email})
		}

		found, candidates := db.find(t, e.enc, "acme", email)
		if got := ids(found); !slices.Equal(got, []int64{1}) || candidates != 1 {
			t.Errorf("find(acme) = %v from %d rows, want [1] from 1 row", got, candidates)
		}
		for i, s := range others {
			found, _ := db.find(t, e.enc, s, email)
			if got := ids(found); !slices.Equal(got, []int64{int64(10 + i)}) {
				t.Errorf("find(%q) = %v, want [%d]", s, got, 10+i)
			}
		}
	})
}

func indexValue(t testing.TB, enc *crypt.Encryptor, tenant, email string) string {
	t.Helper()
	vals, err := enc.BlindIndexValues(context.Background(), &Contact{TenantID: tenant, Email: email}, "EmailIdx")
	if err != nil || len(vals) != 1 {
		t.Fatalf("BlindIndexValues(%q) = %v, %v; want one value", tenant, vals, err)
	}
	return vals[0]
}

// TestLookupUnknownTenant: a tenant with no keysets matches nothing, with
// a condition the database runs without error.
func TestLookupUnknownTenant(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testDB) {
		e := newEnv(t)
		db.insert(t, e.enc, sampleContacts("acme", 1, 3)...)
		found, candidates := db.find(t, e.enc, "no-such-tenant", "person1@example.com")
		if len(found) != 0 || candidates != 0 {
			t.Errorf("find(no-such-tenant) = %v from %d rows, want nothing", ids(found), candidates)
		}
	})
}

// TestScanAllRefusesTampering: a ciphertext tampered with, or copied into
// another row or another column, fails with crypt.ErrDecrypt, in a
// RowError naming the row and holding no value.
func TestScanAllRefusesTampering(t *testing.T) {
	const secret = "zebulon.q7731@secret-mail.example"
	cases := []struct {
		name   string
		from   int64  // the contact whose stored e-mail is taken
		tamper bool   // flip one base64url character inside its ciphertext
		update string // writes it into contact 2
	}{
		{"e-mail moved to another row", 1, false, "UPDATE contacts SET email = ? WHERE id = 2"},
		{"e-mail moved to another column", 1, false, "UPDATE contacts SET name = ? WHERE id = 2"},
		{"e-mail tampered with", 2, true, "UPDATE contacts SET email = ? WHERE id = 2"},
	}
	forEachDialect(t, func(t *testing.T, db *testDB) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				e := newEnv(t)
				db.exec(t, "DELETE FROM contacts")
				db.insert(t, e.enc,
					&Contact{ID: 1, TenantID: "acme", Name: "One", Email: secret},
					&Contact{ID: 2, TenantID: "acme", Name: "Two", Email: "two@example.com"})
				var stolen string
				if err := db.db.QueryRowContext(t.Context(), db.d.Rebind("SELECT email FROM contacts WHERE id = ?"), tc.from).Scan(&stolen); err != nil {
					t.Fatal(err)
				}
				if tc.tamper {
					b := []byte(stolen)
					k := len(b) - 5
					b[k] = map[bool]byte{true: 'A', false: 'B'}[b[k] != 'A']
					stolen = string(b)
				}
				db.exec(t, tc.update, stolen)

				got, err := db.scanAll(t, e.enc, "SELECT * FROM contacts ORDER BY id")
				if !errors.Is(err, crypt.ErrDecrypt) {
					t.Fatalf("ScanAll(%s) err = %v, want crypt.ErrDecrypt", tc.name, err)
				}
				var rowErr *sqlcrypt.RowError
				if !errors.As(err, &rowErr) || rowErr.Row != 1 {
					t.Errorf("ScanAll(%s) err = %v, want a RowError for row 1", tc.name, err)
				}
				if got != nil {
					t.Errorf("ScanAll(%s) returned %d records with the error, want none", tc.name, len(got))
				}
				if strings.Contains(err.Error(), "zebulon") || strings.Contains(err.Error(), stolen[4:16]) {
					t.Errorf("ScanAll(%s) error %q holds a value", tc.name, err)
				}
			})
		}
	})
}

// TestScanAllNoAccess: a process without the support KEK reads every
// record, the support notes left encrypted, and gets the AccessError.
func TestScanAllNoAccess(t *testing.T) {
	db := openDB(t, sqlcrypt.SQLite)
	e := newEnv(t)
	db.insert(t, e.enc, sampleContacts("acme", 1, 4)...)
	piiOnly := crypt.New(e.newKeyring(t, map[string]string{"pii": e.keks["pii"]}), nil)

	got, err := db.scanAll(t, piiOnly, "SELECT * FROM contacts ORDER BY id")
	var access *crypt.AccessError
	if !errors.Is(err, crypt.ErrNoAccess) || !errors.As(err, &access) {
		t.Fatalf("ScanAll without the support KEK err = %v, want a crypt.AccessError", err)
	}
	if len(got) != 4 {
		t.Fatalf("ScanAll without the support KEK returned %d records, want 4", len(got))
	}
	if got[0].Name != "Contact 1" || got[0].Email != "person1@example.com" {
		t.Errorf("record 0 = %q, %q; want its pii fields decrypted", got[0].Name, got[0].Email)
	}
	if _, err := crypt.InspectBinary(got[0].Notes); err != nil {
		t.Errorf("record 0 notes: InspectBinary err = %v, want them still encrypted", err)
	}
}

// TestScanAllFilters: ScanAll with Match keeps what Matching keeps; an
// AccessError stops a filtered scan, and a filter's error stops it too.
func TestScanAllFilters(t *testing.T) {
	db := openDB(t, sqlcrypt.SQLite)
	e := newEnv(t)
	contacts := sampleContacts("acme", 1, 12)
	contacts[5].Email = "PERSON2@example.com"
	db.insert(t, e.enc, contacts...)
	probe := &Contact{TenantID: "acme", Email: "person2@example.com"}
	query := func() *sql.Rows {
		rows, err := db.db.QueryContext(t.Context(), "SELECT * FROM contacts ORDER BY id")
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}

	got, err := sqlcrypt.ScanAll[Contact](t.Context(), e.enc, query(), sqlcrypt.Match(probe, "EmailIdx"))
	if ids := ids(got); err != nil || !slices.Equal(ids, []int64{2, 6}) {
		t.Errorf("ScanAll(Match) = %v, %v; want [2 6]", ids, err)
	}

	piiOnly := crypt.New(e.newKeyring(t, map[string]string{"pii": e.keks["pii"]}), nil)
	got, err = sqlcrypt.ScanAll[Contact](t.Context(), piiOnly, query(), sqlcrypt.Match(probe, "EmailIdx"))
	var rowErr *sqlcrypt.RowError
	if !errors.Is(err, crypt.ErrNoAccess) || !errors.As(err, &rowErr) || rowErr.Row != 0 || got != nil {
		t.Errorf("ScanAll(Match) without the support KEK = %v, %v; want no records and crypt.ErrNoAccess for row 0", ids(got), err)
	}

	boom := errors.New("filter failed")
	calls := 0
	failing := func(record any) (bool, error) {
		calls++
		if record.(*Contact).ID == 3 {
			return false, boom
		}
		return true, nil
	}
	got, err = sqlcrypt.ScanAll[Contact](t.Context(), e.enc, query(), sqlcrypt.FilterFunc(failing))
	if !errors.Is(err, boom) || !errors.As(err, &rowErr) || rowErr.Row != 2 || got != nil || calls != 3 {
		t.Errorf("ScanAll(failing filter) = %v, %v after %d calls; want no records and the filter's error for row 2 after 3", ids(got), err, calls)
	}

	if _, err := sqlcrypt.ScanAll[Contact](t.Context(), e.enc, query(), sqlcrypt.Match(*probe, "EmailIdx")); !errors.As(err, new(*crypt.InvalidArgumentError)) {
		t.Errorf("ScanAll(Match(a struct, not a pointer)) err = %v, want a crypt.InvalidArgumentError", err)
	}
}

// TestScanAllColumnErrors: results that do not fit the struct are refused
// before any row is read, with a ColumnError naming the column.
func TestScanAllColumnErrors(t *testing.T) {
	db := openDB(t, sqlcrypt.SQLite)
	e := newEnv(t)
	db.insert(t, e.enc, sampleContacts("acme", 1, 1)...)
	cases := []struct {
		query  string
		column string
	}{
		{"SELECT id, tenant_id, email, 1 AS extra FROM contacts", "extra"},
		{"SELECT id, tenant_id, email, email FROM contacts", "email"},
		{"SELECT id, email FROM contacts", "tenant_id"},
		{"SELECT tenant_id, name FROM contacts", "id"},
	}
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			_, err := db.scanAll(t, e.enc, tc.query)
			var colErr *sqlcrypt.ColumnError
			if !errors.As(err, &colErr) || colErr.Column != tc.column {
				t.Errorf("ScanAll(%s) err = %v, want a ColumnError for %q", tc.query, err, tc.column)
			}
		})
	}

	// Columns of plaintext fields only need no binding columns.
	got, err := db.scanAll(t, e.enc, "SELECT company FROM contacts")
	if err != nil || len(got) != 1 || got[0].Company != "Initech" {
		t.Errorf("ScanAll(SELECT company) = %+v, %v; want the company", got, err)
	}
}

type twoFieldsOneColumn struct {
	ID    string `crypt:"id"`
	Email string `crypt:"encrypt"`
	Mail  string `db:"email"`
}

// TestScanAllTypeErrors: a type that is no record, or names one column
// twice, is refused.
func TestScanAllTypeErrors(t *testing.T) {
	db := openDB(t, sqlcrypt.SQLite)
	e := newEnv(t)
	query := func() *sql.Rows {
		rows, err := db.db.QueryContext(t.Context(), "SELECT id FROM contacts")
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	if _, err := sqlcrypt.ScanAll[string](t.Context(), e.enc, query()); !errors.As(err, new(*crypt.InvalidArgumentError)) {
		t.Errorf("ScanAll[string] err = %v, want a crypt.InvalidArgumentError", err)
	}
	var colErr *sqlcrypt.ColumnError
	if _, err := sqlcrypt.ScanAll[twoFieldsOneColumn](t.Context(), e.enc, query()); !errors.As(err, &colErr) || colErr.Column != "email" {
		t.Errorf("ScanAll[twoFieldsOneColumn] err = %v, want a ColumnError for \"email\"", err)
	}
}

// Audit is embedded in lead: its fields are columns of the lead.
type Audit struct {
	CreatedBy string
}

// lead names its columns without db tags: crypt.ColumnOf's snake_case.
type lead struct {
	LeadID   int64  `crypt:"id"`
	TenantID string `crypt:"scope"`
	Email    string `crypt:"encrypt,class=pii"`
	EmailIdx string `crypt:"blind=Email,bits=8"`
	Audit
	Ignored string `db:"-"`
}

// TestScanAllColumnNames: untagged fields read their snake_case columns,
// embedded structs are flattened, and result columns match in any case.
func TestScanAllColumnNames(t *testing.T) {
	db := openDB(t, sqlcrypt.SQLite)
	e := newEnv(t)
	db.exec(t, "CREATE TABLE leads (lead_id INTEGER PRIMARY KEY, tenant_id TEXT, email TEXT, email_idx TEXT, created_by TEXT)")
	l, err := crypt.Encrypted(t.Context(), e.enc, &lead{LeadID: 7, TenantID: "acme", Email: "ada@example.com", Audit: Audit{CreatedBy: "bob"}})
	if err != nil {
		t.Fatal(err)
	}
	db.exec(t, "INSERT INTO leads VALUES (?, ?, ?, ?, ?)", l.LeadID, l.TenantID, l.Email, l.EmailIdx, l.CreatedBy)

	rows, err := db.db.QueryContext(t.Context(), "SELECT LEAD_ID, Tenant_Id, email, email_idx, created_by FROM leads")
	if err != nil {
		t.Fatal(err)
	}
	got, err := sqlcrypt.ScanAll[lead](t.Context(), e.enc, rows)
	if err != nil || len(got) != 1 {
		t.Fatalf("ScanAll[lead] = %v, %v; want one lead", got, err)
	}
	if want := (lead{LeadID: 7, TenantID: "acme", Email: "ada@example.com", EmailIdx: l.EmailIdx, Audit: Audit{CreatedBy: "bob"}}); got[0] != want {
		t.Errorf("ScanAll[lead] = %+v, want %+v", got[0], want)
	}

	cond, _, err := sqlcrypt.Lookup(t.Context(), e.enc, sqlcrypt.SQLite, &lead{TenantID: "acme", Email: "ada@example.com"}, "EmailIdx", 1)
	if want := `"tenant_id" = ? COLLATE BINARY AND "email_idx" IN (?)`; err != nil || cond != want {
		t.Errorf("Lookup(lead) = %q, %v; want %s", cond, err, want)
	}
}
