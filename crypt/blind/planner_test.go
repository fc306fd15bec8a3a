package blind_test

import (
	"math"
	"strings"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/crypt/blind"
)

func TestRecommend(t *testing.T) {
	tests := []struct {
		name               string
		x                  float64
		bits, min, max     int
		warn               string // a substring of the only warning, or "" for none
		coincidencesApprox float64
	}{
		// CipherSweet's "Blind Index Planning" example: a population of
		// 50,000 gives {min 8, max 15}; CipherSweet's max is the first width
		// whose coincidence count drops below 2 (50000/2^15 = 1.53), ours
		// the last that keeps 2 or more (50000/2^14 = 3.05).
		{"CipherSweet population 50000", 50000, 11, 8, 14, "", 50000 / 2048.0},
		// CipherSweet's input-domain example: 4-digit years, 10,000 values.
		{"10000 values", 10000, 9, 7, 12, "", 10000 / 512.0},
		{"exact power of two", 1 << 16, 11, 8, 15, "", 32},
		{"one million", 1e6, 14, 10, 18, "", 1e6 / 16384},
		{"smallest with a range", 4, 1, 1, 1, "", 2},
		{"3 values", 3, 1, 1, 1, "too few", 1.5},
		{"2 values (a boolean)", 2, 1, 1, 1, "too few", 1},
		{"1 value", 1, 1, 1, 1, "too few", 0.5},
		{"half a value", 0.5, 1, 1, 1, "too few", 0.25},
		{"1e100 values, capped", 1e100, 211, 167, 256, "capped", 1e100 / math.Exp2(211)},
		{"2^600 values, capped", math.Exp2(600), 256, 256, 256, "capped", math.Exp2(600 - 256)},
		{"largest float", math.MaxFloat64, 256, 256, 256, "capped", math.MaxFloat64 / math.Exp2(256)},
		{"zero", 0, 0, 0, 0, "not a positive finite number", 0},
		{"negative", -5, 0, 0, 0, "not a positive finite number", 0},
		{"NaN", math.NaN(), 0, 0, 0, "not a positive finite number", 0},
		{"+Inf", math.Inf(1), 0, 0, 0, "not a positive finite number", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := blind.Recommend(tt.x)
			if p.Bits != tt.bits || p.MinBits != tt.min || p.MaxBits != tt.max {
				t.Errorf("Recommend(%g) = Bits %d, MinBits %d, MaxBits %d; want %d, %d, %d", tt.x, p.Bits, p.MinBits, p.MaxBits, tt.bits, tt.min, tt.max)
			}
			checkWarnings(t, "Recommend", p, tt.warn)
			if !approx(p.Coincidences, tt.coincidencesApprox) {
				t.Errorf("Recommend(%g).Coincidences = %g, want %g", tt.x, p.Coincidences, tt.coincidencesApprox)
			}
			if tt.warn == "" {
				// The rule itself: √X <= 2^MinBits and 2^MaxBits <= X/2,
				// and both bounds are tight.
				lo, hi := math.Exp2(float64(p.MinBits)), math.Exp2(float64(p.MaxBits))
				if lo < math.Sqrt(tt.x) || hi > tt.x/2 {
					t.Errorf("Recommend(%g): 2^%d or 2^%d outside [√X, X/2]", tt.x, p.MinBits, p.MaxBits)
				}
				if p.MinBits > 1 && lo/2 >= math.Sqrt(tt.x) {
					t.Errorf("Recommend(%g): MinBits %d is not the smallest", tt.x, p.MinBits)
				}
				if hi*2 <= tt.x/2 {
					t.Errorf("Recommend(%g): MaxBits %d is not the largest", tt.x, p.MaxBits)
				}
			}
		})
	}
}

func TestRecommendAdditional(t *testing.T) {
	// CipherSweet's example: population 50,000 with an existing 4-bit index
	// over a 16-bit input domain gives {min 4, max 11}; again CipherSweet's
	// max is one past the last width that keeps 2 coincidences.
	p := blind.RecommendAdditional([]int{4}, 50000)
	if p.MinBits != 4 || p.MaxBits != 10 || p.Bits != 7 || len(p.Warnings) != 0 {
		t.Errorf("RecommendAdditional([4], 50000) = %+v; want MinBits 4, MaxBits 10, Bits 7, no warnings", p)
	}
	if want := 50000 / math.Exp2(4+7); !approx(p.Coincidences, want) {
		t.Errorf("RecommendAdditional([4], 50000).Coincidences = %g, want %g", p.Coincidences, want)
	}
	if p := blind.RecommendAdditional(nil, 50000); p.MinBits != 8 || p.MaxBits != 14 {
		t.Errorf("RecommendAdditional(nil, 50000) = %+v; want the same range as Recommend", p)
	}
	// Existing indexes that already use up the budget leave no safe width.
	p = blind.RecommendAdditional([]int{8, 8}, 50000)
	checkWarnings(t, "RecommendAdditional([8 8])", p, "existing indexes")
	if p.Bits != 1 {
		t.Errorf("RecommendAdditional([8 8], 50000).Bits = %d, want 1", p.Bits)
	}
	// An existing index wider than the field counts only log2 X bits.
	if a, b := blind.RecommendAdditional([]int{256}, 1e6), blind.RecommendAdditional([]int{20}, 1e6); a.MaxBits != b.MaxBits {
		t.Errorf("RecommendAdditional([256]) MaxBits %d != RecommendAdditional([20]) MaxBits %d for 1e6 values", a.MaxBits, b.MaxBits)
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name  string
		bits  int
		x     float64
		warn  string
		coinc float64
	}{
		{"recommended", 11, 50000, "", 50000 / 2048.0},
		{"at MaxBits", 14, 50000, "", 50000 / 16384.0},
		{"CipherSweet's max leaks by this rule", 15, 50000, "nearly identifies", 50000 / 32768.0},
		{"32 bits over 50000 values leaks", 32, 50000, "nearly identifies", 50000 / math.Exp2(32)},
		{"at MinBits", 8, 50000, "", 50000 / 256.0},
		{"4 bits over 50000 matches too much", 4, 50000, "too many rows", 3125},
		{"bits 0", 0, 50000, "outside 1..256", 0},
		{"bits 257", 257, 50000, "outside 1..256", 0},
		{"256 bits", 256, 50000, "nearly identifies", 50000 / math.Exp2(256)},
		{"boolean field", 1, 2, "too few", 1},
		{"invalid count", 16, math.NaN(), "not a positive finite number", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := blind.Check(tt.bits, tt.x)
			if p.Bits != tt.bits {
				t.Errorf("Check(%d, %g).Bits = %d, want %d", tt.bits, tt.x, p.Bits, tt.bits)
			}
			checkWarnings(t, "Check", p, tt.warn)
			if !approx(p.Coincidences, tt.coinc) {
				t.Errorf("Check(%d, %g).Coincidences = %g, want %g", tt.bits, tt.x, p.Coincidences, tt.coinc)
			}
			if r := blind.Recommend(tt.x); p.MinBits != r.MinBits || p.MaxBits != r.MaxBits {
				t.Errorf("Check(%d, %g) range %d..%d, Recommend's %d..%d", tt.bits, tt.x, p.MinBits, p.MaxBits, r.MinBits, r.MaxBits)
			}
		})
	}
}

func TestCheckCombined(t *testing.T) {
	tests := []struct {
		name  string
		bits  []int
		x     float64
		total int
		warn  string
		coinc float64
	}{
		{"two that fit", []int{6, 8}, 50000, 14, "", 50000 / 16384.0},
		{"two that add up to a leak", []int{8, 8}, 50000, 16, "intersected", 50000 / 65536.0},
		{"wide indexes count log2 X each", []int{32, 32}, 1000, 64, "intersected", 1000 / math.Exp2(2*math.Log2(1000))},
		{"one index is Check's MaxBits rule", []int{14}, 50000, 14, "", 50000 / 16384.0},
		{"a bad width", []int{0, 8}, 50000, 8, "outside 1..256", 50000 / 256.0},
		{"none", nil, 50000, 0, "", 0},
		{"boolean field", []int{1}, 2, 1, "too few", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := blind.CheckCombined(tt.bits, tt.x)
			if p.Bits != tt.total {
				t.Errorf("CheckCombined(%v, %g).Bits = %d, want %d", tt.bits, tt.x, p.Bits, tt.total)
			}
			checkWarnings(t, "CheckCombined", p, tt.warn)
			if !approx(p.Coincidences, tt.coinc) {
				t.Errorf("CheckCombined(%v, %g).Coincidences = %g, want %g", tt.bits, tt.x, p.Coincidences, tt.coinc)
			}
		})
	}
}

// checkWarnings wants exactly one warning containing want, or none if want
// is "".
func checkWarnings(t *testing.T, fn string, p blind.Plan, want string) {
	t.Helper()
	switch {
	case want == "" && len(p.Warnings) != 0:
		t.Errorf("%s warnings = %q, want none", fn, p.Warnings)
	case want != "" && (len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], want)):
		t.Errorf("%s warnings = %q, want one containing %q", fn, p.Warnings, want)
	}
}

func approx(got, want float64) bool {
	if want == 0 {
		return got == 0
	}
	return math.Abs(got-want) <= 1e-9*math.Abs(want)
}
