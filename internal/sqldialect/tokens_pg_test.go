package sqldialect_test

import (
	"database/sql"
	"slices"
	"strings"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/internal/sqldialect"
	"github.com/fieldcrypt/fieldcrypt/internal/testenv"
)

// TestTokenConditionPostgres: on a real PostgreSQL, the token condition
// matches exactly the rows that hold its tokens: an Any set, an All set,
// an All of one token, with bound arrays and with one parameter per
// token, and nothing for no token.
func TestTokenConditionPostgres(t *testing.T) {
	dsn := testenv.PostgresSchema(t, "sqldialect_plan")
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := t.Context()
	side := sqldialect.TokenTable{Parent: "parents", Name: "parents_tokens", Key: "id", IntKey: true}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			testenv.Require(t, "PostgreSQL", err)
			t.Fatalf("%s: %v", q, err)
		}
	}
	// 20,000 rows; row id holds token id%50 (400 rows a token) and, for
	// the All branch, token 1000+id%7 and 2000+id%11.
	exec(`CREATE TABLE parents (id BIGINT PRIMARY KEY, v TEXT NOT NULL)`)
	exec(`INSERT INTO parents SELECT g, md5(g::text) FROM generate_series(1, 20000) g`)
	for _, stmt := range sqldialect.Postgres.CreateTokenTable(side) {
		exec(stmt)
	}
	exec(`INSERT INTO parents_tokens (id, token)
		SELECT id, id % 50 FROM parents UNION ALL
		SELECT id, 1000 + id % 7 FROM parents UNION ALL
		SELECT id, 2000 + id % 11 FROM parents`)
	exec(`ANALYZE parents`)
	exec(`ANALYZE parents_tokens`)

	holds := func(id int64, q sqldialect.TokenQuery) bool {
		toks := []int64{id % 50, 1000 + id%7, 2000 + id%11}
		for _, a := range q.Any {
			if slices.Contains(toks, a) {
				return true
			}
		}
		if len(q.All) == 0 {
			return false
		}
		for _, a := range q.All {
			if !slices.Contains(toks, a) {
				return false
			}
		}
		return true
	}
	cases := []struct {
		name    string
		queries []sqldialect.TokenQuery
	}{
		{"one token", []sqldialect.TokenQuery{{Any: []int64{7}}}},
		{"any of two", []sqldialect.TokenQuery{{Any: []int64{7, 13}}}},
		{"all of two, or any", []sqldialect.TokenQuery{{All: []int64{1003, 2005}}, {Any: []int64{49}}}},
		{"a single All", []sqldialect.TokenQuery{{All: []int64{1006}}}},
		{"none", nil},
	}
	for _, c := range cases {
		for i, arrays := range []bool{true, false, true, false} {
			side := side
			if i >= 2 {
				side.Bits = sqldialect.ScopeTokenBits // the = ANY(ARRAY(subquery)) shape
			}
			cond, args, ok := sqldialect.Postgres.TokenCondition(side, sqldialect.Postgres.Placeholders(), c.queries, arrays, "")
			if wide := strings.Contains(cond, "= ANY(ARRAY("); cond != "1 = 0" && wide != (i >= 2) {
				t.Errorf("%s (arrays %v, bits %d): %s", c.name, arrays, side.Bits, cond)
			}
			if ok != (len(c.queries) > 0) {
				t.Errorf("%s (arrays %v, bits %d): ok = %v", c.name, arrays, side.Bits, ok)
			}
			rows, err := db.QueryContext(ctx, "SELECT id FROM parents WHERE "+cond+" ORDER BY id", args...)
			if err != nil {
				t.Fatalf("%s (arrays %v, bits %d): %s: %v", c.name, arrays, side.Bits, cond, err)
			}
			var got []int64
			for rows.Next() {
				var id int64
				if err := rows.Scan(&id); err != nil {
					t.Fatal(err)
				}
				got = append(got, id)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			rows.Close()
			var want []int64
			for id := int64(1); id <= 20000; id++ {
				for _, q := range c.queries {
					if holds(id, q) {
						want = append(want, id)
						break
					}
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s (arrays %v, bits %d): %d rows, want %d", c.name, arrays, side.Bits, len(got), len(want))
			}
		}
	}

}
