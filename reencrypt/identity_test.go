package reencrypt_test

import (
	"context"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/reencrypt"
)

// Memo is a record keyed by a text column.
type Memo struct {
	_        struct{} `crypt:"record=memo"`
	ID       string   `crypt:"id"`
	TenantID string   `crypt:"scope"`
	Body     string   `crypt:"encrypt,class=pii"`
}

// TestMigrateEmptyIdentity plays a database writer who inserts a
// plaintext row whose text key is empty: its ciphertext would bind no row
// (crypt.ErrMissingIdentity). The job fails that row alone, as
// "missing_identity", and encrypts the others.
func TestMigrateEmptyIdentity(t *testing.T) {
	eachDB(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		if _, err := db.Exec("CREATE TABLE notes (id VARCHAR(64) PRIMARY KEY, tenant_id VARCHAR(64) NOT NULL, body TEXT)"); err != nil {
			t.Fatal(err)
		}
		q := "INSERT INTO notes (id, tenant_id, body) VALUES (" + db.marks(3) + ")"
		for _, id := range []string{"", "n1", "n2"} {
			if _, err := db.Exec(q, id, "acme", "private note "+id); err != nil {
				t.Fatal(err)
			}
		}
		tab, err := reencrypt.TableOf("notes", "", Memo{})
		if err != nil {
			t.Fatal(err)
		}
		opts := jobOptions("notes")
		opts.Migrate = true
		sum, err := reencrypt.Run(ctx, db.DB, db.d, newKeys(t).encryptor(t), tab, opts)
		if err != nil || sum.Outcome != reencrypt.Partial || sum.Rewritten != 2 || sum.Failures["missing_identity"] != 1 ||
			len(sum.FailedRows) != 1 || sum.FailedRows[0].Key != "" {
			t.Errorf("Run(Migrate) = %s, %v; want partial, 2 rows encrypted and the empty key failed as missing_identity", js(sum), err)
		}
	})
}
