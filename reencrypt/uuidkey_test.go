package reencrypt_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/internal/sqldialect"
	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/reencrypt"
)

// Member is a record whose string identity is stored in a PostgreSQL
// uuid column, with a token index.
type Member struct {
	_          struct{}     `crypt:"record=member"`
	ID         string       `crypt:"id"`
	TenantID   string       `crypt:"scope"`
	Name       string       `crypt:"encrypt,class=pii"`
	NamePrefix crypt.Tokens `crypt:"prefix=Name,len=3..6,bits=12,transform=lower"`
}

// TestUUIDKeyTokens: on PostgreSQL, a table keyed by a uuid column, whose
// side table is keyed by a uuid too (as sqlcrypt.CreateTokenTables and
// gormcrypt.MigrateTokens create it), has its rows paged and its tokens
// read and rewritten by the job after an index-key rotation: every row's
// side-table rows are then its tokens under the new key, and Verify finds
// every row current.
func TestUUIDKeyTokens(t *testing.T) {
	db := openPostgres(t)
	ctx := context.Background()
	const n = 90
	k := newKeys(t)
	app := k.encryptor(t)
	if _, err := db.Exec("CREATE TABLE members (id UUID PRIMARY KEY, tenant_id TEXT NOT NULL, name TEXT)"); err != nil {
		t.Fatal(err)
	}
	side := sideTable("members", "members_name_prefix")
	side.IntKey, side.KeyType = false, "uuid"
	for _, s := range db.d.CreateTokenTable(side) {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	if err := keyring.NewManager(app.Keyring()).CreateKeysets(ctx, "acme", "pii"); err != nil {
		t.Fatal(err)
	}
	tab, err := reencrypt.TableOf("members", "", Member{})
	if err != nil {
		t.Fatal(err)
	}
	write := func(m *Member) {
		t.Helper()
		tx, err := db.Begin()
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		if _, err := tx.Exec("INSERT INTO members VALUES ($1, $2, $3)", m.ID, m.TenantID, m.Name); err != nil {
			t.Fatal(err)
		}
		if err := db.writeTextSideTokens(ctx, tx, side, m.ID, m.NamePrefix); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	var ids []string
	for i := range n {
		m := &Member{ID: fmt.Sprintf("%08x-0000-4000-8000-%012x", i*2654435761%(1<<32), i), TenantID: "acme", Name: fmt.Sprintf("Name%03d", i%7)}
		if err := app.Encrypt(ctx, m); err != nil {
			t.Fatal(err)
		}
		write(m)
		ids = append(ids, m.ID)
	}
	rotate(t, app.Keyring(), keyring.PurposeIndex, []string{"acme"}, "pii")
	if v, err := reencrypt.Verify(ctx, db.DB, db.d, k.encryptor(t), tab, nil); err != nil || v.Rewritten != n {
		t.Fatalf("Verify(after promotion) = %s, %v; want all %d rows not current", js(v), err, n)
	}
	opts := &reencrypt.Options{Job: "members", BatchSize: 16, RangeSize: 40, Concurrency: 2}
	sum, err := reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), tab, opts)
	if err != nil || sum.Outcome != reencrypt.Done || sum.Scanned != n || sum.Rewritten != n {
		t.Fatalf("Run = %s, %v; want done, %d rows rewritten", js(sum), err, n)
	}
	if v, err := reencrypt.Verify(ctx, db.DB, db.d, k.encryptor(t), tab, nil); err != nil || v.Outcome != reencrypt.Done || v.Current != n {
		t.Fatalf("Verify(after the job) = %s, %v; want every row current", js(v), err)
	}
	st, err := reencrypt.IndexStatus(ctx, db.DB, db.d, k.encryptor(t), tab, nil)
	if err != nil || len(st.Tokens) != 1 || len(st.Tokens[0].Scopes) != 1 || st.Tokens[0].Scopes[0].Primary != n {
		t.Fatalf("IndexStatus(after the job) = %s, %v; want all %d rows' tokens under the primary key", js(st), err, n)
	}
	lk, err := reencrypt.Leakage(ctx, db.DB, db.d, tab, nil)
	if err != nil {
		t.Fatalf("Leakage = %v", err)
	}
	if b, _ := json.Marshal(lk); !strings.Contains(string(b), "members_name_prefix") {
		t.Errorf("Leakage does not report the side table: %s", b)
	}
	for i, id := range ids {
		want := &Member{ID: id, TenantID: "acme", Name: fmt.Sprintf("Name%03d", i%7)}
		if err := app.Encrypt(ctx, want); err != nil {
			t.Fatal(err)
		}
		rows, err := db.Query("SELECT token FROM members_name_prefix WHERE id = $1 ORDER BY token", id)
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for rows.Next() {
			var tok int64
			if err := rows.Scan(&tok); err != nil {
				t.Fatal(err)
			}
			got = append(got, tok)
		}
		rows.Close()
		if !slices.Equal(got, want.NamePrefix) {
			t.Fatalf("member %s holds tokens %v after the job, want %v (under the new index key)", id, got, want.NamePrefix)
		}
	}
}

// writeTextSideTokens replaces the side-table rows of one text key, as the
// data layers write them.
func (db *testDB) writeTextSideTokens(ctx context.Context, q execer, side sqldialect.TokenTable, key string, toks []int64) error {
	rows := sqldialect.TokenRows{Keys: []any{key}, Tokens: [][]int64{toks}}
	for _, s := range db.d.ReplaceTokens(side, rows, true, false) {
		if _, err := q.ExecContext(ctx, s.SQL, s.Args...); err != nil {
			return fmt.Errorf("%s: %w", s.SQL, err)
		}
	}
	return nil
}
