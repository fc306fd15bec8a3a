package sqldialect_test

import (
	"context"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/internal/sqldialect"
)

var sideTable = sqldialect.TokenTable{Parent: "contacts", Name: "contacts_name_prefix", Key: "id"}

func TestTokenTableName(t *testing.T) {
	if got := sqldialect.TokenTableName("crm.contacts", "name_prefix"); got != "crm.contacts_name_prefix" {
		t.Errorf("TokenTableName = %q", got)
	}
}

func TestTokenTableCheck(t *testing.T) {
	good := []sqldialect.TokenTable{
		sideTable,
		{Parent: "crm.contacts", Name: "crm.contacts_x", Key: "contact_id"},
	}
	for _, tt := range good {
		if err := tt.Check(); err != nil {
			t.Errorf("%+v.Check() = %v", tt, err)
		}
	}
	bad := []sqldialect.TokenTable{
		{Parent: "contacts", Name: "contacts_x", Key: "token"},
		{Parent: "contacts", Name: "contacts_x", Key: "TOKEN"},
		{Parent: "crm.contacts", Name: "other.contacts_x", Key: "id"},
		{Parent: "crm.contacts", Name: "contacts_x", Key: "id"},
		{Parent: `con"tacts`, Name: "contacts_x", Key: "id"},
		{Parent: "contacts", Name: "contacts_" + strings.Repeat("x", 60), Key: "id"},
		{Parent: "contacts", Name: "contacts_x", Key: "i d"},
		{Parent: "contacts", Name: "contacts_x", Key: ""},
	}
	for _, tt := range bad {
		if err := tt.Check(); err == nil {
			t.Errorf("%+v.Check() = nil, want an error", tt)
		}
	}
}

func TestCreateTokenTable(t *testing.T) {
	cases := []struct {
		d    sqldialect.Dialect
		tt   sqldialect.TokenTable
		want []string
	}{
		{sqldialect.Postgres, sideTable, []string{
			`CREATE TABLE IF NOT EXISTS "contacts_name_prefix" ("id" TEXT NOT NULL, "token" BIGINT NOT NULL, PRIMARY KEY ("token", "id"), FOREIGN KEY ("id") REFERENCES "contacts" ("id") ON DELETE CASCADE)`,
			`CREATE INDEX IF NOT EXISTS "contacts_name_prefix_key" ON "contacts_name_prefix" ("id")`,
		}},
		{sqldialect.Postgres, sqldialect.TokenTable{Parent: "crm.contacts", Name: "crm.contacts_name_prefix", Key: "id", IntKey: true}, []string{
			`CREATE TABLE IF NOT EXISTS "crm"."contacts_name_prefix" ("id" BIGINT NOT NULL, "token" BIGINT NOT NULL, PRIMARY KEY ("token", "id"), FOREIGN KEY ("id") REFERENCES "crm"."contacts" ("id") ON DELETE CASCADE)`,
			`CREATE INDEX IF NOT EXISTS "contacts_name_prefix_key" ON "crm"."contacts_name_prefix" ("id")`,
		}},
		{sqldialect.SQLite, sqldialect.TokenTable{Parent: "aux.contacts", Name: "aux.contacts_name_prefix", Key: "id"}, []string{
			`CREATE TABLE IF NOT EXISTS "aux"."contacts_name_prefix" ("id" TEXT NOT NULL, "token" BIGINT NOT NULL, PRIMARY KEY ("token", "id"), FOREIGN KEY ("id") REFERENCES "contacts" ("id") ON DELETE CASCADE) WITHOUT ROWID`,
			`CREATE INDEX IF NOT EXISTS "aux"."contacts_name_prefix_key" ON "contacts_name_prefix" ("id")`,
		}},
		{sqldialect.MySQL, sideTable, []string{
			"CREATE TABLE IF NOT EXISTS `contacts_name_prefix` (`id` VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, `token` BIGINT NOT NULL, PRIMARY KEY (`token`, `id`), INDEX `contacts_name_prefix_key` (`id`), FOREIGN KEY (`id`) REFERENCES `contacts` (`id`) ON DELETE CASCADE)",
		}},
		{sqldialect.MySQL, sqldialect.TokenTable{Parent: "contacts", Name: "contacts_name_prefix", Key: "id", KeyType: "VARCHAR(64)"}, []string{
			"CREATE TABLE IF NOT EXISTS `contacts_name_prefix` (`id` VARCHAR(64) NOT NULL, `token` BIGINT NOT NULL, PRIMARY KEY (`token`, `id`), INDEX `contacts_name_prefix_key` (`id`), FOREIGN KEY (`id`) REFERENCES `contacts` (`id`) ON DELETE CASCADE)",
		}},
	}
	for _, c := range cases {
		if got := c.d.CreateTokenTable(c.tt); !slices.Equal(got, c.want) {
			t.Errorf("%v.CreateTokenTable(%+v) =\n%s\nwant\n%s", c.d, c.tt, strings.Join(got, "\n"), strings.Join(c.want, "\n"))
		}
	}
	// A side table whose name is as long as an identifier may be: its
	// index's name is shortened, and still unique to it.
	long := sqldialect.TokenTable{Parent: "contacts", Name: "contacts_" + strings.Repeat("x", 54), Key: "id"}
	a := sqldialect.Postgres.CreateTokenTable(long)[1]
	long.Name = "contacts_" + strings.Repeat("x", 53) + "y"
	b := sqldialect.Postgres.CreateTokenTable(long)[1]
	nameA, nameB := strings.Split(a, `"`)[1], strings.Split(b, `"`)[1]
	if len(nameA) > sqldialect.MaxIdentLen || nameA == nameB || !strings.HasSuffix(nameA, "_key") {
		t.Errorf("index names of long side tables: %q and %q", nameA, nameB)
	}
}

func TestReplaceTokens(t *testing.T) {
	rows := sqldialect.TokenRows{Keys: []any{"a", "b"}, Tokens: [][]int64{{1, 2}, nil}}
	got := sqldialect.MySQL.ReplaceTokens(sideTable, rows, false, false)
	want := []sqldialect.Stmt{
		{"DELETE FROM `contacts_name_prefix` WHERE `id` IN (?, ?)", []any{"a", "b"}},
		{"INSERT INTO `contacts_name_prefix` (`id`, `token`) VALUES (?, ?), (?, ?)", []any{"a", int64(1), "a", int64(2)}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("MySQL ReplaceTokens = %#v, want %#v", got, want)
	}
	// Integer keys go as arrays on PostgreSQL; text keys as one
	// parameter each, typed by the column (which may be a uuid).
	intRows := sqldialect.TokenRows{Keys: []any{int64(5), int64(6)}, Tokens: [][]int64{{1, 2}, nil}}
	intTable := sideTable
	intTable.IntKey = true
	got = sqldialect.Postgres.ReplaceTokens(intTable, intRows, true, false)
	want = []sqldialect.Stmt{
		{`DELETE FROM "contacts_name_prefix" WHERE "id" = ANY(CAST($1 AS bigint[]))`, []any{[]int64{5, 6}}},
		{`INSERT INTO "contacts_name_prefix" ("id", "token") SELECT * FROM unnest(CAST($1 AS bigint[]), CAST($2 AS bigint[]))`, []any{[]int64{5, 5}, []int64{1, 2}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("PostgreSQL ReplaceTokens, integer keys = %#v, want %#v", got, want)
	}
	got = sqldialect.Postgres.ReplaceTokens(sideTable, rows, true, false)
	want = []sqldialect.Stmt{
		{`DELETE FROM "contacts_name_prefix" WHERE "id" IN ($1, $2)`, []any{"a", "b"}},
		{`INSERT INTO "contacts_name_prefix" ("id", "token") VALUES ($1, $2), ($3, $4)`, []any{"a", int64(1), "a", int64(2)}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("PostgreSQL ReplaceTokens, text keys = %#v, want %#v", got, want)
	}
	// Without arrays, PostgreSQL numbers its parameters; GORM's ? are
	// left for GORM to number.
	got = sqldialect.Postgres.ReplaceTokens(sideTable, sqldialect.TokenRows{Keys: []any{"a"}, Tokens: [][]int64{{7}}}, false, false)
	if got[0].SQL != `DELETE FROM "contacts_name_prefix" WHERE "id" = $1` || got[1].SQL != `INSERT INTO "contacts_name_prefix" ("id", "token") VALUES ($1, $2)` {
		t.Errorf("PostgreSQL ReplaceTokens without arrays = %#v", got)
	}
	got = sqldialect.Postgres.ReplaceTokens(sideTable, sqldialect.TokenRows{Keys: []any{"a"}, Tokens: [][]int64{{7}}}, false, true)
	if got[1].SQL != `INSERT INTO "contacts_name_prefix" ("id", "token") VALUES (?, ?)` {
		t.Errorf("PostgreSQL ReplaceTokens with ? markers = %#v", got)
	}
	// Records without tokens: their rows are deleted, nothing inserted.
	got = sqldialect.Postgres.ReplaceTokens(intTable, sqldialect.TokenRows{Keys: []any{int64(4)}, Tokens: [][]int64{nil}}, true, false)
	if len(got) != 1 || got[0].SQL != `DELETE FROM "contacts_name_prefix" WHERE "id" = ANY(CAST($1 AS bigint[]))` || !reflect.DeepEqual(got[0].Args, []any{[]int64{4}}) {
		t.Errorf("ReplaceTokens of a record without tokens = %#v", got)
	}
	if got := sqldialect.SQLite.ReplaceTokens(sideTable, sqldialect.TokenRows{}, false, false); got != nil {
		t.Errorf("ReplaceTokens of no record = %#v", got)
	}
}

// TestReplaceTokensBatches: large token sets are written in statements of
// at most MaxTokenBatch rows, and every row is written once.
func TestReplaceTokensBatches(t *testing.T) {
	var rows sqldialect.TokenRows
	total := 0
	for k := range 1203 {
		rows.Keys = append(rows.Keys, int64(k))
		var toks []int64
		for j := range k % 3 {
			toks = append(toks, int64(j))
		}
		total += len(toks)
		rows.Tokens = append(rows.Tokens, toks)
	}
	stmts := sqldialect.SQLite.ReplaceTokens(sideTable, rows, false, false)
	deleted, inserted := 0, 0
	for _, s := range stmts {
		n := strings.Count(s.SQL, "?")
		if n != len(s.Args) {
			t.Fatalf("%d markers, %d arguments", n, len(s.Args))
		}
		switch {
		case strings.HasPrefix(s.SQL, "DELETE"):
			if n > sqldialect.MaxTokenBatch || inserted > 0 {
				t.Fatalf("DELETE of %d keys, after %d inserted rows", n, inserted)
			}
			deleted += n
		case strings.HasPrefix(s.SQL, "INSERT"):
			if n > 2*sqldialect.MaxTokenBatch {
				t.Fatalf("INSERT of %d rows", n/2)
			}
			inserted += n / 2
		}
	}
	if deleted != len(rows.Keys) || inserted != total {
		t.Errorf("deleted %d keys, inserted %d rows; want %d and %d", deleted, inserted, len(rows.Keys), total)
	}
}

func TestTokenCondition(t *testing.T) {
	queries := []sqldialect.TokenQuery{
		{All: []int64{5, 6, 7}, Any: []int64{9}},
		{All: []int64{3}, Any: []int64{9}},
	}
	p := sqldialect.Postgres.Placeholders()
	p.Next()
	cond, args, ok := sqldialect.Postgres.TokenCondition(sideTable, p, queries, true, "")
	want := `"id" IN (SELECT "id" FROM "contacts_name_prefix" WHERE "token" = ANY($2) UNION ALL ` +
		`SELECT "id" FROM "contacts_name_prefix" WHERE "token" = ANY($3) GROUP BY "id" HAVING COUNT(*) = 3)`
	if cond != want || !ok || !reflect.DeepEqual(args, []any{[]int64{3, 9}, []int64{5, 6, 7}}) {
		t.Errorf("PostgreSQL TokenCondition = %s %v %v\nwant %s", cond, args, ok, want)
	}
	cond, args, ok = sqldialect.MySQL.TokenCondition(sideTable, sqldialect.MySQL.Placeholders(), queries, true, "")
	want = "`id` IN (SELECT `id` FROM `contacts_name_prefix` WHERE `token` IN (?, ?) UNION ALL " +
		"SELECT `id` FROM `contacts_name_prefix` WHERE `token` IN (?, ?, ?) GROUP BY `id` HAVING COUNT(*) = 3)"
	if cond != want || !ok || !reflect.DeepEqual(args, []any{int64(3), int64(9), int64(5), int64(6), int64(7)}) {
		t.Errorf("MySQL TokenCondition = %s %v\nwant %s", cond, args, want)
	}
	cond, args, _ = sqldialect.SQLite.TokenCondition(sideTable, sqldialect.SQLite.Placeholders(), []sqldialect.TokenQuery{{Any: []int64{4}}}, false, "")
	if want := `"id" IN (SELECT "id" FROM "contacts_name_prefix" WHERE "token" = ?)`; cond != want || !reflect.DeepEqual(args, []any{int64(4)}) {
		t.Errorf("SQLite TokenCondition = %s %v, want %s", cond, args, want)
	}
	// An outer key of the caller's, with its arguments first.
	cond, args, _ = sqldialect.Postgres.TokenCondition(sideTable, sqldialect.Postgres.Markers(true), queries, false, "?", "K")
	want = `? IN (SELECT "id" FROM "contacts_name_prefix" WHERE "token" IN (?, ?) UNION ALL ` +
		`SELECT "id" FROM "contacts_name_prefix" WHERE "token" IN (?, ?, ?) GROUP BY "id" HAVING COUNT(*) = 3)`
	if cond != want || !reflect.DeepEqual(args, []any{"K", int64(3), int64(9), int64(5), int64(6), int64(7)}) {
		t.Errorf("TokenCondition with an outer key = %s %v\nwant %s", cond, args, want)
	}
	// Nothing to look for: a condition that matches nothing.
	for _, qs := range [][]sqldialect.TokenQuery{nil, {{}, {}}} {
		cond, args, ok = sqldialect.SQLite.TokenCondition(sideTable, sqldialect.SQLite.Placeholders(), qs, false, "")
		if cond != "1 = 0" || args != nil || ok {
			t.Errorf("SQLite TokenCondition(%v) = %s %v %v", qs, cond, args, ok)
		}
		cond, args, ok = sqldialect.Postgres.TokenCondition(sideTable, sqldialect.Postgres.Placeholders(), qs, true, "")
		if cond != `"id" IN (SELECT "id" FROM "contacts_name_prefix" WHERE "token" = ANY($1))` || !reflect.DeepEqual(args, []any{[]int64{}}) || ok {
			t.Errorf("PostgreSQL TokenCondition(%v) = %s %v %v", qs, cond, args, ok)
		}
	}
	// The shape follows the width: below ScopeTokenBits IN, from it on
	// PostgreSQL = ANY(ARRAY(...)), on MySQL and SQLite always IN.
	for _, tc := range []struct {
		d    sqldialect.Dialect
		bits int
		want string
	}{
		{sqldialect.Postgres, 0, `"id" IN (SELECT "id" FROM "contacts_name_prefix" WHERE "token" = ANY($1))`},
		{sqldialect.Postgres, sqldialect.ScopeTokenBits - 1, `"id" IN (SELECT "id" FROM "contacts_name_prefix" WHERE "token" = ANY($1))`},
		{sqldialect.Postgres, sqldialect.ScopeTokenBits, `"id" = ANY(ARRAY(SELECT "id" FROM "contacts_name_prefix" WHERE "token" = ANY($1)))`},
		{sqldialect.Postgres, 64, `"id" = ANY(ARRAY(SELECT "id" FROM "contacts_name_prefix" WHERE "token" = ANY($1)))`},
		{sqldialect.MySQL, 64, "`id` IN (SELECT `id` FROM `contacts_name_prefix` WHERE `token` = ?)"},
		{sqldialect.SQLite, 64, `"id" IN (SELECT "id" FROM "contacts_name_prefix" WHERE "token" = ?)`},
	} {
		side := sideTable
		side.Bits = tc.bits
		cond, _, ok := tc.d.TokenCondition(side, tc.d.Placeholders(), []sqldialect.TokenQuery{{Any: []int64{4}}}, true, "")
		if cond != tc.want || !ok {
			t.Errorf("%v TokenCondition, bits %d = %s %v\nwant %s", tc.d, tc.bits, cond, ok, tc.want)
		}
	}
	// The caller's queries are not changed.
	if !slices.Equal(queries[0].Any, []int64{9}) || !slices.Equal(queries[1].All, []int64{3}) {
		t.Errorf("queries changed: %v", queries)
	}
}

// TestTokenStatementsOnSQLite runs the statements: the side table is
// created twice (IF NOT EXISTS), tokens are replaced, a condition finds
// the rows holding all or any tokens, and deleting a row deletes its
// tokens with foreign keys on.
func TestTokenStatementsOnSQLite(t *testing.T) {
	ctx := context.Background()
	db := openSQLite(t, "file:"+filepath.Join(t.TempDir(), "t.db")+"?_pragma=foreign_keys(1)")
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`CREATE TABLE contacts (id TEXT PRIMARY KEY)`)
	for range 2 {
		for _, s := range sqldialect.SQLite.CreateTokenTable(sideTable) {
			exec(s)
		}
	}
	for _, k := range []string{"a", "b", "c"} {
		exec(`INSERT INTO contacts VALUES (?)`, k)
	}
	write := func(rows sqldialect.TokenRows) {
		for _, s := range sqldialect.SQLite.ReplaceTokens(sideTable, rows, false, false) {
			exec(s.SQL, s.Args...)
		}
	}
	write(sqldialect.TokenRows{Keys: []any{"a", "b", "c"}, Tokens: [][]int64{{1, 2, 3}, {2, 3}, {9}}})
	write(sqldialect.TokenRows{Keys: []any{"b"}, Tokens: [][]int64{{1, 2, 4}}}) // replaces b's
	find := func(qs ...sqldialect.TokenQuery) []string {
		t.Helper()
		cond, args, _ := sqldialect.SQLite.TokenCondition(sideTable, sqldialect.SQLite.Placeholders(), qs, false, "")
		rows, err := db.QueryContext(ctx, "SELECT id FROM contacts WHERE "+cond+" ORDER BY id", args...)
		if err != nil {
			t.Fatalf("%s: %v", cond, err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		return out
	}
	for _, c := range []struct {
		qs   []sqldialect.TokenQuery
		want []string
	}{
		{[]sqldialect.TokenQuery{{All: []int64{2, 3}}}, []string{"a"}},
		{[]sqldialect.TokenQuery{{All: []int64{1, 2}}}, []string{"a", "b"}},
		{[]sqldialect.TokenQuery{{All: []int64{2, 3}, Any: []int64{9}}}, []string{"a", "c"}},
		{[]sqldialect.TokenQuery{{All: []int64{3, 4}}, {Any: []int64{4}}}, []string{"b"}},
		{[]sqldialect.TokenQuery{{Any: []int64{7}}}, nil},
		{nil, nil},
	} {
		if got := find(c.qs...); !slices.Equal(got, c.want) {
			t.Errorf("find(%v) = %v, want %v", c.qs, got, c.want)
		}
	}
	exec(`DELETE FROM contacts WHERE id = 'a'`)
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM contacts_name_prefix WHERE id = 'a'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("tokens of a deleted row: %d, %v; want none (ON DELETE CASCADE)", n, err)
	}
}

// TestKeyTypeQuery: the catalogue query names the parent and its key
// column, in the parent's schema when it is qualified; SQLite has none.
func TestKeyTypeQuery(t *testing.T) {
	tt := sqldialect.TokenTable{Parent: "crm.contacts", Name: "crm.contacts_name_prefix", Key: "id"}
	q, args, ok := sqldialect.MySQL.KeyTypeQuery(tt, false)
	if !ok || !strings.Contains(q, "TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME = ?") || !reflect.DeepEqual(args, []any{"crm", "contacts", "id"}) {
		t.Errorf("MySQL KeyTypeQuery = %q, %v, %v", q, args, ok)
	}
	tt.Parent = "contacts"
	q, args, ok = sqldialect.MySQL.KeyTypeQuery(tt, false)
	if !ok || !strings.Contains(q, "TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = ?") || !reflect.DeepEqual(args, []any{"contacts", "id"}) {
		t.Errorf("MySQL KeyTypeQuery, unqualified = %q, %v, %v", q, args, ok)
	}
	tt.Parent = "crm.contacts"
	q, args, ok = sqldialect.Postgres.KeyTypeQuery(tt, false)
	if !ok || !strings.Contains(q, "to_regclass($1) AND a.attname = $2") || !reflect.DeepEqual(args, []any{`"crm"."contacts"`, "id"}) {
		t.Errorf("PostgreSQL KeyTypeQuery = %q, %v, %v", q, args, ok)
	}
	if q, _, _ := sqldialect.Postgres.KeyTypeQuery(tt, true); !strings.Contains(q, "to_regclass(?) AND a.attname = ?") {
		t.Errorf("PostgreSQL KeyTypeQuery with ? markers = %q", q)
	}
	if _, _, ok := sqldialect.SQLite.KeyTypeQuery(tt, false); ok {
		t.Error("SQLite has a KeyTypeQuery")
	}
	cs, co := "utf8mb4", "utf8mb4_unicode_ci"
	if got := sqldialect.KeyTypeOf("varchar(64)", &cs, &co); got != "varchar(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci" {
		t.Errorf("KeyTypeOf = %q", got)
	}
	if got := sqldialect.KeyTypeOf("uuid", nil, nil); got != "uuid" {
		t.Errorf("KeyTypeOf(uuid) = %q", got)
	}
}
