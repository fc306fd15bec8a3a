package tokenbench

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestDyadicCover checks the range tokenizer on every calendar month the
// benchmark queries and on random ranges: the cover holds each day of the
// range in exactly one block and no other day, and has as few blocks as any
// exact cover (found by dynamic programming); and on a few ranges, through
// the tokens themselves, that a date matches the query exactly when it is
// in the range.
func TestDyadicCover(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	ranges := slices.Clone(months())
	ranges = append(ranges, dayRange{0, 0}, dayRange{0, dayCount - 1}, dayRange{1023, 1024}, dayRange{dayCount - 1, dayCount - 1})
	for range 500 {
		a, b := r.IntN(dayCount), r.IntN(dayCount)
		ranges = append(ranges, dayRange{min(a, b), max(a, b)})
	}
	for _, rg := range ranges {
		cover := dyadicCover(rg.from, rg.to)
		for day := range 1 << rangeLevels {
			in := 0
			for _, b := range cover {
				if day >= b.first() && day <= b.last() {
					in++
				}
			}
			if want := rg.holds(day); in != want {
				t.Fatalf("cover of %d..%d holds day %d in %d blocks, want %d: %v", rg.from, rg.to, day, in, want, cover)
			}
		}
		if want := minimalCoverSize(rg.from, rg.to); len(cover) != want {
			t.Errorf("cover of %d..%d has %d blocks, the minimal one %d: %v", rg.from, rg.to, len(cover), want, cover)
		}
	}

	tk := newTokenizer(subkeys{prefix: []byte("p"), email: []byte("e"), created: []byte("c")})
	for _, rg := range []dayRange{months()[0], months()[37], {5, 1800}} {
		query := tk.rangeTokens(rg.from, rg.to)
		for day := range dayCount {
			matched := 0
			for _, tok := range tk.dayTokens(day) {
				if slices.Contains(query, tok) {
					matched++
				}
			}
			if want := rg.holds(day); matched != want {
				t.Fatalf("day %d holds %d of the tokens of %d..%d, want %d", day, matched, rg.from, rg.to, want)
			}
		}
	}
}

// holds is 1 when the range holds day, else 0.
func (rg dayRange) holds(day int) int {
	if day >= rg.from && day <= rg.to {
		return 1
	}
	return 0
}

// minimalCoverSize is the fewest blocks of the range tree (levels 1 to
// rangeLevels) whose union is from..to exactly: an exact cover is a
// sequence of aligned blocks from left to right, so fewest[d] is one more
// than the least fewest[] after any block that starts at d and ends within
// the range.
func minimalCoverSize(from, to int) int {
	fewest := make([]int, to+2)
	for d := to; d >= from; d-- {
		fewest[d] = -1
		for size := 0; size < rangeLevels; size++ {
			end := d + 1<<size
			if d%(1<<size) != 0 || end-1 > to {
				break
			}
			if n := fewest[end] + 1; fewest[d] < 0 || n < fewest[d] {
				fewest[d] = n
			}
		}
	}
	return fewest[from]
}
