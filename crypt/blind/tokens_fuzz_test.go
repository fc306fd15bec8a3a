package blind_test

import (
	"errors"
	"math"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/fieldcrypt/fieldcrypt/crypt/blind"
)

// The fuzz targets check that tokenizing and querying never panic, that
// every error is of the documented type, and that a value that matches a
// query (by the kind's Match function) is always a candidate. Each also
// builds a value around the query, so that matches are common.

var fuzzStrings = []string{"", "a", "abc", "smithson", "alice@example.com", "Øster", "日本語", "\xff\xfe", "\xc3", "\xc3\xa9", "\xe2\x82", "\xe2\x82\xac", "aaaaaaaa"}

// checkTokens fails unless the package's tokens of v are the reference's.
func checkTokens(t *testing.T, tk *blind.Tokenizer, v string) []int64 {
	t.Helper()
	got, err := tk.AppendTokens(nil, v)
	if err != nil {
		t.Fatalf("AppendTokens(%q) err = %v", v, err)
	}
	if want := referenceTokens(t, testSubkey, tk.Spec(), v); !slices.Equal(got, want) {
		t.Fatalf("AppendTokens(%q) = %v, the reference's %v", v, got, want)
	}
	return got
}

// checkStringQuery runs q against values with the kind's query and Match
// function.
func checkStringQuery(t *testing.T, tk *blind.Tokenizer, q string, minQ int, values ...string) {
	t.Helper()
	kind := stringKinds[tk.Kind()]
	query, err := kind.query(tk, q)
	if utf8.RuneCountInString(q) < minQ {
		if !errors.Is(err, blind.ErrQueryTooShort) {
			t.Fatalf("%s query %q of %d runes: err = %v, want ErrQueryTooShort", tk.Kind(), q, utf8.RuneCountInString(q), err)
		}
		return
	}
	if err != nil {
		t.Fatalf("%s query %q err = %v", tk.Kind(), q, err)
	}
	all, anyTokens := referenceQuery(t, testSubkey, tk.Spec(), q)
	if !slices.Equal(all, query.All) || !slices.Equal(anyTokens, query.Any) {
		t.Fatalf("%s query %q = %+v, the reference's All %v Any %v", tk.Kind(), q, query, all, anyTokens)
	}
	for _, v := range values {
		if kind.match(v, q) && !query.Matches(checkTokens(t, tk, v)) {
			t.Fatalf("false negative: %s query %q misses %q (spec %s)", tk.Kind(), q, v, tk.Spec())
		}
	}
}

func FuzzPrefixTokens(f *testing.F) {
	for _, s := range fuzzStrings {
		f.Add(s, "smi", uint8(2), uint8(5), uint8(13))
		f.Add("smithsonian", s, uint8(0), uint8(0), uint8(63))
	}
	f.Fuzz(func(t *testing.T, value, q string, minLen, extra, bits uint8) {
		spec := blind.TokenSpec{Kind: blind.TokenPrefix, Bits: 1 + int(bits)%64, MinLen: 1 + int(minLen)%8}
		spec.MaxLen = spec.MinLen + int(extra)%8
		tk := mustTokenizer(t, testSubkey, spec)
		checkTokens(t, tk, value)
		checkStringQuery(t, tk, q, spec.MinLen, value, q+value, q)
	})
}

func FuzzSuffixTokens(f *testing.F) {
	for _, s := range fuzzStrings {
		f.Add(s, ".com", uint8(3), uint8(8), uint8(16))
		f.Add("alice@example.com", s, uint8(0), uint8(0), uint8(63))
	}
	f.Fuzz(func(t *testing.T, value, q string, minLen, extra, bits uint8) {
		spec := blind.TokenSpec{Kind: blind.TokenSuffix, Bits: 1 + int(bits)%64, MinLen: 1 + int(minLen)%8}
		spec.MaxLen = spec.MinLen + int(extra)%8
		tk := mustTokenizer(t, testSubkey, spec)
		checkTokens(t, tk, value)
		checkStringQuery(t, tk, q, spec.MinLen, value, value+q, q)
	})
}

func FuzzSubstringTokens(f *testing.F) {
	for _, s := range fuzzStrings {
		f.Add(s, "exam", uint16(3), uint8(1), uint8(63), uint8(12))
		f.Add("alice@example.com", s, uint16(0), uint8(0), uint8(3), uint8(63))
	}
	f.Fuzz(func(t *testing.T, value, q string, at uint16, n, maxTokens, bits uint8) {
		spec := blind.TokenSpec{Kind: blind.TokenSubstring, Bits: 1 + int(bits)%64, N: 2 + int(n)%7, MaxTokens: 1 + int(maxTokens)%80}
		tk := mustTokenizer(t, testSubkey, spec)
		checkTokens(t, tk, value)
		i := int(at) % (len(value) + 1)
		checkStringQuery(t, tk, q, spec.N, value, value[:i]+q+value[i:], q)
	})
}

func FuzzSetTokens(f *testing.F) {
	for _, s := range fuzzStrings {
		f.Add(s, "b@y.org", s, uint8(15))
	}
	f.Fuzz(func(t *testing.T, a, b, q string, bits uint8) {
		tk := mustTokenizer(t, testSubkey, blind.TokenSpec{Kind: blind.TokenSet, Bits: 1 + int(bits)%64})
		elements := []string{a, b}
		tokens, err := tk.AppendSetTokens(nil, elements...)
		if err != nil {
			t.Fatal(err)
		}
		if len(tokens) == 0 || len(tokens) > 2 || !slices.IsSorted(tokens) {
			t.Fatalf("AppendSetTokens(%q, %q) = %v", a, b, tokens)
		}
		for _, q := range []string{q, a, b} {
			query, err := tk.EqualQuery(q)
			if err != nil {
				t.Fatal(err)
			}
			if blind.MatchSet(elements, q) && !query.Matches(tokens) {
				t.Fatalf("false negative: %q in {%q, %q}", q, a, b)
			}
		}
	})
}

func FuzzRangeTokens(f *testing.F) {
	add := func(dmin, dmax, step, v, lo, hi int64) {
		f.Add(dmin, dmax, step, v, lo, hi, uint8(63))
		f.Add(dmin, dmax, step, v, lo, hi, uint8(3))
	}
	add(18262, 20088, 1, 19000, 18300, 18400)
	add(0, 255, 1, 255, 0, 255)
	add(0, 256, 1, 256, 200, math.MaxInt64)
	add(-1000, 1000, 7, -1, -10, 10)
	add(math.MinInt64, math.MaxInt64, 2, math.MaxInt64, math.MinInt64, 0)
	add(math.MinInt64, math.MaxInt64, 1, 0, 0, 0) // 64 levels: refused
	add(5, 5, 1, 5, 5, 5)
	add(0, 10, 100, 3, 4, 2)
	add(10, 0, 1, 0, 0, 0) // Min > Max: refused
	add(0, 10, 0, 0, 0, 0) // Step 0: refused
	f.Fuzz(func(t *testing.T, dmin, dmax, step, v, lo, hi int64, bits uint8) {
		spec := blind.TokenSpec{Kind: blind.TokenRange, Bits: 1 + int(bits)%64, Domain: blind.RangeDomain{Min: dmin, Max: dmax, Step: step}}
		tk, err := blind.NewTokenizer(testSubkey, spec)
		if err != nil {
			var se *blind.TokenSpecError
			if !errors.As(err, &se) || se.Field != "Domain" {
				t.Fatalf("NewTokenizer(%s) err = %v, want a TokenSpecError of Domain", spec, err)
			}
			return
		}
		d := spec.Domain
		// Out of the domain: an error naming the bound.
		if _, err := tk.AppendRangeTokens(nil, v); v < d.Min || v > d.Max {
			var te *blind.TokenError
			if !errors.As(err, &te) || !errors.Is(err, blind.ErrOutOfDomain) || (te.Bound == "Min") != (v < d.Min) {
				t.Fatalf("AppendRangeTokens(%d) in %s: err = %v", v, spec, err)
			}
		} else if err != nil {
			t.Fatalf("AppendRangeTokens(%d) in %s: err = %v", v, spec, err)
		}
		query, err := tk.RangeQuery(lo, hi)
		if err != nil {
			t.Fatal(err)
		}
		cover := tk.RangeCover(lo, hi)
		if len(cover) > max(2, 2*tk.Levels()-2) {
			t.Fatalf("cover of [%d, %d] in %s has %d nodes", lo, hi, spec, len(cover))
		}
		offset := func(v int64) uint64 { return (uint64(v) - uint64(d.Min)) / uint64(d.Step) }
		clo, chi := max(lo, d.Min), min(hi, d.Max)
		// v, and the domain values at and next to the bounds.
		for _, x := range []int64{v, lo, hi, saturating(lo, -1), saturating(hi, 1), d.Min, d.Max} {
			if x < d.Min || x > d.Max {
				continue
			}
			tokens := mustRangeTokens(t, tk, x)
			if len(tokens) > tk.Levels() || !slices.IsSorted(tokens) {
				t.Fatalf("tokens of %d in %s: %v", x, spec, tokens)
			}
			c := query.Matches(tokens)
			if blind.MatchRange(x, lo, hi) && !c {
				t.Fatalf("false negative: %d in [%d, %d], domain %s", x, lo, hi, spec)
			}
			if spec.Bits == 64 {
				inBuckets := clo <= chi && offset(clo) <= offset(x) && offset(x) <= offset(chi)
				if c != inBuckets {
					t.Fatalf("64 bits: %d is a candidate of [%d, %d]: %v, in its buckets: %v (%s)", x, lo, hi, c, inBuckets, spec)
				}
			}
		}
	})
}

// FuzzNewTokenizer: any spec is accepted or refused with a
// *TokenSpecError, and an accepted one tokenizes without panicking.
func FuzzNewTokenizer(f *testing.F) {
	f.Add("prefix", 13, 3, 8, 0, 0, int64(0), int64(0), int64(0))
	f.Add("substring", 13, 0, 0, 3, 64, int64(0), int64(0), int64(0))
	f.Add("range", 20, 0, 0, 0, 0, int64(0), int64(100), int64(1))
	f.Add("set", 64, 0, 0, 0, 0, int64(0), int64(0), int64(0))
	f.Add("suffix", 0, 1, 1, 0, 0, int64(0), int64(0), int64(0))
	f.Fuzz(func(t *testing.T, kind string, bits, minLen, maxLen, n, maxTokens int, dmin, dmax, step int64) {
		spec := blind.TokenSpec{Kind: blind.TokenKind(kind), Bits: bits, MinLen: minLen, MaxLen: maxLen, N: n, MaxTokens: maxTokens,
			Domain: blind.RangeDomain{Min: dmin, Max: dmax, Step: step}}
		_ = spec.String()
		tk, err := blind.NewTokenizer(testSubkey, spec)
		if err != nil {
			var se *blind.TokenSpecError
			if !errors.As(err, &se) {
				t.Fatalf("NewTokenizer(%s) err = %T %v", spec, err, err)
			}
			return
		}
		for _, v := range []string{"", "abcdefgh", "\xff"} {
			if _, err := tk.AppendTokens(nil, v); err != nil && !errors.Is(err, blind.ErrWrongKind) {
				t.Fatalf("AppendTokens(%q) in %s: err = %v", v, spec, err)
			}
		}
		if _, err := tk.AppendRangeTokens(nil, dmin); err != nil && !errors.Is(err, blind.ErrWrongKind) {
			t.Fatalf("AppendRangeTokens(Min) in %s: err = %v", spec, err)
		}
		_, _ = tk.RangeQuery(dmin, dmax)
		_ = blind.CheckTokens(spec, nil)
	})
}
