package reencrypt_test

import (
	"context"
	"strings"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/reencrypt"
)

// SQLite gives a column declared NUMBER, SERIAL or BIGSERIAL numeric
// affinity: integers are stored as integers and ordered as numbers, so an
// integer key_type pages it correctly.
func TestIntegerKeyTypeOnSQLiteNumericAffinity(t *testing.T) {
	for _, decl := range []string{"NUMBER", "SERIAL", "BIGSERIAL"} {
		t.Run(decl, func(t *testing.T) {
			db := openSQLite(t)
			ctx := context.Background()
			if _, err := db.Exec("CREATE TABLE notes (k " + decl + " PRIMARY KEY, tenant TEXT NOT NULL, body TEXT)"); err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				if _, err := db.Exec("INSERT INTO notes (k, tenant, body) VALUES (?, 'acme', '')", i+1); err != nil {
					t.Fatal(err)
				}
			}
			var typ string
			db.QueryRow("SELECT typeof(k) FROM notes LIMIT 1").Scan(&typ)
			cfg, err := reencrypt.ParseConfig([]byte(strings.Replace(notesConfig, "    key_type: text\n", "", 1)))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := reencrypt.Status(ctx, db.DB, db.d, cfg.Tables[0]); err != nil {
				t.Errorf("Status of a %s key holding %s values with key_type integer: %v", decl, typ, err)
			}
		})
	}
}
