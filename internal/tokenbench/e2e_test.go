package tokenbench

import (
	"context"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/internal/testenv"
	"github.com/fieldcrypt/fieldcrypt/internal/testkeys"
	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/sqlcrypt"
)

// The end-to-end benchmark's size. The library's search and the plaintext
// query run e2eWarmup+e2eRuns times per query; decrypt-and-filter, which
// takes seconds, runs decryptRuns measured times (and once unmeasured),
// spread over the same runs.
const (
	e2eWarmup, e2eRuns = 10, 100
	decryptRuns        = 6
	// e2eWriteRows rows are written for each record type, in
	// transactions of txRows, e2eTurnRows at a time before the next
	// type takes its turn.
	e2eWriteRows, e2eTurnRows = 10_000, 500
	// copyChunk records go in one sqlcrypt.CopyFrom call of the load.
	copyChunk = 50_000
	tenant    = "acme"
)

// benchContact is the record the service stores: three encrypted fields,
// an equality blind index on the e-mail address and the three token
// indexes, in side tables of their own.
type benchContact struct {
	_            struct{}     `crypt:"record=contact"`
	ID           int64        `db:"id" crypt:"id"`
	TenantID     string       `db:"tenant_id" crypt:"scope"`
	LastName     string       `db:"last_name" crypt:"encrypt,class=pii"`
	Email        string       `db:"email" crypt:"encrypt,class=pii"`
	EmailIdx     string       `db:"email_idx" crypt:"blind=Email,transform=lower,bits=32"`
	Created      string       `db:"created" crypt:"encrypt,class=pii"` // "2006-01-02"
	NamePrefix   crypt.Tokens `db:"-" crypt:"prefix=LastName,len=3..8,transform=lower,bits=13"`
	EmailGrams   crypt.Tokens `db:"-" crypt:"substring=Email,transform=lower"`
	CreatedRange crypt.Tokens `db:"-" crypt:"range=Created,type=date,min=2021-01-01,max=2025-12-31"`
}

// The record types of the write measurement: the same encrypted fields,
// with one index each.
type eqOnlyContact struct {
	_        struct{} `crypt:"record=contact"`
	ID       int64    `db:"id" crypt:"id"`
	TenantID string   `db:"tenant_id" crypt:"scope"`
	LastName string   `db:"last_name" crypt:"encrypt,class=pii"`
	Email    string   `db:"email" crypt:"encrypt,class=pii"`
	EmailIdx string   `db:"email_idx" crypt:"blind=Email,transform=lower,bits=32"`
	Created  string   `db:"created" crypt:"encrypt,class=pii"`
}

type prefixOnlyContact struct {
	_          struct{}     `crypt:"record=contact"`
	ID         int64        `db:"id" crypt:"id"`
	TenantID   string       `db:"tenant_id" crypt:"scope"`
	LastName   string       `db:"last_name" crypt:"encrypt,class=pii"`
	Email      string       `db:"email" crypt:"encrypt,class=pii"`
	Created    string       `db:"created" crypt:"encrypt,class=pii"`
	NamePrefix crypt.Tokens `db:"-" crypt:"prefix=LastName,len=3..8,transform=lower,bits=13"`
}

type substringOnlyContact struct {
	_          struct{}     `crypt:"record=contact"`
	ID         int64        `db:"id" crypt:"id"`
	TenantID   string       `db:"tenant_id" crypt:"scope"`
	LastName   string       `db:"last_name" crypt:"encrypt,class=pii"`
	Email      string       `db:"email" crypt:"encrypt,class=pii"`
	Created    string       `db:"created" crypt:"encrypt,class=pii"`
	EmailGrams crypt.Tokens `db:"-" crypt:"substring=Email,transform=lower"`
}

type rangeOnlyContact struct {
	_            struct{}     `crypt:"record=contact"`
	ID           int64        `db:"id" crypt:"id"`
	TenantID     string       `db:"tenant_id" crypt:"scope"`
	LastName     string       `db:"last_name" crypt:"encrypt,class=pii"`
	Email        string       `db:"email" crypt:"encrypt,class=pii"`
	Created      string       `db:"created" crypt:"encrypt,class=pii"`
	CreatedRange crypt.Tokens `db:"-" crypt:"range=Created,type=date,min=2021-01-01,max=2025-12-31"`
}

// e2e is the state of one end-to-end run.
type e2e struct {
	t        *testing.T
	ctx      context.Context
	pool     *pgxpool.Pool
	enc      *crypt.Encryptor
	contacts []contact

	phases   []phaseTime
	searches []searchResult
	writes   []e2eWrite
	storage  []e2eStorage
	loadRow  time.Duration
	saved    []savedDef
}

// TestLibrarySearch measures the library end to end on a million
// contacts: sqlcrypt.Search + pgx + sqlcrypt.CollectRows against
// decrypting every row and filtering, and against the same query on
// plaintext columns; then the write cost and storage of each index type
// against an equality-only row. doc.go says how to run it.
func TestLibrarySearch(t *testing.T) {
	if os.Getenv("FIELDCRYPT_TOKENBENCH") != "1" {
		t.Skip("the end-to-end token benchmark runs only with FIELDCRYPT_TOKENBENCH=1 (about twenty minutes, see doc.go)")
	}
	e := &e2e{t: t, ctx: t.Context()}
	e.pool = openPool(t, testenv.PostgresSchema(t, "tokenbench"))
	opener, keks := testkeys.KEKs(t, "pii")
	kr, err := keyring.New(keyring.Config{Store: keyring.NewMemoryStore(), Opener: opener, KEKs: keks, DefaultKEK: keks["pii"]})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kr.Close() })
	e.enc = crypt.New(kr, nil)
	for _, v := range []any{&benchContact{}, &eqOnlyContact{}, &prefixOnlyContact{}, &substringOnlyContact{}, &rangeOnlyContact{}} {
		if err := crypt.Validate(v); err != nil {
			t.Fatalf("record type: %v", err)
		}
	}

	pop := newPopulation(seed)
	e.phase("generate contacts", func() {
		n := contactCount
		if v, err := strconv.Atoi(os.Getenv("FIELDCRYPT_TOKENBENCH_ROWS")); err == nil && v > 0 {
			n = v // a smaller run, to try the benchmark out
		}
		e.contacts = make([]contact, n)
		for i := range e.contacts {
			e.contacts[i] = pop.contact(int64(i + 1))
		}
	})
	e.phase("load (sqlcrypt.CopyFrom, plaintext copy)", e.load)
	e.phase("build indexes and constraints", e.buildIndexes)
	e.phase("vacuum analyze", func() {
		e.exec(`VACUUM ANALYZE contacts, contacts_plain, contacts_name_prefix, contacts_email_grams, contacts_created_range`)
	})
	e.phase("searches", e.measureSearches)
	e.phase("writes", func() {
		fresh := make([]contact, 4*e2eWriteRows)
		for i := range fresh {
			fresh[i] = pop.contact(int64(len(e.contacts) + 1 + i))
		}
		e.measureWrites(fresh)
	})
	e.phase("storage", e.measureStorage)
	e.printReport()
}

func (e *e2e) phase(name string, step func()) {
	e.t.Logf("%s: starting (load average %s)", name, loadAverage())
	start := time.Now()
	step()
	p := phaseTime{name: name, took: time.Since(start).Round(100 * time.Millisecond), loadAvg: loadAverage()}
	e.phases = append(e.phases, p)
	e.t.Logf("%s: %v (load average %s)", name, p.took, p.loadAvg)
}

func (e *e2e) exec(sql string, args ...any) {
	e.t.Helper()
	if _, err := e.pool.Exec(e.ctx, sql, args...); err != nil {
		e.t.Fatalf("%s: %v", sql, err)
	}
}

func dateOf(day int) string { return epoch.AddDate(0, 0, day).Format(time.DateOnly) }

func (c *contact) record() benchContact {
	return benchContact{ID: c.id, TenantID: tenant, LastName: c.lastName, Email: c.email, Created: dateOf(c.day)}
}

// mainColumns are the encrypted table's columns, in the order the search
// and CopyFrom use.
var mainColumns = []string{"id", "tenant_id", "last_name", "email", "email_idx", "created"}

// createMain creates a table of encrypted contacts with its primary key
// and the blind index's index, and the side tables of record's token
// indexes as sqlcrypt.TokenTableDDL writes them.
func (e *e2e) createMain(table string, record any, withEmailIdx bool) {
	idx := ""
	if withEmailIdx {
		idx = `, email_idx text NOT NULL`
	}
	e.exec(`CREATE TABLE ` + table + ` (id bigint PRIMARY KEY, tenant_id text NOT NULL, last_name text NOT NULL,
		email text NOT NULL` + idx + `, created text NOT NULL)`)
	if withEmailIdx {
		e.exec(`CREATE INDEX ` + table + `_email_idx ON ` + table + ` (tenant_id, email_idx)`)
	}
	ddl, err := sqlcrypt.TokenTableDDL(sqlcrypt.Postgres, table, record)
	if err != nil {
		if _, ok := record.(*eqOnlyContact); ok {
			return
		}
		e.t.Fatalf("TokenTableDDL %s: %v", table, err)
	}
	for _, s := range ddl {
		e.t.Logf("DDL: %s", s)
		e.exec(s)
	}
}

// savedDef is a constraint or index dropped for the bulk load and
// restored, by its own definition, after it.
type savedDef struct {
	table, name, def string
	index            bool
}

// load creates the encrypted table and its side tables exactly as the
// library's DDL has them, drops their constraints and indexes for the
// bulk load (restored by buildIndexes from their own definitions), and
// copies the contacts with sqlcrypt.CopyFrom, which encrypts each and
// copies its tokens, on two connections; then the plaintext copy.
func (e *e2e) load() {
	e.createMain("contacts", &benchContact{}, true)
	var saved []savedDef
	rows, err := e.pool.Query(e.ctx, `SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
		WHERE conrelid = ANY($1::regclass[]) ORDER BY contype = 'f', conrelid::regclass::text`,
		[]string{"contacts", "contacts_name_prefix", "contacts_email_grams", "contacts_created_range"})
	if err != nil {
		e.t.Fatal(err)
	}
	for rows.Next() {
		var d savedDef
		if err := rows.Scan(&d.table, &d.name, &d.def); err != nil {
			e.t.Fatal(err)
		}
		saved = append(saved, d)
	}
	if rows.Err() != nil {
		e.t.Fatal(rows.Err())
	}
	rows, err = e.pool.Query(e.ctx, `SELECT i.indrelid::regclass::text, i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i
		WHERE i.indrelid = ANY($1::regclass[]) AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)`,
		[]string{"contacts", "contacts_name_prefix", "contacts_email_grams", "contacts_created_range"})
	if err != nil {
		e.t.Fatal(err)
	}
	for rows.Next() {
		d := savedDef{index: true}
		if err := rows.Scan(&d.table, &d.name, &d.def); err != nil {
			e.t.Fatal(err)
		}
		saved = append(saved, d)
	}
	if rows.Err() != nil {
		e.t.Fatal(rows.Err())
	}
	for i := len(saved) - 1; i >= 0; i-- { // foreign keys first
		d := saved[i]
		e.t.Logf("dropped for the load, restored after it: %s %s: %s", d.table, d.name, d.def)
		if d.index {
			e.exec(`DROP INDEX ` + d.name)
		} else {
			e.exec(`ALTER TABLE ` + d.table + ` DROP CONSTRAINT ` + d.name)
		}
	}
	e.saved = saved

	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for w := range 2 {
		wg.Go(func() {
			for from := w * copyChunk; from < len(e.contacts); from += 2 * copyChunk {
				to := min(from+copyChunk, len(e.contacts))
				recs := make([]benchContact, 0, to-from)
				for i := from; i < to; i++ {
					recs = append(recs, e.contacts[i].record())
				}
				if _, err := sqlcrypt.CopyFrom(e.ctx, e.enc, e.pool, pgx.Identifier{"contacts"}, mainColumns, recs); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		e.t.Fatalf("sqlcrypt.CopyFrom: %v", err)
	}
	e.loadRow = time.Since(start) / time.Duration(len(e.contacts))
	e.t.Logf("sqlcrypt.CopyFrom of %d contacts on two connections: %v", len(e.contacts), time.Since(start).Round(time.Millisecond))

	e.exec(`CREATE TABLE contacts_plain (id bigint NOT NULL, tenant_id text NOT NULL, last_name text NOT NULL, email text NOT NULL, created date NOT NULL)`)
	if _, err := e.pool.CopyFrom(e.ctx, pgx.Identifier{"contacts_plain"}, []string{"id", "tenant_id", "last_name", "email", "created"},
		pgx.CopyFromSlice(len(e.contacts), func(i int) ([]any, error) {
			c := &e.contacts[i]
			return []any{c.id, tenant, c.lastName, c.email, c.created()}, nil
		})); err != nil {
		e.t.Fatalf("COPY contacts_plain: %v", err)
	}
}

// buildIndexes restores the encrypted tables' constraints and indexes and
// builds the plaintext copy's.
func (e *e2e) buildIndexes() {
	for _, d := range e.saved {
		start := time.Now()
		if d.index {
			e.exec(d.def)
		} else {
			e.exec(`ALTER TABLE ` + d.table + ` ADD CONSTRAINT ` + d.name + ` ` + d.def)
		}
		e.t.Logf("restored %s %s: %v", d.table, d.name, time.Since(start).Round(time.Millisecond))
	}
	e.exec(`ALTER TABLE contacts_plain ADD PRIMARY KEY (id)`)
	e.exec(`CREATE INDEX contacts_plain_last_name ON contacts_plain (lower(last_name) text_pattern_ops)`)
	b := &bench{t: e.t, ctx: e.ctx, pool: e.pool}
	e.exec(`CREATE INDEX contacts_plain_email ON contacts_plain USING gin (lower(email) ` + b.trigramOpclass() + `)`)
	e.exec(`CREATE INDEX contacts_plain_created ON contacts_plain (created)`)
}

// e2eQuery is one search: the library's term, the plaintext query and
// the predicate decrypt-and-filter applies.
type e2eQuery struct {
	name, index, column string
	plainSQL            string
	// draw returns one run's term, plaintext arguments and predicate.
	draw func(r *rand.Rand, cs []contact) (crypt.Term, []any, func(*benchContact) bool, string)
}

var e2eQueries = []e2eQuery{
	{
		name: "prefix, 3 letters of a last name", index: "NamePrefix", column: "last_name",
		plainSQL: `SELECT id FROM contacts_plain WHERE tenant_id = $1 AND lower(last_name) LIKE $2`,
		draw: func(r *rand.Rand, cs []contact) (crypt.Term, []any, func(*benchContact) bool, string) {
			p := strings.ToLower(cs[r.IntN(len(cs))].lastName[:3])
			return crypt.HasPrefix(p), []any{tenant, escapeLike(p) + "%"},
				func(c *benchContact) bool { return strings.HasPrefix(strings.ToLower(c.LastName), p) }, p
		},
	},
	{
		name: "substring, 5 characters of an e-mail", index: "EmailGrams", column: "email",
		plainSQL: `SELECT id FROM contacts_plain WHERE tenant_id = $1 AND lower(email) LIKE $2`,
		draw: func(r *rand.Rand, cs []contact) (crypt.Term, []any, func(*benchContact) bool, string) {
			email := strings.ToLower(cs[r.IntN(len(cs))].email)
			at := r.IntN(len(email) - 4)
			s := email[at : at+5]
			return crypt.Contains(s), []any{tenant, "%" + escapeLike(s) + "%"},
				func(c *benchContact) bool { return strings.Contains(strings.ToLower(c.Email), s) }, s
		},
	},
	{
		name: "range, one month of five years", index: "CreatedRange", column: "created",
		plainSQL: `SELECT id FROM contacts_plain WHERE tenant_id = $1 AND created BETWEEN $2 AND $3`,
		draw: func(r *rand.Rand, cs []contact) (crypt.Term, []any, func(*benchContact) bool, string) {
			ms := months()
			m := ms[r.IntN(len(ms))]
			from, to := dateOf(m.from), dateOf(m.to)
			return crypt.Between(from, to), []any{tenant, epoch.AddDate(0, 0, m.from), epoch.AddDate(0, 0, m.to)},
				func(c *benchContact) bool { return c.Created >= from && c.Created <= to }, from + ".." + to
		},
	},
}

// searchResult is one contender's latencies on one query.
type searchResult struct {
	query, contender string
	p50, p99         time.Duration
	runs             int
	meanRows         int
	maxRows          int
	meanCandidates   int
	maxCandidates    int
}

const (
	library       = "library: Search + CollectRows"
	decryptAll    = "decrypt every row's searched column and filter"
	decryptRecord = "decrypt every whole record and filter"
	plainQuery    = "plaintext query"
)

// The contenders, in the order of e.searches for each query.
const (
	cLibrary, cDecryptAll, cDecryptRecord, cPlain, contenders = 0, 1, 2, 3, 4
)

// measureSearches runs, for each query, the library's search and the
// plaintext query e2eWarmup+e2eRuns times with fresh parameters, and
// the two decrypt-and-filter contenders on decryptRuns+1 of those runs (the first
// unmeasured), the contenders one after the other in an order that
// rotates from run to run, on one connection. Every run checks that the
// library returns exactly the plaintext query's ids, as does
// decrypt-and-filter.
func (e *e2e) measureSearches() {
	conn, err := e.pool.Acquire(e.ctx)
	if err != nil {
		e.t.Fatalf("acquire: %v", err)
	}
	defer conn.Release()
	r := rand.New(rand.NewPCG(seed, 1))
	every := e2eRuns / decryptRuns
	for _, q := range e2eQueries {
		var lat [contenders][]time.Duration
		var rows, cands [contenders][]int
		for run := range e2eWarmup + e2eRuns {
			term, plainArgs, pred, shown := q.draw(r, e.contacts)
			measured := run >= e2eWarmup
			withDecrypt := run == 0 || (measured && (run-e2eWarmup)%every == every/2 && len(lat[cDecryptAll]) < decryptRuns)
			var ids [contenders][]int64
			var cand [contenders]int
			for turn := range contenders {
				c := (run + turn) % contenders
				if (c == cDecryptAll || c == cDecryptRecord) && !withDecrypt {
					continue
				}
				start := time.Now()
				switch c {
				case cLibrary:
					ids[c], cand[c] = e.librarySearch(conn.Conn(), q, term)
				case cDecryptAll:
					ids[c], cand[c] = e.decryptAndFilter(conn.Conn(), q, pred)
				case cDecryptRecord:
					ids[c], cand[c] = e.decryptRecordsAndFilter(conn.Conn(), q, pred)
				case cPlain:
					ids[c] = e.plaintext(conn.Conn(), q, plainArgs)
					cand[c] = len(ids[c])
				}
				took := time.Since(start)
				if measured {
					lat[c] = append(lat[c], took)
					rows[c] = append(rows[c], len(ids[c]))
					cands[c] = append(cands[c], cand[c])
				}
			}
			if !slices.Equal(ids[cLibrary], ids[cPlain]) {
				e.t.Errorf("%s %q: the library found %d rows, the plaintext query %d, or other ids", q.name, shown, len(ids[cLibrary]), len(ids[cPlain]))
			}
			for _, c := range []int{cDecryptAll, cDecryptRecord} {
				if withDecrypt && !slices.Equal(ids[c], ids[cPlain]) {
					e.t.Errorf("%s %q: decrypt-and-filter (contender %d) found %d rows, the plaintext query %d, or other ids", q.name, shown, c, len(ids[c]), len(ids[cPlain]))
				}
			}
		}
		term, plainArgs, _, shown := q.draw(r, e.contacts)
		e.logPlan(conn.Conn(), q, term, plainArgs, shown)
		for c, name := range []string{library, decryptAll, decryptRecord, plainQuery} {
			s := searchResult{query: q.name, contender: name, runs: len(lat[c]),
				p50: percentile(lat[c], 50), p99: percentile(lat[c], 99),
				meanRows: mean(rows[c]), maxRows: slices.Max(rows[c]),
				meanCandidates: mean(cands[c]), maxCandidates: slices.Max(cands[c])}
			e.searches = append(e.searches, s)
			e.t.Logf("%s, %s: %d runs, p50 %v, p99 %v, rows mean %d max %d, decrypted mean %d max %d (load average %s)",
				s.query, s.contender, s.runs, s.p50, s.p99, s.meanRows, s.maxRows, s.meanCandidates, s.maxCandidates, loadAverage())
		}
	}
}

// librarySearch is what a service runs: sqlcrypt.Search's condition in a
// pgx query for whole rows, and sqlcrypt.CollectRows, which decrypts
// every candidate and drops those the filter refuses. It returns the ids
// found, sorted, and the number of candidates decrypted.
func (e *e2e) librarySearch(conn *pgx.Conn, q e2eQuery, term crypt.Term) ([]int64, int) {
	probe := &benchContact{TenantID: tenant}
	cond, args, match, err := sqlcrypt.Search(e.ctx, e.enc, sqlcrypt.Postgres, "contacts", probe, q.index, term, 1)
	if err != nil {
		e.t.Fatalf("sqlcrypt.Search %s: %v", q.name, err)
	}
	candidates := 0
	count := sqlcrypt.FilterFunc(func(any) (bool, error) {
		candidates++
		return true, nil
	})
	rows, err := conn.Query(e.ctx, `SELECT `+strings.Join(mainColumns, ", ")+` FROM contacts WHERE `+cond, args...)
	if err != nil {
		e.t.Fatalf("%s: %v", q.name, err)
	}
	found, err := sqlcrypt.CollectRows(e.ctx, e.enc, rows, pgx.RowToStructByName[benchContact], count, match)
	if err != nil {
		e.t.Fatalf("%s: CollectRows: %v", q.name, err)
	}
	return sortedIDs(found), candidates
}

// decryptAndFilter reads the tenant's every row, with only the column
// searched (the cheapest way to do it: one field to decrypt per row),
// decrypts each with the library and keeps those the predicate accepts.
func (e *e2e) decryptAndFilter(conn *pgx.Conn, q e2eQuery, pred func(*benchContact) bool) ([]int64, int) {
	rows, err := conn.Query(e.ctx, `SELECT id, tenant_id, `+q.column+` FROM contacts WHERE tenant_id = $1`, tenant)
	if err != nil {
		e.t.Fatalf("%s: %v", q.name, err)
	}
	decrypted := 0
	filter := sqlcrypt.FilterFunc(func(record any) (bool, error) {
		decrypted++
		return pred(record.(*benchContact)), nil
	})
	found, err := sqlcrypt.CollectRows(e.ctx, e.enc, rows, pgx.RowToStructByNameLax[benchContact], filter)
	if err != nil {
		e.t.Fatalf("%s: decrypt all: %v", q.name, err)
	}
	return sortedIDs(found), decrypted
}

// decryptRecordsAndFilter does for every row of the tenant what the
// library's search does for its candidates: it selects the columns the
// library's search selects, decrypts each whole record and keeps those
// the predicate accepts.
func (e *e2e) decryptRecordsAndFilter(conn *pgx.Conn, q e2eQuery, pred func(*benchContact) bool) ([]int64, int) {
	rows, err := conn.Query(e.ctx, `SELECT `+strings.Join(mainColumns, ", ")+` FROM contacts WHERE tenant_id = $1`, tenant)
	if err != nil {
		e.t.Fatalf("%s: %v", q.name, err)
	}
	decrypted := 0
	filter := sqlcrypt.FilterFunc(func(record any) (bool, error) {
		decrypted++
		return pred(record.(*benchContact)), nil
	})
	found, err := sqlcrypt.CollectRows(e.ctx, e.enc, rows, pgx.RowToStructByName[benchContact], filter)
	if err != nil {
		e.t.Fatalf("%s: decrypt whole records: %v", q.name, err)
	}
	return sortedIDs(found), decrypted
}

// plaintext runs the same query on the plaintext copy and returns the
// ids, sorted.
func (e *e2e) plaintext(conn *pgx.Conn, q e2eQuery, args []any) []int64 {
	rows, err := conn.Query(e.ctx, q.plainSQL, args...)
	if err != nil {
		e.t.Fatalf("%s, plaintext: %v", q.name, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		e.t.Fatalf("%s, plaintext: %v", q.name, err)
	}
	slices.Sort(ids)
	return ids
}

func sortedIDs(cs []benchContact) []int64 {
	ids := make([]int64, len(cs))
	for i := range cs {
		ids[i] = cs[i].ID
	}
	slices.Sort(ids)
	return ids
}

// logPlan logs the plans of the library's query and the plaintext query
// for one run's parameters, as EXPLAIN ANALYZE shows them.
func (e *e2e) logPlan(conn *pgx.Conn, q e2eQuery, term crypt.Term, plainArgs []any, shown string) {
	cond, args, _, err := sqlcrypt.Search(e.ctx, e.enc, sqlcrypt.Postgres, "contacts", &benchContact{TenantID: tenant}, q.index, term, 1)
	if err != nil {
		e.t.Fatalf("sqlcrypt.Search %s: %v", q.name, err)
	}
	for _, s := range []struct {
		who, sql string
		args     []any
	}{
		{"library", `SELECT ` + strings.Join(mainColumns, ", ") + ` FROM contacts WHERE ` + cond, args},
		{"plaintext", q.plainSQL, plainArgs},
	} {
		rows, err := conn.Query(e.ctx, `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) `+s.sql, s.args...)
		if err != nil {
			e.t.Fatalf("EXPLAIN %s: %v", q.name, err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			e.t.Fatalf("EXPLAIN %s: %v", q.name, err)
		}
		e.t.Logf("plan of %s %q, %s:\n\t%s\n\t%s", q.name, shown, s.who, s.sql, strings.Join(lines, "\n\t"))
	}
}
