package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/cmd/fieldcrypt/internal/cli"
	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/reencrypt"
)

// membersTables describes a table with a token index, whose tokens live
// in the side table members_email_prefix.
const membersTables = `tables:
  - name: members
    primary_key: id
    record: member
    scope: tenant
    ids: [{column: id, name: ID}]
    encrypted:
      - {column: email, name: Email, class: pii}
    tokens:
      - {name: EmailPrefix, kind: prefix, sources: [email], transforms: lower, bits: 12, min_len: 3, max_len: 8}
`

// TestTokenIndexKeyRotation rotates the index key of a table with a token
// index through the command: status --index counts the rows whose tokens
// are under the older key, reencrypt rewrites the side table, verify
// passes, and the destroy check of the old index key counts the token
// rows until then.
func TestTokenIndexKeyRotation(t *testing.T) {
	h := newHarness(t)
	c := newCRMWith(t, h, membersTables)
	for _, s := range []string{
		`CREATE TABLE members (id INTEGER PRIMARY KEY, tenant TEXT NOT NULL, email TEXT)`,
		`CREATE TABLE members_email_prefix (id INTEGER NOT NULL REFERENCES members ON DELETE CASCADE, token BIGINT NOT NULL, PRIMARY KEY (token, id))`,
		`CREATE INDEX members_email_prefix_id ON members_email_prefix (id)`,
	} {
		if _, err := c.db.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	h.mustRun(t, "keys", "init", "--scope", "acme", "--class", "pii")
	cfg, err := reencrypt.ParseConfig([]byte(membersTables))
	if err != nil {
		t.Fatal(err)
	}
	schema, err := crypt.NewSchema(cfg.Tables[0].SchemaSpec)
	if err != nil {
		t.Fatal(err)
	}
	enc := crypt.New(openKeyring(t, h.store, h.keks), nil)
	const n = 30
	for i := range n {
		row := crypt.Row{"id": strconv.Itoa(i + 1), "tenant": "acme", "email": fmt.Sprintf("Member%d@acme.example", i)}
		if err := enc.EncryptRow(context.Background(), schema, row); err != nil {
			t.Fatal(err)
		}
		if _, err := c.db.Exec(`INSERT INTO members VALUES (?, ?, ?)`, i+1, "acme", row["email"]); err != nil {
			t.Fatal(err)
		}
		for _, tok := range row["EmailPrefix"].(crypt.Tokens) {
			if _, err := c.db.Exec(`INSERT INTO members_email_prefix VALUES (?, ?)`, i+1, tok); err != nil {
				t.Fatal(err)
			}
		}
	}
	tokenStatus := func() (notPrimary, current int64) {
		t.Helper()
		r := h.mustRun(t, "status", "--index", "--json")
		var s struct {
			TokensNotPrimary int64 `json:"tokens_not_primary"`
			Tables           []struct {
				Tokens []struct {
					Index     string `json:"index"`
					SideTable string `json:"side_table"`
					Primary   int64  `json:"primary"`
				} `json:"tokens"`
			} `json:"tables"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
			t.Fatalf("status --index --json: %v\n%s", err, r.stdout)
		}
		if len(s.Tables) != 1 || len(s.Tables[0].Tokens) != 1 || s.Tables[0].Tokens[0].SideTable != "members_email_prefix" {
			t.Fatalf("status --index --json = %s; want the token index EmailPrefix in members_email_prefix", r.stdout)
		}
		return s.TokensNotPrimary, s.Tables[0].Tokens[0].Primary
	}
	if np, cur := tokenStatus(); np != 0 || cur != n {
		t.Fatalf("status --index before rotation: %d rows not primary, %d current; want 0, %d", np, cur, n)
	}
	h.mustRun(t, "keys", "rotate", "--scope", "acme", "--class", "pii", "--purpose", "index")
	if np, _ := tokenStatus(); np != n {
		t.Errorf("status --index after rotation: %d rows not primary, want %d", np, n)
	}
	text := h.mustRun(t, "status", "--index").stdout
	for _, want := range []string{"TOKEN INDEX", "EmailPrefix", "members_email_prefix", "rows hold tokens not under their primary index key"} {
		if !strings.Contains(text, want) {
			t.Errorf("status --index lacks %q:\n%s", want, text)
		}
	}
	old := oldKey(t, h, "acme", "pii", "index")
	destroy := []string{"keys", "destroy", "--scope", "acme", "--class", "pii", "--purpose", "index", "--key-id", itoa(old.KeyID), "--yes", "--now"}
	if r := h.run(t, destroy...); r.code != cli.ExitFailed || !strings.Contains(r.stderr, "members_email_prefix.token") {
		t.Errorf("keys destroy of the old index key with tokens under it: %v\nwant refused, naming the side table", r)
	}
	if r := h.run(t, "verify"); r.code != cli.ExitPartial {
		t.Errorf("verify before the job: %v\nwant exit 2", r)
	}
	r := h.mustRun(t, "reencrypt", "--json", "--batch-size", "7")
	if sum := parseSummary(t, r.stdout); sum.Outcome != "done" || sum.Tables[0].Rewritten != n {
		t.Errorf("reencrypt = %+v, want done with %d rows rewritten", sum, n)
	}
	if np, cur := tokenStatus(); np != 0 || cur != n {
		t.Errorf("status --index after the job: %d rows not primary, %d current; want 0, %d", np, cur, n)
	}
	h.mustRun(t, "verify")
	h.mustRun(t, "keys", "disable", "--scope", "acme", "--class", "pii", "--purpose", "index", "--key-id", itoa(old.KeyID))
	h.mustRun(t, destroy...)
}
