package blind_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fieldcrypt/fieldcrypt/crypt/blind"
)

// The property tests build a table of rows, each with its tokens as the
// database would store them, run queries as the SQL condition would
// (Query.Matches) and compare the candidates with the rows the kind's
// Match function accepts on the plaintext: every matching row must be a
// candidate (no false negatives), and with narrow tokens false positives
// must appear, and be removed by the Match function.

// pieces make up random strings: a small alphabet so that queries hit,
// multi-byte runes, and bytes of invalid UTF-8 that may join their
// neighbours into a rune ("\xc3" + "\xa9" is "é").
var pieces = []string{"a", "b", "c", "a", "b", "A", " ", "@", ".", "é", "€", "😀", "日", "\xff", "\xc3", "\xa9", "\xe2\x82", "\x80", "ab", "\u00a0"}

func randString(r *rand.Rand, maxPieces int) string {
	var b strings.Builder
	for range r.IntN(maxPieces + 1) {
		b.WriteString(pieces[r.IntN(len(pieces))])
	}
	return b.String()
}

// runesOf splits s as the package does.
func runesOf(s string) []string { return refRunes(s) }

// stringKind drives the property test of a kind over string values.
type stringKind struct {
	query func(tk *blind.Tokenizer, q string) (blind.Query, error)
	match func(value, q string) bool
	minQ  func(spec blind.TokenSpec) int // the shortest query, in runes
	// derive returns queries taken from a row: pieces of it, cut at runes
	// and at bytes.
	derive func(r *rand.Rand, row string) []string
}

var stringKinds = map[blind.TokenKind]stringKind{
	blind.TokenPrefix: {
		query: (*blind.Tokenizer).PrefixQuery,
		match: blind.MatchPrefix,
		minQ:  func(s blind.TokenSpec) int { return s.MinLen },
		derive: func(r *rand.Rand, row string) []string {
			rs := runesOf(row)
			k := r.IntN(len(rs) + 1)
			return []string{strings.Join(rs[:k], ""), row[:r.IntN(len(row)+1)], row}
		},
	},
	blind.TokenSuffix: {
		query: (*blind.Tokenizer).SuffixQuery,
		match: blind.MatchSuffix,
		minQ:  func(s blind.TokenSpec) int { return s.MinLen },
		derive: func(r *rand.Rand, row string) []string {
			rs := runesOf(row)
			k := r.IntN(len(rs) + 1)
			return []string{strings.Join(rs[k:], ""), row[r.IntN(len(row)+1):], row}
		},
	},
	blind.TokenSubstring: {
		query: (*blind.Tokenizer).SubstringQuery,
		match: blind.MatchSubstring,
		minQ:  func(s blind.TokenSpec) int { return s.N },
		derive: func(r *rand.Rand, row string) []string {
			rs := runesOf(row)
			i := r.IntN(len(rs) + 1)
			j := i + r.IntN(len(rs)-i+1)
			bi := r.IntN(len(row) + 1)
			bj := bi + r.IntN(len(row)-bi+1)
			return []string{strings.Join(rs[i:j], ""), row[bi:bj], row}
		},
	},
}

// edgeRows are rows of every edge length for a spec: empty, one rune, and
// MinLen, MaxLen or N runes and one either side, of multi-byte and
// invalid runes too.
func edgeRows(spec blind.TokenSpec) []string {
	rows := []string{"", "a", "é", "\xff", "\xc3", "😀"}
	for _, n := range []int{spec.MinLen, spec.MaxLen, spec.N} {
		for _, d := range []int{-1, 0, 1} {
			if n+d < 1 {
				continue
			}
			for _, r := range []string{"a", "é", "\xff", "ab"[:1] + "\xc3"} {
				rows = append(rows, strings.Repeat(r, n+d))
			}
		}
	}
	return rows
}

func TestStringTokensNoFalseNegatives(t *testing.T) {
	specs := []blind.TokenSpec{
		{Kind: blind.TokenPrefix, Bits: 64, MinLen: 1, MaxLen: 1},
		{Kind: blind.TokenPrefix, Bits: 64, MinLen: 1, MaxLen: 4},
		{Kind: blind.TokenPrefix, Bits: 64, MinLen: 3, MaxLen: 8},
		{Kind: blind.TokenPrefix, Bits: 4, MinLen: 2, MaxLen: 5},
		{Kind: blind.TokenPrefix, Bits: 1, MinLen: 1, MaxLen: 64},
		{Kind: blind.TokenSuffix, Bits: 64, MinLen: 1, MaxLen: 1},
		{Kind: blind.TokenSuffix, Bits: 64, MinLen: 2, MaxLen: 6},
		{Kind: blind.TokenSuffix, Bits: 4, MinLen: 2, MaxLen: 5},
		{Kind: blind.TokenSuffix, Bits: 64, MinLen: 4, MaxLen: 4},
		{Kind: blind.TokenSubstring, Bits: 64, N: 2, MaxTokens: 64},
		{Kind: blind.TokenSubstring, Bits: 64, N: 3},
		{Kind: blind.TokenSubstring, Bits: 4, N: 2, MaxTokens: 8},
		{Kind: blind.TokenSubstring, Bits: 64, N: 2, MaxTokens: 3}, // most rows overflow
		{Kind: blind.TokenSubstring, Bits: 8, N: 4, MaxTokens: 1},
		{Kind: blind.TokenSubstring, Bits: 64, N: 8, MaxTokens: 1024},
	}
	for i, spec := range specs {
		t.Run(spec.String(), func(t *testing.T) {
			r := rand.New(rand.NewPCG(20240601, uint64(i)))
			kind := stringKinds[spec.Kind]
			tk := mustTokenizer(t, testSubkey, spec)
			norm := tk.Spec()

			rows := edgeRows(norm)
			for range cases(400) {
				rows = append(rows, randString(r, 12))
			}
			for range 20 {
				rows = append(rows, randString(r, 80)) // long: prefixes past MaxLen, overflow
			}
			tokens := make([][]int64, len(rows))
			overflowed := make([]bool, len(rows))
			var overflowToken int64
			if spec.Kind == blind.TokenSubstring {
				q, err := tk.SubstringQuery(strings.Repeat("x", norm.N))
				require.NoError(t, err)
				overflowToken = q.Any[0]
			}
			for j, row := range rows {
				tokens[j] = mustTokens(t, tk, row)
				require.Equal(t, referenceTokens(t, testSubkey, spec, row), tokens[j], "tokens of %q differ from the reference", row)
				overflowed[j] = spec.Kind == blind.TokenSubstring && slices.Equal(tokens[j], []int64{overflowToken}) &&
					len(refGrams(runesOf(row), norm.N)) > norm.MaxTokens
			}

			var queries []string
			for range cases(1500) {
				if r.IntN(3) == 0 {
					queries = append(queries, randString(r, 10))
				} else {
					queries = append(queries, kind.derive(r, rows[r.IntN(len(rows))])...)
				}
			}
			queries = append(queries, edgeRows(norm)...)

			var candidates, matches, falsePositives, refused int
			for _, q := range queries {
				query, err := kind.query(tk, q)
				qn := utf8.RuneCountInString(q)
				if qn < kind.minQ(norm) {
					require.ErrorIs(t, err, blind.ErrQueryTooShort, "query of %d runes", qn)
					refused++
					continue
				}
				require.NoError(t, err)
				all, anyTokens := referenceQuery(t, testSubkey, spec, q)
				require.Equal(t, all, query.All, "All of %q", q)
				require.Equal(t, anyTokens, query.Any, "Any of %q", q)
				for j, row := range rows {
					isCandidate := query.Matches(tokens[j])
					matched := kind.match(row, q)
					if matched {
						matches++
						if !isCandidate {
							t.Fatalf("false negative: %s query %q misses row %q", spec.Kind, q, row)
						}
					}
					if isCandidate {
						candidates++
						if !matched {
							falsePositives++
						}
					}
					// Exact cases: with 64-bit tokens, a prefix or suffix
					// query of at most MaxLen runes, and a substring query
					// of one n-gram on a row that did not overflow, find
					// exactly the matching rows.
					exact := norm.Bits == 64 && (spec.Kind != blind.TokenSubstring && qn <= norm.MaxLen ||
						spec.Kind == blind.TokenSubstring && qn == norm.N && !overflowed[j])
					if exact && isCandidate && !matched {
						t.Fatalf("false positive with 64-bit tokens: query %q, row %q", q, row)
					}
				}
			}
			t.Logf("%d queries (%d refused as too short): %d matches, %d candidates, %d false positives",
				len(queries), refused, matches, candidates, falsePositives)
			assert.Greater(t, matches, cases(500), "too few matches to test anything")
			assert.Greater(t, refused, 0, "no query too short")
			if norm.Bits <= 4 {
				assert.Greater(t, falsePositives, 0, "4-bit tokens should collide")
			}
		})
	}
}

// TestPrefixQueryTokenInEveryValue: for a query q, every value that starts
// with q (by MatchPrefix), of any tail, holds the query's token; the same
// for suffixes. For a q of valid UTF-8, every q+tail starts with q.
func TestAffixQueryTokenInEveryValue(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for _, spec := range []blind.TokenSpec{
		{Kind: blind.TokenPrefix, Bits: 64, MinLen: 2, MaxLen: 5},
		{Kind: blind.TokenSuffix, Bits: 64, MinLen: 2, MaxLen: 5},
	} {
		tk := mustTokenizer(t, testSubkey, spec)
		checked := 0
		for range 2000 {
			q := randString(r, 8)
			if utf8.RuneCountInString(q) < spec.MinLen {
				continue
			}
			var query blind.Query
			var err error
			if spec.Kind == blind.TokenPrefix {
				query, err = tk.PrefixQuery(q)
			} else {
				query, err = tk.SuffixQuery(q)
			}
			require.NoError(t, err)
			require.Len(t, query.Any, 1)
			for range 5 {
				tail := randString(r, 6)
				v, match := q+tail, blind.MatchPrefix(q+tail, q)
				if spec.Kind == blind.TokenSuffix {
					v, match = tail+q, blind.MatchSuffix(tail+q, q)
				}
				if utf8.ValidString(q) {
					require.True(t, match, "%q with %q added does not match", q, tail)
				}
				if match {
					checked++
					require.Contains(t, mustTokens(t, tk, v), query.Any[0], "%s %q of %q", spec.Kind, q, v)
				}
			}
		}
		assert.Greater(t, checked, 5000)
	}
}

// TestMatchFunctionsAgreeOnValidUTF8: on valid UTF-8 the rune-wise Match
// functions are strings.HasPrefix, HasSuffix and Contains.
func TestMatchFunctionsAgreeOnValidUTF8(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	valid := []string{"a", "b", "é", "€", "😀", "ab", " "}
	gen := func(n int) string {
		var b strings.Builder
		for range r.IntN(n + 1) {
			b.WriteString(valid[r.IntN(len(valid))])
		}
		return b.String()
	}
	for range 20000 {
		v, q := gen(8), gen(3)
		require.Equal(t, strings.HasPrefix(v, q), blind.MatchPrefix(v, q), "%q %q", v, q)
		require.Equal(t, strings.HasSuffix(v, q), blind.MatchSuffix(v, q), "%q %q", v, q)
		require.Equal(t, strings.Contains(v, q), blind.MatchSubstring(v, q), "%q %q", v, q)
	}
}

func TestSetTokensNoFalseNegatives(t *testing.T) {
	for i, bits := range []int{64, 4} {
		t.Run(fmt.Sprint(bits), func(t *testing.T) {
			r := rand.New(rand.NewPCG(11, uint64(i)))
			tk := mustTokenizer(t, testSubkey, blind.TokenSpec{Kind: blind.TokenSet, Bits: bits})
			pool := []string{"", "a", "é", "\xff"}
			for range 40 {
				pool = append(pool, randString(r, 6))
			}
			rows := make([][]string, 500)
			tokens := make([][]int64, len(rows))
			for j := range rows {
				for range r.IntN(5) {
					rows[j] = append(rows[j], pool[r.IntN(len(pool))])
				}
				var err error
				tokens[j], err = tk.AppendSetTokens(nil, rows[j]...)
				require.NoError(t, err)
				want := map[int64]bool{}
				for _, e := range rows[j] {
					for _, x := range referenceTokens(t, testSubkey, tk.Spec(), e) {
						want[x] = true
					}
				}
				require.True(t, slices.Equal(refSet(want), tokens[j]), "tokens of %q differ from the reference", rows[j])
			}
			var matches, falsePositives int
			for range 2000 {
				q := pool[r.IntN(len(pool))]
				if r.IntN(4) == 0 {
					q = randString(r, 6)
				}
				query, err := tk.EqualQuery(q)
				require.NoError(t, err)
				for j, row := range rows {
					c, m := query.Matches(tokens[j]), blind.MatchSet(row, q)
					if m {
						matches++
						if !c {
							t.Fatalf("false negative: %q in %q", q, row)
						}
					}
					if c && !m {
						falsePositives++
						if bits == 64 {
							t.Fatalf("false positive with 64-bit tokens: %q, %q", q, row)
						}
					}
				}
			}
			assert.Greater(t, matches, 1000)
			if bits <= 4 {
				assert.Greater(t, falsePositives, 0)
			}
		})
	}
}

// cases returns n, the number of random cases of a property test, or a
// fifth of it under the race detector and with -short.
func cases(n int) int {
	if raceEnabled || testing.Short() {
		return n / 5
	}
	return n
}

// rangeDomains are the domains of the range property tests.
var rangeDomains = []blind.RangeDomain{
	daysDomain,
	{Min: 0, Max: 1, Step: 1},
	{Min: 5, Max: 5, Step: 1},                        // one value, one level
	{Min: 0, Max: 10, Step: 100},                     // one bucket
	{Min: 0, Max: 255, Step: 1},                      // 2^8 − 1: a full tree
	{Min: 0, Max: 256, Step: 1},                      // 2^8: one offset in the right half
	{Min: -1000, Max: -1, Step: 1},                   // negative
	{Min: -1000, Max: 1000, Step: 7},                 // Step > 1, span not a multiple of it
	{Min: -(1 << 20), Max: 1<<20 - 1, Step: 1 << 10}, // 2^11 buckets
	{Min: math.MinInt64, Max: math.MinInt64 + 10000, Step: 3},
	{Min: math.MaxInt64 - 10000, Max: math.MaxInt64, Step: 1},
	{Min: math.MinInt64, Max: math.MaxInt64, Step: 2}, // 63 levels
	{Min: math.MinInt64, Max: math.MaxInt64, Step: 1 << 40},
	{Min: -(1 << 62), Max: 1<<62 - 1, Step: 1}, // 2^63 − 1: a full tree of 63 levels
}

// randInDomain returns a value of the domain, often one at or next to an
// edge: Min, Max, a bucket's first or last value, or 2^k buckets from Min.
func randInDomain(r *rand.Rand, d blind.RangeDomain) int64 {
	span := uint64(d.Max) - uint64(d.Min)
	at := func(off uint64) int64 { return int64(uint64(d.Min) + min(off, span)) }
	step := uint64(d.Step)
	switch r.IntN(6) {
	case 0:
		return [...]int64{d.Min, d.Max, at(1), at(span - 1)}[r.IntN(4)]
	case 1:
		b := r.Uint64N(span/step + 1)
		return at(b*step + [...]uint64{0, step - 1}[r.IntN(2)])
	case 2:
		k := r.IntN(64)
		return at((uint64(1)<<k)*step - uint64(r.IntN(2)))
	}
	if span == math.MaxUint64 {
		return int64(r.Uint64())
	}
	return at(r.Uint64N(span + 1))
}

// saturating adds d to v within int64.
func saturating(v, d int64) int64 {
	switch {
	case d > 0 && v > math.MaxInt64-d:
		return math.MaxInt64
	case d < 0 && v < math.MinInt64-d:
		return math.MinInt64
	}
	return v + d
}

func TestRangeTokensNoFalseNegatives(t *testing.T) {
	for i, d := range rangeDomains {
		for _, bits := range []int{64, 4} {
			spec := blind.TokenSpec{Kind: blind.TokenRange, Bits: bits, Domain: d}
			t.Run(spec.String(), func(t *testing.T) {
				r := rand.New(rand.NewPCG(99, uint64(i)))
				tk := mustTokenizer(t, testSubkey, spec)
				offset := func(v int64) uint64 { return (uint64(v) - uint64(d.Min)) / uint64(d.Step) }

				values := []int64{d.Min, d.Max}
				for range cases(300) {
					values = append(values, randInDomain(r, d))
				}
				tokens := make([][]int64, len(values))
				for j, v := range values {
					tokens[j] = mustRangeTokens(t, tk, v)
					require.Equal(t, referenceRangeTokens(testSubkey, spec, v), tokens[j], "tokens of %d", v)
				}
				bound := func() int64 {
					switch r.IntN(5) {
					case 0:
						return [...]int64{math.MinInt64, math.MaxInt64, saturating(d.Min, -1), saturating(d.Max, 1), d.Min, d.Max}[r.IntN(6)]
					case 1:
						return saturating(values[r.IntN(len(values))], [...]int64{-1, 0, 1, -d.Step, d.Step}[r.IntN(5)])
					}
					return randInDomain(r, d)
				}
				var matches, candidates, falsePositives, empty int
				for n := range cases(1500) {
					lo, hi := bound(), bound()
					if r.IntN(8) != 0 && lo > hi {
						lo, hi = hi, lo
					}
					query, err := tk.RangeQuery(lo, hi)
					require.NoError(t, err)
					require.Empty(t, query.All)
					cover := tk.RangeCover(lo, hi)
					if n%4 == 0 { // the reference is slow
						require.Equal(t, referenceRangeQuery(testSubkey, spec, lo, hi), query.Any, "query [%d, %d]", lo, hi)
						require.Equal(t, referenceCover(d, lo, hi), cover, "cover of [%d, %d]", lo, hi)
					}
					require.LessOrEqual(t, len(cover), max(2, 2*tk.Levels()-2), "cover of [%d, %d] too large", lo, hi)
					clo, chi := max(lo, d.Min), min(hi, d.Max)
					if query.Empty() {
						empty++
						require.Greater(t, clo, chi, "empty query for [%d, %d], which meets the domain", lo, hi)
					}
					for j, v := range values {
						c, m := query.Matches(tokens[j]), blind.MatchRange(v, lo, hi)
						if m {
							matches++
							if !c {
								t.Fatalf("false negative: %d in [%d, %d]", v, lo, hi)
							}
						}
						if c {
							candidates++
							if !m {
								falsePositives++
							}
						}
						if bits == 64 {
							// Exact at Step granularity: a candidate iff
							// its bucket is one of [lo, hi]'s.
							inBuckets := clo <= chi && offset(clo) <= offset(v) && offset(v) <= offset(chi)
							if inBuckets != c {
								t.Fatalf("value %d, query [%d, %d]: candidate %v, in the query's buckets %v", v, lo, hi, c, inBuckets)
							}
						}
					}
				}
				t.Logf("%d matches, %d candidates, %d false positives, %d empty queries", matches, candidates, falsePositives, empty)
				assert.Greater(t, matches, cases(500))
				if bits <= 4 && tk.Levels() > 4 {
					assert.Greater(t, falsePositives, 0)
				}
			})
		}
	}
}
