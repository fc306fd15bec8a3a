package reencrypt

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strings"
	"time"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/crypt/blind"
)

// Leakage measures what the stored index values of a table show to
// someone who reads the database without any key: for each blind-index
// column and each token index, how many rows carry a value, how many
// distinct values (or tokens) there are, how large the largest bucket is
// (rows that the index cannot tell apart), the frequency of the most
// common values or tokens, and for token indexes how many tokens each row
// has, which tells value lengths. It then gives the planner's verdict on
// the configured width for what it saw, and flags indexes where one value
// dominates, with a coarser setting to use instead.
//
// It reads the index columns, the scope column, the primary key and the
// side tables, never an encrypted column, and needs no key: it takes no
// Encryptor, and opens no keyring and no KEK. Run it where the database is
// readable and the keys are not.
//
// The rules, applied in each scope (keys are per scope, so a scope's
// index leaks on its own; Overall pools every scope's buckets, each kept
// apart by its scope):
//
//   - A bucket is a set of rows the index cannot tell apart: one value of
//     a blind index; one token (element) of a set index; one whole token
//     set of a prefix, suffix, substring or range index (rows with equal
//     token sets most likely hold equal values, up to MaxLen runes, or in
//     one Step of the domain).
//   - Effective values is 1/Σp² over the buckets' shares p: the number of
//     equally common values that would make two rows collide as often as
//     they do. It equals the number of buckets when all are equally common
//     and falls towards 1 as one dominates.
//   - One value dominates a scope when it has at least
//     [LeakageMinRows] indexed rows and its largest bucket holds more than
//     [DominantShare] (5%) of them and more than [DominantFactor] (10)
//     times the share an even spread over its buckets would give: a
//     bucket that stands out that much is what frequency analysis reads
//     first (the most common surname, a default value, a test account).
//   - The worst scope is the one whose largest bucket has the largest
//     share (among scopes with LeakageMinRows indexed rows, if any); the
//     verdict and the recommendation are about it.
//   - Verdict, by kind: for a blind index blind.Check(bits, X) and for a
//     set index blind.Check(bits, X) over its elements (the planner's
//     warnings, if any), with X the distinct values estimated from the D
//     distinct index values seen among M = 2^bits: by linear counting,
//     X = −M·ln(1 − D/M), since D values spread over M buckets leave
//     about M·e^(−X/M) empty (a full index, D = M, gives M·(ln M + γ),
//     what it takes to fill M buckets), at least D and at most the
//     indexed rows. D itself never exceeds M, so the planner fed D would
//     always find the width too wide; for prefix, suffix and substring
//     indexes blind.CheckTokens (the token planner's leakage rule); range
//     indexes have no width rule (their leakage is the tree's structure:
//     the tokens per row are its levels, and equal token sets are equal
//     buckets of Step).
//   - Recommendation, where one value dominates: for a blind or set index,
//     the planner's width for the effective values,
//     blind.Recommend(effective).Bits, when it is below the configured
//     width; for prefix, suffix and substring indexes, k fewer bits, with
//     k = ceil(log2(buckets / effective)) (at least 1), so that the common
//     buckets absorb the rare ones; for a range index, a Step (or
//     timestamp precision) 2^k times coarser. Where no narrower setting
//     helps, it says to leave the dominant value out of the index.
//
// A recommendation is advice for the next index (a new width or step is
// a new index: docs/ROTATION.md, "Changing an index's width, transforms
// or name"); the report changes nothing.
func Leakage(ctx context.Context, db *sql.DB, d Dialect, t Table, opts *LeakageOptions) (*LeakageReport, error) {
	started := time.Now()
	if err := checkDialect(d); err != nil {
		return nil, err
	}
	if err := CheckColumns(ctx, db, d, t); err != nil {
		return nil, err
	}
	var o LeakageOptions
	if opts != nil {
		o = *opts
	}
	if o.Top <= 0 {
		o.Top = 5
	}
	l := newLayout(d, &t)
	rep := &LeakageReport{Table: t.Name}
	rows, err := scopeRows(ctx, db, l)
	if err != nil {
		return nil, err
	}
	for _, n := range rows {
		rep.Rows += n
	}
	rep.Scopes = len(rows)
	for _, ix := range t.Indexes {
		scopes, err := blindBuckets(ctx, db, l, ix.Column)
		if err != nil {
			return nil, err
		}
		il := IndexLeakage{Index: ix.Column, Kind: "equality", Bits: configuredBits(ix)}
		il.fill(scopes, rows, o.Top)
		il.judgeEquality()
		rep.Indexes = append(rep.Indexes, il)
	}
	var schema *crypt.Schema
	if len(l.tok) > 0 {
		// Compiled for the token indexes' settled parameters; no key is
		// looked up.
		if schema, err = crypt.NewSchema(t.SchemaSpec); err != nil {
			return nil, &ConfigError{Table: t.Name, Msg: err.Error()}
		}
	}
	for j, c := range l.tok {
		tk := t.Tokens[c.spec]
		spec, ts, err := schema.TokenSpec(tk.Name)
		if err != nil {
			return nil, &ConfigError{Table: t.Name, Column: tk.Name, Pos: t.posOf(tk.Name), Msg: err.Error()}
		}
		calc := tokenParams{spec: spec, ts: ts}
		scopes, err := tokenBuckets(ctx, db, l, l.tok[j], tk.Kind == blind.TokenSet)
		if err != nil {
			return nil, err
		}
		il := IndexLeakage{Index: tk.Name, Kind: string(tk.Kind), SideTable: c.table, Bits: calc.spec.Bits, Spec: calc.spec.String()}
		il.fill(scopes, rows, o.Top)
		il.judgeTokens(calc, tk)
		rep.Indexes = append(rep.Indexes, il)
	}
	rep.Duration = time.Since(started)
	return rep, nil
}

// Thresholds of Leakage's dominance rule.
const (
	// DominantShare is the share of a scope's indexed rows above which
	// its largest bucket may dominate.
	DominantShare = 0.05
	// DominantFactor is how many times an even spread's share the
	// largest bucket must hold to dominate.
	DominantFactor = 10
	// LeakageMinRows is the fewest indexed rows a scope needs for the
	// rule to apply: below it, shares are noise.
	LeakageMinRows = 20
)

// LeakageOptions tunes Leakage.
type LeakageOptions struct {
	// Top is how many of the largest shares each summary lists; default 5.
	Top int
}

// LeakageReport is what Leakage found in one table.
type LeakageReport struct {
	Table    string         `json:"table"`
	Rows     int64          `json:"rows"`   // rows of the table
	Scopes   int            `json:"scopes"` // scopes with rows
	Indexes  []IndexLeakage `json:"indexes"`
	Duration time.Duration  `json:"-"`
}

// MarshalJSON adds the duration in seconds.
func (r *LeakageReport) MarshalJSON() ([]byte, error) {
	type plain LeakageReport
	return json.Marshal(struct {
		*plain
		Seconds float64 `json:"seconds"`
	}{(*plain)(r), r.Duration.Seconds()})
}

// IndexLeakage is what one index shows without keys.
type IndexLeakage struct {
	// Index is the blind-index column, or the token index's name.
	Index string `json:"index"`
	// Kind is "equality" for a blind index, else the token index's kind.
	Kind      string `json:"kind"`
	SideTable string `json:"side_table,omitempty"`
	Bits      int    `json:"bits"`
	Spec      string `json:"spec,omitempty"` // a token index's settled parameters
	// Overall pools every scope (Scope ""); Worst is the worst scope.
	Overall LeakageStats `json:"overall"`
	Worst   LeakageStats `json:"worst_scope"`
	// DominantScopes counts the scopes where one value dominates.
	DominantScopes int `json:"dominant_scopes"`
	// Dominant is whether one value dominates the worst scope.
	Dominant bool `json:"dominant"`
	// Verdict holds the planner's warnings for the worst scope (none when
	// it has nothing to say), or for a range index what its structure
	// shows.
	Verdict []string `json:"verdict,omitempty"`
	// Recommendation is what to use instead, when one value dominates.
	Recommendation       string `json:"recommendation,omitempty"`
	RecommendedBits      int    `json:"recommended_bits,omitempty"`
	RecommendedStep      int64  `json:"recommended_step,omitempty"`
	RecommendedPrecision string `json:"recommended_precision,omitempty"`
}

// LeakageStats are the frequencies of one index in one scope (or all).
type LeakageStats struct {
	Scope string `json:"scope"`
	Rows  int64  `json:"rows"` // rows of the scope
	// Indexed rows have an index value (a blind index), or at least one
	// token.
	Indexed int64 `json:"indexed"`
	// Distinct counts distinct index values, or distinct tokens.
	Distinct int64 `json:"distinct"`
	// Buckets counts distinct buckets (see Leakage): Distinct for blind
	// and set indexes, distinct token sets for the other kinds.
	Buckets int64 `json:"buckets"`
	// TopShare is the largest bucket's share of the indexed rows, and
	// TopShares the largest few, in decreasing order.
	TopShare  float64   `json:"top_share"`
	TopShares []float64 `json:"top_shares"`
	// TopTokenShares (prefix, suffix, substring, range) are the shares of
	// indexed rows that hold each of the most common tokens.
	TopTokenShares []float64 `json:"top_token_shares,omitempty"`
	// Effective is 1/Σp² over the buckets' shares.
	Effective float64 `json:"effective_values"`
	// Estimated (blind and set indexes) estimates the distinct values
	// (elements) behind the Distinct index values seen (see Leakage).
	Estimated float64 `json:"estimated_values,omitempty"`
	// TokensPerRow (token indexes) summarises the tokens of each indexed
	// row: their number tells value lengths (prefix, suffix, substring).
	TokensPerRow *TokenCount `json:"tokens_per_row,omitempty"`
}

// TokenCount is the least, median and most tokens a row holds.
type TokenCount struct {
	Min    int     `json:"min"`
	Median float64 `json:"median"`
	Max    int     `json:"max"`
}

// scopeData is what was read of one index in one scope.
type scopeData struct {
	buckets map[string]int64 // bucket → rows
	tokens  map[int64]int64  // token → rows holding it (token indexes but set)
	perRow  map[int]int64    // tokens per row → rows

	pooled []int64 // overall: the rows of every scope's tokens (a token of one scope is unrelated to the same of another)
}

func newScopeData() *scopeData {
	return &scopeData{buckets: map[string]int64{}, tokens: map[int64]int64{}, perRow: map[int]int64{}}
}

// scopeRows counts the rows of each scope.
func scopeRows(ctx context.Context, db *sql.DB, l *layout) (map[string]int64, error) {
	q := "SELECT " + l.scopeExpr() + ", COUNT(*) FROM " + l.table
	if l.scope >= 0 {
		q += " GROUP BY " + l.d.QuoteIdent(l.t.Scope)
	}
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("reencrypt: leakage of %s: %w", l.t.Name, err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var scope any
		var n int64
		if err := rows.Scan(&scope, &n); err != nil {
			return nil, fmt.Errorf("reencrypt: leakage of %s: %w", l.t.Name, err)
		}
		s, _ := idText(scope)
		if n > 0 {
			out[s] += n
		}
	}
	return out, rows.Err()
}

// scopeExpr is the scope column, or 'default' for a table without one.
func (l *layout) scopeExpr() string {
	if l.scope < 0 {
		return "'default'"
	}
	return l.d.QuoteIdent(l.t.Scope)
}

// blindBuckets counts the rows of each value of a blind-index column, per
// scope: SELECT scope, column, COUNT(*) ... GROUP BY scope, column.
func blindBuckets(ctx context.Context, db *sql.DB, l *layout, column string) (map[string]*scopeData, error) {
	col := l.d.QuoteIdent(column)
	q := "SELECT " + l.scopeExpr() + ", " + col + ", COUNT(*) FROM " + l.table +
		" WHERE " + col + " IS NOT NULL AND " + col + " <> '' GROUP BY "
	if l.scope >= 0 {
		q += l.d.QuoteIdent(l.t.Scope) + ", "
	}
	q += col
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("reencrypt: leakage of %s column %s: %w", l.t.Name, column, err)
	}
	defer rows.Close()
	out := map[string]*scopeData{}
	for rows.Next() {
		var scope, value any
		var n int64
		if err := rows.Scan(&scope, &value, &n); err != nil {
			return nil, fmt.Errorf("reencrypt: leakage of %s column %s: %w", l.t.Name, column, err)
		}
		s, _ := idText(scope)
		v, _ := textOf(value)
		sd := out[s]
		if sd == nil {
			sd = newScopeData()
			out[s] = sd
		}
		sd.buckets[v] += n
	}
	return out, rows.Err()
}

// tokenBuckets reads a side table, row by row with each row's scope, and
// counts per scope its buckets (each token, for a set index; each whole
// token set otherwise), its tokens and its tokens per row.
func tokenBuckets(ctx context.Context, db *sql.DB, l *layout, c tokCol, set bool) (map[string]*scopeData, error) {
	key := l.d.QuoteIdent(l.t.PrimaryKey)
	var q string
	if l.scope >= 0 {
		q = "SELECT m." + l.d.QuoteIdent(l.t.Scope) + ", s." + key + ", s." + l.d.QuoteIdent("token") + " FROM " + c.quoted + " s JOIN " +
			l.table + " m ON m." + key + " = s." + key + " ORDER BY s." + key
	} else {
		q = "SELECT 'default', " + key + ", " + l.d.QuoteIdent("token") + " FROM " + c.quoted + " ORDER BY " + key
	}
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("reencrypt: leakage of %s token index %s (side table %s): %w", l.t.Name, c.name, c.table, err)
	}
	defer rows.Close()
	out := map[string]*scopeData{}
	var cur string
	var curScope string
	var toks []int64
	started := false
	flush := func() {
		if !started || len(toks) == 0 {
			return
		}
		sd := out[curScope]
		if sd == nil {
			sd = newScopeData()
			out[curScope] = sd
		}
		slices.Sort(toks)
		toks = slices.Compact(toks)
		sd.perRow[len(toks)]++
		if set {
			for _, tok := range toks {
				sd.buckets[tokenKey(tok)]++
			}
			return
		}
		for _, tok := range toks {
			sd.tokens[tok]++
		}
		h := sha256.New()
		var b [8]byte
		for _, tok := range toks {
			binary.BigEndian.PutUint64(b[:], uint64(tok))
			h.Write(b[:])
		}
		sd.buckets[string(h.Sum(nil)[:16])]++
	}
	for rows.Next() {
		var scope, k, tok any
		if err := rows.Scan(&scope, &k, &tok); err != nil {
			return nil, fmt.Errorf("reencrypt: leakage of %s token index %s: %w", l.t.Name, c.name, err)
		}
		kv, err := keyValue(l.t.keyType(), k)
		if err != nil {
			return nil, &ConfigError{Table: l.t.Name, Column: l.t.PrimaryKey, Msg: "side table " + c.table + ": " + err.Error()}
		}
		v, err := tokenValue(tok)
		if err != nil {
			return nil, fmt.Errorf("reencrypt: leakage of %s token index %s: %w", l.t.Name, c.name, err)
		}
		ks := keyString(kv)
		if !started || ks != cur {
			flush()
			started, cur, toks = true, ks, toks[:0]
			curScope, _ = idText(scope)
		}
		toks = append(toks, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reencrypt: leakage of %s token index %s: %w", l.t.Name, c.name, err)
	}
	flush()
	return out, nil
}

func tokenKey(tok int64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(tok))
	return string(b[:])
}

// fill computes the statistics of every scope, the overall ones, and
// picks the worst scope.
func (il *IndexLeakage) fill(scopes map[string]*scopeData, rows map[string]int64, top int) {
	all := &scopeData{buckets: map[string]int64{}, tokens: map[int64]int64{}, perRow: map[int]int64{}}
	var overallDistinct int64
	var worst *LeakageStats
	for _, scope := range slices.Sorted(func(yield func(string) bool) {
		for s := range scopes {
			if !yield(s) {
				return
			}
		}
	}) {
		sd := scopes[scope]
		st := sd.stats(scope, rows[scope], il.Kind, il.Bits, top)
		if st.dominant() {
			il.DominantScopes++
		}
		if worst == nil || worse(st, *worst) {
			worst = &st
		}
		for b, n := range sd.buckets {
			all.buckets[scope+"\x00"+b] = n
		}
		for n, r := range sd.perRow {
			all.perRow[n] += r
		}
		overallDistinct += st.Distinct
		for _, n := range sd.tokens {
			all.pooled = append(all.pooled, n)
		}
	}
	var total int64
	for _, n := range rows {
		total += n
	}
	il.Overall = all.stats("", total, il.Kind, il.Bits, top)
	il.Overall.Distinct = overallDistinct
	il.Overall.Estimated = 0 // a sum of per-scope estimates would mean little
	if worst == nil {
		worst = &LeakageStats{TopShares: []float64{}}
	}
	il.Worst = *worst
	il.Dominant = il.Worst.dominant()
}

// worse reports whether a is a worse scope than b: a scope with enough
// rows beats one without; then the larger top share; then more rows.
func worse(a, b LeakageStats) bool {
	ea, eb := a.Indexed >= LeakageMinRows, b.Indexed >= LeakageMinRows
	if ea != eb {
		return ea
	}
	if a.TopShare != b.TopShare {
		return a.TopShare > b.TopShare
	}
	return a.Indexed > b.Indexed
}

// dominant applies the dominance rule to one scope's statistics.
func (s LeakageStats) dominant() bool {
	return s.Indexed >= LeakageMinRows && s.Buckets > 0 && s.TopShare > DominantShare &&
		s.TopShare > DominantFactor/float64(s.Buckets)
}

// stats computes the statistics of sd.
func (sd *scopeData) stats(scope string, rows int64, kind string, bits, top int) LeakageStats {
	st := LeakageStats{Scope: scope, Rows: rows, Buckets: int64(len(sd.buckets)), TopShares: []float64{}}
	counts := make([]int64, 0, len(sd.buckets))
	var bucketRows int64
	for _, n := range sd.buckets {
		counts = append(counts, n)
		bucketRows += n
	}
	slices.SortFunc(counts, func(a, b int64) int { return cmp.Compare(b, a) })
	for _, r := range sd.perRow {
		st.Indexed += r
	}
	if kind == "equality" {
		st.Indexed = bucketRows
	}
	tc := sd.pooled
	for _, n := range sd.tokens {
		tc = append(tc, n)
	}
	st.Distinct = st.Buckets
	if len(tc) > 0 {
		st.Distinct = int64(len(tc))
	}
	if st.Indexed == 0 {
		return st
	}
	if kind == "equality" || kind == string(blind.TokenSet) {
		st.Estimated = estimateDistinct(st.Distinct, bits, bucketRows)
	}
	// Shares are of indexed rows; for a set index a row is in one bucket
	// per element, so its shares may add up to more than 1.
	var sumSq float64
	for _, n := range counts {
		p := float64(n) / float64(st.Indexed)
		sumSq += p * p
	}
	if kind == string(blind.TokenSet) {
		// Normalised over elements, for the effective count.
		sumSq = 0
		for _, n := range counts {
			p := float64(n) / float64(bucketRows)
			sumSq += p * p
		}
	}
	if sumSq > 0 {
		st.Effective = round(1/sumSq, 1)
	}
	for i, n := range counts {
		if i == top {
			break
		}
		st.TopShares = append(st.TopShares, round(float64(n)/float64(st.Indexed), 4))
	}
	if len(counts) > 0 {
		st.TopShare = round(float64(counts[0])/float64(st.Indexed), 4)
	}
	if len(tc) > 0 {
		slices.SortFunc(tc, func(a, b int64) int { return cmp.Compare(b, a) })
		for i, n := range tc {
			if i == top {
				break
			}
			st.TopTokenShares = append(st.TopTokenShares, round(float64(n)/float64(st.Indexed), 4))
		}
	}
	if kind != "equality" && len(sd.perRow) > 0 {
		sizes := slices.Sorted(func(yield func(int) bool) {
			for n := range sd.perRow {
				if !yield(n) {
					return
				}
			}
		})
		tc := &TokenCount{Min: sizes[0], Max: sizes[len(sizes)-1]}
		tc.Median = medianOf(sizes, sd.perRow, st.Indexed)
		st.TokensPerRow = tc
	}
	return st
}

// medianOf returns the median of a histogram (sizes ascending, rows per
// size, total rows).
func medianOf(sizes []int, hist map[int]int64, total int64) float64 {
	at := func(i int64) int { // the i-th (0-based) value
		var seen int64
		for _, s := range sizes {
			seen += hist[s]
			if i < seen {
				return s
			}
		}
		return sizes[len(sizes)-1]
	}
	if total%2 == 1 {
		return float64(at(total / 2))
	}
	return float64(at(total/2-1)+at(total/2)) / 2
}

func round(x float64, digits int) float64 {
	p := math.Pow10(digits)
	return math.Round(x*p) / p
}

// judgeEquality gives the verdict and recommendation of a blind index.
func (il *IndexLeakage) judgeEquality() {
	w := il.Worst
	if w.Distinct > 0 {
		p := blind.Check(il.Bits, w.Estimated)
		for _, msg := range p.Warnings {
			il.Verdict = append(il.Verdict, il.scopeSaid()+msg)
		}
	}
	if il.Dominant {
		il.recommendBits(blind.Recommend(max(w.Effective, 1)).Bits, "the planner's width for the about %s effective values the skew leaves")
	}
}

// judgeTokens gives the verdict and recommendation of a token index.
// tokenParams is how a token index computes its tokens, as crypt settled
// its configuration (crypt.Schema.TokenSpec).
type tokenParams struct {
	spec blind.TokenSpec
	ts   []blind.Transform
}

func (il *IndexLeakage) judgeTokens(calc tokenParams, tk crypt.TokenIndexSpec) {
	w := il.Worst
	switch calc.spec.Kind {
	case blind.TokenSet:
		if w.Distinct > 0 {
			for _, msg := range blind.Check(il.Bits, w.Estimated).Warnings {
				il.Verdict = append(il.Verdict, il.scopeSaid()+"as a blind index of its distinct elements: "+msg)
			}
		}
		if il.Dominant {
			il.recommendBits(blind.Recommend(max(w.Effective, 1)).Bits, "the planner's width for the about %s effective elements the skew leaves")
		}
		return
	case blind.TokenRange:
		d := calc.spec.Domain
		levels := max(1, bits.Len64((uint64(d.Max)-uint64(d.Min))/uint64(d.Step)))
		il.Verdict = append(il.Verdict, fmt.Sprintf("structural: %d tokens per value (one per level of the domain's tree); rows with equal token sets share a bucket of step %d, and rows sharing a token lie in one block of buckets",
			levels, calc.spec.Domain.Step))
	default:
		if err := blind.CheckTokens(calc.spec, calc.ts); err != nil {
			il.Verdict = append(il.Verdict, strings.TrimPrefix(err.Error(), "blind: "))
		}
	}
	if !il.Dominant {
		return
	}
	k := 1
	if w.Effective > 0 && float64(w.Buckets) > 2*w.Effective {
		k = int(math.Ceil(math.Log2(float64(w.Buckets) / w.Effective)))
	}
	if calc.spec.Kind != blind.TokenRange {
		il.recommendBits(max(1, il.Bits-k), fmt.Sprintf("%d fewer, as log2(buckets / effective values) = log2(%d / %%s) asks", k, w.Buckets))
		return
	}
	factor := int64(1) << min(k, 40)
	if tk.Type == "timestamp" {
		want := calc.spec.Domain.Step * factor
		for _, p := range []struct {
			name string
			step int64
		}{{"minute", 60}, {"hour", 3600}, {"day", 86400}} {
			if p.step > calc.spec.Domain.Step && (p.step >= want || p.name == "day") {
				il.RecommendedPrecision = p.name
				break
			}
		}
		if il.RecommendedPrecision == "" {
			il.Recommendation = fmt.Sprintf("one bucket holds %.1f%% of the rows in scope %q: precision=day is already the coarsest; use a date range index with a step of several days, or leave the dominant value out of the index",
				100*w.TopShare, w.Scope)
			return
		}
		il.Recommendation = fmt.Sprintf("one bucket holds %.1f%% of the rows in scope %q: use a coarser precision, %s (buckets %d times wider, as log2(buckets / effective values) = %d asks), or leave the dominant value out of the index",
			100*w.TopShare, w.Scope, il.RecommendedPrecision, factor, k)
		return
	}
	il.RecommendedStep = calc.spec.Domain.Step * factor
	il.Recommendation = fmt.Sprintf("one bucket holds %.1f%% of the rows in scope %q: use a coarser step, %d (%d times the current %d, as log2(buckets / effective values) = %d asks), or leave the dominant value out of the index",
		100*w.TopShare, w.Scope, il.RecommendedStep, factor, calc.spec.Domain.Step, k)
}

// recommendBits recommends bits when fewer than the configured width;
// why is a format with one %s, the effective values.
func (il *IndexLeakage) recommendBits(bits int, why string) {
	w := il.Worst
	eff := fmt.Sprintf("%.1f", w.Effective)
	if bits < il.Bits {
		il.RecommendedBits = bits
		il.Recommendation = fmt.Sprintf("one bucket holds %.1f%% of the rows in scope %q: use fewer bits, %d instead of %d (%s); if that leaves the index too coarse for queries, leave the dominant value out of the index",
			100*w.TopShare, w.Scope, bits, il.Bits, fmt.Sprintf(why, eff))
		return
	}
	il.Recommendation = fmt.Sprintf("one bucket holds %.1f%% of the rows in scope %q: fewer bits would not hide it (%d bits is already at most the planner's width for about %s effective values); leave the dominant value out of the index (store no index value for it)",
		100*w.TopShare, w.Scope, il.Bits, eff)
}

// scopeSaid names the worst scope in a verdict.
func (il *IndexLeakage) scopeSaid() string {
	return fmt.Sprintf("scope %q (%d distinct index values seen, about %.0f distinct values): ", il.Worst.Scope, il.Worst.Distinct, il.Worst.Estimated)
}

// estimateDistinct estimates the distinct values behind d distinct index
// values of bits bits over n rows (see Leakage).
func estimateDistinct(d int64, bits int, n int64) float64 {
	if d == 0 {
		return 0
	}
	est := float64(d)
	if bits < 53 {
		m := math.Exp2(float64(bits))
		if float64(d) >= m {
			est = m * (math.Log(m) + 0.5772156649)
		} else {
			est = -m * math.Log1p(-float64(d)/m)
		}
	}
	est = max(est, float64(d))
	if n > 0 {
		est = min(est, float64(n))
	}
	return round(est, 1)
}
