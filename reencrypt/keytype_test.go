package reencrypt_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/reencrypt"
)

// TestIntegerKeyTypeOnTextColumn: a hand-written description that leaves
// key_type at its default (integer) for a text primary-key column whose
// values all look like numbers. The database orders the column as text
// ("10" before "9") while the job would page it with integer bounds, which
// MySQL compares as numbers: rows were skipped and the run reported done.
// The job and status (a destroy's safety check) refuse such a
// description before reading a row, naming the key.
func TestIntegerKeyTypeOnTextColumn(t *testing.T) {
	eachDB(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		const n = 30
		k := newKeys(t)
		app := k.encryptor(t)
		keyType := "TEXT"
		if db.d == reencrypt.MySQL {
			keyType = "VARCHAR(64)"
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
			note := &Note{Key: fmt.Sprint(i + 1), Tenant: "acme", Body: fmt.Sprintf("body %d", i)}
			if err := app.Encrypt(ctx, note); err != nil {
				t.Fatal(err)
			}
			marks = append(marks, "("+db.ph(3*i+1)+", "+db.ph(3*i+2)+", "+db.ph(3*i+3)+")")
			args = append(args, note.Key, note.Tenant, note.Body)
		}
		if _, err := db.Exec("INSERT INTO notes (k, tenant, body) VALUES "+strings.Join(marks, ", "), args...); err != nil {
			t.Fatal(err)
		}
		cfg, err := reencrypt.ParseConfig([]byte(strings.Replace(notesConfig, "    key_type: text\n", "", 1)))
		if err != nil {
			t.Fatal(err)
		}
		tab := cfg.Tables[0]
		rotate(t, app.Keyring(), keyring.PurposeData, []string{"acme"}, "pii")

		for name, err := range map[string]error{
			"Run":    runRefused(ctx, db, k.encryptor(t), tab),
			"Status": statusRefused(ctx, db, tab),
		} {
			var ce *reencrypt.ConfigError
			if !errors.As(err, &ce) || ce.Column != "k" || !errors.Is(err, reencrypt.ErrKeyType) {
				t.Errorf("%s err = %v; want a *ConfigError naming the key k, wrapping ErrKeyType", name, err)
			}
		}
		if _, err := db.Exec("SELECT 1 FROM " + reencrypt.JobsTable); err == nil {
			t.Errorf("the refused run created the job tables")
		}
	})
}

// runRefused runs the job, an error when it was not refused.
func runRefused(ctx context.Context, db *testDB, enc *crypt.Encryptor, tab reencrypt.Table) error {
	sum, err := reencrypt.Run(ctx, db.DB, db.d, enc, tab, &reencrypt.Options{Job: "notes", BatchSize: 4, RangeSize: 1000, Concurrency: 1})
	if err == nil {
		return fmt.Errorf("Run = %s", js(sum))
	}
	return err
}

// statusRefused runs Status, an error when it was not refused.
func statusRefused(ctx context.Context, db *testDB, tab reencrypt.Table) error {
	rep, err := reencrypt.Status(ctx, db.DB, db.d, tab)
	if err == nil {
		return fmt.Errorf("Status = %s", js(rep))
	}
	return err
}
