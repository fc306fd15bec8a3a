package sqlcrypt_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/sqlcrypt"
)

// Record types whose column names are hostile: a quote that would end the
// identifier, and control characters (a NUL ends the statement on
// PostgreSQL's wire protocol).
type (
	quoteIndex struct {
		_        struct{} `crypt:"record=quote_index"`
		ID       int64    `db:"id" crypt:"id"`
		TenantID string   `db:"tenant_id" crypt:"scope"`
		Email    string   `db:"email" crypt:"encrypt,class=pii"`
		EmailIdx string   "db:\"email_idx\\\" OR 1=1 OR \\\"x`\" crypt:\"blind=Email,bits=8\""
	}
	nulIndex struct {
		_        struct{} `crypt:"record=nul_index"`
		ID       int64    `db:"id" crypt:"id"`
		TenantID string   `db:"tenant_id" crypt:"scope"`
		Email    string   `db:"email" crypt:"encrypt,class=pii"`
		EmailIdx string   "db:\"email_idx\x00 OR 1=1\" crypt:\"blind=Email,bits=8\""
	}
	newlineScope struct {
		_        struct{} `crypt:"record=newline_scope"`
		ID       int64    `db:"id" crypt:"id"`
		TenantID string   "db:\"tenant_id\t-- \" crypt:\"scope\""
		Email    string   `db:"email" crypt:"encrypt,class=pii"`
		EmailIdx string   `db:"email_idx" crypt:"blind=Email,bits=8"`
	}
)

// TestLookupHostileColumnNames: a quote in a column name stays inside the
// quoted identifier on every dialect, and a name with a control character
// is refused with a LookupError that names the column's field.
func TestLookupHostileColumnNames(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	if err := e.admin.CreateKeysets(ctx, "acme", "pii"); err != nil {
		t.Fatal(err)
	}
	for _, d := range []sqlcrypt.Dialect{sqlcrypt.Postgres, sqlcrypt.SQLite, sqlcrypt.MySQL} {
		cond, _, err := sqlcrypt.Lookup(ctx, e.enc, d, &quoteIndex{TenantID: "acme", Email: "a@example.com"}, "EmailIdx", 1)
		if err != nil {
			t.Fatalf("Lookup(%v, quote) err = %v", d, err)
		}
		want := `"email_idx"" OR 1=1 OR ""x` + "`" + `"`
		if d == sqlcrypt.MySQL {
			want = "`email_idx\" OR 1=1 OR \"x``" + "`"
		}
		if !strings.Contains(cond, want) {
			t.Errorf("Lookup(%v, quote) = %q, want the column quoted as %s", d, cond, want)
		}
		for _, probe := range []any{&nulIndex{TenantID: "acme", Email: "a@example.com"}, &newlineScope{TenantID: "acme", Email: "a@example.com"}} {
			cond, _, err := sqlcrypt.Lookup(ctx, e.enc, d, probe, "EmailIdx", 1)
			var le *sqlcrypt.LookupError
			if !errors.As(err, &le) || !errors.Is(err, sqlcrypt.ErrInvalidLookup) {
				t.Errorf("Lookup(%v, %T) = %q, %v; want a LookupError", d, probe, cond, err)
			}
		}
	}
}
