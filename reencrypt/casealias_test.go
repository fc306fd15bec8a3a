package reencrypt_test

import (
	"context"
	"errors"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/reencrypt"
)

// TestColumnNamesDifferingInCase: MySQL and SQLite compare column names
// without case, so a description whose encrypted column TENANT is the
// scope column tenant names one column twice. Accepted, a --migrate run
// read the tenant as legacy plaintext and overwrote the scope column with
// its ciphertext. Such a description is refused before a row is read.
func TestColumnNamesDifferingInCase(t *testing.T) {
	for _, open := range []func(testing.TB) *testDB{openSQLite, openMySQL} {
		db := open(t)
		t.Run(db.d.String(), func(t *testing.T) {
			ctx := context.Background()
			k := newKeys(t)
			if _, err := db.Exec("CREATE TABLE notes (k VARCHAR(64) PRIMARY KEY, tenant VARCHAR(64) NOT NULL, body TEXT)"); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec("INSERT INTO notes (k, tenant, body) VALUES ('a', 'acme', 'plain')"); err != nil {
				t.Fatal(err)
			}
			tab := reencrypt.Table{Name: "notes", PrimaryKey: "k", KeyType: reencrypt.KeyText, SchemaSpec: crypt.SchemaSpec{
				Record: "note", Scope: "tenant", IDs: []crypt.ColumnName{{Column: "k", Name: "K"}},
				Fields: []crypt.FieldSpec{{Column: "body", Name: "Body", Class: "pii"}, {Column: "TENANT", Name: "Tenant", Class: "pii"}},
			}}
			sum, err := reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), tab, &reencrypt.Options{Job: "notes", Migrate: true})
			var tenant string
			if err := db.QueryRow("SELECT tenant FROM notes").Scan(&tenant); err != nil {
				t.Fatal(err)
			}
			if tenant != "acme" {
				t.Errorf("the scope column now holds %q (%s), want acme", tenant, js(sum))
			}
			var ce *reencrypt.ConfigError
			if !errors.As(err, &ce) {
				t.Errorf("Run err = %v, want a *ConfigError", err)
			}
			t.Logf("refused: %v", err)
		})
	}
}
