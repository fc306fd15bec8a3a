package sqlcrypt_test

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/internal/testenv"
	"github.com/fieldcrypt/fieldcrypt/sqlcrypt"
)

// Email is an element of a Person's e-mail list, stored as JSON.
type Email struct {
	Address string `json:"address" crypt:"encrypt,class=pii"`
}

// EmailList is a JSON column.
type EmailList []Email

func (l EmailList) Value() (driver.Value, error) {
	b, err := json.Marshal(l)
	return string(b), err
}

func (l *EmailList) Scan(src any) error {
	switch v := src.(type) {
	case string:
		return json.Unmarshal([]byte(v), l)
	case []byte:
		return json.Unmarshal(v, l)
	case nil:
		*l = nil
		return nil
	}
	return fmt.Errorf("EmailList: cannot scan %T", src)
}

// Person has a token index of every kind. Narrow tokens make searches
// find other rows too, so that the filter has work to do.
type Person struct {
	_          struct{}     `crypt:"record=person"`
	ID         int64        `db:"id" crypt:"id"`
	TenantID   string       `db:"tenant_id" crypt:"scope"`
	Name       string       `db:"name" crypt:"encrypt,class=pii"`
	Born       string       `db:"born" crypt:"encrypt,class=pii"`
	Home       string       `db:"home" crypt:"encrypt,class=pii"`
	Work       string       `db:"work"` // a plaintext source
	Emails     EmailList    `db:"emails"`
	NamePrefix crypt.Tokens `db:"-" crypt:"prefix=Name,len=2..6,bits=8,transform=lower"`
	NameSuffix crypt.Tokens `db:"-" crypt:"suffix=Name,len=2..6,bits=8,transform=lower"`
	NameSub    crypt.Tokens `db:"-" crypt:"substring=Name,transform=lower,tokens=12"`
	BornRange  crypt.Tokens `db:"-" crypt:"range=Born,type=date,min=1900-01-01,max=2030-12-31,step=30"`
	Reach      crypt.Tokens `db:"-" crypt:"set=Home+Work+Emails[].Address,transform=lower,bits=10,class=pii,name=reach"`
}

var personColumns = []string{"id", "tenant_id", "name", "born", "home", "work", "emails"}

// tokenIndexes are Person's token indexes, with their side tables.
var tokenIndexes = map[string]string{
	"NamePrefix": "persons_name_prefix", "NameSuffix": "persons_name_suffix", "NameSub": "persons_name_sub",
	"BornRange": "persons_born_range", "Reach": "persons_reach",
}

// createPersons creates the persons table and its side tables.
func (db *testDB) createPersons(t testing.TB) {
	t.Helper()
	text, long := "TEXT", "TEXT"
	if db.d == sqlcrypt.MySQL {
		text, long = "VARCHAR(255)", "LONGTEXT"
	}
	db.exec(t, `CREATE TABLE persons (id BIGINT PRIMARY KEY, tenant_id `+text+` NOT NULL, name `+text+` NOT NULL,
		born `+text+` NOT NULL, home `+text+` NOT NULL, work `+text+` NOT NULL, emails `+long+` NOT NULL)`)
	ddl, err := sqlcrypt.TokenTableDDL(db.d, "persons", &Person{})
	if err != nil {
		t.Fatalf("TokenTableDDL: %v", err)
	}
	for _, s := range ddl {
		db.exec(t, s)
	}
}

// encryptPersons returns encrypted copies of ps.
func encryptPersons(t testing.TB, enc *crypt.Encryptor, ps []*Person) []*Person {
	t.Helper()
	out := make([]*Person, len(ps))
	for i, p := range ps {
		e, err := crypt.Encrypted(context.Background(), enc, p)
		if err != nil {
			t.Fatalf("Encrypted(person %d): %v", p.ID, err)
		}
		out[i] = e
	}
	return out
}

// writePersons inserts ps and their tokens, in one transaction: through
// database/sql and ReplaceTokens, or on PostgreSQL through pgx (via
// "pgx": ReplaceTokensPgx; "copy": CopyFrom).
func (db *testDB) writePersons(t testing.TB, enc *crypt.Encryptor, via string, ps ...*Person) {
	t.Helper()
	ctx := context.Background()
	insert := db.d.Rebind("INSERT INTO persons (" + strings.Join(personColumns, ", ") + ") VALUES (?, ?, ?, ?, ?, ?, ?)")
	switch via {
	case "copy":
		n, err := sqlcrypt.CopyFrom(ctx, enc, db.pool, pgx.Identifier{"persons"}, personColumns, ps)
		if err != nil || n != int64(len(ps)) {
			t.Fatalf("CopyFrom = %d, %v", n, err)
		}
	case "pgx":
		es := encryptPersons(t, enc, ps)
		tx, err := db.pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		for _, e := range es {
			if _, err := tx.Exec(ctx, insert, e.ID, e.TenantID, e.Name, e.Born, e.Home, e.Work, e.Emails); err != nil {
				t.Fatal(err)
			}
		}
		if err := sqlcrypt.ReplaceTokensPgx(ctx, tx, "persons", es...); err != nil {
			t.Fatalf("ReplaceTokensPgx: %v", err)
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	default:
		es := encryptPersons(t, enc, ps)
		tx, err := db.db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		for _, e := range es {
			if _, err := tx.ExecContext(ctx, insert, e.ID, e.TenantID, e.Name, e.Born, e.Home, e.Work, e.Emails); err != nil {
				t.Fatal(err)
			}
		}
		if err := sqlcrypt.ReplaceTokens(ctx, tx, db.d, "persons", es...); err != nil {
			t.Fatalf("ReplaceTokens: %v", err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
}

// search runs a token search the way the package documentation says and
// returns the IDs of the rows the filter keeps, in order, and the number
// of candidates the condition found. On PostgreSQL every other search
// reads through pgx.
func (db *testDB) search(t testing.TB, enc *crypt.Encryptor, tenant, index string, term crypt.Term, viaPgx bool) (found []int64, candidates int) {
	t.Helper()
	ctx := context.Background()
	probe := &Person{TenantID: tenant}
	cond, args, match, err := sqlcrypt.Search(ctx, enc, db.d, "persons", probe, index, term, 1)
	if err != nil {
		t.Fatalf("Search(%s, %v): %v", index, term, err)
	}
	q := "SELECT * FROM persons WHERE " + cond + " ORDER BY id"
	var rows []Person
	if viaPgx && db.pool != nil {
		r, err := db.pool.Query(ctx, q, args...)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		rows, err = sqlcrypt.CollectRows(ctx, enc, r, pgx.RowToStructByName[Person])
		if err != nil {
			t.Fatalf("CollectRows: %v", err)
		}
	} else {
		r, err := db.db.QueryContext(ctx, q, args...)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		rows, err = sqlcrypt.ScanAll[Person](ctx, enc, r)
		if err != nil {
			t.Fatalf("ScanAll: %v", err)
		}
	}
	found = []int64{}
	for i := range rows {
		if rows[i].TenantID != tenant {
			t.Fatalf("search in %s found a row of %s: the condition does not keep to the tenant", tenant, rows[i].TenantID)
		}
		ok, err := match.Keep(&rows[i])
		if err != nil {
			t.Fatalf("filter: %v", err)
		}
		if ok {
			found = append(found, rows[i].ID)
		}
	}
	return found, len(rows)
}

// people generates n persons of tenant from ids first on: names of a few
// syllables (so that prefixes, suffixes and n-grams are shared), some
// long enough to overflow the substring index, birth dates across the
// range index's domain, e-mails from a small set in any case.
func people(r *rand.Rand, tenant string, first int64, n int) []*Person {
	syll := []string{"lo", "ve", "la", "ce", "an", "na", "ma", "ri", "e", "o", "tur", "ing", "ada", "gr"}
	word := func(min, max int) string {
		var b strings.Builder
		for range min + r.IntN(max-min+1) {
			b.WriteString(syll[r.IntN(len(syll))])
		}
		return b.String()
	}
	mixCase := func(s string) string {
		b := []byte(s)
		for i := range b {
			if r.IntN(4) == 0 && b[i] >= 'a' && b[i] <= 'z' {
				b[i] -= 'a' - 'A'
			}
		}
		return string(b)
	}
	locals := []string{"ada", "alan", "grace", "edsger", "barbara", "ken"}
	domains := []string{"example.com", "example.org", "mail.test"}
	email := func() string { return mixCase(locals[r.IntN(len(locals))] + "@" + domains[r.IntN(len(domains))]) }
	var out []*Person
	for i := range n {
		name := word(1, 4)
		if r.IntN(10) == 0 {
			name = word(9, 12) // more than 12 distinct trigrams: overflows
		}
		p := &Person{
			ID:       first + int64(i),
			TenantID: tenant,
			Name:     mixCase(name),
			Born:     fmt.Sprintf("%04d-%02d-%02d", 1950+r.IntN(61), 1+r.IntN(12), 1+r.IntN(28)),
			Home:     email(),
			Work:     email(),
		}
		for range r.IntN(3) {
			p.Emails = append(p.Emails, Email{Address: email()})
		}
		out = append(out, p)
	}
	return out
}

// query is a search and the plaintext filter it must agree with.
type query struct {
	index string
	term  crypt.Term
	want  func(p *Person) bool
	text  string // for failure messages
}

// randomQueries returns n random searches over the persons' values.
func randomQueries(r *rand.Rand, ps []*Person, n int) []query {
	pick := func() *Person { return ps[r.IntN(len(ps))] }
	cut := func(s string, min, max int) (string, int) {
		l := min + r.IntN(max-min+1)
		if l > len(s) {
			l = len(s)
		}
		return s, l
	}
	var out []query
	for len(out) < n {
		switch r.IntN(5) {
		case 0:
			s, l := cut(pick().Name, 2, 9)
			if l < 2 {
				continue
			}
			q := s[:l]
			if r.IntN(10) == 0 {
				q = "zq" + q
			}
			out = append(out, query{"NamePrefix", crypt.HasPrefix(q), func(p *Person) bool {
				return strings.HasPrefix(strings.ToLower(p.Name), strings.ToLower(q))
			}, "HasPrefix " + q})
		case 1:
			s, l := cut(pick().Name, 2, 9)
			if l < 2 {
				continue
			}
			q := s[len(s)-l:]
			out = append(out, query{"NameSuffix", crypt.HasSuffix(q), func(p *Person) bool {
				return strings.HasSuffix(strings.ToLower(p.Name), strings.ToLower(q))
			}, "HasSuffix " + q})
		case 2:
			s := pick().Name
			if len(s) < 3 {
				continue
			}
			l := 3 + r.IntN(min(len(s), 20)-2)
			start := r.IntN(len(s) - l + 1)
			q := s[start : start+l]
			out = append(out, query{"NameSub", crypt.Contains(q), func(p *Person) bool {
				return strings.Contains(strings.ToLower(p.Name), strings.ToLower(q))
			}, "Contains " + q})
		case 3:
			lo, hi := pick().Born, pick().Born
			switch r.IntN(8) {
			case 0:
				lo = ""
			case 1:
				hi = ""
			case 2:
				hi = lo // one day, a stored value
			case 3:
				lo, hi = "2011-01-01", "2020-01-01" // after every stored value
			}
			if lo > hi && hi != "" && r.IntN(3) > 0 {
				lo, hi = hi, lo // else an empty range
			}
			out = append(out, query{"BornRange", crypt.Between(lo, hi), func(p *Person) bool {
				return (lo == "" || p.Born >= lo) && (hi == "" || p.Born <= hi)
			}, "Between " + lo + " " + hi})
		case 4:
			p := pick()
			vals := []string{p.Home, p.Work}
			for _, e := range p.Emails {
				vals = append(vals, e.Address)
			}
			q := strings.ToUpper(vals[r.IntN(len(vals))])
			if r.IntN(10) == 0 {
				q = "nobody@example.com"
			}
			out = append(out, query{"reach", crypt.Equals(q), func(p *Person) bool {
				if strings.EqualFold(p.Home, q) || strings.EqualFold(p.Work, q) {
					return true
				}
				return slices.ContainsFunc(p.Emails, func(e Email) bool { return strings.EqualFold(e.Address, q) })
			}, "Equals " + q})
		}
	}
	return out
}

// TestTokenSearch: random persons in two tenants, written through every
// write path and across an index-key rotation; random searches of every
// kind find exactly what a plaintext filter finds in the tenant (no false
// negative, every false positive dropped by the filter, no row of the
// other tenant), on every dialect.
func TestTokenSearch(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testDB) {
		e := newEnv(t)
		db.createPersons(t)
		r := rand.New(rand.NewPCG(1, uint64(db.d)))
		acme := people(r, "acme", 1, 240)
		// The other tenant holds the same values, under other IDs.
		globex := people(rand.New(rand.NewPCG(1, uint64(db.d))), "globex", 1001, 240)
		// Half before an index-key rotation, half after: through
		// database/sql, and on PostgreSQL through CopyFrom and pgx too.
		db.writePersons(t, e.enc, "sql", globex...)
		if db.d == sqlcrypt.Postgres {
			db.writePersons(t, e.enc, "sql", acme[:40]...)
			db.writePersons(t, e.enc, "copy", acme[40:120]...)
			e.rotateIndexKey(t, "acme")
			db.writePersons(t, e.enc, "pgx", acme[120:180]...)
			db.writePersons(t, e.enc, "sql", acme[180:]...)
		} else {
			db.writePersons(t, e.enc, "sql", acme[:120]...)
			e.rotateIndexKey(t, "acme")
			db.writePersons(t, e.enc, "sql", acme[120:]...)
		}
		all := acme
		if got := collectAcme(t, db, e); len(got) != len(acme) {
			t.Fatalf("%d acme persons read back, %d written", len(got), len(acme))
		}

		ts, err := e.enc.Search(t.Context(), &Person{TenantID: "acme"}, "NamePrefix", crypt.HasPrefix("lov"))
		if err != nil || len(ts.Queries) != 2 {
			t.Fatalf("after the rotation, Search has %d queries (%v), want 2: the test would not cover rows of both keys", len(ts.Queries), err)
		}

		falsePositives := map[string]int{}
		matched := map[string]int{}
		queries := randomQueries(r, all, 250)
		// And for sure: a substring longer than the index's 12 n-grams,
		// which only values that overflowed can hold (its query has no
		// All: every overflowed value is a candidate); an empty range; a
		// range of one day, a stored value, as both bounds.
		for _, p := range all {
			if len(p.Name) >= 24 {
				q := p.Name[4:22]
				queries = append(queries, query{"NameSub", crypt.Contains(q), func(p *Person) bool {
					return strings.Contains(strings.ToLower(p.Name), strings.ToLower(q))
				}, "Contains (long) " + q})
				break
			}
		}
		if last := queries[len(queries)-1]; !strings.HasPrefix(last.text, "Contains (long)") {
			t.Fatal("no name long enough to overflow the substring index")
		}
		day := all[7].Born
		queries = append(queries,
			query{"BornRange", crypt.Between("2000-01-01", "1999-12-31"), func(*Person) bool { return false }, "Between (empty)"},
			query{"BornRange", crypt.Between(day, day), func(p *Person) bool { return p.Born == day }, "Between " + day + " " + day},
		)
		for i, q := range queries {
			var want []int64
			for _, p := range all {
				if q.want(p) {
					want = append(want, p.ID)
				}
			}
			got, candidates := db.search(t, e.enc, "acme", q.index, q.term, i%2 == 1)
			if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
				t.Errorf("%s: found %v, want %v (the plaintext filter)", q.text, got, want)
			}
			falsePositives[q.index] += candidates - len(got)
			matched[q.index] += len(got)
		}
		for ix := range tokenIndexes {
			if ix == "Reach" {
				ix = "reach"
			}
			if matched[ix] == 0 {
				t.Errorf("no search of %s matched a row: the test proves nothing", ix)
			}
		}
		if falsePositives["NamePrefix"]+falsePositives["NameSub"]+falsePositives["BornRange"] == 0 {
			t.Errorf("no false positive to drop: %v", falsePositives)
		}
		t.Logf("false positives dropped: %v; matches: %v", falsePositives, matched)
	})
}

// collectAcme reads back every person of tenant acme, decrypted.
func collectAcme(t testing.TB, db *testDB, e *env) []*Person {
	t.Helper()
	ps, err := db.scanPersons(t, e.enc, "SELECT * FROM persons WHERE tenant_id = 'acme' ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	out := make([]*Person, len(ps))
	for i := range ps {
		out[i] = &ps[i]
	}
	return out
}

func (db *testDB) scanPersons(t testing.TB, enc *crypt.Encryptor, query string, args ...any) ([]Person, error) {
	t.Helper()
	rows, err := db.db.QueryContext(context.Background(), query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return sqlcrypt.ScanAll[Person](context.Background(), enc, rows)
}

// assertTokensWithheld fails t unless err is the failed write of the side
// table named table, and neither its text nor a driver error in its chain
// holds one of toks: the database quotes the values of a duplicate row,
// which are tokens (MySQL in its message, PostgreSQL in the detail).
func assertTokensWithheld(t testing.TB, err error, table string, toks crypt.Tokens) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), table) {
		t.Fatalf("writing colliding keys = %v, want the database's refusal naming %s", err, table)
	}
	text := testenv.Exposed(err)
	checked := 0
	for _, tk := range toks {
		s := strconv.FormatInt(tk, 10)
		if len(s) < 8 { // too short to be told from other text
			continue
		}
		checked++
		if strings.Contains(text, s) {
			t.Fatalf("the error holds a token: %s", text)
		}
	}
	if checked == 0 {
		t.Fatalf("none of the %d tokens is long enough to look for", len(toks))
	}
}

// sideTokens reads the tokens a side table holds for key, sorted.
func (db *testDB) sideTokens(t testing.TB, table string, key any) []int64 {
	t.Helper()
	rows, err := db.db.QueryContext(context.Background(), db.d.Rebind("SELECT token FROM "+table+" WHERE id = ? ORDER BY token"), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := []int64{}
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

// TestReplaceTokensReplaces: a side table holds exactly a record's tokens
// after each write, an update that changes the record's values replaces
// them (the old ones are gone), and large token sets are written in
// batches.
func TestReplaceTokensReplaces(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testDB) {
		e := newEnv(t)
		db.createPersons(t)
		p := &Person{ID: 7, TenantID: "acme", Name: "Lovelace", Born: "1990-05-01", Home: "ada@example.com", Work: "ada@work.test"}
		db.writePersons(t, e.enc, "sql", p)
		check := func(p *Person) {
			t.Helper()
			ep := encryptPersons(t, e.enc, []*Person{p})[0]
			for ix, table := range map[string]crypt.Tokens{"persons_name_prefix": ep.NamePrefix, "persons_name_sub": ep.NameSub, "persons_reach": ep.Reach, "persons_born_range": ep.BornRange} {
				if got := db.sideTokens(t, ix, p.ID); !slices.Equal(got, []int64(table)) || len(table) == 0 {
					t.Errorf("%s holds %d tokens for %d, want its %d", ix, len(got), p.ID, len(table))
				}
			}
		}
		check(p)
		// An update: new values, new tokens, in one transaction.
		p.Name, p.Born = "Hopper", "1960-12-09"
		p.Emails = nil
		for i := range 1500 { // more than one batch of rows, even with collisions
			p.Emails = append(p.Emails, Email{Address: fmt.Sprintf("grace%d@example.com", i)})
		}
		ep := encryptPersons(t, e.enc, []*Person{p})[0]
		tx, err := db.db.BeginTx(t.Context(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(t.Context(), db.d.Rebind("UPDATE persons SET name = ?, born = ?, emails = ? WHERE id = ?"), ep.Name, ep.Born, ep.Emails, ep.ID); err != nil {
			t.Fatal(err)
		}
		if err := sqlcrypt.ReplaceTokens(t.Context(), tx, db.d, "persons", *ep); err != nil { // a value, not a pointer
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		check(p)
		if n := len(db.sideTokens(t, "persons_reach", 7)); n <= 500 {
			t.Errorf("persons_reach holds %d tokens for a set of 1502 elements, want more than one batch", n)
		}
		if got, _ := db.search(t, e.enc, "acme", "NamePrefix", crypt.HasPrefix("love"), false); len(got) != 0 {
			t.Errorf("the old name is still found: %v", got)
		}
		if got, _ := db.search(t, e.enc, "acme", "reach", crypt.Equals("grace650@example.com"), false); !slices.Equal(got, []int64{7}) {
			t.Errorf("search of the new set = %v", got)
		}
	})
}

// TestTokenSearchAttacks: tokens written into a row's side table by an
// attacker (copied from another row, or from another tenant's row) make
// it a candidate, and the filter drops it: its ciphertext is bound to its
// row and tenant, and Match compares the decrypted value and the scope.
// Deleting a row deletes its tokens.
func TestTokenSearchAttacks(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testDB) {
		e := newEnv(t)
		db.createPersons(t)
		victim := &Person{ID: 1, TenantID: "acme", Name: "Turing", Born: "1954-06-07", Home: "alan@example.com"}
		target := &Person{ID: 2, TenantID: "acme", Name: "Lovelace", Born: "1990-12-10", Home: "ada@example.com"}
		// Another tenant's row with the target's very values.
		foreign := &Person{ID: 3, TenantID: "globex", Name: "Lovelace", Born: "1990-12-10", Home: "ada@example.com"}
		db.writePersons(t, e.enc, "sql", victim, target, foreign)
		copyTokens := func(from, to int64) {
			for _, table := range tokenIndexes {
				for _, tok := range db.sideTokens(t, table, from) {
					if !slices.Contains(db.sideTokens(t, table, to), tok) {
						db.exec(t, "INSERT INTO "+table+" (id, token) VALUES (?, ?)", to, tok)
					}
				}
			}
		}
		copyTokens(2, 1) // the target's tokens, into the victim's rows
		copyTokens(2, 3) // and into the other tenant's row
		for _, c := range []struct {
			index string
			term  crypt.Term
		}{
			{"NamePrefix", crypt.HasPrefix("Love")},
			{"NameSuffix", crypt.HasSuffix("lace")},
			{"NameSub", crypt.Contains("velac")},
			{"BornRange", crypt.Between("1990-12-01", "1990-12-31")},
			{"reach", crypt.Equals("ADA@example.com")},
		} {
			got, candidates := db.search(t, e.enc, "acme", c.index, c.term, false) // fails on a row of globex
			if !slices.Equal(got, []int64{2}) {
				t.Errorf("%s %s = %v, want [2]", c.index, c.term, got)
			}
			if candidates != 2 {
				t.Errorf("%s %s: %d candidates, want the target and the victim: the planted tokens make it one", c.index, c.term, candidates)
			}
			// Were the other tenant's row a candidate (a condition ORed
			// in by the caller), the filter would still drop it: Match
			// compares the scope of the decrypted record.
			_, _, match, err := sqlcrypt.Search(t.Context(), e.enc, db.d, "persons", &Person{TenantID: "acme"}, c.index, c.term, 1)
			if err != nil {
				t.Fatal(err)
			}
			rows, err := db.scanPersons(t, e.enc, "SELECT * FROM persons ORDER BY id")
			if err != nil {
				t.Fatal(err)
			}
			var kept []int64
			for i := range rows {
				if ok, err := match.Keep(&rows[i]); err != nil || ok {
					kept = append(kept, rows[i].ID)
				}
			}
			if !slices.Equal(kept, []int64{2}) {
				t.Errorf("%s %s: the filter keeps %v of every row, want [2]", c.index, c.term, kept)
			}
		}
		// Deleting a row deletes its tokens (ON DELETE CASCADE; on SQLite
		// with foreign keys on).
		db.exec(t, "DELETE FROM persons WHERE id = ?", 1)
		for _, table := range tokenIndexes {
			if got := db.sideTokens(t, table, 1); len(got) != 0 {
				t.Errorf("%s holds %d tokens of a deleted row", table, len(got))
			}
			if got := db.sideTokens(t, table, 2); len(got) == 0 {
				t.Errorf("%s lost the tokens of another row", table)
			}
		}
	})
}

// TestSearchCondition: the condition each dialect gets for each kind.
func TestSearchCondition(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	probe := &Person{TenantID: "acme"}
	if err := e.admin.CreateKeysets(ctx, "acme", "pii"); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		d     sqlcrypt.Dialect
		index string
		term  crypt.Term
		want  string
		args  int
	}{
		{sqlcrypt.Postgres, "NamePrefix", crypt.HasPrefix("lov"), `"tenant_id" = $3 AND "id" IN (SELECT "id" FROM "persons_name_prefix" WHERE "token" = ANY($4))`, 2},
		{sqlcrypt.SQLite, "NameSuffix", crypt.HasSuffix("ace"), `"tenant_id" = ? COLLATE BINARY AND "id" IN (SELECT "id" FROM "persons_name_suffix" WHERE "token" = ?)`, 2},
		{sqlcrypt.MySQL, "reach", crypt.Equals("ada@example.com"), "`tenant_id` = ? AND CAST(CONVERT(`tenant_id` USING utf8mb4) AS BINARY) = CAST(CONVERT(? USING utf8mb4) AS BINARY) AND `id` IN (SELECT `id` FROM `persons_reach` WHERE `token` = ?)", 3},
		{sqlcrypt.Postgres, "NameSub", crypt.Contains("velac"), `"tenant_id" = $3 AND "id" IN (SELECT "id" FROM "persons_name_sub" WHERE "token" = ANY($4) UNION ALL SELECT "id" FROM "persons_name_sub" WHERE "token" = ANY($5) GROUP BY "id" HAVING COUNT(*) = 3)`, 3},
		{sqlcrypt.SQLite, "NameSub", crypt.Contains("velac"), `"tenant_id" = ? COLLATE BINARY AND "id" IN (SELECT "id" FROM "persons_name_sub" WHERE "token" = ? UNION ALL SELECT "id" FROM "persons_name_sub" WHERE "token" IN (?, ?, ?) GROUP BY "id" HAVING COUNT(*) = 3)`, 5},
		{sqlcrypt.Postgres, "BornRange", crypt.Between("2000-01-01", "1999-01-01"), `"tenant_id" = $3 AND "id" = ANY(ARRAY(SELECT "id" FROM "persons_born_range" WHERE "token" = ANY($4)))`, 2}, // 64-bit tokens: the scope's own
		{sqlcrypt.MySQL, "BornRange", crypt.Between("2000-01-01", "1999-01-01"), "1 = 0", 0},
	}
	for _, c := range cases {
		cond, args, filter, err := sqlcrypt.Search(ctx, e.enc, c.d, "persons", probe, c.index, c.term, 3)
		if err != nil || filter == nil {
			t.Fatalf("Search(%v, %s): %v", c.d, c.index, err)
		}
		if cond != c.want || len(args) != c.args {
			t.Errorf("Search(%v, %s, %v) =\n%s (%d args)\nwant\n%s (%d args)", c.d, c.index, c.term, cond, len(args), c.want, c.args)
		}
	}
	// A range's condition on MySQL: an IN list of the cover's tokens.
	cond, args, _, err := sqlcrypt.Search(ctx, e.enc, sqlcrypt.MySQL, "crm.persons", probe, "BornRange", crypt.Between("1990-01-01", "1999-12-31"), 1)
	if err != nil || !strings.Contains(cond, "`id` IN (SELECT `id` FROM `crm`.`persons_born_range` WHERE `token` IN (?, ?") || len(args) < 4 {
		t.Errorf("range on MySQL = %s, %d args, %v", cond, len(args), err)
	}
	t.Logf("range on MySQL: %s", cond)
	// And on PostgreSQL, a range that holds values: its cover's tokens in
	// one array, the candidates gathered first.
	cond, args, _, err = sqlcrypt.Search(ctx, e.enc, sqlcrypt.Postgres, "persons", probe, "BornRange", crypt.Between("1990-01-01", "1999-12-31"), 1)
	want := `"tenant_id" = $1 AND "id" = ANY(ARRAY(SELECT "id" FROM "persons_born_range" WHERE "token" = ANY($2)))`
	if err != nil || cond != want || len(args) != 2 {
		t.Fatalf("range on PostgreSQL = %s, %d args, %v; want %s", cond, len(args), err, want)
	}
	if toks, _ := args[1].([]int64); len(toks) < 2 {
		t.Errorf("range on PostgreSQL: the cover's tokens are %v, want several", args[1])
	}
}

// Refused shapes.

type twoIDs struct {
	_       struct{}     `crypt:"record=two"`
	Org     string       `db:"org" crypt:"id"`
	ID      int64        `db:"id" crypt:"id"`
	Name    string       `db:"name" crypt:"encrypt"`
	NamePre crypt.Tokens `db:"-" crypt:"prefix=Name,len=2..4,bits=8"`
}

type tokensAsColumn struct {
	_       struct{}     `crypt:"record=col"`
	ID      int64        `db:"id" crypt:"id"`
	Name    string       `db:"name" crypt:"encrypt"`
	NamePre crypt.Tokens `crypt:"prefix=Name,len=2..4,bits=8"`
}

type tokensGormOnly struct {
	_       struct{}     `crypt:"record=col"`
	ID      int64        `db:"id" crypt:"id"`
	Name    string       `db:"name" crypt:"encrypt"`
	NamePre crypt.Tokens `gorm:"-" crypt:"prefix=Name,len=2..4,bits=8"`
}

type stringKey struct {
	_        struct{}     `crypt:"record=note"`
	ID       string       `db:"id" crypt:"id"`
	TenantID string       `db:"tenant_id" crypt:"scope"`
	Title    string       `db:"title" crypt:"encrypt,class=pii"`
	TitlePre crypt.Tokens `db:"-" crypt:"prefix=Title,len=2..4,bits=8,transform=lower"`
}

// sharedSideTable has two token indexes whose side tables would be one
// (<table>_id_prefix).
type sharedSideTable struct {
	_        struct{}     `crypt:"record=codes"`
	ID       string       `db:"id" crypt:"id"`
	Code     string       `db:"code" crypt:"encrypt"`
	IDPrefix crypt.Tokens `db:"-" crypt:"prefix=Code,len=2..4,bits=8"`
	IdPrefix crypt.Tokens `db:"-" crypt:"suffix=Code,len=2..4,bits=8"`
}

func TestTokenStorageRefusals(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	if err := e.admin.CreateKeysets(ctx, "acme", "pii"); err != nil {
		t.Fatal(err)
	}
	var tse *sqlcrypt.TokenStorageError
	if _, err := sqlcrypt.TokenTableDDL(sqlcrypt.Postgres, "twos", &twoIDs{}); !errors.As(err, &tse) || !errors.Is(err, sqlcrypt.ErrTokenStorage) || !strings.Contains(err.Error(), "several identity fields") {
		t.Errorf("TokenTableDDL(two ids) = %v, want a TokenStorageError about composite keys", err)
	}
	if _, _, _, err := sqlcrypt.Search(ctx, e.enc, sqlcrypt.Postgres, "twos", &twoIDs{}, "NamePre", crypt.HasPrefix("ab"), 1); !errors.As(err, &tse) {
		t.Errorf("Search(two ids) = %v, want a TokenStorageError", err)
	}
	if _, err := sqlcrypt.TokenTableDDL(sqlcrypt.Postgres, "codes", &sharedSideTable{}); !errors.As(err, &tse) || tse.Index != "IdPrefix" || !strings.Contains(err.Error(), "IDPrefix") {
		t.Errorf("TokenTableDDL(two indexes, one side table) = %v, want a TokenStorageError naming both", err)
	}
	for _, v := range []any{&tokensAsColumn{}, &tokensGormOnly{}} {
		var ce *sqlcrypt.ColumnError
		_, err := sqlcrypt.TokenTableDDL(sqlcrypt.Postgres, "cols", v)
		if !errors.As(err, &ce) || ce.Column != "name_pre" || !strings.Contains(err.Error(), `NamePre`) || !strings.Contains(err.Error(), `db:"-"`) {
			t.Errorf("TokenTableDDL(%T) = %v, want a ColumnError naming the field", v, err)
		}
	}
	for _, table := range []string{"", "a.b.c", `per"sons`, "persons; DROP TABLE x"} {
		if _, err := sqlcrypt.TokenTableDDL(sqlcrypt.SQLite, table, &Person{}); !errors.As(err, &tse) {
			t.Errorf("TokenTableDDL(%q) = %v, want a TokenStorageError", table, err)
		}
	}
	if _, err := sqlcrypt.TokenTableDDL(sqlcrypt.SQLite, "persons", &Person{}, "Nope"); !errors.Is(err, crypt.ErrUnknownIndex) {
		t.Errorf("TokenTableDDL(unknown index) = %v", err)
	}
	if _, err := sqlcrypt.TokenTableDDL(sqlcrypt.SQLite, "contacts", &Contact{}); !errors.As(err, &tse) {
		t.Errorf("TokenTableDDL(no token index) = %v", err)
	}
	ddl, err := sqlcrypt.TokenTableDDL(sqlcrypt.MySQL, "notes", &stringKey{}, "TitlePre")
	if err != nil || len(ddl) != 1 || !strings.Contains(ddl[0], "`id` VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL") {
		t.Errorf("TokenTableDDL(MySQL, string key) = %q, %v", ddl, err)
	}
	// Search errors: a term of another kind, a query too short.
	var se *crypt.SearchError
	if _, _, _, err := sqlcrypt.Search(ctx, e.enc, sqlcrypt.SQLite, "persons", &Person{TenantID: "acme"}, "NamePrefix", crypt.Contains("abc"), 1); !errors.As(err, &se) || !errors.Is(err, crypt.ErrWrongTerm) {
		t.Errorf("Search(wrong term) = %v", err)
	}
	if _, _, _, err := sqlcrypt.Search(ctx, e.enc, sqlcrypt.SQLite, "persons", &Person{TenantID: "acme"}, "NamePrefix", crypt.HasPrefix("a"), 1); !errors.As(err, &se) {
		t.Errorf("Search(query too short) = %v", err)
	}
	var le *sqlcrypt.LookupError
	if _, _, _, err := sqlcrypt.Search(ctx, e.enc, 0, "persons", &Person{TenantID: "acme"}, "NamePrefix", crypt.HasPrefix("ab"), 1); !errors.As(err, &le) {
		t.Errorf("Search(no dialect) = %v", err)
	}
	if _, _, _, err := sqlcrypt.Search(ctx, e.enc, sqlcrypt.SQLite, "persons", &Person{TenantID: "acme"}, "NamePrefix", crypt.HasPrefix("ab"), 0); !errors.As(err, &le) {
		t.Errorf("Search(firstArg 0) = %v", err)
	}

	// Writes: a record that was not encrypted, a zero key.
	db := openDB(t, sqlcrypt.SQLite)
	db.createPersons(t)
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	plain := &Person{ID: 1, TenantID: "acme", Name: "Lovelace", Born: "1990-01-01"}
	var re *sqlcrypt.RowError
	if err := sqlcrypt.ReplaceTokens(ctx, tx, sqlcrypt.SQLite, "persons", plain); !errors.As(err, &re) || !errors.As(err, &tse) || !strings.Contains(err.Error(), "plaintext") {
		t.Errorf("ReplaceTokens(plaintext record) = %v", err)
	}
	zero := encryptPersons(t, e.enc, []*Person{{ID: 9, TenantID: "acme", Name: "Lovelace", Born: "1990-01-01"}})
	zero[0].ID = 0 // Encrypt refuses a zero key (crypt.ErrMissingIdentity): zeroed after
	if err := sqlcrypt.ReplaceTokens(ctx, tx, sqlcrypt.SQLite, "persons", zero...); !errors.As(err, &re) || !strings.Contains(err.Error(), "zero") {
		t.Errorf("ReplaceTokens(zero key) = %v", err)
	}
	twice := encryptPersons(t, e.enc, []*Person{{ID: 5, TenantID: "acme", Name: "A", Born: "1990-01-01"}, {ID: 5, TenantID: "acme", Name: "B", Born: "1990-01-01"}})
	if err := sqlcrypt.ReplaceTokens(ctx, tx, sqlcrypt.SQLite, "persons", twice...); !errors.As(err, &re) || re.Row != 1 {
		t.Errorf("ReplaceTokens(one key twice) = %v", err)
	}
	if err := sqlcrypt.ReplaceTokens(ctx, tx, sqlcrypt.SQLite, "persons", (*Person)(nil)); err == nil {
		t.Errorf("ReplaceTokens(nil) = nil")
	}
	// A record type without token indexes writes nothing.
	if err := sqlcrypt.ReplaceTokens(ctx, tx, sqlcrypt.SQLite, "contacts", &Contact{ID: 1}); err != nil {
		t.Errorf("ReplaceTokens(no token index) = %v", err)
	}
}

// TestStringKeys: a record whose identity is a string, on every dialect:
// the side table's key is text (on MySQL a binary VARCHAR, which needs the
// table's id column in the same collation), and keys that differ only in
// case (or, except under MySQL's PAD SPACE collations, trailing spaces)
// are other rows. A rewrite leaves exactly the new tokens in the side
// table for its key, and the rows of a key that differs in case alone.
func TestStringKeys(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testDB) {
		e := newEnv(t)
		ctx := t.Context()
		idType := "TEXT"
		if db.d == sqlcrypt.MySQL {
			idType = "VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
		}
		db.exec(t, "CREATE TABLE notes (id "+idType+" PRIMARY KEY, tenant_id VARCHAR(64) NOT NULL, title VARCHAR(255) NOT NULL)")
		ddl, err := sqlcrypt.TokenTableDDL(db.d, "notes", &stringKey{})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range ddl {
			db.exec(t, s)
		}
		notes := []*stringKey{
			{ID: "n1", TenantID: "acme", Title: "Quarterly plan"},
			{ID: "N1", TenantID: "acme", Title: "Quarrel"},
		}
		if db.d != sqlcrypt.MySQL {
			// utf8mb4_bin pads with spaces: MySQL's primary key takes
			// "n1 " for "n1" too, and so does its side table.
			notes = append(notes, &stringKey{ID: "n1 ", TenantID: "acme", Title: "Other"})
		}
		tx, err := db.db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		var es []*stringKey
		for _, n := range notes {
			en, err := crypt.Encrypted(ctx, e.enc, n)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tx.ExecContext(ctx, db.d.Rebind("INSERT INTO notes VALUES (?, ?, ?)"), en.ID, en.TenantID, en.Title); err != nil {
				t.Fatal(err)
			}
			es = append(es, en)
		}
		if err := sqlcrypt.ReplaceTokens(ctx, tx, db.d, "notes", es...); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		cond, args, match, err := sqlcrypt.Search(ctx, e.enc, db.d, "notes", &stringKey{TenantID: "acme"}, "TitlePre", crypt.HasPrefix("QUAR"), 1)
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
			got = append(got, n.ID)
		}
		slices.Sort(got)
		if !slices.Equal(got, []string{"N1", "n1"}) {
			t.Errorf("found %q, want N1 and n1", got)
		}

		// A rewrite of n1 replaces its side-table rows, and only its own:
		// N1, a key that differs in case only, keeps its tokens.
		re, err := crypt.Encrypted(ctx, e.enc, &stringKey{ID: "n1", TenantID: "acme", Title: "Roadmap"})
		if err != nil {
			t.Fatal(err)
		}
		tx, err = db.db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, db.d.Rebind("UPDATE notes SET title = ? WHERE id = ?"), re.Title, re.ID); err != nil {
			t.Fatal(err)
		}
		if err := sqlcrypt.ReplaceTokens(ctx, tx, db.d, "notes", re); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if got := db.sideTokens(t, "notes_title_pre", "n1"); !slices.Equal(got, []int64(re.TitlePre)) || len(got) == 0 {
			t.Errorf("side table rows of the rewritten n1 = %d tokens, want exactly its %d new ones", len(got), len(re.TitlePre))
		}
		if got := db.sideTokens(t, "notes_title_pre", "N1"); !slices.Equal(got, []int64(es[1].TitlePre)) || len(got) == 0 {
			t.Errorf("side table rows of N1 after n1's rewrite = %d tokens, want its %d", len(got), len(es[1].TitlePre))
		}

		if db.d == sqlcrypt.MySQL {
			// Two keys Go tells apart and MySQL's PAD SPACE collation
			// does not: the side table refuses the second one's rows as
			// duplicates, in an error that withholds the tokens MySQL
			// quotes, and nothing is written.
			twin := *re
			twin.ID = "n1 "
			tx, err := db.db.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = sqlcrypt.ReplaceTokens(ctx, tx, db.d, "notes", re, &twin)
			tx.Rollback() //nolint:errcheck // the write failed
			assertTokensWithheld(t, err, "notes_title_pre", re.TitlePre)
			var me *mysql.MySQLError
			if !errors.As(err, &me) || me.Number != 1062 {
				t.Errorf("error = %v, want MySQL's duplicate entry (1062)", err)
			}
			if got := db.sideTokens(t, "notes_title_pre", "n1"); !slices.Equal(got, []int64(re.TitlePre)) {
				t.Errorf("side table rows of n1 after a failed write = %d tokens, want its %d", len(got), len(re.TitlePre))
			}
		}
	})
}

// copierOnly is a Copier with no Begin method.
type copierOnly struct{ sqlcrypt.Copier }

// TestCopyFromTokens: CopyFrom copies the records' tokens in the
// transaction that copies them, also inside a caller's transaction; a
// column list without the identity column, or a Copier that cannot begin
// a transaction, is refused before anything is sent.
func TestCopyFromTokens(t *testing.T) {
	db := openDB(t, sqlcrypt.Postgres)
	e := newEnv(t)
	ctx := t.Context()
	db.createPersons(t)
	ps := people(rand.New(rand.NewPCG(3, 3)), "acme", 1, 20)
	var tse *sqlcrypt.TokenStorageError
	// (Person binds its id into its ciphertexts, which CopyFrom checks
	// first; a record without encrypted columns gets the side tables'
	// refusal.)
	if _, err := sqlcrypt.CopyFrom(ctx, e.enc, db.pool, pgx.Identifier{"persons"}, personColumns[1:], ps); err == nil || !strings.Contains(err.Error(), `"id"`) {
		t.Errorf("CopyFrom without the id column = %v", err)
	}
	if _, err := sqlcrypt.CopyFrom(ctx, e.enc, copierOnly{db.pool}, pgx.Identifier{"persons"}, personColumns, ps); !errors.As(err, &tse) {
		t.Errorf("CopyFrom through a Copier without Begin = %v", err)
	}
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := sqlcrypt.CopyFrom(ctx, e.enc, tx, pgx.Identifier{"persons"}, personColumns, ps); err != nil || n != 20 {
		t.Fatalf("CopyFrom in a transaction = %d, %v", n, err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.pool.QueryRow(ctx, "SELECT (SELECT COUNT(*) FROM persons) + (SELECT COUNT(*) FROM persons_name_prefix)").Scan(&n); err != nil || n != 0 {
		t.Errorf("after the caller's rollback: %d rows, %v", n, err)
	}
	// A record that fails to encrypt aborts the copy: nothing written.
	bad := append([]*Person(nil), ps...)
	bad = append(bad, &Person{ID: 99, TenantID: "acme", Name: "x", Born: "1800-01-01"})
	var re *sqlcrypt.RowError
	if _, err := sqlcrypt.CopyFrom(ctx, e.enc, db.pool, pgx.Identifier{"persons"}, personColumns, bad); !errors.As(err, &re) || re.Row != 20 {
		t.Errorf("CopyFrom of a record out of the range domain = %v", err)
	}
	if err := db.pool.QueryRow(ctx, "SELECT (SELECT COUNT(*) FROM persons) + (SELECT COUNT(*) FROM persons_name_prefix)").Scan(&n); err != nil || n != 0 {
		t.Errorf("after a failed copy: %d rows, %v", n, err)
	}
	if n, err := sqlcrypt.CopyFrom(ctx, e.enc, db.pool, pgx.Identifier{"persons"}, personColumns, ps); err != nil || n != 20 {
		t.Fatalf("CopyFrom = %d, %v", n, err)
	}
	for _, p := range ps {
		ep := encryptPersons(t, e.enc, []*Person{p})[0]
		if got := db.sideTokens(t, "persons_name_sub", p.ID); !slices.Equal(got, []int64(ep.NameSub)) {
			t.Errorf("persons_name_sub holds %d tokens for %d, want %d", len(got), p.ID, len(ep.NameSub))
		}
	}
}
