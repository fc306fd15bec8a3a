package sqlcrypt_test

import (
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/fieldcrypt/fieldcrypt/sqlcrypt"
)

// TestCopyFromRefusesUnreadableRows: a column list that writes encrypted
// columns without the scope or identity column (their ciphertexts are
// bound to values the row would not hold: the row would never decrypt),
// or a blind index's source without the index (a search would never find
// the row), is refused before anything is sent.
func TestCopyFromRefusesUnreadableRows(t *testing.T) {
	db := openDB(t, sqlcrypt.Postgres)
	db.exec(t, "ALTER TABLE contacts ALTER COLUMN tenant_id SET DEFAULT 'other', ALTER COLUMN email_idx SET DEFAULT ''")
	e := newEnv(t)
	ctx := t.Context()
	records := []Contact{{ID: 1, TenantID: "acme", Name: "Ada", Email: "ada@example.com"}}
	for _, tc := range []struct {
		cols []string
		want string
	}{
		{[]string{"id", "name", "email", "email_idx", "company"}, "tenant_id"},
		{[]string{"tenant_id", "name", "email", "email_idx", "company"}, "id"},
		{[]string{"id", "tenant_id", "name", "email", "company"}, "email_idx"},
	} {
		n, err := sqlcrypt.CopyFrom(ctx, e.enc, db.pool, pgx.Identifier{"contacts"}, tc.cols, records)
		var colErr *sqlcrypt.ColumnError
		if !errors.As(err, &colErr) || colErr.Column != tc.want || n != 0 {
			t.Errorf("CopyFrom(%v) = %d, %v; want a ColumnError for %q", tc.cols, n, err, tc.want)
		}
	}
	var rows int
	if err := db.pool.QueryRow(ctx, "SELECT count(*) FROM contacts").Scan(&rows); err != nil || rows != 0 {
		t.Errorf("rows after refused copies = %d, %v; want 0", rows, err)
	}
}
