package cli_test

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/cmd/fieldcrypt/internal/cli"
	"github.com/fieldcrypt/fieldcrypt/internal/sqldialect"
)

// leakageTables describes the accounts table of the leakage tests, whose
// index values they craft: leakage needs no key, so none made them.
const leakageTables = `tables:
  - name: accounts
    primary_key: id
    record: account
    scope: tenant
    ids: [{column: id, name: ID}]
    encrypted:
      - {column: email, name: Email, class: pii}
      - {column: phone, name: Phone, class: pii}
      - {column: name, name: Name, class: pii}
    indexes:
      - {column: email_idx, name: EmailIdx, sources: [email], bits: 6}
      - {column: phone_idx, name: PhoneIdx, sources: [phone], bits: 6}
    tokens:
      - {name: NamePrefix, kind: prefix, sources: [name], transforms: lower, bits: 12, min_len: 3, max_len: 6}
`

// craftAccounts creates the accounts table and its side table, and writes
// 200 rows in each of acme and globex. In globex, 40% of the rows share
// one email_idx value and one NamePrefix token set; the rest, and
// phone_idx everywhere, are spread evenly.
func craftAccounts(t *testing.T, db *sql.DB, d sqldialect.Dialect) {
	t.Helper()
	side := sqldialect.TokenTable{Parent: "accounts", Name: "accounts_name_prefix", Key: "id", IntKey: true}
	stmts := append([]string{
		`CREATE TABLE accounts (id BIGINT PRIMARY KEY, tenant TEXT NOT NULL, email TEXT, phone TEXT, name TEXT, email_idx TEXT, phone_idx TEXT)`,
	}, d.CreateTokenTable(side)...) // the data layer's layout
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	marks := func(n int) string {
		p := d.Placeholders()
		m := make([]string, n)
		for i := range m {
			m[i] = p.Next()
		}
		return strings.Join(m, ", ")
	}
	id := int64(0)
	for _, tenant := range []string{"acme", "globex"} {
		for i := range int64(200) {
			id++
			dominant := tenant == "globex" && i%5 < 2
			email := fmt.Sprintf("%02x", (i%64)<<2)
			prefix := []int64{(1 + i%7) << 52, (100 + i) << 52, (1000 + i) << 52}[:1+i%3]
			if dominant {
				email = "fc"
				prefix = []int64{1 << 52, 2 << 52, 3 << 52, 4 << 52}
			}
			phone := fmt.Sprintf("%02x", ((i*7)%64)<<2)
			if _, err := tx.Exec("INSERT INTO accounts (id, tenant, email, phone, name, email_idx, phone_idx) VALUES ("+marks(7)+")",
				id, tenant, "x", "x", "x", email, phone); err != nil {
				t.Fatal(err)
			}
			for _, s := range d.ReplaceTokens(side, sqldialect.TokenRows{Keys: []any{id}, Tokens: [][]int64{prefix}}, d == sqldialect.Postgres, false) {
				if _, err := tx.Exec(s.SQL, s.Args...); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// leakageJSON is the part of `leakage --json` the tests read.
type leakageJSON struct {
	Recommendations int `json:"recommendations"`
	Tables          []struct {
		Table   string `json:"table"`
		Rows    int64  `json:"rows"`
		Scopes  int    `json:"scopes"`
		Indexes []struct {
			Index           string `json:"index"`
			Kind            string `json:"kind"`
			SideTable       string `json:"side_table"`
			Bits            int    `json:"bits"`
			Dominant        bool   `json:"dominant"`
			DominantScopes  int    `json:"dominant_scopes"`
			Recommendation  string `json:"recommendation"`
			RecommendedBits int    `json:"recommended_bits"`
			Overall         struct {
				Rows, Indexed, Distinct int64
				TopShare                float64   `json:"top_share"`
				TopShares               []float64 `json:"top_shares"`
			} `json:"overall"`
			Worst struct {
				Scope        string  `json:"scope"`
				Rows         int64   `json:"rows"`
				Indexed      int64   `json:"indexed"`
				Distinct     int64   `json:"distinct"`
				TopShare     float64 `json:"top_share"`
				TokensPerRow *struct {
					Min    int     `json:"min"`
					Median float64 `json:"median"`
					Max    int     `json:"max"`
				} `json:"tokens_per_row"`
			} `json:"worst_scope"`
		} `json:"indexes"`
	} `json:"tables"`
}

// unreachableKeys is a configuration whose keyset store and KEK cannot be
// reached: a command that opened either would fail.
func unreachableKeys(database string) string {
	return "store: postgres://nobody@127.0.0.1:9/nowhere?connect_timeout=1\n" +
		"keks:\n  pii: hcvault://transit/keys/pii\nvault:\n  address: http://127.0.0.1:9\n" +
		"database: " + database + "\n" + leakageTables
}

// checkLeakage runs leakage and checks what it says of the crafted data.
func checkLeakage(t *testing.T, h *harness) {
	t.Helper()
	r := h.mustRun(t, "leakage", "--json")
	var rep leakageJSON
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("leakage --json: %v\n%s", err, r.stdout)
	}
	if len(rep.Tables) != 1 || rep.Tables[0].Rows != 400 || rep.Tables[0].Scopes != 2 || len(rep.Tables[0].Indexes) != 3 || rep.Recommendations != 2 {
		t.Fatalf("leakage --json = %s; want 400 rows in 2 scopes, 3 indexes, 2 recommendations", r.stdout)
	}
	for _, ix := range rep.Tables[0].Indexes {
		switch ix.Index {
		case "email_idx":
			if !ix.Dominant || ix.DominantScopes != 1 || ix.Worst.Scope != "globex" || ix.Worst.Rows != 200 || ix.Worst.TopShare < 0.4 ||
				ix.RecommendedBits == 0 || ix.RecommendedBits >= 6 || !strings.Contains(ix.Recommendation, "fewer bits") {
				t.Errorf("leakage of email_idx = %+v; want globex dominated by one value, fewer bits recommended", ix)
			}
			if ix.Overall.Indexed != 400 || ix.Overall.Distinct != 128 || len(ix.Overall.TopShares) != 5 {
				t.Errorf("leakage of email_idx overall = %+v; want 400 rows, 128 distinct values, 5 top shares", ix.Overall)
			}
		case "phone_idx":
			if ix.Dominant || ix.Recommendation != "" || ix.Worst.TopShare > 0.05 {
				t.Errorf("leakage of phone_idx = %+v; want a healthy index, no recommendation", ix)
			}
		case "NamePrefix":
			if !ix.Dominant || ix.Kind != "prefix" || ix.SideTable != "accounts_name_prefix" || ix.RecommendedBits == 0 || ix.RecommendedBits >= 12 {
				t.Errorf("leakage of NamePrefix = %+v; want globex dominated, fewer than 12 bits recommended", ix)
			}
			if tc := ix.Worst.TokensPerRow; tc == nil || tc.Min != 1 || tc.Max != 4 {
				t.Errorf("leakage of NamePrefix: tokens per row = %+v, want 1 to 4", tc)
			}
		default:
			t.Errorf("leakage reported index %q", ix.Index)
		}
	}

	text := h.mustRun(t, "leakage", "--table", "accounts").stdout
	for _, want := range []string{
		"TABLE", "email_idx", "globex (worst)", "(all scopes)", "NamePrefix (accounts_name_prefix)", "1/",
		"accounts email_idx: one value dominates 1 of 2 scopes (worst: globex",
		"recommendation: one bucket holds", "2 indexes have a recommendation",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("leakage output lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "accounts phone_idx:") {
		t.Errorf("leakage has something to say of the healthy phone_idx:\n%s", text)
	}
}

// TestLeakageNoKeys runs leakage on SQLite with a configuration whose
// keyset store and KEK are unreachable: it never opens them (status,
// which does, fails with the same configuration).
func TestLeakageNoKeys(t *testing.T) {
	h := newHarness(t)
	path := filepath.Join(h.dir, "crm.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	craftAccounts(t, db, sqldialect.SQLite)
	h.writeConfig(t, unreachableKeys("sqlite:"+path))

	checkLeakage(t, h)

	if r := h.run(t, "status"); r.code == cli.ExitOK {
		t.Errorf("status with an unreachable keyset store: %v; want a failure (the test's configuration must be unusable for keys)", r)
	}
	if r := h.run(t, "leakage", "--table", "nope"); r.code != cli.ExitUsage || !strings.Contains(r.stderr, `--table "nope"`) {
		t.Errorf("leakage --table nope: %v; want exit 64", r)
	}
	if _, err := db.Exec("DROP TABLE accounts_name_prefix"); err != nil {
		t.Fatal(err)
	}
	if r := h.run(t, "leakage"); r.code != cli.ExitUsage || !strings.Contains(r.stderr, "side table accounts_name_prefix") {
		t.Errorf("leakage without the side table: %v; want exit 64 naming it", r)
	}
}

// TestLeakagePostgres runs leakage on PostgreSQL, with no reachable key
// either.
func TestLeakagePostgres(t *testing.T) {
	dsn, db := postgresSchema(t)
	craftAccounts(t, db, sqldialect.Postgres)
	h := newHarness(t)
	h.writeConfig(t, unreachableKeys(dsn))
	checkLeakage(t, h)
}
