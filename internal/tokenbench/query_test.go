package tokenbench

import (
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// The three ways a query is run, in the order of query.sql.
var layouts = [3]string{plaintext, sideTables, arrayColumns}

// query is one search, written for each layout.
type query struct {
	name string
	// sql is the statement for each layout, in the order of layouts.
	sql [3]string
	// fullRows is whether the statement returns whole rows, not ids.
	fullRows bool
	// exact is whether the token layouts return exactly the plaintext
	// query's rows; otherwise they return candidates, a superset that the
	// library would decrypt and filter.
	exact bool
	// params draws the parameters of one run, for each layout.
	params func(g *paramGen) [3][]any
}

// The columns the full-row queries return.
const rowColumns = `id, last_name, email, created`

// queries are the searches measured.
var queries = []query{
	{
		name: "prefix, 3 letters: ids",
		sql: [3]string{
			`SELECT id FROM contacts WHERE lower(last_name) LIKE $1`,
			`SELECT id FROM contacts WHERE id IN (SELECT id FROM contacts_prefix WHERE token = ANY($1))`,
			`SELECT id FROM contacts_arrays WHERE prefix_tokens && $1`,
		},
		exact:  true,
		params: (*paramGen).prefix,
	},
	{
		name: "prefix, 3 letters: full rows",
		sql: [3]string{
			`SELECT ` + rowColumns + ` FROM contacts WHERE lower(last_name) LIKE $1`,
			`SELECT ` + rowColumns + ` FROM contacts WHERE id IN (SELECT id FROM contacts_prefix WHERE token = ANY($1))`,
			`SELECT ` + rowColumns + ` FROM contacts_arrays WHERE prefix_tokens && $1`,
		},
		fullRows: true,
		exact:    true,
		params:   (*paramGen).prefix,
	},
	{
		name: "substring, 5 characters: ids",
		sql: [3]string{
			`SELECT id FROM contacts WHERE lower(email) LIKE $1`,
			`SELECT id FROM contacts WHERE id IN (
				SELECT id FROM contacts_email WHERE token = ANY($1) GROUP BY id HAVING count(*) = $2
				UNION ALL
				SELECT id FROM contacts_email WHERE token = $3)`,
			`SELECT id FROM contacts_arrays WHERE email_tokens @> $1 OR email_tokens && $2`,
		},
		params: (*paramGen).substring,
	},
	{
		name: "range, one month: ids",
		sql: [3]string{
			`SELECT id FROM contacts WHERE created BETWEEN $1 AND $2`,
			`SELECT id FROM contacts WHERE id IN (SELECT id FROM contacts_created WHERE token = ANY($1))`,
			`SELECT id FROM contacts_arrays WHERE created_tokens && $1`,
		},
		exact:  true,
		params: (*paramGen).month,
	},
}

// paramGen draws query parameters from the loaded contacts, as a user
// would type them: a random contact's surname or address, a random month.
type paramGen struct {
	r        *rand.Rand
	tk       *tokenizer
	contacts []contact
}

// prefix is the first three letters of a random contact's surname, so
// that common prefixes are queried as often as they occur.
func (g *paramGen) prefix() [3][]any {
	p := strings.ToLower(g.contacts[g.r.IntN(len(g.contacts))].lastName[:3])
	tokens := []int64{g.tk.prefixToken(p)}
	return [3][]any{{escapeLike(p) + "%"}, {tokens}, {tokens}}
}

// substring is five characters from a random place in a random contact's
// address: all its distinct trigram tokens, or the overflow token.
func (g *paramGen) substring() [3][]any {
	email := strings.ToLower(g.contacts[g.r.IntN(len(g.contacts))].email)
	at := g.r.IntN(len(email) - 4)
	s := email[at : at+5]
	all := g.tk.trigramTokens(s)
	overflow := g.tk.overflowToken()
	return [3][]any{
		{"%" + escapeLike(s) + "%"},
		{all, int64(len(all)), overflow},
		{all, []int64{overflow}},
	}
}

// month is a random calendar month of the five years: the tokens of its
// minimal dyadic cover.
func (g *paramGen) month() [3][]any {
	ms := months()
	m := ms[g.r.IntN(len(ms))]
	tokens := g.tk.rangeTokens(m.from, m.to)
	return [3][]any{
		{epoch.AddDate(0, 0, m.from), epoch.AddDate(0, 0, m.to)},
		{tokens},
		{tokens},
	}
}

// escapeLike escapes LIKE's wildcards and its escape character in s.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// queryResult is the latency of one query in one layout, and the rows it
// returned.
type queryResult struct {
	query, layout     string
	p50, p99          time.Duration
	meanRows, maxRows int
}

// measureQueries runs each query warmupRuns times, then queryRuns times
// measured, on one connection, with the same parameters in each layout
// one after the other, in an order that rotates from run to run: the
// layouts are compared under the same machine load and cache state. It
// checks that the layouts agree on the rows, and logs the plan each layout
// gets for one typical run.
func (b *bench) measureQueries(tk *tokenizer) {
	conn, err := b.pool.Acquire(b.ctx)
	if err != nil {
		b.t.Fatalf("acquire: %v", err)
	}
	defer conn.Release()
	g := &paramGen{r: rand.New(rand.NewPCG(seed, 1)), tk: tk, contacts: b.contacts}
	for _, q := range queries {
		var latencies [3][]time.Duration
		var rows [3][]int
		for run := range warmupRuns + queryRuns {
			params := q.params(g)
			var n [3]int
			for turn := range layouts {
				l := (run + turn) % len(layouts)
				start := time.Now()
				n[l] = b.countRows(conn.Conn(), q, l, params[l])
				if run >= warmupRuns {
					latencies[l] = append(latencies[l], time.Since(start))
					rows[l] = append(rows[l], n[l])
				}
			}
			b.checkAgreement(q, params, n)
		}
		for l, layout := range layouts {
			r := queryResult{
				query:    q.name,
				layout:   layout,
				p50:      percentile(latencies[l], 50),
				p99:      percentile(latencies[l], 99),
				meanRows: mean(rows[l]),
				maxRows:  slices.Max(rows[l]),
			}
			b.queries = append(b.queries, r)
			b.t.Logf("query %s, %s: p50 %v, p99 %v, rows mean %d, max %d", r.query, r.layout, r.p50, r.p99, r.meanRows, r.maxRows)
		}
		b.logPlans(conn.Conn(), q, q.params(g))
	}
}

// countRows runs one layout's statement of q, reads every row it returns
// and counts them.
func (b *bench) countRows(conn *pgx.Conn, q query, layout int, args []any) int {
	rows, err := conn.Query(b.ctx, q.sql[layout], args...)
	if err != nil {
		b.t.Fatalf("%s, %s: %v", q.name, layouts[layout], err)
	}
	var (
		id              int64
		lastName, email string
		created         time.Time
	)
	dest := []any{&id}
	if q.fullRows {
		dest = append(dest, &lastName, &email, &created)
	}
	n := 0
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			b.t.Fatalf("%s, %s: %v", q.name, layouts[layout], err)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		b.t.Fatalf("%s, %s: %v", q.name, layouts[layout], err)
	}
	return n
}

// checkAgreement fails the test when the layouts disagree on a query's
// rows: the token layouts must return the same rows as each other, and
// exactly the plaintext query's or, for candidates, at least as many.
func (b *bench) checkAgreement(q query, params [3][]any, n [3]int) {
	b.t.Helper()
	if n[1] != n[2] || (q.exact && n[0] != n[1]) || n[0] > n[1] {
		b.t.Errorf("%s with %v: rows plaintext %d, side tables %d, arrays %d", q.name, params[0], n[0], n[1], n[2])
	}
}

// logPlans logs the plan of each layout's statement for one run's
// parameters, as EXPLAIN ANALYZE shows it.
func (b *bench) logPlans(conn *pgx.Conn, q query, params [3][]any) {
	for l, layout := range layouts {
		rows, err := conn.Query(b.ctx, `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) `+q.sql[l], params[l]...)
		if err != nil {
			b.t.Fatalf("EXPLAIN %s, %s: %v", q.name, layout, err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			b.t.Fatalf("EXPLAIN %s, %s: %v", q.name, layout, err)
		}
		b.t.Logf("plan of %s, %s, with %v:\n\t%s", q.name, layout, params[0], strings.Join(lines, "\n\t"))
	}
}

// percentile is the p-th percentile of ds by the nearest-rank method.
func percentile(ds []time.Duration, p int) time.Duration {
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 * n)
	return sorted[max(rank, 1)-1]
}

func mean(ns []int) int {
	sum := 0
	for _, n := range ns {
		sum += n
	}
	return sum / len(ns)
}
