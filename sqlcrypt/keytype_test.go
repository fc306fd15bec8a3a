package sqlcrypt_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/sqlcrypt"
)

// TestUUIDKeys: a record whose string identity is stored in a PostgreSQL
// uuid column, as many CRM schemas key their rows, gets side tables keyed
// by a uuid (CreateTokenTables and CreateTokenTablesPgx read the type; a
// TEXT key's foreign key is refused), and its tokens are written by
// ReplaceTokens, ReplaceTokensPgx and CopyFrom, replaced by a rewrite
// (the side table then holds exactly the new tokens),
// searched, and deleted with the row.
func TestUUIDKeys(t *testing.T) {
	db := openDB(t, sqlcrypt.Postgres)
	e := newEnv(t)
	ctx := t.Context()
	db.exec(t, "CREATE TABLE notes (id UUID PRIMARY KEY, tenant_id TEXT NOT NULL, title TEXT NOT NULL)")

	// The DDL with the default TEXT key is what failed before.
	ddl, err := sqlcrypt.TokenTableDDL(sqlcrypt.Postgres, "notes", &stringKey{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.db.ExecContext(ctx, ddl[0]); err == nil || !strings.Contains(err.Error(), "foreign key") {
		t.Fatalf("a TEXT side-table key for a uuid column = %v, want PostgreSQL to refuse its foreign key", err)
	}
	if err := sqlcrypt.CreateTokenTablesPgx(ctx, db.pool, "notes", &stringKey{}); err != nil {
		t.Fatalf("CreateTokenTablesPgx: %v", err)
	}
	if err := sqlcrypt.CreateTokenTables(ctx, db.db, sqlcrypt.Postgres, "notes", &stringKey{}); err != nil {
		t.Fatalf("CreateTokenTables again: %v", err)
	}
	var typ string
	if err := db.db.QueryRowContext(ctx, `SELECT data_type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'notes_title_pre' AND column_name = 'id'`).Scan(&typ); err != nil || typ != "uuid" {
		t.Fatalf("side table key type = %q, %v; want uuid", typ, err)
	}

	notes := []*stringKey{
		{ID: "6f1c2a4e-1b2c-4d5e-8f90-123456789abc", TenantID: "acme", Title: "Quarterly plan"},
		{ID: "0b9e7d4c-2f1a-4c3b-9a8d-7e6f5a4b3c2d", TenantID: "acme", Title: "Quarrel"},
		{ID: "9d2f6b1a-7c3e-4a5b-8d9c-0e1f2a3b4c5d", TenantID: "acme", Title: "Other"},
		{ID: "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5e", TenantID: "acme", Title: "Quartz"},
	}
	enc := func(n *stringKey) *stringKey {
		t.Helper()
		en, err := crypt.Encrypted(ctx, e.enc, n)
		if err != nil {
			t.Fatal(err)
		}
		return en
	}
	// database/sql, two records in one call.
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var es []*stringKey
	for _, n := range notes[:2] {
		en := enc(n)
		if _, err := tx.ExecContext(ctx, "INSERT INTO notes VALUES ($1, $2, $3)", en.ID, en.TenantID, en.Title); err != nil {
			t.Fatal(err)
		}
		es = append(es, en)
	}
	if err := sqlcrypt.ReplaceTokens(ctx, tx, sqlcrypt.Postgres, "notes", es...); err != nil {
		t.Fatalf("ReplaceTokens: %v", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	// pgx.
	ptx, err := db.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	en := enc(notes[2])
	if _, err := ptx.Exec(ctx, "INSERT INTO notes VALUES ($1, $2, $3)", en.ID, en.TenantID, en.Title); err != nil {
		t.Fatal(err)
	}
	if err := sqlcrypt.ReplaceTokensPgx(ctx, ptx, "notes", en); err != nil {
		t.Fatalf("ReplaceTokensPgx: %v", err)
	}
	if err := ptx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	// COPY.
	if n, err := sqlcrypt.CopyFrom(ctx, e.enc, db.pool, pgx.Identifier{"notes"}, []string{"id", "tenant_id", "title"}, notes[3:]); err != nil || n != 1 {
		t.Fatalf("CopyFrom = %d, %v", n, err)
	}
	for _, n := range notes {
		var count int
		if err := db.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM notes_title_pre WHERE id = $1", n.ID).Scan(&count); err != nil || count != len(enc(n).TitlePre) || count == 0 {
			t.Errorf("side table rows of %q = %d, %v; want its %d tokens", n.Title, count, err, len(enc(n).TitlePre))
		}
	}

	search := func(prefix string) []string {
		t.Helper()
		cond, args, match, err := sqlcrypt.Search(ctx, e.enc, sqlcrypt.Postgres, "notes", &stringKey{TenantID: "acme"}, "TitlePre", crypt.HasPrefix(prefix), 1)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := db.db.QueryContext(ctx, "SELECT * FROM notes WHERE "+cond, args...)
		if err != nil {
			t.Fatal(err)
		}
		found, err := sqlcrypt.ScanAll[stringKey](ctx, e.enc, rows, match)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, n := range found {
			got = append(got, n.Title)
		}
		slices.Sort(got)
		return got
	}
	if got := search("QUAR"); !slices.Equal(got, []string{"Quarrel", "Quarterly plan", "Quartz"}) {
		t.Errorf("search quar = %q", got)
	}
	// A rewrite replaces the record's tokens: the old title is not found.
	re := enc(&stringKey{ID: notes[0].ID, TenantID: "acme", Title: "Roadmap"})
	tx, err = db.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, "UPDATE notes SET title = $1 WHERE id = $2", re.Title, re.ID); err != nil {
		t.Fatal(err)
	}
	if err := sqlcrypt.ReplaceTokens(ctx, tx, sqlcrypt.Postgres, "notes", re); err != nil {
		t.Fatalf("ReplaceTokens of a rewrite: %v", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := db.sideTokens(t, "notes_title_pre", re.ID); !slices.Equal(got, []int64(re.TitlePre)) || len(got) == 0 {
		t.Errorf("side table rows of the rewritten note = %d tokens, want exactly its %d new ones", len(got), len(re.TitlePre))
	}
	if got := search("quar"); !slices.Equal(got, []string{"Quarrel", "Quartz"}) {
		t.Errorf("search quar after the rewrite = %q", got)
	}
	if got := search("road"); !slices.Equal(got, []string{"Roadmap"}) {
		t.Errorf("search road after the rewrite = %q", got)
	}
	// The same uuid written in two cases: Go tells the keys apart,
	// PostgreSQL does not, and refuses the second's rows as duplicates,
	// in an error without the detail that quotes them (tokens), through
	// database/sql and pgx alike; nothing is written.
	twin := *re
	twin.ID = strings.ToUpper(re.ID)
	tx, err = db.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = sqlcrypt.ReplaceTokens(ctx, tx, sqlcrypt.Postgres, "notes", re, &twin)
	tx.Rollback() //nolint:errcheck // the write failed
	assertTokensWithheld(t, err, "notes_title_pre", re.TitlePre)
	ptx, err = db.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	err = sqlcrypt.ReplaceTokensPgx(ctx, ptx, "notes", re, &twin)
	ptx.Rollback(ctx) //nolint:errcheck // the write failed
	assertTokensWithheld(t, err, "notes_title_pre", re.TitlePre)
	if got := db.sideTokens(t, "notes_title_pre", re.ID); !slices.Equal(got, []int64(re.TitlePre)) {
		t.Errorf("side table rows after the failed writes = %d tokens, want its %d", len(got), len(re.TitlePre))
	}
	db.exec(t, "DELETE FROM notes WHERE id = $1", notes[1].ID)
	var left int
	if err := db.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM notes_title_pre WHERE id = $1", notes[1].ID).Scan(&left); err != nil || left != 0 {
		t.Errorf("tokens of the deleted note: %d, %v; want none", left, err)
	}
	// A key written in upper case reads back in lower case: its row no
	// longer decrypts, as the documentation warns, and says so.
	upper := enc(&stringKey{ID: "5E4D3C2B-1A09-4F8E-9D7C-6B5A49382716", TenantID: "acme", Title: "Quasar"})
	db.exec(t, "INSERT INTO notes VALUES ($1, $2, $3)", upper.ID, upper.TenantID, upper.Title)
	rows, err := db.db.QueryContext(ctx, "SELECT * FROM notes WHERE id = $1", upper.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := sqlcrypt.ScanAll[stringKey](ctx, e.enc, rows); !errors.Is(err, crypt.ErrDecrypt) || len(got) != 0 {
		t.Errorf("reading a row written with an upper-case uuid = %d records, %v; want a decryption error", len(got), err)
	}

	// CopyFrom under a unique index on the tokens, which an administrator
	// added: two new notes sharing a prefix are refused in an error that
	// withholds the tokens, and neither note is written.
	db.exec(t, "DELETE FROM notes_title_pre")
	db.exec(t, "CREATE UNIQUE INDEX notes_title_pre_token ON notes_title_pre (token)")
	pair := []*stringKey{
		{ID: "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", TenantID: "acme", Title: "Quasar one"},
		{ID: "8b2c3d4e-5f6a-4b7c-9d8e-0f1a2b3c4d5e", TenantID: "acme", Title: "Quasar two"},
	}
	_, err = sqlcrypt.CopyFrom(ctx, e.enc, db.pool, pgx.Identifier{"notes"}, []string{"id", "tenant_id", "title"}, pair)
	assertTokensWithheld(t, err, "notes_title_pre", enc(pair[0]).TitlePre)
	var copied int
	if err := db.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM notes WHERE id IN ($1, $2)", pair[0].ID, pair[1].ID).Scan(&copied); err != nil || copied != 0 {
		t.Errorf("%d notes copied by the refused CopyFrom, %v", copied, err)
	}
}

// TestCreateTokenTablesKeyType: on MariaDB, CreateTokenTables gives the
// side table the key column's character set and collation, without which
// the foreign key is refused; on every database it creates nothing twice
// and says when the table or its key column does not exist yet.
func TestCreateTokenTablesKeyType(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testDB) {
		ctx := t.Context()
		if db.d != sqlcrypt.SQLite {
			var tse *sqlcrypt.TokenStorageError
			err := sqlcrypt.CreateTokenTables(ctx, db.db, db.d, "notes", &stringKey{})
			if !errors.As(err, &tse) || !strings.Contains(err.Error(), "does not exist or has no column id") || !strings.Contains(err.Error(), "create the table first") {
				t.Errorf("CreateTokenTables before the table = %v, want a *TokenStorageError that says the table has no key column yet", err)
			}
		}
		idType := "TEXT"
		if db.d == sqlcrypt.MySQL {
			idType = "VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
		}
		db.exec(t, "CREATE TABLE notes (id "+idType+" PRIMARY KEY, tenant_id VARCHAR(64) NOT NULL, title VARCHAR(255) NOT NULL)")
		if db.d == sqlcrypt.MySQL {
			ddl, err := sqlcrypt.TokenTableDDL(db.d, "notes", &stringKey{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.db.ExecContext(ctx, ddl[0]); err == nil {
				t.Fatal("MariaDB took a utf8mb4_bin side-table key for a utf8mb4_unicode_ci column: the test shows nothing")
			}
		}
		// Qualified by the schema the connection uses, then not: the
		// second creates nothing.
		schema := "main"
		switch db.d {
		case sqlcrypt.Postgres:
			schema = "current_schema()"
		case sqlcrypt.MySQL:
			schema = "DATABASE()"
		}
		if db.d != sqlcrypt.SQLite {
			if err := db.db.QueryRowContext(ctx, "SELECT "+schema).Scan(&schema); err != nil {
				t.Fatal(err)
			}
		}
		for _, table := range []string{schema + ".notes", "notes"} {
			if err := sqlcrypt.CreateTokenTables(ctx, db.db, db.d, table, &stringKey{}); err != nil {
				t.Fatalf("CreateTokenTables(%s): %v", table, err)
			}
		}
		e := newEnv(t)
		en, err := crypt.Encrypted(ctx, e.enc, &stringKey{ID: "n1", TenantID: "acme", Title: "Quarterly"})
		if err != nil {
			t.Fatal(err)
		}
		tx, err := db.db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, db.d.Rebind("INSERT INTO notes VALUES (?, ?, ?)"), en.ID, en.TenantID, en.Title); err != nil {
			t.Fatal(err)
		}
		if err := sqlcrypt.ReplaceTokens(ctx, tx, db.d, "notes", en); err != nil {
			t.Fatalf("ReplaceTokens: %v", err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := db.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM notes_title_pre").Scan(&n); err != nil || n != len(en.TitlePre) {
			t.Errorf("side table rows = %d, %v; want %d", n, err, len(en.TitlePre))
		}
	})
}
