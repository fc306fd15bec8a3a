package reencrypt_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/reencrypt"
)

// accountsYAML describes a table whose index values the leakage tests
// craft by hand: Leakage reads them without keys, so they need not come
// from any.
const accountsYAML = `tables:
  - name: accounts
    primary_key: id
    record: account
    scope: tenant_id
    ids: [{column: id, name: ID}]
    encrypted:
      - {column: email, name: Email, class: pii}
      - {column: phone, name: Phone, class: pii}
      - {column: name, name: Name, class: pii}
      - {column: born, name: Born, class: pii}
    indexes:
      - {column: email_idx, name: EmailIdx, sources: [email], bits: 6}
      - {column: phone_idx, name: PhoneIdx, sources: [phone], bits: 6}
    tokens:
      - {name: NamePrefix, kind: prefix, sources: [name], transforms: lower, bits: 12, min_len: 3, max_len: 6}
      - {name: BornRange, kind: range, sources: [born], type: date, min: "2000-01-01", max: "2000-12-31"}
      - {name: Tags, kind: set, sources: [email, phone], bits: 7}
`

// seedAccounts writes 400 rows in each of tenant-0 and tenant-1, its side
// tables created by hand as a user of token_tables may have them (no
// index on id; the data layer's own layout is tokens_test.go's). In
// tenant-1, 40% of the rows share one email_idx value, one NamePrefix token
// set and one BornRange token set; everything else is spread evenly.
func (db *testDB) seedAccounts(t *testing.T) {
	t.Helper()
	varchar := "TEXT"
	if db.d == reencrypt.MySQL {
		varchar = "VARCHAR(64)"
	}
	stmts := []string{fmt.Sprintf(`CREATE TABLE accounts (id BIGINT PRIMARY KEY, tenant_id %s NOT NULL, email TEXT, phone TEXT, name TEXT, born TEXT,
		email_idx %s, phone_idx %s)`, varchar, varchar, varchar)}
	for _, side := range []string{"accounts_name_prefix", "accounts_born_range", "accounts_tags"} {
		stmts = append(stmts, `CREATE TABLE `+side+` (id BIGINT NOT NULL, token BIGINT NOT NULL, PRIMARY KEY (token, id),
			FOREIGN KEY (id) REFERENCES accounts (id) ON DELETE CASCADE)`)
	}
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
	exec := func(q string, args ...any) {
		if _, err := tx.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	tok := func(x int64) int64 { return x << 52 } // a 12-bit token
	id := int64(0)
	for tenant := range 2 {
		for i := range int64(400) {
			id++
			dominant := tenant == 1 && i%5 < 2
			email := fmt.Sprintf("%02x", (i%64)<<2)
			if dominant {
				email = "fc"
			}
			phone := fmt.Sprintf("%02x", ((i*7+int64(tenant))%64)<<2)
			exec("INSERT INTO accounts (id, tenant_id, email, phone, name, born, email_idx, phone_idx) VALUES ("+db.marks(8)+")",
				id, fmt.Sprintf("tenant-%d", tenant), "x", "x", "x", "x", email, phone)
			// NamePrefix: 1 to 4 tokens, a distinct set per row, or the
			// dominant set.
			prefix := []int64{tok(1 + i%7), tok(100 + i), tok(1000 + i), tok(2000 + i)}[:1+i%4]
			if dominant {
				prefix = []int64{tok(1), tok(2), tok(3), tok(4)}
			}
			// BornRange: 9 levels; the leaf differs per row, or is the
			// dominant one.
			born := []int64{tok(1), tok(2 + i%2), tok(4 + i%4), tok(8 + i%8), tok(16 + i%16), tok(32 + i%32), tok(64 + i%64), tok(128 + i%128), tok(256 + i)}
			if dominant {
				born = []int64{tok(1), tok(2), tok(4), tok(8), tok(16), tok(32), tok(64), tok(128), tok(255)}
			}
			// Tags: two elements per row, spread evenly over 128 7-bit tokens.
			tags := []int64{(i % 128) << 57, ((i*3 + 5) % 128) << 57}
			for side, toks := range map[string][]int64{"accounts_name_prefix": prefix, "accounts_born_range": born, "accounts_tags": tags} {
				for _, v := range toks {
					exec("INSERT INTO "+side+" (id, token) VALUES ("+db.marks(2)+")", id, v)
				}
			}
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func accountsTable(t *testing.T) reencrypt.Table {
	t.Helper()
	cfg, err := reencrypt.ParseConfig([]byte(accountsYAML))
	if err != nil {
		t.Fatalf("ParseConfig err = %v", err)
	}
	return cfg.Tables[0]
}

// TestLeakage checks Leakage on crafted data: the indexes where one value
// dominates one scope are flagged with a coarser setting, the healthy ones
// are not, and the numbers are those of the data.
func TestLeakage(t *testing.T) {
	eachDB(t, func(t *testing.T, db *testDB) {
		db.seedAccounts(t)
		rep, err := reencrypt.Leakage(context.Background(), db.DB, db.d, accountsTable(t), nil)
		if err != nil {
			t.Fatalf("Leakage err = %v", err)
		}
		if rep.Rows != 800 || rep.Scopes != 2 || len(rep.Indexes) != 5 {
			t.Fatalf("Leakage = %s; want 800 rows, 2 scopes, 5 indexes", js(rep))
		}
		by := map[string]reencrypt.IndexLeakage{}
		for _, il := range rep.Indexes {
			by[il.Index] = il
		}
		dominant := func(name string) reencrypt.IndexLeakage {
			t.Helper()
			il := by[name]
			if !il.Dominant || il.DominantScopes != 1 || il.Worst.Scope != "tenant-1" || il.Recommendation == "" {
				t.Errorf("%s = %s; want one value dominating tenant-1, with a recommendation", name, js(il))
			}
			if il.Worst.TopShare < 0.4 || il.Worst.TopShare > 0.42 || il.Worst.Indexed != 400 || il.Worst.Rows != 400 {
				t.Errorf("%s worst scope = %+v; want 400 rows, top share about 40%%", name, il.Worst)
			}
			return il
		}
		healthy := func(name string) reencrypt.IndexLeakage {
			t.Helper()
			il := by[name]
			if il.Dominant || il.DominantScopes != 0 || il.Recommendation != "" || il.RecommendedBits != 0 || len(il.Verdict) != 0 {
				t.Errorf("%s = %s; want no dominant value, no verdict and no recommendation", name, js(il))
			}
			return il
		}

		email := dominant("email_idx")
		if email.Kind != "equality" || email.RecommendedBits == 0 || email.RecommendedBits >= 6 {
			t.Errorf("email_idx recommended bits = %d, want fewer than 6", email.RecommendedBits)
		}
		if email.Overall.Indexed != 800 || email.Overall.Distinct != 128 || email.Overall.Scope != "" {
			t.Errorf("email_idx overall = %+v; want 800 indexed rows, 64 distinct values per scope", email.Overall)
		}
		phone := healthy("phone_idx")
		if phone.Worst.TopShare > 0.05 || phone.Worst.Distinct != 64 || phone.Worst.Estimated < 64 {
			t.Errorf("phone_idx worst = %+v; want 64 distinct values evenly spread", phone.Worst)
		}

		prefix := dominant("NamePrefix")
		if prefix.RecommendedBits == 0 || prefix.RecommendedBits >= 12 || prefix.SideTable != "accounts_name_prefix" {
			t.Errorf("NamePrefix = %s; want fewer than 12 bits recommended", js(prefix))
		}
		if tc := prefix.Overall.TokensPerRow; tc == nil || tc.Min != 1 || tc.Max != 4 {
			t.Errorf("NamePrefix tokens per row = %+v, want 1 to 4", tc)
		}
		born := dominant("BornRange")
		if born.RecommendedStep < 2 || len(born.Verdict) != 1 || !strings.Contains(born.Verdict[0], "9 tokens per value") {
			t.Errorf("BornRange = %s; want a coarser step and the tree's 9 levels", js(born))
		}
		if tc := born.Worst.TokensPerRow; tc == nil || tc.Min != 9 || tc.Median != 9 || tc.Max != 9 {
			t.Errorf("BornRange tokens per row = %+v, want 9", tc)
		}
		tags := healthy("Tags")
		if tags.Worst.Indexed != 400 || tags.Worst.Distinct != 128 {
			t.Errorf("Tags worst = %+v; want 400 rows, 128 distinct elements", tags.Worst)
		}
		if _, err := json.Marshal(rep); err != nil {
			t.Errorf("json.Marshal(report) err = %v", err)
		}
	})
}
