package blind

import (
	"fmt"
	"math"
	"strconv"
)

// Plan is the planner's advice on the width of a blind index over a field
// with a given number of distinct values X.
//
// The expected number of distinct values that share one index value, the
// coincidence count, is C = X / 2^bits. An index is worth having and leaks
// little when 2 <= C <= √X, that is √X <= 2^bits <= X/2:
//   - below MinBits, C > √X: a query matches too many rows to be useful;
//   - above MaxBits, C < 2: most index values belong to one plaintext, so the
//     index nearly identifies values and shows their frequencies.
type Plan struct {
	Bits         int      // the recommended (Recommend) or checked (Check) width
	MinBits      int      // below this, too many false positives per query
	MaxBits      int      // above this, the index leaks (nearly unique values)
	Coincidences float64  // C = X / 2^Bits: distinct values per index value
	Warnings     []string // what is wrong with the plan, if anything
}

// Recommend returns a plan for a new blind index over a field with about
// distinctValues distinct values (after transforms): the range of widths that
// keeps √X <= 2^bits <= X/2 and, as Bits, the middle of that range rounded
// down, which leans towards more false positives and less leakage.
//
// The rule is the one of CipherSweet's blind-index planner (Paragon
// Initiative, "Blind Index Planning", ciphersweet.paragonie.com, and its
// FieldIndexPlanner: coincidences between 2 and √R for a population R) and
// of the AWS Database Encryption SDK's "Choosing a beacon length" guide,
// which bounds the beacon length by √N and N/2 for N distinct values. For
// 50,000 values CipherSweet's planner answers {min 8, max 15} where Recommend
// answers MinBits 8, MaxBits 14: CipherSweet reports as its maximum the
// first width whose coincidence count falls below 2 (15 bits leave 1.5),
// while MaxBits is the last width that keeps at least 2.
//
// Recommend never panics. A count that is not a positive finite number gives
// a zero Plan with a warning. Fewer than 4 distinct values leave no safe
// width: the plan is 1 bit, with a warning to fold the field into a compound
// index instead. Counts beyond 2^257 are capped at 256 bits, with a warning.
func Recommend(distinctValues float64) Plan {
	p, ok := bounds(distinctValues, 0)
	if !ok {
		return p
	}
	p.Bits = (p.MinBits + p.MaxBits) / 2
	p.Coincidences = coincidences(distinctValues, float64(p.Bits))
	return p
}

// RecommendAdditional returns a plan for one more blind index over a field
// that already has indexes of the widths in existingBits, as CipherSweet's
// planner does with addExistingIndex: an attacker can intersect all of a
// field's indexes, so their widths add up, and the safe range of the new one
// shrinks by the bits the others already keep (each counted up to log2 X).
func RecommendAdditional(existingBits []int, distinctValues float64) Plan {
	p, ok := bounds(distinctValues, existingSum(existingBits, distinctValues))
	if !ok {
		return p
	}
	p.Bits = (p.MinBits + p.MaxBits) / 2
	p.Coincidences = coincidences(distinctValues, existingSum(existingBits, distinctValues)+float64(p.Bits))
	return p
}

// Check returns the planner's view of a chosen width: the safe range for
// distinctValues as in [Recommend], Bits set to bits, and a warning if bits
// is above MaxBits (the index leaks) or below MinBits (it matches too much)
// or outside 1..[MaxBits].
func Check(bits int, distinctValues float64) Plan {
	p, ok := bounds(distinctValues, 0)
	p.Bits = bits
	p.Coincidences = 0
	if bits < 1 || bits > MaxBits {
		p.Warnings = append(p.Warnings, fmt.Sprintf("%d bits is outside 1..%d", bits, MaxBits))
		return p
	}
	if validCount(distinctValues) {
		p.Coincidences = coincidences(distinctValues, float64(bits))
	}
	if ok {
		if w := widthWarning(fmt.Sprintf("%d bits", bits), p, distinctValues); w != "" {
			p.Warnings = append(p.Warnings, w)
		}
	}
	return p
}

// CheckCombined checks several blind indexes over the same field, as
// CipherSweet advises: an attacker who holds the database can intersect
// them, so their widths add up (each counted up to log2 X, the most an index
// of the field can tell). Bits is the combined width; it is checked against
// MaxBits, and each width against 1..[MaxBits]. A combination below MinBits
// draws no warning: each index can still be queried on its own.
func CheckCombined(bitsEach []int, distinctValues float64) Plan {
	p, ok := bounds(distinctValues, 0)
	total := 0
	for _, b := range bitsEach {
		if b < 1 || b > MaxBits {
			p.Warnings = append(p.Warnings, fmt.Sprintf("%d bits is outside 1..%d", b, MaxBits))
			continue
		}
		total += b
	}
	p.Bits = total
	p.Coincidences = 0
	if !validCount(distinctValues) || total == 0 {
		return p
	}
	p.Coincidences = coincidences(distinctValues, existingSum(bitsEach, distinctValues))
	if ok && p.Coincidences < 2 {
		p.Warnings = append(p.Warnings, fmt.Sprintf(
			"%d indexes keeping %d bits together leave about %s distinct values per combination of index values (fewer than 2): "+
				"intersected, they nearly identify values; keep their sum at most %d bits", len(bitsEach), total, num(p.Coincidences), p.MaxBits))
	}
	return p
}

// bounds computes MinBits and MaxBits for X distinct values when other
// indexes of the field already keep used bits. ok is false when there is no
// usable range; the plan then carries a warning and Bits is set.
func bounds(x, used float64) (p Plan, ok bool) {
	if !validCount(x) {
		p.Warnings = append(p.Warnings, fmt.Sprintf("distinct value count %v is not a positive finite number", x))
		return p, false
	}
	l := math.Log2(x)
	lo := math.Ceil(l/2 - used)
	hi := math.Floor(l - 1 - used)
	if hi < 1 {
		p.Bits, p.MinBits, p.MaxBits = 1, 1, 1
		p.Coincidences = coincidences(x, used+1)
		if used > 0 {
			p.Warnings = append(p.Warnings, fmt.Sprintf(
				"the existing indexes already keep %s of the %s bits that about %s distinct values allow: "+
					"any further index over this field would nearly identify values", num(used), num(l-1), num(x)))
		} else {
			p.Warnings = append(p.Warnings, fmt.Sprintf(
				"about %s distinct values are too few for any width to keep at least 2 values per index value: "+
					"an index of this field alone reveals it; index it only inside a compound index with other fields", num(x)))
		}
		return p, false
	}
	if hi > MaxBits {
		hi = MaxBits
		p.Warnings = append(p.Warnings, fmt.Sprintf("about %s distinct values exceed what a %d-bit index can plan for; capped at %d bits", num(x), MaxBits, MaxBits))
	}
	lo = max(1, min(lo, hi))
	p.MinBits, p.MaxBits = int(lo), int(hi)
	return p, true
}

// existingSum adds up the widths of indexes over one field, each counted up
// to log2 X, the most it can tell about X values.
func existingSum(bits []int, x float64) float64 {
	l := math.Log2(x)
	var sum float64
	for _, b := range bits {
		if b >= 1 && b <= MaxBits {
			sum += min(float64(b), l)
		}
	}
	return sum
}

func validCount(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) && x > 0 }

func coincidences(x, bits float64) float64 { return x / math.Exp2(bits) }

func widthWarning(what string, p Plan, x float64) string {
	switch {
	case p.Bits > p.MaxBits:
		return fmt.Sprintf("%s over about %s distinct values leave about %s values per index value (fewer than 2): "+
			"the index nearly identifies values and shows their frequencies; use at most %d bits", what, num(x), num(p.Coincidences), p.MaxBits)
	case p.Bits < p.MinBits:
		return fmt.Sprintf("%s over about %s distinct values put about %s values behind each index value (more than √X ≈ %s): "+
			"queries match too many rows; use at least %d bits", what, num(x), num(p.Coincidences), num(math.Sqrt(x)), p.MinBits)
	}
	return ""
}

// num formats a count for a warning: whole numbers up to 10^15 in full,
// others with 3 significant digits.
func num(x float64) string {
	if x >= 100 && x < 1e15 {
		return strconv.FormatFloat(x, 'f', 0, 64)
	}
	return strconv.FormatFloat(x, 'g', 3, 64)
}
