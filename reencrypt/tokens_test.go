package reencrypt_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/internal/testenv"
	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/reencrypt"
)

// Person is an application record with token indexes of every kind. Its
// tokens are stored in one side table per index, people_<snake_case of
// the field>, as the data layer stores them.
type Person struct {
	_           struct{}     `crypt:"record=person"`
	ID          int64        `crypt:"id"`
	TenantID    string       `crypt:"scope"`
	Name        string       `crypt:"encrypt,class=pii"`
	NamePrefix  crypt.Tokens `crypt:"prefix=Name,len=3..6,bits=12,transform=lower"`
	Email       string       `crypt:"encrypt,class=pii"`
	EmailSub    crypt.Tokens `crypt:"substring=Email,transform=lower"`
	Phone       *string      `crypt:"encrypt,class=pii"`
	PhoneSuffix crypt.Tokens `crypt:"suffix=Phone,len=4..4,bits=10,transform=digits"`
	Born        *string      `crypt:"encrypt,class=pii"`
	BornRange   crypt.Tokens `crypt:"range=Born,type=date,min=1900-01-01,max=2099-12-31"`
	Reach       crypt.Tokens `crypt:"set=Email+Phone,transform=lower+trim,bits=16"`
}

// personTokens names each token index and the field of Person that holds
// its tokens.
var personTokens = []struct {
	name  string
	side  string
	field func(*Person) *crypt.Tokens
}{
	{"NamePrefix", "people_name_prefix", func(p *Person) *crypt.Tokens { return &p.NamePrefix }},
	{"EmailSub", "people_email_sub", func(p *Person) *crypt.Tokens { return &p.EmailSub }},
	{"PhoneSuffix", "people_phone_suffix", func(p *Person) *crypt.Tokens { return &p.PhoneSuffix }},
	{"BornRange", "people_born_range", func(p *Person) *crypt.Tokens { return &p.BornRange }},
	{"Reach", "people_reach", func(p *Person) *crypt.Tokens { return &p.Reach }},
}

var firstNames = []string{"Alice", "Alina", "Bob", "Bobby", "Carla", "Alistair", "Dana"}

// personFor returns person i in plaintext.
func personFor(i int64, tenants int) *Person {
	first := firstNames[i%int64(len(firstNames))]
	p := &Person{
		ID:       i,
		TenantID: "tenant-" + strconv.Itoa(int(i%int64(tenants))),
		Name:     fmt.Sprintf("%s %d", first, i),
		Email:    fmt.Sprintf("%s.%d@%s ", strings.ToLower(first), i, []string{"example.com", "mail.test", "corp.example"}[i%3]),
	}
	if i%3 != 0 {
		ph := fmt.Sprintf("+1 555 %04d", i%50)
		p.Phone = &ph
	}
	if i%5 != 0 {
		b := time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int((i*97)%36500)).Format(time.DateOnly)
		p.Born = &b
	}
	return p
}

// peopleTable describes the people table from the struct, as `fieldcrypt
// schema` does.
func peopleTable(t testing.TB) reencrypt.Table {
	t.Helper()
	tab, err := reencrypt.TableOf("people", "", Person{})
	if err != nil {
		t.Fatalf("TableOf(Person) err = %v", err)
	}
	for _, tk := range personTokens {
		if got := tab.TokenTable(tk.name); got != tk.side {
			t.Fatalf("TokenTable(%s) = %q, want %q", tk.name, got, tk.side)
		}
	}
	return tab
}

// createPeople creates the people table and a side table per token index,
// in the data layer's layout (sqldialect.CreateTokenTable): (id, token
// BIGINT), PRIMARY KEY (token, id), an index on (id), and a foreign key to
// people ON DELETE CASCADE.
func (db *testDB) createPeople(t testing.TB) {
	t.Helper()
	var stmts []string
	switch db.d {
	case reencrypt.MySQL:
		stmts = append(stmts, `CREATE TABLE people (id BIGINT PRIMARY KEY, tenant_id VARCHAR(64) NOT NULL, name TEXT, email TEXT, phone TEXT, born TEXT) ENGINE=InnoDB`)
	default:
		stmts = append(stmts, `CREATE TABLE people (id BIGINT PRIMARY KEY, tenant_id TEXT NOT NULL, name TEXT, email TEXT, phone TEXT, born TEXT)`)
	}
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	for _, tk := range personTokens {
		db.createSideTable(t, "people", tk.side)
	}
}

// seedPeople encrypts people 1..n and stores them with their tokens, as
// the data layer does.
func (db *testDB) seedPeople(t testing.TB, enc *crypt.Encryptor, n, tenants int) {
	t.Helper()
	ctx := context.Background()
	for _, tenant := range tenantNames(tenants) {
		if err := keyring.NewManager(enc.Keyring()).CreateKeysets(ctx, tenant, "pii"); err != nil {
			t.Fatal(err)
		}
	}
	var people [][]any // rows of people
	var ps []*Person
	for i := int64(1); i <= int64(n); i++ {
		p := personFor(i, tenants)
		if err := enc.Encrypt(ctx, p); err != nil {
			t.Fatalf("Encrypt(person %d) err = %v", i, err)
		}
		var phone, born any
		if p.Phone != nil {
			phone = *p.Phone
		}
		if p.Born != nil {
			born = *p.Born
		}
		people = append(people, []any{p.ID, p.TenantID, p.Name, p.Email, phone, born})
		ps = append(ps, p)
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	insert := func(table string, cols []string, rows [][]any) {
		const per = 200
		for start := 0; start < len(rows); start += per {
			part := rows[start:min(start+per, len(rows))]
			var b strings.Builder
			var args []any
			b.WriteString("INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES ")
			for i, r := range part {
				if i > 0 {
					b.WriteString(", ")
				}
				m := make([]string, len(r))
				for k := range r {
					m[k] = db.ph(len(args) + k + 1)
				}
				b.WriteString("(" + strings.Join(m, ", ") + ")")
				args = append(args, r...)
			}
			if _, err := tx.Exec(b.String(), args...); err != nil {
				t.Fatalf("INSERT INTO %s: %v", table, err)
			}
		}
	}
	insert("people", []string{"id", "tenant_id", "name", "email", "phone", "born"}, people)
	for _, tk := range personTokens {
		var keys []int64
		var toks [][]int64
		for _, p := range ps {
			keys = append(keys, p.ID)
			toks = append(toks, *tk.field(p))
		}
		if err := db.writeSideTokens(ctx, tx, "people", tk.side, keys, toks); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// marks returns n parameter markers, comma-separated.
func (db *testDB) marks(n int) string {
	m := make([]string, n)
	for i := range m {
		m[i] = db.ph(i + 1)
	}
	return strings.Join(m, ", ")
}

// readPeople reads every person as stored, with the tokens of its side
// tables, in key order.
func (db *testDB) readPeople(t testing.TB) []*Person {
	t.Helper()
	rows, err := db.Query("SELECT id, tenant_id, name, email, phone, born FROM people ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []*Person
	byID := map[int64]*Person{}
	for rows.Next() {
		var p Person
		var phone, born sql.NullString
		if err := rows.Scan(&p.ID, &p.TenantID, &p.Name, &p.Email, &phone, &born); err != nil {
			t.Fatal(err)
		}
		if phone.Valid {
			p.Phone = &phone.String
		}
		if born.Valid {
			p.Born = &born.String
		}
		out = append(out, &p)
		byID[p.ID] = &p
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, tk := range personTokens {
		trows, err := db.Query("SELECT s.id, s.token FROM " + db.sideRows("people", tk.side) + " s ORDER BY s.id, s.token")
		if err != nil {
			t.Fatal(err)
		}
		for trows.Next() {
			var id, tok int64
			if err := trows.Scan(&id, &tok); err != nil {
				t.Fatal(err)
			}
			f := tk.field(byID[id])
			*f = append(*f, tok)
		}
		trows.Close()
	}
	return out
}

// peopleDigest hashes every stored person and its side-table rows.
func (db *testDB) peopleDigest(t testing.TB) string {
	t.Helper()
	h := sha256.New()
	for _, p := range db.readPeople(t) {
		fmt.Fprintf(h, "%d|%s|%q|%q|%q|%q", p.ID, p.TenantID, p.Name, p.Email, deref(p.Phone), deref(p.Born))
		for _, tk := range personTokens {
			fmt.Fprintf(h, "|%v", *tk.field(p))
		}
		h.Write([]byte("\n"))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// personSearch is a search of one token index, and which plaintext
// persons it must find.
type personSearch struct {
	index string
	term  crypt.Term
	want  func(*Person) bool
}

func personSearches() []personSearch {
	inRange := func(p *Person) bool { return p.Born != nil && *p.Born >= "1960-01-01" && *p.Born <= "1975-12-31" }
	return []personSearch{
		{"NamePrefix", crypt.HasPrefix("ALI"), func(p *Person) bool { return strings.HasPrefix(strings.ToLower(p.Name), "ali") }},
		{"EmailSub", crypt.Contains("Mail.Te"), func(p *Person) bool { return strings.Contains(strings.ToLower(p.Email), "mail.te") }},
		{"PhoneSuffix", crypt.HasSuffix("00 03"), func(p *Person) bool { return p.Phone != nil && strings.HasSuffix(*p.Phone, " 0003") }},
		{"BornRange", crypt.Between("1960-01-01", "1975-12-31"), inRange},
		{"Reach", crypt.Equals(" Bob.16@mail.test"), func(p *Person) bool { return strings.TrimSpace(p.Email) == "bob.16@mail.test" }},
	}
}

// checkSearches runs each search in each tenant over the stored token sets
// (TokenSearch.Candidate, the in-memory form of the data layer's lookup),
// decrypts the candidates and keeps those Match accepts: it must find
// exactly the persons the plaintext says.
func checkSearches(t *testing.T, stage string, db *testDB, enc *crypt.Encryptor, n, tenants int) {
	t.Helper()
	ctx := context.Background()
	stored := db.readPeople(t)
	for _, s := range personSearches() {
		found := 0
		for _, tenant := range tenantNames(tenants) {
			ts, err := enc.Search(ctx, &Person{TenantID: tenant}, s.index, s.term)
			if err != nil {
				t.Fatalf("%s: Search(%s, %s) err = %v", stage, s.index, s.term, err)
			}
			var want, got []int64
			for i := int64(1); i <= int64(n); i++ {
				if p := personFor(i, tenants); p.TenantID == tenant && s.want(p) {
					want = append(want, i)
				}
			}
			for _, p := range stored {
				if p.TenantID != tenant || !ts.Candidate(*tokensOf(p, s.index)) {
					continue
				}
				dec := *p
				if err := enc.Decrypt(ctx, &dec); err != nil {
					t.Fatalf("%s: Decrypt(person %d) err = %v", stage, p.ID, err)
				}
				if ok, err := ts.Match(&dec); err != nil || !ok {
					continue
				}
				got = append(got, p.ID)
			}
			found += len(want)
			if !slices.Equal(got, want) {
				t.Errorf("%s: search %s %s in %s found %v, want %v", stage, s.index, s.term, tenant, got, want)
			}
		}
		if found == 0 {
			t.Fatalf("%s: search %s %s: the test data hold no match", stage, s.index, s.term)
		}
	}
}

func tokensOf(p *Person, index string) *crypt.Tokens {
	for _, tk := range personTokens {
		if tk.name == index {
			return tk.field(p)
		}
	}
	panic("no token index " + index)
}

// assertTokensPrimary checks that every row's side-table tokens are those
// EncryptRow computes, under the current primary index key, from the row's
// plaintext.
func assertTokensPrimary(t *testing.T, db *testDB, enc *crypt.Encryptor, tab reencrypt.Table) {
	t.Helper()
	ctx := context.Background()
	schema, err := crypt.NewSchema(tab.SchemaSpec)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range db.readPeople(t) {
		row := crypt.Row{"id": strconv.FormatInt(p.ID, 10), "tenant_id": p.TenantID, "name": p.Name, "email": p.Email, "phone": nil, "born": nil}
		if p.Phone != nil {
			row["phone"] = *p.Phone
		}
		if p.Born != nil {
			row["born"] = *p.Born
		}
		if err := enc.DecryptRow(ctx, schema, row); err != nil {
			t.Fatalf("DecryptRow(person %d) err = %v", p.ID, err)
		}
		if err := enc.EncryptRow(ctx, schema, row); err != nil {
			t.Fatalf("EncryptRow(person %d) err = %v", p.ID, err)
		}
		for _, tk := range personTokens {
			want, _ := row[tk.name].(crypt.Tokens)
			if got := *tk.field(p); !slices.Equal(got, want) {
				t.Errorf("person %d: %s holds %d tokens %v, want EncryptRow's %d under the primary index key", p.ID, tk.side, len(got), got, len(want))
			}
		}
	}
}

// TestTokenIndexRotation writes rows with tokens under one index key,
// rotates the index key (add and promote), and runs the job: searches find
// every matching row before, during (some rows rewritten) and after, verify
// reports the pre-rotation rows and then none, every side table ends with
// exactly EncryptRow's tokens under the new primary, and a second pass
// changes nothing.
func TestTokenIndexRotation(t *testing.T) {
	eachDB(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		const n, tenants = 140, 2
		k := newKeys(t)
		app := k.encryptor(t)
		db.createPeople(t)
		db.seedPeople(t, app, n, tenants)
		tab := peopleTable(t)
		scopes := tenantNames(tenants)

		checkSearches(t, "before rotation", db, app, n, tenants)
		if v, err := reencrypt.Verify(ctx, db.DB, db.d, k.encryptor(t), tab, nil); err != nil || v.Outcome != reencrypt.Done || v.Current != n {
			t.Fatalf("Verify(before rotation) = %s, %v; want done, every row current", js(v), err)
		}
		st, err := reencrypt.IndexStatus(ctx, db.DB, db.d, k.encryptor(t), tab, nil)
		if err != nil {
			t.Fatalf("IndexStatus err = %v", err)
		}
		assertTokenCounts(t, "before rotation", st, n, false)
		oldIndex := map[string]uint32{}
		for _, s := range scopes {
			ik, err := app.Keyring().IndexKeys(ctx, s, "pii")
			if err != nil {
				t.Fatal(err)
			}
			oldIndex[s] = ik.PrimaryID()
		}

		rotate(t, app.Keyring(), keyring.PurposeIndex, scopes, "pii")
		checkSearches(t, "after promotion, before the job", db, app, n, tenants)
		v, err := reencrypt.Verify(ctx, db.DB, db.d, k.encryptor(t), tab, nil)
		if err != nil || v.Outcome != reencrypt.Partial || v.Rewritten != n || v.Failed != 0 {
			t.Fatalf("Verify(after promotion) = %s, %v; want partial, all %d rows not current", js(v), err, n)
		}
		st, err = reencrypt.IndexStatus(ctx, db.DB, db.d, k.encryptor(t), tab, nil)
		if err != nil {
			t.Fatalf("IndexStatus err = %v", err)
		}
		assertTokenCounts(t, "after promotion", st, n, true)

		// Run the job for two batches, then stop it.
		stopCtx, stop := context.WithCancel(ctx)
		opts := &reencrypt.Options{Job: "tokens", BatchSize: 20, RangeSize: 60, Concurrency: 1}
		var batches atomic.Int32
		reencrypt.BeforeWrite(opts, func(context.Context, []any) {
			if batches.Add(1) == 2 {
				stop()
			}
		})
		sum, err := reencrypt.Run(stopCtx, db.DB, db.d, k.encryptor(t), tab, opts)
		moved := sum.JobTotals.Rewritten
		if err != nil || sum.Outcome != reencrypt.Partial || moved == 0 || moved >= n {
			t.Fatalf("Run(stopped) = %s, %v; want partial with some rows rewritten", js(sum), err)
		}
		checkSearches(t, "during the job", db, app, n, tenants)
		v, err = reencrypt.Verify(ctx, db.DB, db.d, k.encryptor(t), tab, nil)
		if err != nil || v.Rewritten != n-moved || v.Failed != 0 {
			t.Errorf("Verify(during) = %s, %v; want %d rows with stale tokens", js(v), err, n-moved)
		}

		sum, err = reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), tab, &reencrypt.Options{Job: "tokens", BatchSize: 20, RangeSize: 60, Concurrency: 2})
		if err != nil || sum.Outcome != reencrypt.Done || sum.JobTotals.Rewritten != n {
			t.Fatalf("Run(resumed) = %s, %v; want done, %d rows rewritten over both runs", js(sum), err, n)
		}
		assertTokensPrimary(t, db, app, tab)
		checkSearches(t, "after the job", db, app, n, tenants)
		if v, err := reencrypt.Verify(ctx, db.DB, db.d, k.encryptor(t), tab, nil); err != nil || v.Outcome != reencrypt.Done || v.Current != n {
			t.Errorf("Verify(after) = %s, %v; want done, every row current", js(v), err)
		}
		st, err = reencrypt.IndexStatus(ctx, db.DB, db.d, k.encryptor(t), tab, nil)
		if err != nil {
			t.Fatalf("IndexStatus err = %v", err)
		}
		assertTokenCounts(t, "after the job", st, n, false)

		// A second pass rewrites nothing, and changes no byte.
		before := db.peopleDigest(t)
		again, err := reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), tab, &reencrypt.Options{Job: "tokens-again", BatchSize: 20})
		if err != nil || again.Outcome != reencrypt.Done || again.Rewritten != 0 || again.Current != n {
			t.Errorf("Run(second pass) = %s, %v; want done, nothing rewritten", js(again), err)
		}
		if after := db.peopleDigest(t); after != before {
			t.Errorf("the second pass changed the table or its side tables")
		}

		// The old index key can go: searches use the new one alone.
		for _, s := range scopes {
			id := keyring.KeysetID{Scope: s, Class: "pii", Purpose: keyring.PurposeIndex}
			if err := keyring.NewManager(app.Keyring()).DisableKey(ctx, id, oldIndex[s]); err != nil {
				t.Fatalf("DisableKey(%v) err = %v", id, err)
			}
		}
		checkSearches(t, "after disabling the old index key", db, k.encryptor(t), n, tenants)
		if v, err := reencrypt.Verify(ctx, db.DB, db.d, k.encryptor(t), tab, nil); err != nil || v.Outcome != reencrypt.Done {
			t.Errorf("Verify(old key disabled) = %s, %v; want done", js(v), err)
		}
	})
}

// assertTokenCounts checks IndexStatus's counts of every token index,
// summed over scopes: every row of n under the primary, or, when rotated,
// every row with tokens under an older key (rows whose sources give no
// token are current whatever the key).
func assertTokenCounts(t *testing.T, stage string, st *reencrypt.IndexReport, n int, rotated bool) {
	t.Helper()
	none := map[string]int64{} // rows whose sources give no token
	for i := int64(1); i <= int64(n); i++ {
		p := personFor(i, 2)
		if p.Phone == nil {
			none["PhoneSuffix"]++
		}
		if p.Born == nil {
			none["BornRange"]++
		}
	}
	if len(st.Tokens) != len(personTokens) {
		t.Fatalf("%s: IndexStatus counted %d token indexes, want %d", stage, len(st.Tokens), len(personTokens))
	}
	for _, ti := range st.Tokens {
		var sum reencrypt.IndexScopeCounts
		for _, sc := range ti.Scopes {
			sum.Primary += sc.Primary
			sum.Older += sc.Older
			sum.Unmatched += sc.Unmatched + sc.Missing + sc.Unreadable
		}
		primary, older := int64(n), int64(0)
		if rotated {
			primary, older = none[ti.Index], int64(n)-none[ti.Index]
		}
		// A narrow index's tokens under two keys can coincide (PhoneSuffix
		// keeps 10 bits): such a row is current under either key.
		slack := older / 10
		if sum.Primary+sum.Older != int64(n) || sum.Older > older || sum.Older < older-slack || sum.Unmatched != 0 {
			t.Errorf("%s: IndexStatus of %s (%s) = %+v, want %d primary, %d older (a few fewer)", stage, ti.Index, ti.Table, ti.Scopes, primary, older)
		}
	}
}

// TestTokensDataKeyRotation rotates the data keys only: the job rewrites
// every row and leaves the side tables as they are (tokens depend on the
// plaintext and the index key alone).
func TestTokensDataKeyRotation(t *testing.T) {
	db := openSQLite(t)
	ctx := context.Background()
	const n, tenants = 60, 2
	k := newKeys(t)
	app := k.encryptor(t)
	db.createPeople(t)
	db.seedPeople(t, app, n, tenants)
	tab := peopleTable(t)
	sides := func() string {
		var b strings.Builder
		for _, p := range db.readPeople(t) {
			for _, tk := range personTokens {
				fmt.Fprintf(&b, "%d %s %v\n", p.ID, tk.name, *tk.field(p))
			}
		}
		return b.String()
	}
	before := sides()
	rotate(t, app.Keyring(), keyring.PurposeData, tenantNames(tenants), "pii")
	sum, err := reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), tab, &reencrypt.Options{BatchSize: 16})
	if err != nil || sum.Outcome != reencrypt.Done || sum.Rewritten != n {
		t.Fatalf("Run = %s, %v; want done, %d rows rewritten", js(sum), err, n)
	}
	if sides() != before {
		t.Errorf("a data-key rotation changed the side tables")
	}
	assertTokensPrimary(t, db, app, tab)
	checkSearches(t, "after a data-key rotation", db, app, n, tenants)
}

// TestTokenMismatch damages one row's tokens and leaves another's missing,
// as a writer of the database could: verify reports the first (tokens
// under no enabled key) and counts the second not current; during an
// index-key rotation the job computes the missing tokens and never
// overwrites the damaged ones. On every database, in its side-table layout.
func TestTokenMismatch(t *testing.T) {
	eachDB(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		const n, tenants = 30, 2
		k := newKeys(t)
		app := k.encryptor(t)
		db.createPeople(t)
		db.seedPeople(t, app, n, tenants)
		tab := peopleTable(t)
		if err := db.writeSideTokens(ctx, db.DB, "people", "people_name_prefix", []int64{7}, [][]int64{{1, 2}}); err != nil {
			t.Fatal(err)
		}
		if err := db.writeSideTokens(ctx, db.DB, "people", "people_email_sub", []int64{8}, [][]int64{nil}); err != nil {
			t.Fatal(err)
		}
		v, err := reencrypt.Verify(ctx, db.DB, db.d, k.encryptor(t), tab, nil)
		if err != nil || v.Failed != 1 || v.Rewritten != 1 || v.Failures["token_mismatch"] != 1 {
			t.Fatalf("Verify = %s, %v; want row 7 failed (token_mismatch), row 8 not current", js(v), err)
		}
		if len(v.FailedRows) != 1 || v.FailedRows[0].Key != "7" || v.FailedRows[0].Column != "NamePrefix" {
			t.Errorf("Verify FailedRows = %+v, want row 7, NamePrefix", v.FailedRows)
		}

		rotate(t, app.Keyring(), keyring.PurposeIndex, tenantNames(tenants), "pii")
		sum, err := reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), tab, &reencrypt.Options{BatchSize: 8})
		if err != nil || sum.Outcome != reencrypt.Partial || sum.Failed != 1 || sum.Rewritten != n-1 {
			t.Fatalf("Run = %s, %v; want partial, row 7 left behind, the others rewritten", js(sum), err)
		}
		people := db.readPeople(t)
		if p7 := people[6]; p7.ID != 7 || !slices.Equal(p7.NamePrefix, []int64{1, 2}) {
			t.Errorf("row 7's damaged tokens = %v, want them left as they were", p7.NamePrefix)
		}
		if p8 := people[7]; p8.ID != 8 || len(p8.EmailSub) == 0 {
			t.Errorf("row 8's missing tokens were not computed: %+v", p8.EmailSub)
		}
	})
}

// TestTokenTablesChecked checks that a missing side table, or one without
// a token column, is a configuration error naming the token index and the
// side table, and that token_tables names another side table, on every
// database.
func TestTokenTablesChecked(t *testing.T) {
	eachDB(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		db.createPeople(t)
		tab := peopleTable(t)
		if err := reencrypt.CheckColumns(ctx, db.DB, db.d, tab); err != nil {
			t.Fatalf("CheckColumns err = %v", err)
		}
		if _, err := db.Exec("ALTER TABLE people_reach RENAME TO people_reach_old"); err != nil {
			t.Fatal(err)
		}
		err := reencrypt.CheckColumns(ctx, db.DB, db.d, tab)
		var ce *reencrypt.ConfigError
		if !errors.As(err, &ce) || !errors.Is(err, reencrypt.ErrMissingColumn) || ce.Column != "Reach" || !strings.Contains(err.Error(), "side table people_reach") {
			t.Fatalf("CheckColumns(side table missing) err = %v; want a *ConfigError naming Reach and people_reach", err)
		}
		tab.TokenTables = map[string]string{"Reach": "people_reach_old"}
		if err := reencrypt.CheckColumns(ctx, db.DB, db.d, tab); err != nil {
			t.Fatalf("CheckColumns(token_tables) err = %v", err)
		}
		if _, err := db.Exec("CREATE TABLE people_odd (id BIGINT, tok BIGINT)"); err != nil {
			t.Fatal(err)
		}
		tab.TokenTables = map[string]string{"Reach": "people_odd"}
		err = reencrypt.CheckColumns(ctx, db.DB, db.d, tab)
		want := "column token of the side table people_odd"
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), want) {
			t.Fatalf("CheckColumns(no token column) err = %v; want it to name %s", err, want)
		}
	})
}

// TestTokenConfig checks the token keys of the configuration.
func TestTokenConfig(t *testing.T) {
	const head = "tables:\n  - name: crm.people\n    primary_key: id\n    record: person\n    scope: tenant_id\n" +
		"    ids: [{column: id, name: ID}]\n    encrypted: [{column: name, name: Name, class: pii}]\n" +
		"    tokens:\n      - {name: NamePrefix, kind: prefix, sources: [name], transforms: lower, bits: 12, min_len: 3, max_len: 6}\n"
	cfg, err := reencrypt.ParseConfig([]byte(head))
	if err != nil {
		t.Fatalf("ParseConfig err = %v", err)
	}
	tab := cfg.Tables[0]
	if got := tab.TokenTable("NamePrefix"); got != "crm.people_name_prefix" {
		t.Errorf("TokenTable = %q, want crm.people_name_prefix", got)
	}
	cfg, err = reencrypt.ParseConfig([]byte(head + "    token_tables: {NamePrefix: crm.person_tokens}\n"))
	if err != nil || cfg.Tables[0].TokenTable("NamePrefix") != "crm.person_tokens" {
		t.Errorf("ParseConfig(token_tables) = %v, %v; want the named side table", cfg, err)
	}
	if fp := cfg.Tables[0].Fingerprint(); fp == tab.Fingerprint() {
		t.Errorf("Fingerprint does not change with the side table")
	}
	for _, tc := range []struct{ yaml, want string }{
		{head + "    token_tables: {NamePrefx: x}\n", `token_tables names "NamePrefx"`},
		{head + "    token_tables: {NamePrefix: a.b.c}\n", "more than one '.'"},
		{head + "    token_tables: {NamePrefix: crm.people}\n", "side table is the table itself"},
		{head + "    rebuild_indexes: [NamePrefx]\n", "not a blind-index column or a token index"},
		{strings.Replace(head, "sources: [name]", "sources: [nme]", 1), `source "nme"`},
	} {
		_, err := reencrypt.ParseConfig([]byte(tc.yaml))
		var ce *reencrypt.ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseConfig(%q) err = %v; want a *ConfigError saying %q", tc.yaml, err, tc.want)
		}
	}
	if _, err := reencrypt.ParseConfig([]byte(head + "    rebuild_indexes: [NamePrefix]\n")); err != nil {
		t.Errorf("ParseConfig(rebuild_indexes: [NamePrefix]) err = %v", err)
	}
}

// writePerson writes an encrypted person and its tokens over its row in
// one transaction, as the application's data layer does.
func (db *testDB) writePerson(ctx context.Context, p *Person) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var phone, born any
	if p.Phone != nil {
		phone = *p.Phone
	}
	if p.Born != nil {
		born = *p.Born
	}
	if _, err := tx.ExecContext(ctx, "UPDATE people SET name = "+db.ph(1)+", email = "+db.ph(2)+", phone = "+db.ph(3)+", born = "+db.ph(4)+
		" WHERE id = "+db.ph(5), p.Name, p.Email, phone, born, p.ID); err != nil {
		return err
	}
	for _, tk := range personTokens {
		if err := db.writeSideTokens(ctx, tx, "people", tk.side, []int64{p.ID}, [][]int64{*tk.field(p)}); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// TestTokensConcurrentWriter has the application rewrite rows, with their
// tokens under the new index key, between the job's read of a batch and
// its write: the compare-and-swap sees the change, the row is read again
// with its tokens, and the application's tokens stay.
func TestTokensConcurrentWriter(t *testing.T) {
	eachDB(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		const n, tenants = 60, 2
		k := newKeys(t)
		db.createPeople(t)
		db.seedPeople(t, k.encryptor(t), n, tenants)
		tab := peopleTable(t)
		rotate(t, k.keyring(t), keyring.PurposeIndex, tenantNames(tenants), "pii")
		app := k.encryptor(t) // a fresh process: it sees the new primaries

		written := map[int64]*Person{}
		opts := &reencrypt.Options{BatchSize: 10}
		reencrypt.BeforeWrite(opts, func(ctx context.Context, keys []any) {
			// The application renames the batch's first row.
			if len(keys) == 0 {
				return
			}
			id := keys[0].(int64)
			p := personFor(id, tenants)
			p.Name = fmt.Sprintf("Alison %d", id)
			plain := *p
			if err := app.Encrypt(ctx, p); err != nil {
				t.Errorf("Encrypt(%d) err = %v", id, err)
				return
			}
			if err := db.writePerson(ctx, p); err != nil {
				t.Errorf("writePerson(%d) err = %v", id, err)
				return
			}
			written[id] = &plain
		})
		sum, err := reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), tab, opts)
		if err != nil || sum.Outcome != reencrypt.Done || sum.Conflicts != int64(len(written)) || len(written) == 0 {
			t.Fatalf("Run = %s, %v; want done with one conflict per batch (%d)", js(sum), err, len(written))
		}
		assertTokensPrimary(t, db, app, tab)
		for _, p := range db.readPeople(t) {
			w, ok := written[p.ID]
			if !ok {
				continue
			}
			if err := app.Decrypt(ctx, p); err != nil || p.Name != w.Name {
				t.Errorf("person %d = %q, %v; want the application's %q", p.ID, p.Name, err, w.Name)
			}
		}
		if v, err := reencrypt.Verify(ctx, db.DB, db.d, k.encryptor(t), tab, nil); err != nil || v.Outcome != reencrypt.Done {
			t.Errorf("Verify = %s, %v; want done", js(v), err)
		}
	})
}

// peopleChildOptions are the job options of TestKillResumeTokens's child:
// small batches, so that it is killed between commits of many.
func peopleChildOptions(job string) *reencrypt.Options {
	return &reencrypt.Options{Job: job, Worker: "child", Concurrency: 2, BatchSize: 40, RangeSize: 600, Lease: 3 * time.Second}
}

// TestKillResumeTokens rotates the index keys of the people table on
// PostgreSQL, starts the job in a child process and kills it with SIGKILL
// once part of it has committed, then resumes it: every row ends with
// EncryptRow's tokens under the new primary index key, searches find every
// match, no row is rewritten twice, and a second pass changes nothing.
func TestKillResumeTokens(t *testing.T) {
	db := openPostgres(t)
	ctx := context.Background()
	n := 1200
	if raceEnabled {
		n = 600
	}
	const tenants = 3
	k := newKeys(t)
	app := k.encryptor(t)
	db.createPeople(t)
	db.seedPeople(t, app, n, tenants)
	tab := peopleTable(t)
	rotate(t, app.Keyring(), keyring.PurposeIndex, tenantNames(tenants), "pii")

	cfg, err := json.Marshal(childConfig{DSN: db.dsn, Keys: k, Job: "kill-tokens", Table: "people"})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(cfg))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	committed := func() int64 {
		var done int64
		if err := db.QueryRow("SELECT COALESCE(SUM(rows_done), 0) FROM " + reencrypt.RangesTable + " WHERE job = 'kill-tokens'").Scan(&done); err != nil {
			return 0
		}
		return done
	}
	for committed() < int64(n)/4 {
		select {
		case err := <-exited:
			t.Fatalf("the child exited (%v) before it could be killed; stdout %s; stderr %s", err, stdout.String(), stderr.String())
		case <-time.After(5 * time.Millisecond):
		}
	}
	if err := syscall.Kill(cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-exited
	atKill := settled(committed)
	if atKill >= int64(n) {
		t.Fatalf("the child committed all %d rows before it was killed", n)
	}
	t.Logf("killed the child with %d of %d rows committed", atKill, n)
	checkSearches(t, "after the kill", db, app, n, tenants)

	opts := peopleChildOptions("kill-tokens")
	opts.Worker = "resumer"
	sum, err := reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), tab, opts)
	if err != nil || sum.Outcome != reencrypt.Done {
		t.Fatalf("Run(after the kill) = %s, %v; want done", js(sum), err)
	}
	if sum.Scanned != int64(n)-atKill || sum.Rewritten != sum.Scanned {
		t.Errorf("Run(after the kill) scanned %d and rewrote %d rows, want the %d not committed before the kill", sum.Scanned, sum.Rewritten, int64(n)-atKill)
	}
	if jt := sum.JobTotals; jt.Rows != int64(n) || jt.Rewritten != int64(n) || jt.LeftBehind != 0 {
		t.Errorf("JobTotals = %+v, want %d rows processed and rewritten, none left behind", jt, n)
	}
	assertTokensPrimary(t, db, app, tab)
	checkSearches(t, "after the resumed job", db, app, n, tenants)
	before := db.peopleDigest(t)
	again, err := reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), tab, &reencrypt.Options{Job: "kill-tokens-again", BatchSize: 200})
	if err != nil || again.Rewritten != 0 || again.Current != int64(n) {
		t.Errorf("Run(second pass) = %s, %v; want nothing rewritten", js(again), err)
	}
	if db.peopleDigest(t) != before {
		t.Errorf("the second pass changed the table or its side tables")
	}
}

// TestTableOfTokenTables checks that TableOf names the side table of a
// token index whose name= is not its Go field name.
func TestTableOfTokenTables(t *testing.T) {
	type Lead struct {
		_        struct{}     `crypt:"record=lead"`
		ID       int64        `crypt:"id"`
		Name     string       `crypt:"encrypt"`
		NameFrom crypt.Tokens `crypt:"prefix=Name,len=3..6,bits=12,transform=lower,name=NameStart"`
		NameSub  crypt.Tokens `crypt:"substring=Name,transform=lower"`
	}
	tab, err := reencrypt.TableOf("crm.leads", "", Lead{})
	if err != nil {
		t.Fatalf("TableOf err = %v", err)
	}
	if got := tab.TokenTable("NameStart"); got != "crm.leads_name_from" {
		t.Errorf("TokenTable(NameStart) = %q, want crm.leads_name_from", got)
	}
	if got := tab.TokenTable("NameSub"); got != "crm.leads_name_sub" || len(tab.TokenTables) != 1 {
		t.Errorf("TokenTable(NameSub) = %q, TokenTables = %v; want the convention, and one entry", got, tab.TokenTables)
	}
}

// TestTokenWriteWithholdsTokens plays a database administrator who adds a
// unique index on a side table's tokens while an index-key rotation is
// due: Alina 2 and Alistair 6 share a tenant and a name prefix, so the
// job's INSERT of the new tokens is refused as a duplicate, which MySQL
// quotes in its message and PostgreSQL in the error's detail. Neither the
// error Run returns (nor a driver error in its chain) nor the job's log
// holds a token, and the batch is not written.
func TestTokenWriteWithholdsTokens(t *testing.T) {
	eachDB(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		const n, tenants = 12, 2
		k := newKeys(t)
		app := k.encryptor(t)
		db.createPeople(t)
		db.seedPeople(t, app, n, tenants)
		rotate(t, app.Keyring(), keyring.PurposeIndex, tenantNames(tenants), "pii")
		// The old tokens share values too: the index needs them gone,
		// and the job computes missing tokens.
		if _, err := db.Exec("DELETE FROM people_name_prefix"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec("CREATE UNIQUE INDEX people_name_prefix_token ON people_name_prefix (token)"); err != nil {
			t.Fatal(err)
		}
		var tokens []string // the new tokens, in decimal, long enough to look for
		for i := int64(1); i <= n; i++ {
			p := personFor(i, tenants)
			if err := app.Encrypt(ctx, p); err != nil {
				t.Fatal(err)
			}
			for _, tk := range p.NamePrefix {
				if s := strconv.FormatInt(tk, 10); len(s) >= 8 {
					tokens = append(tokens, s)
				}
			}
		}
		if len(tokens) < n {
			t.Fatalf("only %d tokens to look for", len(tokens))
		}
		var logged bytes.Buffer
		opts := &reencrypt.Options{BatchSize: 100, Retries: -1, Logger: slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelDebug}))}
		_, err := reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), peopleTable(t), opts)
		if err == nil || !strings.Contains(err.Error(), "people_name_prefix") {
			t.Fatalf("Run with a duplicate token = %v, want the refused write of people_name_prefix", err)
		}
		text := testenv.Exposed(err)
		text += logged.String()
		for _, tk := range tokens {
			if strings.Contains(text, tk) {
				t.Fatalf("a token in the error or the log:\n%s", text)
			}
		}
		var left int
		if err := db.QueryRow("SELECT COUNT(*) FROM people_name_prefix").Scan(&left); err != nil || left != 0 {
			t.Errorf("%d side-table rows written by the refused batch, %v", left, err)
		}
		if db.d != reencrypt.Postgres {
			return
		}
		// The constraint deferred: the duplicate is found at the batch's
		// COMMIT, where PostgreSQL's detail quotes it.
		for _, q := range []string{
			"DROP INDEX people_name_prefix_token",
			"ALTER TABLE people_name_prefix ADD CONSTRAINT people_name_prefix_token_once UNIQUE (token) DEFERRABLE INITIALLY DEFERRED",
		} {
			if _, err := db.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		_, err = reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), peopleTable(t), opts)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "23505" || pe.Detail != "" || !strings.Contains(err.Error(), "committing batch") {
			t.Fatalf("Run against a deferred unique constraint = %v, want the COMMIT's 23505 without its detail", err)
		}
		for _, tk := range tokens {
			if strings.Contains(testenv.Exposed(err), tk) || strings.Contains(logged.String(), tk) {
				t.Fatalf("a token in the error or the log of the COMMIT:\n%v\n%s", err, logged.String())
			}
		}
	})
}

// TestBlindIndexWriteWithholdsValues plays a database writer who gives
// contact 2 the blind-index value contact 1's e-mail gets under a new
// index key, and an administrator who makes the index column unique: the
// job's compare-and-swap UPDATE of contact 1 is refused as a duplicate,
// which MySQL quotes in its message and PostgreSQL in the detail. Neither
// the error Run returns (nor a driver error in its chain) nor the job's
// log holds the value.
func TestBlindIndexWriteWithholdsValues(t *testing.T) {
	eachDB(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		const n, tenants = 6, 1
		k := newKeys(t)
		app := k.encryptor(t)
		db.createContacts(t)
		db.seed(t, app, n, tenants)
		rotate(t, app.Keyring(), keyring.PurposeIndex, tenantNames(tenants), "pii")
		first := contactFor(1, tenants)
		if err := app.Encrypt(ctx, first); err != nil {
			t.Fatal(err)
		}
		if len(first.EmailIdx) < 8 {
			t.Fatalf("blind-index value of %d bytes: too short to look for", len(first.EmailIdx))
		}
		if _, err := db.Exec("UPDATE contacts SET email_idx = "+db.ph(1)+" WHERE id = 2", first.EmailIdx); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec("CREATE UNIQUE INDEX contacts_email_idx_once ON contacts (email_idx)"); err != nil {
			t.Fatal(err)
		}
		var logged bytes.Buffer
		opts := &reencrypt.Options{BatchSize: 100, Retries: -1, Logger: slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelDebug}))}
		_, err := reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), contactsTable(t), opts)
		if err == nil || !strings.Contains(err.Error(), "updating contacts row 1") {
			t.Fatalf("Run with a duplicate blind-index value = %v, want the refused UPDATE of row 1", err)
		}
		text := testenv.Exposed(err)
		if strings.Contains(text+logged.String(), first.EmailIdx) {
			t.Fatalf("the blind-index value in the error or the log:\n%s\n%s", text, logged.String())
		}
	})
}
