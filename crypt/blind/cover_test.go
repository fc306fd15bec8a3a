package blind_test

import (
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fieldcrypt/fieldcrypt/crypt/blind"
)

// unitTokenizer returns a range Tokenizer whose offsets are its values:
// the domain 0..maxOffset with Step 1.
func unitTokenizer(t testing.TB, maxOffset int64) *blind.Tokenizer {
	t.Helper()
	return mustTokenizer(t, testSubkey, blind.TokenSpec{Kind: blind.TokenRange, Bits: 64,
		Domain: blind.RangeDomain{Min: 0, Max: maxOffset, Step: 1}})
}

// fewestNodes returns, for a tree of B levels and a first offset lo,
// best[e+1] = the fewest nodes of levels 1..B that partition the offsets
// lo..e, for every e (a large number where none does): a shortest path
// over offsets, where a node aligned at p leads from p to its end + 1.
func fewestNodes(B int, lo uint64) []int {
	size := uint64(1) << B
	best := make([]int, size+1)
	for i := range best {
		best[i] = math.MaxInt32
	}
	best[lo] = 0
	for p := lo; p < size; p++ {
		if best[p] == math.MaxInt32 {
			continue
		}
		for k := 0; k < B && p%(1<<k) == 0; k++ {
			e := p + 1<<k
			best[e] = min(best[e], best[p]+1)
		}
	}
	return best
}

// checkCover checks that nodes are a valid cover of the existing offsets
// lo..hi of a tree of B levels with offsets 0..maxOffset: levels 1..B, in
// ascending order, disjoint, each holding an existing offset, together
// holding exactly lo..hi.
func checkCover(t *testing.T, nodes []blind.CoverNode, B int, maxOffset, lo, hi uint64) {
	t.Helper()
	next := lo
	for i, n := range nodes {
		if n.Level < 1 || n.Level > B {
			t.Fatalf("[%d, %d] of %d: node %d has level %d, want 1..%d", lo, hi, maxOffset, i, n.Level, B)
		}
		shift := B - n.Level
		if n.Prefix >= 1<<n.Level {
			t.Fatalf("[%d, %d] of %d: node %+v has a prefix of more than %d bits", lo, hi, maxOffset, n, n.Level)
		}
		first, last := n.Prefix<<shift, (n.Prefix+1)<<shift-1
		if first != next {
			t.Fatalf("[%d, %d] of %d: node %+v starts at %d, want %d (nodes %v)", lo, hi, maxOffset, n, first, next, nodes)
		}
		if first > maxOffset {
			t.Fatalf("[%d, %d] of %d: node %+v holds no existing offset", lo, hi, maxOffset, n)
		}
		if min(last, maxOffset) > hi {
			t.Fatalf("[%d, %d] of %d: node %+v holds offsets up to %d", lo, hi, maxOffset, n, min(last, maxOffset))
		}
		next = last + 1
	}
	if next <= hi {
		t.Fatalf("[%d, %d] of %d: nodes %v stop before %d", lo, hi, maxOffset, nodes, next)
	}
}

// TestRangeCoverMinimal compares every cover of small trees (B <= 8) with
// the fewest nodes found by a shortest-path search, and with the
// reference's recursive walk.
func TestRangeCoverMinimal(t *testing.T) {
	var maxOffsets []uint64
	for m := range uint64(64) { // every tree of up to 6 levels
		maxOffsets = append(maxOffsets, m)
	}
	if cases(5) == 5 { // not under -race or -short
		maxOffsets = append(maxOffsets, 64, 65, 100, 126, 127, 128, 129, 170, 200, 254, 255)
	}
	intervals := 0
	for _, maxOffset := range maxOffsets {
		B := max(1, bits.Len64(maxOffset))
		tk := unitTokenizer(t, int64(maxOffset))
		require.Equal(t, B, tk.Levels())
		for lo := uint64(0); lo <= maxOffset; lo++ {
			best := fewestNodes(B, lo)
			// With hi the last offset, any end past it will do.
			tail := math.MaxInt32
			for e := maxOffset; e < 1<<B; e++ {
				tail = min(tail, best[e+1])
			}
			for hi := lo; hi <= maxOffset; hi++ {
				want := best[hi+1]
				if hi == maxOffset {
					want = tail
				}
				got := tk.RangeCover(int64(lo), int64(hi))
				if len(got) != want {
					t.Fatalf("tree of %d levels, offsets 0..%d: cover of [%d, %d] = %v, %d nodes; the fewest is %d",
						B, maxOffset, lo, hi, got, len(got), want)
				}
				checkCover(t, got, B, maxOffset, lo, hi)
				intervals++
				if maxOffset >= 64 {
					continue // the reference is slow; TestRangeCoverLarge has more of it
				}
				if ref := referenceCover(tk.Spec().Domain, int64(lo), int64(hi)); !slices.Equal(got, ref) {
					t.Fatalf("offsets 0..%d: cover of [%d, %d] = %v, the reference's %v", maxOffset, lo, hi, got, ref)
				}
			}
		}
	}
	t.Logf("%d intervals", intervals)
}

// TestRangeCoverBruteForce checks the shortest-path search itself on trees
// of up to 3 levels by trying every set of nodes.
func TestRangeCoverBruteForce(t *testing.T) {
	for maxOffset := range uint64(8) {
		B := max(1, bits.Len64(maxOffset))
		var nodes []blind.CoverNode
		for level := 1; level <= B; level++ {
			for p := range uint64(1) << level {
				nodes = append(nodes, blind.CoverNode{Level: level, Prefix: p})
			}
		}
		tk := unitTokenizer(t, int64(maxOffset))
		for lo := uint64(0); lo <= maxOffset; lo++ {
			for hi := lo; hi <= maxOffset; hi++ {
				want := uint64(1)<<(hi+1) - 1<<lo // the offsets lo..hi, as a bit set
				fewest := math.MaxInt
				for set := range 1 << len(nodes) {
					var held uint64
					for i, n := range nodes {
						if set&(1<<i) != 0 {
							shift := B - n.Level
							held |= (uint64(1)<<(1<<shift) - 1) << (n.Prefix << shift)
						}
					}
					if held&(1<<(maxOffset+1)-1) == want {
						fewest = min(fewest, bits.OnesCount(uint(set)))
					}
				}
				got := tk.RangeCover(int64(lo), int64(hi))
				assert.Len(t, got, fewest, "offsets 0..%d, [%d, %d]: %v", maxOffset, lo, hi, got)
			}
		}
	}
}

// TestRangeQueryExact: with 64-bit tokens, the domain values whose tokens
// meet a query's are exactly those in [lo, hi] at Step granularity, over
// every interval around a small domain with Step 3.
func TestRangeQueryExact(t *testing.T) {
	for _, d := range []blind.RangeDomain{
		{Min: -37, Max: 60, Step: 3},  // 33 buckets, the last one short
		{Min: -37, Max: 58, Step: 3},  // 32 buckets: a full tree of 5 levels
		{Min: 100, Max: 164, Step: 1}, // 65 offsets: 2^6 + 1
	} {
		t.Run(fmt.Sprintf("%+v", d), func(t *testing.T) {
			tk := mustTokenizer(t, testSubkey, blind.TokenSpec{Kind: blind.TokenRange, Bits: 64, Domain: d})
			bucket := func(v int64) int64 { return (v - d.Min) / d.Step }
			var values []int64
			var tokens [][]int64
			for v := d.Min; v <= d.Max; v++ {
				values = append(values, v)
				tokens = append(tokens, mustRangeTokens(t, tk, v))
			}
			for lo := d.Min - 8; lo <= d.Max+8; lo++ {
				for hi := lo - 2; hi <= d.Max+8; hi++ {
					q, err := tk.RangeQuery(lo, hi)
					require.NoError(t, err)
					clo, chi := max(lo, d.Min), min(hi, d.Max)
					for i, v := range values {
						want := clo <= chi && bucket(clo) <= bucket(v) && bucket(v) <= bucket(chi)
						if got := q.Matches(tokens[i]); got != want {
							t.Fatalf("[%d, %d]: value %d is a candidate: %v, want %v", lo, hi, v, got, want)
						}
					}
					if clo > chi && !q.Empty() {
						t.Fatalf("[%d, %d] is outside the domain, but the query is %+v", lo, hi, q)
					}
				}
			}
		})
	}
}

// TestRangeCoverLarge compares covers of random intervals in wide domains
// with the reference and bounds their size by 2B − 2.
func TestRangeCoverLarge(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, d := range rangeDomains {
		tk := mustTokenizer(t, testSubkey, blind.TokenSpec{Kind: blind.TokenRange, Bits: 64, Domain: d})
		B := tk.Levels()
		for range cases(1000) {
			lo, hi := randInDomain(r, d), randInDomain(r, d)
			if lo > hi {
				lo, hi = hi, lo
			}
			got := tk.RangeCover(lo, hi)
			require.Equal(t, referenceCover(d, lo, hi), got, "%+v: [%d, %d]", d, lo, hi)
			require.LessOrEqual(t, len(got), max(2, 2*B-2), "%+v: [%d, %d]", d, lo, hi)
			maxOffset := (uint64(d.Max) - uint64(d.Min)) / uint64(d.Step)
			offset := func(v int64) uint64 { return (uint64(v) - uint64(d.Min)) / uint64(d.Step) }
			checkCover(t, got, B, maxOffset, offset(lo), offset(hi))
		}
	}
}
