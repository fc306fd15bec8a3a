package reencrypt_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/reencrypt"
)

// Note is a record with a text primary key.
type Note struct {
	_      struct{} `crypt:"record=note"`
	Key    string   `crypt:"id,name=K"`
	Tenant string   `crypt:"scope"`
	Body   string   `crypt:"encrypt,class=pii"`
}

const notesConfig = `
tables:
  - name: notes
    primary_key: k
    key_type: text
    record: note
    scope: tenant
    ids: [{column: k, name: K}]
    encrypted: [{column: body, name: Body, class: pii}]
`

// TestTextPrimaryKey pages a table by a text key whose collation order
// (case-insensitive on MariaDB) differs from byte order: every row is
// visited once.
func TestTextPrimaryKey(t *testing.T) {
	eachDB(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		const n = 500
		k := newKeys(t)
		app := k.encryptor(t)
		keyType := "TEXT"
		if db.d == reencrypt.MySQL {
			keyType = "VARCHAR(64)" // the server's default, case-insensitive collation
		}
		if _, err := db.Exec("CREATE TABLE notes (k " + keyType + " PRIMARY KEY, tenant TEXT NOT NULL, body TEXT)"); err != nil {
			t.Fatal(err)
		}
		if err := keyring.NewManager(app.Keyring()).CreateKeysets(ctx, "acme", "pii"); err != nil {
			t.Fatal(err)
		}
		var marks []string
		var args []any
		for i := range n {
			// Alternate case: "a00000", "B00001", "c00002", ...
			letter := rune('a' + i%26)
			if i%2 == 1 {
				letter = rune('A' + i%26)
			}
			note := &Note{Key: fmt.Sprintf("%c%05d", letter, i), Tenant: "acme", Body: fmt.Sprintf("body %d", i)}
			if err := app.Encrypt(ctx, note); err != nil {
				t.Fatal(err)
			}
			marks = append(marks, "("+db.ph(3*i+1)+", "+db.ph(3*i+2)+", "+db.ph(3*i+3)+")")
			args = append(args, note.Key, note.Tenant, note.Body)
		}
		if _, err := db.Exec("INSERT INTO notes (k, tenant, body) VALUES "+strings.Join(marks, ", "), args...); err != nil {
			t.Fatal(err)
		}
		cfg, err := reencrypt.ParseConfig([]byte(notesConfig))
		if err != nil {
			t.Fatal(err)
		}
		tab := cfg.Tables[0]
		newKey := rotate(t, app.Keyring(), keyring.PurposeData, []string{"acme"}, "pii")

		opts := &reencrypt.Options{Job: "notes", BatchSize: 17, RangeSize: 60, Concurrency: 2}
		sum, err := reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), tab, opts)
		if err != nil || sum.Outcome != reencrypt.Done || sum.Scanned != n || sum.Rewritten != n {
			t.Fatalf("Run = %s, %v; want done, %d rows rewritten", js(sum), err, n)
		}
		rep, err := reencrypt.Status(ctx, db.DB, db.d, tab)
		if err != nil || rep.Rows != n || rep.ValuesUnder("acme", "pii", newKey[[2]string{"acme", "pii"}]) != n {
			t.Errorf("Status = %s, %v; want all %d values under the new key", js(rep), err, n)
		}
		opts.Concurrency = 3 // Verify splits the table into ranges too
		if v, err := reencrypt.Verify(ctx, db.DB, db.d, app, tab, opts); err != nil || v.Outcome != reencrypt.Done || v.Scanned != n {
			t.Errorf("Verify = %s, %v; want done over %d rows", js(v), err, n)
		}
	})
}
