package tokenbench

import (
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fieldcrypt/fieldcrypt/sqlcrypt"
)

// e2eWrite is the cost of writing one row of a record type: Encrypt, the
// INSERT and its tokens' side-table rows, in transactions of txRows.
type e2eWrite struct {
	record string
	perRow time.Duration
}

// e2eStorage is what one index type costs per row: its side table with
// both its indexes, after the bulk load of a million rows (built in one
// pass) and after e2eWriteRows rows written one transaction at a time.
type e2eStorage struct {
	what            string
	tokens          float64 // tokens per row, of the loaded million
	loaded, written float64 // bytes per row
}

// writeType is one record type of the write measurement.
type writeType struct {
	name, table string
	record      any
	blind       bool
	// write encrypts cs as records of the type and writes them, with
	// their tokens, in one transaction.
	write func(e *e2e, cs []contact)
}

var writeTypes = []writeType{
	{"equality only (encrypted row + one blind index)", "w_eq", &eqOnlyContact{}, true, func(e *e2e, cs []contact) {
		writeRecords(e, "w_eq", cs, func(c *contact) eqOnlyContact {
			return eqOnlyContact{ID: c.id, TenantID: tenant, LastName: c.lastName, Email: c.email, Created: dateOf(c.day)}
		}, func(r *eqOnlyContact) []any {
			return []any{r.ID, r.TenantID, r.LastName, r.Email, r.EmailIdx, r.Created}
		})
	}},
	{"prefix only", "w_prefix", &prefixOnlyContact{}, false, func(e *e2e, cs []contact) {
		writeRecords(e, "w_prefix", cs, func(c *contact) prefixOnlyContact {
			return prefixOnlyContact{ID: c.id, TenantID: tenant, LastName: c.lastName, Email: c.email, Created: dateOf(c.day)}
		}, func(r *prefixOnlyContact) []any { return []any{r.ID, r.TenantID, r.LastName, r.Email, r.Created} })
	}},
	{"substring only", "w_substring", &substringOnlyContact{}, false, func(e *e2e, cs []contact) {
		writeRecords(e, "w_substring", cs, func(c *contact) substringOnlyContact {
			return substringOnlyContact{ID: c.id, TenantID: tenant, LastName: c.lastName, Email: c.email, Created: dateOf(c.day)}
		}, func(r *substringOnlyContact) []any { return []any{r.ID, r.TenantID, r.LastName, r.Email, r.Created} })
	}},
	{"range only", "w_range", &rangeOnlyContact{}, false, func(e *e2e, cs []contact) {
		writeRecords(e, "w_range", cs, func(c *contact) rangeOnlyContact {
			return rangeOnlyContact{ID: c.id, TenantID: tenant, LastName: c.lastName, Email: c.email, Created: dateOf(c.day)}
		}, func(r *rangeOnlyContact) []any { return []any{r.ID, r.TenantID, r.LastName, r.Email, r.Created} })
	}},
}

// writeRecords is what a service pays to write new rows: Encrypt each
// record, then, in one transaction, an INSERT per row (sent as one batch)
// and sqlcrypt.ReplaceTokensPgx for their tokens.
func writeRecords[T any](e *e2e, table string, cs []contact, mk func(*contact) T, values func(*T) []any) {
	recs := make([]*T, len(cs))
	for i := range cs {
		r := mk(&cs[i])
		if err := e.enc.Encrypt(e.ctx, &r); err != nil {
			e.t.Fatalf("Encrypt: %v", err)
		}
		recs[i] = &r
	}
	tx, err := e.pool.Begin(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	defer tx.Rollback(e.ctx) //nolint:errcheck // after Commit, a no-op
	var batch pgx.Batch
	for _, r := range recs {
		v := values(r)
		ph := make([]string, len(v))
		for i := range v {
			ph[i] = fmt.Sprintf("$%d", i+1)
		}
		cols := "id, tenant_id, last_name, email, created"
		if len(v) == 6 {
			cols = "id, tenant_id, last_name, email, email_idx, created"
		}
		batch.Queue(`INSERT INTO `+table+` (`+cols+`) VALUES (`+strings.Join(ph, ", ")+`)`, v...)
	}
	if err := tx.SendBatch(e.ctx, &batch).Close(); err != nil {
		e.t.Fatalf("INSERT %s: %v", table, err)
	}
	if err := sqlcrypt.ReplaceTokensPgx(e.ctx, tx, table, recs...); err != nil {
		e.t.Fatalf("ReplaceTokensPgx %s: %v", table, err)
	}
	if err := tx.Commit(e.ctx); err != nil {
		e.t.Fatal(err)
	}
}

// measureWrites writes e2eWriteRows fresh contacts with each record
// type, e2eTurnRows at a time in turn, and records the time per row.
func (e *e2e) measureWrites(fresh []contact) {
	for _, w := range writeTypes {
		e.createMain(w.table, w.record, w.blind)
	}
	took := make([]time.Duration, len(writeTypes))
	next := 0
	for done := 0; done < e2eWriteRows; done += e2eTurnRows {
		for turn := range writeTypes {
			i := (done/e2eTurnRows + turn) % len(writeTypes)
			start := time.Now()
			for k := 0; k < e2eTurnRows; k += txRows {
				writeTypes[i].write(e, fresh[next:next+txRows])
				next += txRows
			}
			took[i] += time.Since(start)
		}
	}
	for i, w := range writeTypes {
		r := e2eWrite{record: w.name, perRow: took[i] / e2eWriteRows}
		e.writes = append(e.writes, r)
		e.t.Logf("write %s: %v per row", r.record, r.perRow)
	}
	e.exec(`VACUUM ANALYZE w_eq, w_prefix, w_substring, w_range, w_prefix_name_prefix, w_substring_email_grams, w_range_created_range`)
}

// measureStorage records each side table's size with its indexes per
// row, and the equality-only row's: the loaded main table (its columns
// are those of an equality-only row; the tokens are not columns) and the
// written w_eq.
func (e *e2e) measureStorage() {
	size := func(rel string) float64 {
		var n int64
		if err := e.pool.QueryRow(e.ctx, `SELECT pg_total_relation_size($1::regclass)`, rel).Scan(&n); err != nil {
			e.t.Fatalf("size of %s: %v", rel, err)
		}
		return float64(n)
	}
	count := func(rel string) float64 {
		var n int64
		if err := e.pool.QueryRow(e.ctx, `SELECT count(*) FROM `+rel).Scan(&n); err != nil {
			e.t.Fatalf("count of %s: %v", rel, err)
		}
		return float64(n)
	}
	loaded := float64(len(e.contacts))
	e.storage = append(e.storage, e2eStorage{what: "equality-only row (heap + primary key + (tenant_id, email_idx))",
		loaded: size("contacts") / loaded, written: size("w_eq") / e2eWriteRows})
	for _, s := range []struct{ what, loaded, written string }{
		{"prefix side table (heap + PK (token, id) + (id))", "contacts_name_prefix", "w_prefix_name_prefix"},
		{"substring side table (heap + PK (token, id) + (id))", "contacts_email_grams", "w_substring_email_grams"},
		{"range side table (heap + PK (token, id) + (id))", "contacts_created_range", "w_range_created_range"},
	} {
		e.storage = append(e.storage, e2eStorage{what: s.what, tokens: count(s.loaded) / loaded,
			loaded: size(s.loaded) / loaded, written: size(s.written) / e2eWriteRows})
	}
	e.storage = append(e.storage, e2eStorage{what: "plaintext copy, for comparison (heap + PK + the three indexes)",
		loaded: size("contacts_plain") / loaded})
}

// printReport logs the run's figures as the Markdown tables of RESULTS.md.
func (e *e2e) printReport() {
	var w strings.Builder
	row := func(cells ...any) {
		for _, c := range cells {
			fmt.Fprintf(&w, "| %v ", c)
		}
		w.WriteString("|\n")
	}
	header := func(cells ...any) {
		w.WriteString("\n")
		row(cells...)
		for range cells {
			w.WriteString("| --- ")
		}
		w.WriteString("|\n")
	}
	header("query", "contender", "runs", "p50", "p99", "rows (mean / max)", "decrypted (mean / max)")
	for _, s := range e.searches {
		row(s.query, s.contender, s.runs, ms(s.p50), ms(s.p99), fmt.Sprintf("%d / %d", s.meanRows, s.maxRows),
			fmt.Sprintf("%d / %d", s.meanCandidates, s.maxCandidates))
	}
	header("query", "library faster than decrypt-all (searched column), p50", "p99", "target ≥ 100×",
		"library faster than decrypt-all (whole record), p50", "p99", "target ≥ 100×",
		"library slower than plaintext, p50", "p99", "target ≤ 10×")
	for i := 0; i+contenders-1 < len(e.searches); i += contenders {
		lib, all, rec, plain := e.searches[i+cLibrary], e.searches[i+cDecryptAll], e.searches[i+cDecryptRecord], e.searches[i+cPlain]
		fast50, fast99 := float64(all.p50)/float64(lib.p50), float64(all.p99)/float64(lib.p99)
		rfast50, rfast99 := float64(rec.p50)/float64(lib.p50), float64(rec.p99)/float64(lib.p99)
		slow50, slow99 := float64(lib.p50)/float64(plain.p50), float64(lib.p99)/float64(plain.p99)
		row(lib.query, fmt.Sprintf("%.0f×", fast50), fmt.Sprintf("%.0f×", fast99), met(fast50 >= 100 && fast99 >= 100),
			fmt.Sprintf("%.0f×", rfast50), fmt.Sprintf("%.0f×", rfast99), met(rfast50 >= 100 && rfast99 >= 100),
			fmt.Sprintf("%.1f×", slow50), fmt.Sprintf("%.1f×", slow99), met(slow50 <= 10 && slow99 <= 10))
	}
	header("write (Encrypt + INSERT + its tokens, 100 rows per transaction)", "per row", "× equality-only row")
	for _, r := range e.writes {
		row(r.record, us(r.perRow), ratio(r.perRow, e.writes[0].perRow))
	}
	header("storage", "tokens per row", "per row, 1M loaded", "× equality-only row", fmt.Sprintf("per row, %d written", e2eWriteRows), "× equality-only row")
	for _, s := range e.storage {
		row(s.what, fmt.Sprintf("%.1f", s.tokens), bytes(s.loaded), fmt.Sprintf("%.2f×", s.loaded/e.storage[0].loaded),
			bytes(s.written), fmt.Sprintf("%.2f×", s.written/e.storage[0].written))
	}
	w.WriteString(fmt.Sprintf("\nbulk load with sqlcrypt.CopyFrom on two connections, constraints and indexes built after: %s per contact\n", us(e.loadRow)))
	header("phase", "took", "load average at its end")
	for _, p := range e.phases {
		row(p.name, p.took, p.loadAvg)
	}
	e.t.Logf("report:\n%s", w.String())
}

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "not met"
}
