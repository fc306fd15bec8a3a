package sqlcrypt_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/internal/testenv"
	"github.com/fieldcrypt/fieldcrypt/sqlcrypt"
)

// TestTokenWriteErrorsWithholdTokens plays a PostgreSQL administrator who
// changes a side table under the application, in the two ways that make
// an error quote tokens outside a plain duplicate (TestUUIDKeys and
// TestStringKeys have those):
//
//   - a unique constraint on the tokens, DEFERRABLE INITIALLY DEFERRED, so
//     that the violation, its detail quoting a token, comes at COMMIT,
//     which CopyFrom runs;
//   - the token column narrowed to integer, so that pgx itself refuses to
//     encode a token, before anything is sent, in an error that quotes it
//     (database/sql and a pgx batch alike).
//
// Each error names the side table, quotes no token, and reaches the
// driver's *pgconn.PgError (with its detail emptied) where there is one.
func TestTokenWriteErrorsWithholdTokens(t *testing.T) {
	db := openDB(t, sqlcrypt.Postgres)
	e := newEnv(t)
	ctx := t.Context()
	db.exec(t, "CREATE TABLE notes (id UUID PRIMARY KEY, tenant_id TEXT NOT NULL, title TEXT NOT NULL)")
	if err := sqlcrypt.CreateTokenTables(ctx, db.db, sqlcrypt.Postgres, "notes", &stringKey{}); err != nil {
		t.Fatal(err)
	}
	pair := func(a, b string) []*stringKey {
		return []*stringKey{{ID: a, TenantID: "acme", Title: "Quasar one"}, {ID: b, TenantID: "acme", Title: "Quasar two"}}
	}
	tokensOf := func(notes []*stringKey) crypt.Tokens {
		var all crypt.Tokens
		for _, n := range notes {
			en, err := crypt.Encrypted(ctx, e.enc, n)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, en.TitlePre...)
		}
		return all
	}

	db.exec(t, "ALTER TABLE notes_title_pre ADD CONSTRAINT notes_title_pre_token_once UNIQUE (token) DEFERRABLE INITIALLY DEFERRED")
	notes := pair("7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "8b2c3d4e-5f6a-4b7c-9d8e-0f1a2b3c4d5e")
	_, err := sqlcrypt.CopyFrom(ctx, e.enc, db.pool, pgx.Identifier{"notes"}, []string{"id", "tenant_id", "title"}, notes)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "23505" || pe.Detail != "" {
		t.Errorf("CopyFrom against a deferred unique constraint = %v, want PostgreSQL's 23505 without its detail", err)
	}
	assertTokensWithheld(t, err, "notes_title_pre", tokensOf(notes))
	var n int
	if err := db.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM notes").Scan(&n); err != nil || n != 0 {
		t.Errorf("%d notes written by the refused CopyFrom, %v", n, err)
	}

	db.exec(t, "ALTER TABLE notes_title_pre DROP CONSTRAINT notes_title_pre_token_once")
	db.exec(t, "ALTER TABLE notes_title_pre ALTER COLUMN token TYPE integer")
	notes = pair("9c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f", "0d4e5f6a-7b8c-4d9e-8f0a-2b3c4d5e6f70")
	for _, n := range notes {
		db.exec(t, "INSERT INTO notes VALUES ($1, $2, $3)", n.ID, n.TenantID, "x")
	}
	var enc []*stringKey
	for _, n := range notes {
		en, err := crypt.Encrypted(ctx, e.enc, n)
		if err != nil {
			t.Fatal(err)
		}
		enc = append(enc, en)
	}
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = sqlcrypt.ReplaceTokens(ctx, tx, sqlcrypt.Postgres, "notes", enc...)
	tx.Rollback() //nolint:errcheck // the write failed
	assertTokensWithheld(t, err, "notes_title_pre", tokensOf(notes))
	ptx, err := db.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	err = sqlcrypt.ReplaceTokensPgx(ctx, ptx, "notes", enc...)
	ptx.Rollback(ctx) //nolint:errcheck // the write failed
	assertTokensWithheld(t, err, "notes_title_pre", tokensOf(notes))
}

// mail has a blind index wide enough to be unique.
type mail struct {
	_        struct{} `crypt:"record=mail"`
	ID       int64    `db:"id" crypt:"id"`
	TenantID string   `db:"tenant_id" crypt:"scope"`
	Email    string   `db:"email" crypt:"encrypt,class=pii"`
	EmailIdx string   `db:"email_idx" crypt:"blind=Email,transform=lower,bits=32"`
}

// TestCopyFromWithholdsBlindIndexValues plays an administrator who makes a
// blind index unique: PostgreSQL quotes a duplicate's value in the
// error's detail, and CopyFrom's error withholds it, for a record type
// without token indexes.
func TestCopyFromWithholdsBlindIndexValues(t *testing.T) {
	db := openDB(t, sqlcrypt.Postgres)
	e := newEnv(t)
	ctx := t.Context()
	db.exec(t, "CREATE TABLE mails (id BIGINT PRIMARY KEY, tenant_id TEXT NOT NULL, email TEXT, email_idx TEXT UNIQUE)")
	cols := []string{"id", "tenant_id", "email", "email_idx"}
	first := &mail{ID: 1, TenantID: "acme", Email: "ada@example.com"}
	if _, err := sqlcrypt.CopyFrom(ctx, e.enc, db.pool, pgx.Identifier{"mails"}, cols, []*mail{first}); err != nil {
		t.Fatal(err)
	}
	en, err := crypt.Encrypted(ctx, e.enc, first)
	if err != nil {
		t.Fatal(err)
	}
	if len(en.EmailIdx) < 8 {
		t.Fatalf("blind-index value of %d bytes: too short to look for", len(en.EmailIdx))
	}
	check := func(err error, what string) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s succeeded", what)
		}
		text := testenv.Exposed(err)
		if strings.Contains(text, en.EmailIdx) {
			t.Errorf("%s: the error holds the blind-index value: %s", what, text)
		}
	}
	_, err = sqlcrypt.CopyFrom(ctx, e.enc, db.pool, pgx.Identifier{"mails"}, cols, []*mail{{ID: 2, TenantID: "acme", Email: "ADA@example.com"}})
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "23505" {
		t.Errorf("CopyFrom of a duplicate blind-index value = %v, want PostgreSQL's 23505", err)
	}
	check(err, "CopyFrom of a duplicate")

	var n int
	if err := db.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM mails").Scan(&n); err != nil || n != 1 {
		t.Errorf("%d mails after the refused copy, %v; want 1", n, err)
	}
}
