package reencrypt_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/reencrypt"
)

// Account is a record whose scope column is an integer in the database:
// the application writes its tenant as decimal text, which the column
// stores (and every driver returns) as an integer.
type Account struct {
	_        struct{} `crypt:"record=account"`
	ID       int64    `crypt:"id"`
	TenantID string   `crypt:"scope"`
	Body     string   `crypt:"encrypt,class=pii"`
	BodyIdx  string   `crypt:"blind=Body,bits=32"`
}

// TestIntegerScopeColumn: an integer scope column is the scope in decimal
// (as the identities are), in status, the key-usage count of a destroy,
// the drift check, the index status of an index key's destroy, and the
// job. Counted under no scope, the values under a
// tenant's old key were invisible to the destroy's safety check, which
// then let the key go with every row still under it; and the job failed
// every row as missing_scope.
func TestIntegerScopeColumn(t *testing.T) {
	eachDB(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		const n = 40
		k := newKeys(t)
		app := k.encryptor(t)
		if _, err := db.Exec("CREATE TABLE accounts (id BIGINT PRIMARY KEY, tenant_id BIGINT NOT NULL, body TEXT, body_idx TEXT)"); err != nil {
			t.Fatal(err)
		}
		if err := keyring.NewManager(app.Keyring()).CreateKeysets(ctx, "42", "pii"); err != nil {
			t.Fatal(err)
		}
		var marks []string
		var args []any
		for i := range n {
			a := &Account{ID: int64(i + 1), TenantID: "42", Body: fmt.Sprintf("body %d", i)}
			if err := app.Encrypt(ctx, a); err != nil {
				t.Fatal(err)
			}
			marks = append(marks, "("+db.ph(4*i+1)+", "+db.ph(4*i+2)+", "+db.ph(4*i+3)+", "+db.ph(4*i+4)+")")
			args = append(args, a.ID, int64(42), a.Body, a.BodyIdx)
		}
		if _, err := db.Exec("INSERT INTO accounts (id, tenant_id, body, body_idx) VALUES "+strings.Join(marks, ", "), args...); err != nil {
			t.Fatal(err)
		}
		tab, err := reencrypt.TableOf("accounts", "", Account{})
		if err != nil {
			t.Fatal(err)
		}
		old := dataPrimaries(t, app.Keyring(), []string{"42"})[[2]string{"42", "pii"}]

		id := keyring.KeysetID{Scope: "42", Class: "pii", Purpose: keyring.PurposeData}
		if used, err := reencrypt.KeyUsage(ctx, db.DB, db.d, []reencrypt.Table{tab}, id, old); err != nil || used != n {
			t.Fatalf("KeyUsage(scope 42, key %d) = %d, %v; want the %d values under it", old, used, err, n)
		}
		if err := reencrypt.CheckDrift(ctx, db.DB, db.d, app, tab); err != nil {
			t.Fatalf("CheckDrift err = %v", err)
		}

		newKey := rotate(t, app.Keyring(), keyring.PurposeData, []string{"42"}, "pii")[[2]string{"42", "pii"}]
		rotate(t, app.Keyring(), keyring.PurposeIndex, []string{"42"}, "pii")
		ix, err := reencrypt.IndexStatus(ctx, db.DB, db.d, k.encryptor(t), tab, &reencrypt.IndexStatusOptions{Scope: "42", Class: "pii"})
		if err != nil || len(ix.Columns) != 1 || len(ix.Columns[0].Scopes) != 1 || ix.Columns[0].Scopes[0].Scope != "42" || ix.Columns[0].Scopes[0].NotPrimary() != n {
			t.Fatalf("IndexStatus(scope 42) = %s, %v; want the %d index values of scope 42 under the old index key", js(ix), err, n)
		}
		sum, err := reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), tab, jobOptions("int-scope"))
		if err != nil || sum.Outcome != reencrypt.Done || sum.Rewritten != n {
			t.Fatalf("Run = %s, %v; want done, %d rows rewritten", js(sum), err, n)
		}
		rep, err := reencrypt.Status(ctx, db.DB, db.d, tab)
		if err != nil || rep.ValuesUnder("42", "pii", newKey) != n || rep.Columns[0].MissingScope != 0 {
			t.Errorf("Status = %s, %v; want all %d values under the new key of scope 42", js(rep), err, n)
		}
		var got Account
		row := db.QueryRow("SELECT id, tenant_id, body FROM accounts WHERE id = 7")
		if err := row.Scan(&got.ID, &got.TenantID, &got.Body); err != nil {
			t.Fatal(err)
		}
		if err := app.Decrypt(ctx, &got); err != nil || got.Body != "body 6" {
			t.Errorf("Decrypt after the job = %q, %v; want %q", got.Body, err, "body 6")
		}
	})
}
