package sqlcrypt_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/fieldcrypt/fieldcrypt/sqlcrypt"
)

// TestScanNullIntoValueField: a NULL in a column whose field is no
// pointer (Contact.Email is a string) fails the row with a RowError that
// names the row and the column, on every dialect and through pgx too; it
// is never read as an empty value and passed on.
func TestScanNullIntoValueField(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testDB) {
		e := newEnv(t)
		db.exec(t, "CREATE TABLE loose (id BIGINT PRIMARY KEY, tenant_id VARCHAR(64) NOT NULL, name VARCHAR(255), email VARCHAR(255), email_idx VARCHAR(255), phone VARCHAR(255), notes VARCHAR(255), company VARCHAR(255))")
		db.exec(t, "INSERT INTO loose (id, tenant_id, name, email, email_idx, company) VALUES (1, 'acme', '', NULL, '', '')")
		rows, err := db.db.QueryContext(t.Context(), "SELECT id, tenant_id, email FROM loose")
		if err != nil {
			t.Fatal(err)
		}
		got, err := sqlcrypt.ScanAll[Contact](t.Context(), e.enc, rows)
		var rowErr *sqlcrypt.RowError
		if !errors.As(err, &rowErr) || rowErr.Row != 0 || !strings.Contains(err.Error(), "email") || got != nil {
			t.Errorf("ScanAll(NULL email) = %v, %v; want no records and a RowError for row 0 naming the column email", got, err)
		}
		if db.d != sqlcrypt.Postgres {
			return
		}
		prow, _ := db.pool.Query(t.Context(), "SELECT id, tenant_id, email FROM loose")
		cs, err := sqlcrypt.CollectRows(t.Context(), e.enc, prow, pgx.RowToStructByNameLax[Contact])
		if !errors.As(err, &rowErr) || rowErr.Row != 0 || !strings.Contains(err.Error(), "email") || cs != nil {
			t.Errorf("CollectRows(NULL email) = %v, %v; want no records and a RowError for row 0 naming the column email", cs, err)
		}
	})
}
