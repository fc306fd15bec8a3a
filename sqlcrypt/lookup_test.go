package sqlcrypt_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/internal/testkeys"
	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/sqlcrypt"
)

// TestLookupCondition: the condition's SQL and the shape of its arguments
// for each dialect, numbered from firstArg on PostgreSQL.
func TestLookupCondition(t *testing.T) {
	e := newEnv(t)
	db := openDB(t, sqlcrypt.SQLite) // only to create the tenant's keysets
	db.insert(t, e.enc, sampleContacts("acme", 1, 1)...)
	cases := []struct {
		d        sqlcrypt.Dialect
		tenant   string
		firstArg int
		want     string
		nargs    int
	}{
		{sqlcrypt.Postgres, "acme", 1, `"tenant_id" = $1 AND "email_idx" = ANY($2)`, 2},
		{sqlcrypt.Postgres, "acme", 3, `"tenant_id" = $3 AND "email_idx" = ANY($4)`, 2},
		{sqlcrypt.SQLite, "acme", 1, `"tenant_id" = ? COLLATE BINARY AND "email_idx" IN (?)`, 2},
		{sqlcrypt.SQLite, "acme", 5, `"tenant_id" = ? COLLATE BINARY AND "email_idx" IN (?)`, 2},
		{sqlcrypt.MySQL, "acme", 1, "`tenant_id` = ? AND CAST(CONVERT(`tenant_id` USING utf8mb4) AS BINARY) = CAST(CONVERT(? USING utf8mb4) AS BINARY) AND `email_idx` IN (?)", 3},
		// No keysets: nothing can match, and the SQL still runs.
		{sqlcrypt.Postgres, "initech", 1, `"tenant_id" = $1 AND "email_idx" = ANY($2)`, 2},
		{sqlcrypt.SQLite, "initech", 1, `1 = 0`, 0},
		{sqlcrypt.MySQL, "initech", 1, `1 = 0`, 0},
	}
	for _, tc := range cases {
		t.Run(tc.d.String()+"/"+tc.tenant, func(t *testing.T) {
			probe := &Contact{TenantID: tc.tenant, Email: "person1@example.com"}
			cond, args, err := sqlcrypt.Lookup(t.Context(), e.enc, tc.d, probe, "EmailIdx", tc.firstArg)
			if err != nil {
				t.Fatalf("Lookup(%v) err = %v", tc.d, err)
			}
			if cond != tc.want || len(args) != tc.nargs {
				t.Errorf("Lookup(%v, firstArg %d) = %s with %d args, want %s with %d", tc.d, tc.firstArg, cond, len(args), tc.want, tc.nargs)
			}
			if tc.nargs > 0 && args[0] != tc.tenant {
				t.Errorf("Lookup(%v) args[0] = %v, want the tenant %q", tc.d, args[0], tc.tenant)
			}
			if tc.d == sqlcrypt.Postgres {
				vals, ok := args[1].([]string)
				if !ok || vals == nil || (tc.tenant == "initech") != (len(vals) == 0) {
					t.Errorf("Lookup(%v) args[1] = %#v, want a non-nil []string, empty only without keysets", tc.d, args[1])
				}
			}
		})
	}
}

// Records whose index or scope has no column cannot be searched with SQL.
type (
	ignoredIndex struct {
		ID       string `crypt:"id"`
		TenantID string `crypt:"scope"`
		Email    string `crypt:"encrypt"`
		EmailIdx string `db:"-" crypt:"blind=Email,bits=8"`
	}
	ignoredScope struct {
		ID       string `crypt:"id"`
		TenantID string `db:"-" crypt:"scope"`
		Email    string `crypt:"encrypt"`
		EmailIdx string `crypt:"blind=Email,bits=8"`
	}
	nestedScope struct {
		ID    string `crypt:"id"`
		Owner struct {
			TenantID string `crypt:"scope"`
		}
		Email    string `crypt:"encrypt"`
		EmailIdx string `crypt:"blind=Email,bits=8"`
	}
	// namedIndex is found by its name= option as by its Go name; it has
	// no scope, so it lives in the default scope and its condition has no
	// tenant column.
	namedIndex struct {
		_        struct{} `crypt:"record=lead"`
		ID       string   `crypt:"id"`
		Email    string   `crypt:"encrypt"`
		EmailIdx string   `db:"mail_idx" crypt:"blind=Email,bits=8,name=mail"`
	}
)

// TestLookupErrors: every refusal names what is wrong, and none holds the
// probe's value.
func TestLookupErrors(t *testing.T) {
	e := newEnv(t)
	// ignoredScope, nestedScope and namedIndex are of the default class:
	// without its KEK every lookup of theirs is ErrNoAccess.
	opener, keks := testkeys.KEKs(t, "default")
	e.enc = crypt.New(testkeys.Keyring(t, keyring.NewMemoryStore(), opener, keks), nil)
	const secret = "zebulon.q7731@secret-mail.example"
	probe := &Contact{TenantID: "acme", Email: secret}
	nested := &nestedScope{Email: secret}
	nested.Owner.TenantID = "acme"
	cases := []struct {
		name     string
		d        sqlcrypt.Dialect
		probe    any
		index    string
		firstArg int
		want     error
	}{
		{"invalid dialect", 0, probe, "EmailIdx", 1, sqlcrypt.ErrInvalidLookup},
		{"firstArg 0", sqlcrypt.Postgres, probe, "EmailIdx", 0, sqlcrypt.ErrInvalidLookup},
		{"unknown index", sqlcrypt.Postgres, probe, "PhoneIdx", 1, crypt.ErrUnknownIndex},
		{"missing scope", sqlcrypt.Postgres, &Contact{Email: secret}, "EmailIdx", 1, crypt.ErrMissingScope},
		{"index without a column", sqlcrypt.Postgres, &ignoredIndex{TenantID: "acme", Email: secret}, "EmailIdx", 1, sqlcrypt.ErrInvalidLookup},
		{"scope without a column", sqlcrypt.SQLite, &ignoredScope{TenantID: "acme", Email: secret}, "EmailIdx", 1, sqlcrypt.ErrInvalidLookup},
		{"scope in a nested struct", sqlcrypt.MySQL, nested, "EmailIdx", 1, sqlcrypt.ErrInvalidLookup},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cond, args, err := sqlcrypt.Lookup(t.Context(), e.enc, tc.d, tc.probe, tc.index, tc.firstArg)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Lookup(%s) = %q, %v, err = %v; want %v", tc.name, cond, args, err, tc.want)
			}
			if strings.Contains(err.Error(), "zebulon") {
				t.Errorf("Lookup(%s) err = %q holds the probe's value", tc.name, err)
			}
		})
	}
	if _, _, err := sqlcrypt.Lookup(t.Context(), e.enc, sqlcrypt.Postgres, *probe, "EmailIdx", 1); !errors.As(err, new(*crypt.InvalidArgumentError)) {
		t.Errorf("Lookup(a struct, not a pointer) err = %v, want a crypt.InvalidArgumentError", err)
	}

	for _, index := range []string{"EmailIdx", "mail"} {
		cond, _, err := sqlcrypt.Lookup(t.Context(), e.enc, sqlcrypt.Postgres, &namedIndex{Email: "a@example.com"}, index, 1)
		if want := `"mail_idx" = ANY($1)`; err != nil || cond != want {
			t.Errorf("Lookup(namedIndex, %q) = %q, %v; want %s", index, cond, err, want)
		}
	}
}

// TestMatching: the records that hold the probe's value after the index's
// transforms, in the probe's tenant, are kept, in order.
func TestMatching(t *testing.T) {
	probe := &Contact{TenantID: "acme", Email: " Ada@Example.com"}
	records := []Contact{
		{ID: 1, TenantID: "acme", Email: "ada@example.com"},
		{ID: 2, TenantID: "acme", Email: "bob@example.com"},    // a false positive
		{ID: 3, TenantID: "ACME", Email: "ada@example.com"},    // another tenant
		{ID: 4, TenantID: "acme", Email: "ADA@EXAMPLE.COM   "}, // the same after lower+trim
		{ID: 5, TenantID: "acme"},                              // no e-mail
	}
	got, err := sqlcrypt.Matching(records, probe, "EmailIdx")
	if err != nil || len(ids(got)) != 2 || got[0].ID != 1 || got[1].ID != 4 {
		t.Errorf("Matching = %v, %v; want [1 4]", ids(got), err)
	}

	var ptrs []*Contact
	for i := range records {
		ptrs = append(ptrs, &records[i])
	}
	gotp, err := sqlcrypt.Matching(ptrs, probe, "EmailIdx")
	if err != nil || len(gotp) != 2 || gotp[0] != ptrs[0] || gotp[1] != ptrs[3] {
		t.Errorf("Matching([]*Contact) = %v, %v; want records 1 and 4", gotp, err)
	}

	if got, err := sqlcrypt.Matching(records, &Contact{TenantID: "acme"}, "EmailIdx"); err != nil || len(got) != 0 {
		t.Errorf("Matching(probe with no e-mail) = %v, %v; want none", ids(got), err)
	}
	if _, err := sqlcrypt.Matching(records, &namedIndex{Email: "ada@example.com"}, "EmailIdx"); !errors.Is(err, crypt.ErrTypeMismatch) {
		t.Errorf("Matching(probe of another type) err = %v, want crypt.ErrTypeMismatch", err)
	}
	if _, err := sqlcrypt.Matching(records, probe, "NameIdx"); !errors.Is(err, crypt.ErrUnknownIndex) {
		t.Errorf("Matching(unknown index) err = %v, want crypt.ErrUnknownIndex", err)
	}
}
