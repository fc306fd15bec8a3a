package blind_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/crypt/blind"
)

// Typical values: an e-mail address for a substring index, a last name for
// a prefix index of 3..8 runes, an e-mail address for a suffix index of
// 4..12 runes, a date as days since 1970 in a range index over 5 years at
// day precision, an e-mail address as a set element.
var tokenBenches = []struct {
	name  string
	spec  blind.TokenSpec
	value string
	day   int64
}{
	{"substring/email", blind.TokenSpec{Kind: blind.TokenSubstring, Bits: 13}, "alice.smith@example.com", 0},
	{"prefix/last_name", blind.TokenSpec{Kind: blind.TokenPrefix, Bits: 13, MinLen: 3, MaxLen: 8}, "smithson", 0},
	{"suffix/email", blind.TokenSpec{Kind: blind.TokenSuffix, Bits: 16, MinLen: 4, MaxLen: 12}, "alice@example.com", 0},
	{"set/email", blind.TokenSpec{Kind: blind.TokenSet, Bits: 16}, "alice@example.com", 0},
	{"range/date", blind.TokenSpec{Kind: blind.TokenRange, Bits: 20, Domain: daysDomain}, "", 19000},
}

func BenchmarkAppendTokens(b *testing.B) {
	for _, bb := range tokenBenches {
		b.Run(bb.name, func(b *testing.B) {
			tk := mustTokenizer(b, testSubkey, bb.spec)
			dst := make([]int64, 0, tk.MaxTokensPerValue())
			var err error
			b.ReportAllocs()
			for b.Loop() {
				if bb.spec.Kind == blind.TokenRange {
					dst, err = tk.AppendRangeTokens(dst[:0], bb.day)
				} else {
					dst, err = tk.AppendTokens(dst[:0], bb.value)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(dst)), "tokens/op")
		})
	}
}

// BenchmarkSubstringByHand is the baseline of the substring e-mail case:
// the same trigram tokens computed with crypto/hmac, either keyed anew for
// each token, or keyed once per value and Reset between tokens (which
// crypto/hmac does by restoring its saved pad states), deduplicated with a
// map.
func BenchmarkSubstringByHand(b *testing.B) {
	const value = "alice.smith@example.com"
	grams := func(yield func(string) bool) {
		var bounds []int
		for i := range value {
			bounds = append(bounds, i)
		}
		bounds = append(bounds, len(value))
		for i := 0; i+3 < len(bounds); i++ {
			if !yield(value[bounds[i]:bounds[i+3]]) {
				return
			}
		}
	}
	token := func(mac interface {
		Write([]byte) (int, error)
		Sum([]byte) []byte
	}, g string, buf []byte) int64 {
		msg := binary.BigEndian.AppendUint32(append(buf[:0], 'G'), 3)
		mac.Write(append(msg, g...))
		return int64(binary.BigEndian.Uint64(mac.Sum(nil)) &^ (1<<51 - 1))
	}
	b.Run("new_hmac_per_token", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 64)
		for b.Loop() {
			seen := map[int64]bool{}
			for g := range grams {
				seen[token(hmac.New(sha256.New, testSubkey), g, buf)] = true
			}
		}
	})
	b.Run("hmac_reset_per_token", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 64)
		for b.Loop() {
			seen := map[int64]bool{}
			mac := hmac.New(sha256.New, testSubkey)
			for g := range grams {
				mac.Reset()
				seen[token(mac, g, buf)] = true
			}
		}
	})
}

func BenchmarkQueries(b *testing.B) {
	sub := mustTokenizer(b, testSubkey, blind.TokenSpec{Kind: blind.TokenSubstring, Bits: 13})
	pre := mustTokenizer(b, testSubkey, blind.TokenSpec{Kind: blind.TokenPrefix, Bits: 13, MinLen: 3, MaxLen: 8})
	rng := mustTokenizer(b, testSubkey, blind.TokenSpec{Kind: blind.TokenRange, Bits: 20, Domain: daysDomain})
	b.Run("substring/example", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := sub.SubstringQuery("example"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("prefix/smith", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := pre.PrefixQuery("smith"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("range/one_quarter", func(b *testing.B) {
		b.ReportAllocs()
		var q blind.Query
		for b.Loop() {
			var err error
			if q, err = rng.RangeQuery(18300, 18390); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(q.Any)), "tokens/op")
	})
}

// BenchmarkQueryMatches is the in-memory candidate test of one row.
func BenchmarkQueryMatches(b *testing.B) {
	sub := mustTokenizer(b, testSubkey, blind.TokenSpec{Kind: blind.TokenSubstring, Bits: 13})
	row := mustTokens(b, sub, "alice.smith@example.com")
	q, _ := sub.SubstringQuery("example")
	b.ReportAllocs()
	for b.Loop() {
		if !q.Matches(row) {
			b.Fatal("no match")
		}
	}
}
