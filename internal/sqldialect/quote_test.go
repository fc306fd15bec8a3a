package sqldialect_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/fieldcrypt/fieldcrypt/internal/sqldialect"
)

func TestQuoteIdent(t *testing.T) {
	cases := []struct {
		d          sqldialect.Dialect
		name, want string
	}{
		{sqldialect.Postgres, "email", `"email"`},
		{sqldialect.SQLite, "Email", `"Email"`},
		{sqldialect.MySQL, "email", "`email`"},
		{sqldialect.Postgres, `say "hi"`, `"say ""hi"""`},
		{sqldialect.SQLite, `"`, `""""`},
		{sqldialect.MySQL, "a`b", "`a``b`"},
		{sqldialect.MySQL, `a"b`, "`a\"b`"},     // a double quote is plain text in backquotes
		{sqldialect.Postgres, "a`b", "\"a`b\""}, // and a backquote in double quotes
		{sqldialect.Postgres, "a.b", `"a.b"`},   // one identifier: the dot is quoted with it
	}
	for _, tc := range cases {
		if got := tc.d.QuoteIdent(tc.name); got != tc.want {
			t.Errorf("%v.QuoteIdent(%q) = %s, want %s", tc.d, tc.name, got, tc.want)
		}
	}
}

func TestQuoteTable(t *testing.T) {
	cases := []struct {
		d          sqldialect.Dialect
		name, want string
	}{
		{sqldialect.Postgres, "contacts", `"contacts"`},
		{sqldialect.Postgres, "crm.contacts", `"crm"."contacts"`},
		{sqldialect.SQLite, "main.contacts", `"main"."contacts"`},
		{sqldialect.MySQL, "crm.contacts", "`crm`.`contacts`"},
		{sqldialect.Postgres, `crm.say "hi"`, `"crm"."say ""hi"""`},
		{sqldialect.MySQL, "c`rm.contacts", "`c``rm`.`contacts`"},
	}
	for _, tc := range cases {
		if got := tc.d.QuoteTable(tc.name); got != tc.want {
			t.Errorf("%v.QuoteTable(%q) = %s, want %s", tc.d, tc.name, got, tc.want)
		}
	}
}

// TestQuoteIdentSQLite: SQLite reads a quoted name with embedded quotes
// back as the name itself.
func TestQuoteIdentSQLite(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "q.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	d := sqldialect.SQLite
	table, col := `odd "table"`, `it's a "col"`
	if _, err := db.ExecContext(ctx, "CREATE TABLE "+d.QuoteTable("main."+table)+" ("+d.QuoteIdent(col)+" TEXT)"); err != nil {
		t.Fatal(err)
	}
	var got string
	if err := db.QueryRowContext(ctx, "SELECT name FROM pragma_table_info(?)", table).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != col {
		t.Errorf("column created as %q, want %q", got, col)
	}
}
