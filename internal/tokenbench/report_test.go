package tokenbench

import (
	"fmt"
	"strings"
	"time"
)

// printReport logs the run's figures as the Markdown tables of RESULTS.md.
func (b *bench) printReport() {
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

	header("query", "layout", "p50", "p99", "p50 ×", "p99 ×", "rows (mean)", "rows (max)")
	var base queryResult
	for _, q := range b.queries {
		if q.layout == plaintext {
			base = q
		}
		row(q.query, q.layout, ms(q.p50), ms(q.p99), ratio(q.p50, base.p50), ratio(q.p99, base.p99), q.meanRows, q.maxRows)
	}

	header("index", "tokens", "(a) heap", "(a) PK (token, id)", "(a) (id)", "(a) total, PK only", "(a) total, PK + (id)",
		"(b) array in row", "(b) GIN", "(b) total", "plaintext index")
	storage := func(s storageRow) {
		row(s.index, fmt.Sprintf("%.1f", s.tokens), bytes(s.sideHeap), bytes(s.sidePK), bytes(s.sideID),
			bytes(s.sideHeap+s.sidePK), bytes(s.sideHeap+s.sidePK+s.sideID),
			bytes(s.arrayInRow), bytes(s.gin), bytes(s.arrayInRow+s.gin), bytes(s.plaintextIndex))
	}
	sum := storageRow{index: "all three"}
	for _, s := range b.storage {
		storage(s)
		sum.tokens += s.tokens
		sum.sideHeap += s.sideHeap
		sum.sidePK += s.sidePK
		sum.sideID += s.sideID
		sum.arrayInRow += s.arrayInRow
		sum.gin += s.gin
		sum.plaintextIndex += s.plaintextIndex
	}
	storage(sum)

	header("table", "heap", "indexes", "total")
	for _, t := range b.tables {
		row(t.table, bytes(t.heap), bytes(t.indexes), bytes(t.total))
	}

	header("operation", "layout", "per row", "× plain row")
	for _, r := range b.writes {
		row(r.operation, r.layout, us(r.perRow), ratio(r.perRow, r.plainRow))
	}

	header("bulk load", "step", "per contact")
	for _, l := range b.loads {
		row(l.layout, l.step, us(l.perContact))
	}

	header("phase", "took", "load average at its end")
	for _, p := range b.phases {
		row(p.name, p.took, p.loadAvg)
	}
	b.t.Logf("report (bytes per contact; times per query, row or contact):\n%s", w.String())
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }
func us(d time.Duration) string { return fmt.Sprintf("%.1f µs", float64(d)/float64(time.Microsecond)) }
func bytes(b float64) string    { return fmt.Sprintf("%.0f B", b) }

func ratio(d, base time.Duration) string {
	return fmt.Sprintf("%.2f×", float64(d)/float64(base))
}
