package blind_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tink-crypto/tink-go/v2/prf"

	"github.com/fieldcrypt/fieldcrypt/crypt/blind"
)

func mustTokenizer(t testing.TB, subkey []byte, spec blind.TokenSpec) *blind.Tokenizer {
	t.Helper()
	tk, err := blind.NewTokenizer(subkey, spec)
	require.NoError(t, err, "NewTokenizer(%s)", spec)
	return tk
}

func mustTokens(t testing.TB, tk *blind.Tokenizer, v string) []int64 {
	t.Helper()
	toks, err := tk.AppendTokens(nil, v)
	require.NoError(t, err, "AppendTokens")
	return toks
}

func mustRangeTokens(t testing.TB, tk *blind.Tokenizer, v int64) []int64 {
	t.Helper()
	toks, err := tk.AppendRangeTokens(nil, v)
	require.NoError(t, err, "AppendRangeTokens(%d)", v)
	return toks
}

// Specs of every kind, for tests that go over all of them.
var (
	prefixSpec    = blind.TokenSpec{Kind: blind.TokenPrefix, Bits: 64, MinLen: 3, MaxLen: 8}
	suffixSpec    = blind.TokenSpec{Kind: blind.TokenSuffix, Bits: 64, MinLen: 2, MaxLen: 6}
	substringSpec = blind.TokenSpec{Kind: blind.TokenSubstring, Bits: 64}
	setSpec       = blind.TokenSpec{Kind: blind.TokenSet, Bits: 64}
	daysDomain    = blind.RangeDomain{Min: 18262, Max: 18262 + 1826, Step: 1} // 2020-01-01 .. 2025-01-01, days since 1970
	rangeSpec     = blind.TokenSpec{Kind: blind.TokenRange, Bits: 64, Domain: daysDomain}
	allSpecs      = []blind.TokenSpec{prefixSpec, suffixSpec, substringSpec, setSpec, rangeSpec}
)

func TestNewTokenizerDefaults(t *testing.T) {
	tk := mustTokenizer(t, testSubkey, blind.TokenSpec{Kind: blind.TokenSubstring, Bits: 13})
	assert.Equal(t, blind.TokenSpec{Kind: blind.TokenSubstring, Bits: 13, N: 3, MaxTokens: 64}, tk.Spec())
	assert.Equal(t, blind.DefaultGramLen, tk.Spec().N)
	assert.Equal(t, blind.DefaultMaxTokens, tk.Spec().MaxTokens)
	assert.Equal(t, blind.TokenSubstring, tk.Kind())
	assert.Equal(t, 64, tk.MaxTokensPerValue())
	assert.Equal(t, 0, tk.Levels())

	tests := []struct {
		spec   blind.TokenSpec
		levels int
		per    int
	}{
		{prefixSpec, 0, 6},
		{suffixSpec, 0, 5},
		{setSpec, 0, 1},
		{rangeSpec, 11, 11}, // 1826 < 2^11
		{blind.TokenSpec{Kind: blind.TokenRange, Bits: 8, Domain: blind.RangeDomain{Min: 5, Max: 5, Step: 1}}, 1, 1},
		{blind.TokenSpec{Kind: blind.TokenRange, Bits: 8, Domain: blind.RangeDomain{Min: 0, Max: 255, Step: 1}}, 8, 8},
		{blind.TokenSpec{Kind: blind.TokenRange, Bits: 8, Domain: blind.RangeDomain{Min: 0, Max: 256, Step: 1}}, 9, 9},
		{blind.TokenSpec{Kind: blind.TokenRange, Bits: 8, Domain: blind.RangeDomain{Min: 0, Max: 256, Step: 2}}, 8, 8},
		{blind.TokenSpec{Kind: blind.TokenRange, Bits: 8, Domain: blind.RangeDomain{Min: math.MinInt64, Max: math.MaxInt64, Step: 2}}, 63, 63},
	}
	for _, tt := range tests {
		t.Run(tt.spec.String(), func(t *testing.T) {
			tk := mustTokenizer(t, testSubkey, tt.spec)
			assert.Equal(t, tt.spec, tk.Spec())
			assert.Equal(t, tt.levels, tk.Levels())
			assert.Equal(t, tt.per, tk.MaxTokensPerValue())
		})
	}
}

func TestTokenSpecString(t *testing.T) {
	tests := []struct {
		spec blind.TokenSpec
		want string
	}{
		{blind.TokenSpec{Kind: blind.TokenPrefix, Bits: 12, MinLen: 3, MaxLen: 8}, "prefix bits=12 len=3..8"},
		{blind.TokenSpec{Kind: blind.TokenSuffix, Bits: 9, MinLen: 1, MaxLen: 4}, "suffix bits=9 len=1..4"},
		{blind.TokenSpec{Kind: blind.TokenSubstring, Bits: 13, N: 3, MaxTokens: 64}, "substring bits=13 n=3 max_tokens=64"},
		{blind.TokenSpec{Kind: blind.TokenSet, Bits: 16}, "set bits=16"},
		{rangeSpec, "range bits=64 domain=[18262,20088] step=1"},
		{blind.TokenSpec{Kind: "bogus", Bits: 3}, `kind "bogus" bits=3`},
		{blind.TokenSpec{}, `kind "" bits=0`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.spec.String())
		})
	}
}

func TestNewTokenizerErrors(t *testing.T) {
	rng := func(min, max, step int64) blind.RangeDomain { return blind.RangeDomain{Min: min, Max: max, Step: step} }
	tests := []struct {
		name  string
		spec  blind.TokenSpec
		field string
	}{
		{"no kind", blind.TokenSpec{Bits: 8}, "Kind"},
		{"unknown kind", blind.TokenSpec{Kind: "infix", Bits: 8}, "Kind"},
		{"kind in upper case", blind.TokenSpec{Kind: "PREFIX", Bits: 8, MinLen: 1, MaxLen: 2}, "Kind"},
		{"bits 0", blind.TokenSpec{Kind: blind.TokenSet}, "Bits"},
		{"bits -1", blind.TokenSpec{Kind: blind.TokenSet, Bits: -1}, "Bits"},
		{"bits 65", blind.TokenSpec{Kind: blind.TokenSet, Bits: 65}, "Bits"},
		{"prefix MinLen 0", blind.TokenSpec{Kind: blind.TokenPrefix, Bits: 8, MaxLen: 3}, "MinLen"},
		{"prefix MinLen 65", blind.TokenSpec{Kind: blind.TokenPrefix, Bits: 8, MinLen: 65, MaxLen: 65}, "MinLen"},
		{"prefix MaxLen < MinLen", blind.TokenSpec{Kind: blind.TokenPrefix, Bits: 8, MinLen: 4, MaxLen: 3}, "MaxLen"},
		{"suffix MaxLen 65", blind.TokenSpec{Kind: blind.TokenSuffix, Bits: 8, MinLen: 1, MaxLen: 65}, "MaxLen"},
		{"prefix with N", blind.TokenSpec{Kind: blind.TokenPrefix, Bits: 8, MinLen: 1, MaxLen: 3, N: 3}, "N"},
		{"prefix with MaxTokens", blind.TokenSpec{Kind: blind.TokenPrefix, Bits: 8, MinLen: 1, MaxLen: 3, MaxTokens: 3}, "MaxTokens"},
		{"prefix with Domain", blind.TokenSpec{Kind: blind.TokenPrefix, Bits: 8, MinLen: 1, MaxLen: 3, Domain: rng(0, 1, 1)}, "Domain"},
		{"substring N 1", blind.TokenSpec{Kind: blind.TokenSubstring, Bits: 8, N: 1}, "N"},
		{"substring N 9", blind.TokenSpec{Kind: blind.TokenSubstring, Bits: 8, N: 9}, "N"},
		{"substring N -3", blind.TokenSpec{Kind: blind.TokenSubstring, Bits: 8, N: -3}, "N"},
		{"substring MaxTokens 1025", blind.TokenSpec{Kind: blind.TokenSubstring, Bits: 8, MaxTokens: 1025}, "MaxTokens"},
		{"substring MaxTokens -1", blind.TokenSpec{Kind: blind.TokenSubstring, Bits: 8, MaxTokens: -1}, "MaxTokens"},
		{"substring with MinLen", blind.TokenSpec{Kind: blind.TokenSubstring, Bits: 8, MinLen: 3}, "MinLen"},
		{"set with MaxLen", blind.TokenSpec{Kind: blind.TokenSet, Bits: 8, MaxLen: 3}, "MinLen"},
		{"set with N", blind.TokenSpec{Kind: blind.TokenSet, Bits: 8, N: 3}, "N"},
		{"range with N", blind.TokenSpec{Kind: blind.TokenRange, Bits: 8, N: 3, Domain: rng(0, 1, 1)}, "N"},
		{"range without domain", blind.TokenSpec{Kind: blind.TokenRange, Bits: 8}, "Domain"},
		{"range step 0", blind.TokenSpec{Kind: blind.TokenRange, Bits: 8, Domain: rng(0, 10, 0)}, "Domain"},
		{"range step -1", blind.TokenSpec{Kind: blind.TokenRange, Bits: 8, Domain: rng(0, 10, -1)}, "Domain"},
		{"range Min > Max", blind.TokenSpec{Kind: blind.TokenRange, Bits: 8, Domain: rng(10, 9, 1)}, "Domain"},
		{"range 64 levels", blind.TokenSpec{Kind: blind.TokenRange, Bits: 8, Domain: rng(math.MinInt64, math.MaxInt64, 1)}, "Domain"},
		{"range 64 levels, offsets 2^63", blind.TokenSpec{Kind: blind.TokenRange, Bits: 8, Domain: rng(-1, math.MaxInt64, 1)}, "Domain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tk, err := blind.NewTokenizer(testSubkey, tt.spec)
			require.Error(t, err)
			assert.Nil(t, tk)
			var se *blind.TokenSpecError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, tt.field, se.Field, "field of %q", err)
			assert.Equal(t, tt.spec.Kind, se.Kind)
			assert.Contains(t, err.Error(), tt.field)
			assert.NotEmpty(t, se.Reason)
		})
	}
	// 63 levels is the most.
	_, err := blind.NewTokenizer(testSubkey, blind.TokenSpec{Kind: blind.TokenRange, Bits: 8, Domain: rng(0, math.MaxInt64, 1)})
	assert.NoError(t, err)

	for _, key := range [][]byte{nil, testSubkey[:16], testSubkey[:31]} {
		_, err := blind.NewTokenizer(key, setSpec)
		var ke *blind.SubkeyError
		require.ErrorAs(t, err, &ke)
		assert.Equal(t, len(key), ke.Len)
	}
	// The spec is checked before the subkey, and neither error holds key
	// bytes.
	_, err = blind.NewTokenizer(testSubkey[:31], blind.TokenSpec{Kind: blind.TokenSet})
	var se *blind.TokenSpecError
	require.ErrorAs(t, err, &se)
	assert.NotContains(t, err.Error(), string(testSubkey[:16]))
}

// TestDeriveTokenSubkeyMatchesConstruction checks the documented input
// byte by byte.
func TestDeriveTokenSubkeyMatchesConstruction(t *testing.T) {
	key := bytes.Repeat([]byte{0x42}, 32)
	got, err := blind.DeriveTokenSubkey(fixedPRF(t, key), "Contact", "email", blind.TokenSubstring)
	require.NoError(t, err)
	input := []byte("\x00\x00\x00\x19fieldcrypt token index v1" +
		"\x00\x00\x00\x07Contact" +
		"\x00\x00\x00\x05email" +
		"\x00\x00\x00\x09substring")
	mac := hmac.New(sha256.New, key)
	mac.Write(input)
	assert.Equal(t, hex.EncodeToString(mac.Sum(nil)), hex.EncodeToString(got))
	assert.Len(t, got, blind.SubkeySize)
}

// TestDeriveTokenSubkeySeparation: two index names, two kinds, a blind
// index of the same name and two PRF keys all give unrelated subkeys.
func TestDeriveTokenSubkeySeparation(t *testing.T) {
	p1, p2 := keysetPRF(t), keysetPRF(t)
	derive := func(p prf.PRF, rt, name string, kind blind.TokenKind) string {
		k, err := blind.DeriveTokenSubkey(p, rt, name, kind)
		require.NoError(t, err)
		return hex.EncodeToString(k)
	}
	seen := map[string]string{}
	add := func(what, k string) {
		if prev, dup := seen[k]; dup {
			t.Errorf("subkey of %s equals the one of %s", what, prev)
		}
		seen[k] = what
	}
	for _, kind := range []blind.TokenKind{blind.TokenPrefix, blind.TokenSuffix, blind.TokenSubstring, blind.TokenRange, blind.TokenSet} {
		base := derive(p1, "Contact", "name", kind)
		assert.Equal(t, base, derive(p1, "Contact", "name", kind), "not deterministic")
		add(string(kind), base)
		add(string(kind)+", other index name", derive(p1, "Contact", "name2", kind))
		add(string(kind)+", other record type", derive(p1, "Lead", "name", kind))
		add(string(kind)+", other PRF key", derive(p2, "Contact", "name", kind))
		add(string(kind)+", names shifted", derive(p1, "Contac", "tname", kind))
		add(string(kind)+", index named as the kind", derive(p1, "Contact", string(kind), kind))
	}
	add("blind index of the same name", hex.EncodeToString(mustSubkey(t, p1, "Contact", "name")))

	_, err := blind.DeriveTokenSubkey(p1, "Contact", "name", "fuzzy")
	var se *blind.TokenSpecError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "Kind", se.Field)
	_, err = blind.DeriveTokenSubkey(nil, "Contact", "name", blind.TokenSet)
	assert.ErrorIs(t, err, blind.ErrNilPRF)
}

// TestTokensTwoKeysUnrelated: the tokens of one value under two subkeys
// share nothing, for every kind.
func TestTokensTwoKeysUnrelated(t *testing.T) {
	other := bytes.Repeat([]byte{7}, 32)
	for _, spec := range allSpecs {
		t.Run(string(spec.Kind), func(t *testing.T) {
			a, b := mustTokenizer(t, testSubkey, spec), mustTokenizer(t, other, spec)
			var ta, tb []int64
			for i := range 200 {
				if spec.Kind == blind.TokenRange {
					ta = mustRangeTokens(t, a, daysDomain.Min+int64(i))
					tb = mustRangeTokens(t, b, daysDomain.Min+int64(i))
				} else {
					v := fmt.Sprintf("value number %d, long enough", i)
					ta, tb = mustTokens(t, a, v), mustTokens(t, b, v)
				}
				require.NotEmpty(t, ta)
				for _, x := range ta {
					require.NotContains(t, tb, x, "a token of value %d under one key is a token under another", i)
				}
			}
		})
	}
}

func TestAppendTokensShape(t *testing.T) {
	tests := []struct {
		name  string
		spec  blind.TokenSpec
		value string
		count int
	}{
		{"prefix of 8 runes, lengths 3..8", prefixSpec, "smithson", 6},
		{"prefix longer than MaxLen", prefixSpec, "smithsonian", 6},
		{"prefix of exactly MinLen", prefixSpec, "smi", 1},
		{"prefix shorter than MinLen", prefixSpec, "sm", 0},
		{"prefix of multi-byte runes", prefixSpec, "Øster", 3},
		{"prefix of invalid UTF-8: 4 runes", prefixSpec, "\xff\xfe\xc3a", 2},
		{"prefix empty", prefixSpec, "", 0},
		{"suffix of 6 runes, lengths 2..6", suffixSpec, "@x.org", 5},
		{"suffix of 1 rune", suffixSpec, "x", 0},
		{"suffix of exactly MaxLen", suffixSpec, "abcdef", 5},
		{"suffix longer than MaxLen", suffixSpec, "alice@example.com", 5},
		{"substring of an e-mail", substringSpec, "alice@example.com", 15},
		{"substring repeated n-grams", substringSpec, "aaaaaa", 1},
		{"substring of exactly N", substringSpec, "abc", 1},
		{"substring shorter than N", substringSpec, "ab", 0},
		{"substring empty", substringSpec, "", 0},
		{"substring multi-byte", substringSpec, "日本語です", 3},
		{"set element", setSpec, "alice@example.com", 1},
		{"set empty element", setSpec, "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tk := mustTokenizer(t, testSubkey, tt.spec)
			got := mustTokens(t, tk, tt.value)
			assert.Len(t, got, tt.count)
			assert.True(t, slices.IsSorted(got), "tokens not sorted: %v", got)
			assert.Len(t, slices.Compact(slices.Clone(got)), len(got), "repeated tokens")
			assert.LessOrEqual(t, len(got), tk.MaxTokensPerValue())
			// Deterministic, and appended after dst's elements.
			dst := []int64{42, -42}
			again, err := tk.AppendTokens(dst, tt.value)
			require.NoError(t, err)
			assert.Equal(t, append([]int64{42, -42}, got...), again)
		})
	}
}

func TestAppendTokensSubstringOverflow(t *testing.T) {
	spec := blind.TokenSpec{Kind: blind.TokenSubstring, Bits: 64, N: 2, MaxTokens: 4}
	tk := mustTokenizer(t, testSubkey, spec)
	four := mustTokens(t, tk, "abcde")            // ab bc cd de: 4 distinct bigrams, indexed
	sixDistinct := mustTokens(t, tk, "ababcdcde") // ab ba bc cd dc de: 6 distinct bigrams, overflow
	five := mustTokens(t, tk, "abcdef")           // 5 distinct bigrams: overflow
	assert.Len(t, four, 4)
	assert.Len(t, sixDistinct, 1)
	assert.Len(t, five, 1)
	assert.Equal(t, five, sixDistinct, "both overflow: one and the same overflow token")
	assert.NotContains(t, four, five[0])
	// A long value overflows too, to the same token.
	assert.Equal(t, five, mustTokens(t, tk, strings.Repeat("the quick brown fox ", 100)))
	// Few distinct n-grams over a long value do not overflow.
	assert.Len(t, mustTokens(t, tk, strings.Repeat("ab", 1000)), 2)
}

func TestAppendSetTokens(t *testing.T) {
	tk := mustTokenizer(t, testSubkey, setSpec)
	got, err := tk.AppendSetTokens(nil, "b@y.org", "a@x.org", "b@y.org", "")
	require.NoError(t, err)
	assert.Len(t, got, 3)
	assert.True(t, slices.IsSorted(got))
	for _, e := range []string{"a@x.org", "b@y.org", ""} {
		q, err := tk.EqualQuery(e)
		require.NoError(t, err)
		assert.True(t, q.Matches(got), "element %q", e)
		assert.Equal(t, mustTokens(t, tk, e), q.Any)
	}
	q, err := tk.EqualQuery("c@z.org")
	require.NoError(t, err)
	assert.False(t, q.Matches(got))
	none, err := tk.AppendSetTokens(nil)
	require.NoError(t, err)
	assert.Empty(t, none)
	// "ab","c" and "a","bc" are different sets of different tokens.
	x, _ := tk.AppendSetTokens(nil, "ab", "c")
	y, _ := tk.AppendSetTokens(nil, "a", "bc")
	for _, v := range x {
		assert.NotContains(t, y, v)
	}
}

func TestAppendRangeTokens(t *testing.T) {
	tk := mustTokenizer(t, testSubkey, rangeSpec)
	for _, v := range []int64{daysDomain.Min, daysDomain.Min + 1, 19000, daysDomain.Max} {
		got := mustRangeTokens(t, tk, v)
		assert.Len(t, got, tk.Levels())
		assert.True(t, slices.IsSorted(got))
	}
	// Neighbours share the top levels, and only those: 0 and 1 differ in
	// the leaf, 1023 and 1024 in the first level.
	shared := func(a, b int64) int {
		ta, tb := mustRangeTokens(t, tk, daysDomain.Min+a), mustRangeTokens(t, tk, daysDomain.Min+b)
		n := 0
		for _, x := range ta {
			if slices.Contains(tb, x) {
				n++
			}
		}
		return n
	}
	assert.Equal(t, 10, shared(0, 1))
	assert.Equal(t, 0, shared(1023, 1024))
	assert.Equal(t, 11, shared(7, 7))

	for _, tt := range []struct {
		v     int64
		bound string
		limit int64
	}{
		{daysDomain.Min - 1, "Min", daysDomain.Min},
		{math.MinInt64, "Min", daysDomain.Min},
		{daysDomain.Max + 1, "Max", daysDomain.Max},
		{math.MaxInt64, "Max", daysDomain.Max},
	} {
		dst := []int64{1}
		got, err := tk.AppendRangeTokens(dst, tt.v)
		require.ErrorIs(t, err, blind.ErrOutOfDomain)
		var te *blind.TokenError
		require.ErrorAs(t, err, &te)
		assert.Equal(t, tt.bound, te.Bound)
		assert.Equal(t, tt.limit, te.Limit)
		assert.Equal(t, "AppendRangeTokens", te.Op)
		assert.Equal(t, []int64{1}, got)
		assert.NotContains(t, err.Error(), fmt.Sprint(tt.v))
	}
}

func TestTokensBits(t *testing.T) {
	for _, bits := range []int{1, 4, 13, 31, 63, 64} {
		t.Run(fmt.Sprint(bits), func(t *testing.T) {
			spec := substringSpec
			spec.Bits = bits
			tk := mustTokenizer(t, testSubkey, spec)
			full := mustTokenizer(t, testSubkey, substringSpec)
			var sawTop [64]bool
			for i := range 64 {
				v := fmt.Sprintf("value %d", i)
				got, want := mustTokens(t, tk, v), mustTokens(t, full, v)
				// Each token is a 64-bit token with the low 64-bits bits
				// cleared.
				mask := ^uint64(0) << (64 - bits)
				var masked []int64
				for _, w := range want {
					masked = append(masked, int64(uint64(w)&mask))
				}
				slices.Sort(masked)
				assert.Equal(t, slices.Compact(masked), got)
				for _, g := range got {
					for b := range bits {
						if uint64(g)&(1<<(63-b)) != 0 {
							sawTop[b] = true
						}
					}
				}
			}
			for b := range bits {
				assert.True(t, sawTop[b], "bit %d from the top was never 1", b)
			}
		})
	}
}

func TestQueries(t *testing.T) {
	pre := mustTokenizer(t, testSubkey, prefixSpec)
	// A query longer than MaxLen looks up its first MaxLen runes.
	q1, err := pre.PrefixQuery("smithsonian")
	require.NoError(t, err)
	q2, err := pre.PrefixQuery("smithson")
	require.NoError(t, err)
	assert.Equal(t, q1, q2)
	assert.Empty(t, q1.All)
	assert.Len(t, q1.Any, 1)
	assert.True(t, q1.Matches(mustTokens(t, pre, "smithsonian institution")))
	assert.False(t, q1.Matches(mustTokens(t, pre, "smith")))

	suf := mustTokenizer(t, testSubkey, suffixSpec)
	q, err := suf.SuffixQuery("example.com")
	require.NoError(t, err)
	assert.True(t, q.Matches(mustTokens(t, suf, "alice@example.com")))
	assert.False(t, q.Matches(mustTokens(t, suf, "alice@example.org")))

	sub := mustTokenizer(t, testSubkey, substringSpec)
	q, err = sub.SubstringQuery("example")
	require.NoError(t, err)
	assert.Len(t, q.All, 5)
	assert.Len(t, q.Any, 1)
	assert.True(t, q.Matches(mustTokens(t, sub, "alice@example.com")))
	assert.False(t, q.Matches(mustTokens(t, sub, "alice@exampl.com")))
	// The overflow token is Any.
	long := "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore"
	assert.Equal(t, mustTokens(t, sub, long), q.Any)
	// A query with more than MaxTokens distinct n-grams: only overflowed
	// values can hold it.
	q, err = sub.SubstringQuery(long)
	require.NoError(t, err)
	assert.Empty(t, q.All)
	assert.True(t, q.Matches(mustTokens(t, sub, long)))

	r := mustTokenizer(t, testSubkey, rangeSpec)
	q, err = r.RangeQuery(daysDomain.Max+1, math.MaxInt64)
	require.NoError(t, err)
	assert.True(t, q.Empty())
	assert.False(t, q.Matches(mustRangeTokens(t, r, daysDomain.Max)))
	q, err = r.RangeQuery(5, 4)
	require.NoError(t, err)
	assert.True(t, q.Empty())
	q, err = r.RangeQuery(math.MinInt64, math.MaxInt64)
	require.NoError(t, err)
	assert.Len(t, q.Any, 2, "the whole domain is the two halves of the tree")
	assert.Equal(t, []blind.CoverNode{{Level: 1, Prefix: 0}, {Level: 1, Prefix: 1}}, r.RangeCover(math.MinInt64, math.MaxInt64))
	assert.Nil(t, r.RangeCover(1, 0))
	assert.Nil(t, pre.RangeCover(0, 1))

	var zero blind.Query
	assert.True(t, zero.Empty())
	assert.False(t, zero.Matches([]int64{1, 2}))
	assert.True(t, blind.Query{All: []int64{1, 2}}.Matches([]int64{3, 2, 1}))
	assert.False(t, blind.Query{All: []int64{1, 2}}.Matches([]int64{1, 3}))
	assert.True(t, blind.Query{All: []int64{2, 1}}.Matches([]int64{1, 2}), "unsorted All")
	assert.True(t, blind.Query{Any: []int64{9, 1}}.Matches([]int64{3, 1}), "unsorted Any and tokens")
	assert.False(t, blind.Query{Any: []int64{9, 4}}.Matches([]int64{3, 1}))
	assert.True(t, blind.Query{All: []int64{1, 2}, Any: []int64{9}}.Matches([]int64{9}))
}

func TestQueryErrors(t *testing.T) {
	tks := map[blind.TokenKind]*blind.Tokenizer{}
	for _, spec := range allSpecs {
		tks[spec.Kind] = mustTokenizer(t, testSubkey, spec)
	}
	ops := map[string]struct {
		kind blind.TokenKind
		call func(*blind.Tokenizer) error
	}{
		"AppendTokens":      {"", func(tk *blind.Tokenizer) error { _, err := tk.AppendTokens(nil, "abcdef"); return err }},
		"AppendSetTokens":   {blind.TokenSet, func(tk *blind.Tokenizer) error { _, err := tk.AppendSetTokens(nil, "abcdef"); return err }},
		"AppendRangeTokens": {blind.TokenRange, func(tk *blind.Tokenizer) error { _, err := tk.AppendRangeTokens(nil, 19000); return err }},
		"PrefixQuery":       {blind.TokenPrefix, func(tk *blind.Tokenizer) error { _, err := tk.PrefixQuery("abcdef"); return err }},
		"SuffixQuery":       {blind.TokenSuffix, func(tk *blind.Tokenizer) error { _, err := tk.SuffixQuery("abcdef"); return err }},
		"SubstringQuery":    {blind.TokenSubstring, func(tk *blind.Tokenizer) error { _, err := tk.SubstringQuery("abcdef"); return err }},
		"EqualQuery":        {blind.TokenSet, func(tk *blind.Tokenizer) error { _, err := tk.EqualQuery("abcdef"); return err }},
		"RangeQuery":        {blind.TokenRange, func(tk *blind.Tokenizer) error { _, err := tk.RangeQuery(0, 1); return err }},
	}
	for op, o := range ops {
		for kind, tk := range tks {
			t.Run(op+"/"+string(kind), func(t *testing.T) {
				err := o.call(tk)
				fits := o.kind == kind || (o.kind == "" && kind != blind.TokenRange)
				if fits {
					assert.NoError(t, err)
					return
				}
				require.ErrorIs(t, err, blind.ErrWrongKind)
				var te *blind.TokenError
				require.ErrorAs(t, err, &te)
				assert.Equal(t, op, te.Op)
				assert.Equal(t, kind, te.Kind)
				assert.Contains(t, err.Error(), op)
			})
		}
	}

	short := []struct {
		name string
		min  int64
		call func() error
	}{
		{"prefix", 3, func() error { _, err := tks[blind.TokenPrefix].PrefixQuery("ab"); return err }},
		{"prefix empty", 3, func() error { _, err := tks[blind.TokenPrefix].PrefixQuery(""); return err }},
		{"prefix multi-byte: 2 runes, 4 bytes", 3, func() error { _, err := tks[blind.TokenPrefix].PrefixQuery("ØØ"); return err }},
		{"suffix", 2, func() error { _, err := tks[blind.TokenSuffix].SuffixQuery("m"); return err }},
		{"substring", 3, func() error { _, err := tks[blind.TokenSubstring].SubstringQuery("ex"); return err }},
	}
	for _, tt := range short {
		t.Run("too short/"+tt.name, func(t *testing.T) {
			err := tt.call()
			require.ErrorIs(t, err, blind.ErrQueryTooShort)
			var te *blind.TokenError
			require.ErrorAs(t, err, &te)
			assert.Equal(t, tt.min, te.Limit)
			assert.Contains(t, err.Error(), fmt.Sprintf("minimum of %d runes", tt.min))
		})
	}
	// Exactly the minimum is enough.
	_, err := tks[blind.TokenPrefix].PrefixQuery("Øst")
	assert.NoError(t, err)
	_, err = tks[blind.TokenSubstring].SubstringQuery("\xff\xfe\xfd")
	assert.NoError(t, err)
}

// secret is a distinctive value that no error may contain.
const secret = "Zq7SECRETxW"

// TestTokenErrorsHoldNoValue feeds the secret (and a secret number) to
// every entry point in a way that fails, and checks each message.
func TestTokenErrorsHoldNoValue(t *testing.T) {
	const secretNumber = int64(987654321012345)
	short := blind.TokenSpec{Kind: blind.TokenPrefix, Bits: 8, MinLen: 64, MaxLen: 64}
	sub := blind.TokenSpec{Kind: blind.TokenSubstring, Bits: 8, N: 8}
	// A domain that does not reach the secret number.
	rs := blind.TokenSpec{Kind: blind.TokenRange, Bits: 8, Domain: blind.RangeDomain{Min: -10, Max: 10, Step: 1}}
	var errs []error
	collect := func(_ any, err error) { errs = append(errs, err) }
	for _, spec := range append(slices.Clone(allSpecs), short, sub, rs, blind.TokenSpec{Kind: blind.TokenSuffix, Bits: 8, MinLen: 64, MaxLen: 64}) {
		tk := mustTokenizer(t, testSubkey, spec)
		collect(tk.AppendTokens(nil, secret))
		collect(tk.AppendSetTokens(nil, secret))
		collect(tk.AppendRangeTokens(nil, secretNumber))
		collect(tk.AppendRangeTokens(nil, -secretNumber))
		collect(tk.PrefixQuery(secret))
		collect(tk.SuffixQuery(secret))
		collect(tk.SubstringQuery(secret[:5]))
		collect(tk.EqualQuery(secret))
		collect(tk.RangeQuery(secretNumber, secretNumber+1))
	}
	n := 0
	for _, err := range errs {
		if err == nil {
			continue
		}
		n++
		msg := err.Error()
		for _, s := range []string{secret, secret[:5], "987654321012345", hex.EncodeToString([]byte(secret)), string(testSubkey[:16])} {
			assert.NotContains(t, msg, s)
		}
	}
	assert.Greater(t, n, 30, "too few errors to check")
	// Spec errors and leakage errors hold configuration only.
	for _, err := range []error{
		blind.CheckSubstring(3, 30, true),
		blind.CheckPrefix(1, 30, false),
		(&blind.TokenError{Op: "x", Kind: blind.TokenSet, Err: errors.New("other")}),
	} {
		require.Error(t, err)
		assert.NotContains(t, err.Error(), secret)
	}
}

func TestMatchFunctions(t *testing.T) {
	tests := []struct {
		value, q               string
		prefix, suffix, substr bool
	}{
		{"alice@example.com", "alice", true, false, true},
		{"alice@example.com", "example", false, false, true},
		{"alice@example.com", ".com", false, true, true},
		{"alice@example.com", "alice@example.com", true, true, true},
		{"alice@example.com", "", true, true, true},
		{"", "", true, true, true},
		{"", "a", false, false, false},
		{"abc", "abcd", false, false, false},
		{"Øster", "Ø", true, false, true},
		{"Øster", "\xc3", false, false, false}, // the first byte of Ø: not a rune of the value
		{"é", "\xa9", false, false, false},     // the last byte of é
		{"a\xffb", "\xff", false, false, true},
		{"a\xffb", "a\xff", true, false, true},
		{"\xe2\x82\xac", "\xe2\x82", false, false, false}, // € and two of its bytes
		{"\xe2\x82x", "\xe2\x82", true, false, true},      // two invalid bytes, then x
		{"x\xe2\x82", "\xe2\x82", false, true, true},
		{"\xc3\xa9\xa9", "\xa9", false, true, true}, // é then a stray continuation byte
		{"abab", "bab", false, true, true},
		{"aaa", "aa", true, true, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q/%q", tt.value, tt.q), func(t *testing.T) {
			assert.Equal(t, tt.prefix, blind.MatchPrefix(tt.value, tt.q), "MatchPrefix")
			assert.Equal(t, tt.suffix, blind.MatchSuffix(tt.value, tt.q), "MatchSuffix")
			assert.Equal(t, tt.substr, blind.MatchSubstring(tt.value, tt.q), "MatchSubstring")
		})
	}
	assert.True(t, blind.MatchSet([]string{"a", "b"}, "b"))
	assert.False(t, blind.MatchSet([]string{"a", "b"}, "c"))
	assert.False(t, blind.MatchSet(nil, ""))
	assert.True(t, blind.MatchRange(5, 5, 5))
	assert.True(t, blind.MatchRange(math.MinInt64, math.MinInt64, math.MaxInt64))
	assert.False(t, blind.MatchRange(4, 5, 6))
	assert.False(t, blind.MatchRange(7, 5, 6))
	assert.False(t, blind.MatchRange(5, 6, 4))
}

func TestTokenizerAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items, so allocations are not representative")
	}
	type call struct {
		spec blind.TokenSpec
		fn   func(*blind.Tokenizer, []int64) ([]int64, error)
	}
	calls := map[string]call{
		"prefix": {prefixSpec, func(tk *blind.Tokenizer, d []int64) ([]int64, error) { return tk.AppendTokens(d, "smithsonian") }},
		"suffix": {suffixSpec, func(tk *blind.Tokenizer, d []int64) ([]int64, error) { return tk.AppendTokens(d, "alice@example.com") }},
		"substring": {substringSpec, func(tk *blind.Tokenizer, d []int64) ([]int64, error) {
			return tk.AppendTokens(d, "alice.smith@example.com")
		}},
		"overflow": {blind.TokenSpec{Kind: blind.TokenSubstring, Bits: 16, MaxTokens: 4}, func(tk *blind.Tokenizer, d []int64) ([]int64, error) {
			return tk.AppendTokens(d, "alice.smith@example.com")
		}},
		"set": {setSpec, func(tk *blind.Tokenizer, d []int64) ([]int64, error) {
			return tk.AppendSetTokens(d, "alice@example.com")
		}},
		"range": {rangeSpec, func(tk *blind.Tokenizer, d []int64) ([]int64, error) { return tk.AppendRangeTokens(d, 19000) }},
	}
	for name, c := range calls {
		t.Run(name, func(t *testing.T) {
			tk := mustTokenizer(t, testSubkey, c.spec)
			dst := make([]int64, 0, tk.MaxTokensPerValue())
			allocs := testing.AllocsPerRun(200, func() {
				var err error
				if dst, err = c.fn(tk, dst[:0]); err != nil {
					t.Fatal(err)
				}
			})
			assert.Zero(t, allocs, "allocations per call")
		})
	}
}

func TestTokenizerConcurrent(t *testing.T) {
	tk := mustTokenizer(t, testSubkey, substringSpec)
	const values = 32
	want := make([][]int64, values)
	for i := range want {
		want[i] = referenceTokens(t, testSubkey, tk.Spec(), fmt.Sprintf("value-%d@example.com", i))
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 8 {
		wg.Go(func() {
			buf := make([]int64, 0, 64)
			for r := range 200 {
				i := (g*7 + r) % values
				got, err := tk.AppendTokens(buf[:0], fmt.Sprintf("value-%d@example.com", i))
				if err != nil || !slices.Equal(got, want[i]) {
					select {
					case errs <- fmt.Sprintf("goroutine %d: value %d: %v, %v; want %v", g, i, got, err, want[i]):
					default:
					}
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestLeakagePlanner(t *testing.T) {
	// floor(n × log2 A) − 2.
	tests := []struct {
		n      int
		folded bool
		want   int
	}{
		{2, true, 8},   // 40^2 = 1600: log2 10.6
		{3, true, 13},  // 64000: 15.97
		{4, true, 19},  // 2.56e6: 21.3
		{8, true, 40},  // 42.6
		{2, false, 11}, // 9216: 13.2
		{3, false, 17}, // 884736: 19.75
		{8, false, 50}, // 52.7
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("n=%d folded=%v", tt.n, tt.folded), func(t *testing.T) {
			got := blind.RecommendSubstringBits(tt.n, tt.folded)
			assert.Equal(t, tt.want, got)
			a := 96.0
			if tt.folded {
				a = 40
			}
			assert.Equal(t, int(math.Floor(float64(tt.n)*math.Log2(a)))-2, got)
			// At the limit: at least 4 n-grams per token value; one more
			// bit: fewer.
			assert.GreaterOrEqual(t, math.Pow(a, float64(tt.n))/math.Exp2(float64(got)), 4.0)
			assert.Less(t, math.Pow(a, float64(tt.n))/math.Exp2(float64(got+1)), 4.0*2)
			assert.NoError(t, blind.CheckSubstring(tt.n, got, tt.folded))
			assert.NoError(t, blind.CheckSubstring(tt.n, 1, tt.folded))
			err := blind.CheckSubstring(tt.n, got+1, tt.folded)
			var le *blind.TokenLeakageError
			require.ErrorAs(t, err, &le)
			assert.Equal(t, blind.TokenLeakageError{Kind: blind.TokenSubstring, Len: tt.n, Bits: got + 1, MaxBits: got, Alphabet: int(a)}, *le)
			assert.Contains(t, err.Error(), fmt.Sprintf("use at most %d bits", got))
		})
	}
	assert.Equal(t, 0, blind.RecommendSubstringBits(1, true))
	assert.Equal(t, 0, blind.RecommendSubstringBits(9, true))
	var se *blind.TokenSpecError
	assert.ErrorAs(t, blind.CheckSubstring(9, 8, true), &se)
	assert.ErrorAs(t, blind.CheckSubstring(3, 0, true), &se)
	assert.ErrorAs(t, blind.CheckSubstring(3, 65, true), &se)

	// Prefix: the shortest length is the one that leaks.
	assert.Equal(t, 3, blind.RecommendPrefixBits(1, true))
	assert.Equal(t, 4, blind.RecommendPrefixBits(1, false))
	assert.Equal(t, 13, blind.RecommendPrefixBits(3, true))
	assert.Equal(t, 64, blind.RecommendPrefixBits(64, false))
	assert.Equal(t, 0, blind.RecommendPrefixBits(0, false))
	assert.NoError(t, blind.CheckPrefix(3, 13, true))
	var le *blind.TokenLeakageError
	require.ErrorAs(t, blind.CheckPrefix(3, 14, true), &le)
	assert.Equal(t, blind.TokenPrefix, le.Kind)
	assert.ErrorAs(t, blind.CheckPrefix(0, 8, true), &se)

	// CheckTokens: the alphabet comes from the transforms.
	mustTs := func(spec string) []blind.Transform {
		ts, err := blind.ParseTransforms(spec)
		require.NoError(t, err)
		return ts
	}
	assert.Equal(t, blind.AlphabetMixedCase, blind.TokenAlphabet(nil))
	assert.Equal(t, blind.AlphabetMixedCase, blind.TokenAlphabet(mustTs("nfkc+trim")))
	assert.Equal(t, blind.AlphabetCaseFolded, blind.TokenAlphabet(mustTs("nfkc+lower")))
	assert.Equal(t, blind.AlphabetCaseFolded, blind.TokenAlphabet(mustTs("upper")))
	assert.Equal(t, blind.AlphabetCaseFolded, blind.TokenAlphabet(mustTs("emaildomain")))
	assert.Equal(t, blind.AlphabetDigits, blind.TokenAlphabet(mustTs("lower+digits+last4")))
	sub13 := blind.TokenSpec{Kind: blind.TokenSubstring, Bits: 13}
	assert.NoError(t, blind.CheckTokens(sub13, mustTs("lower")))
	assert.NoError(t, blind.CheckTokens(sub13, nil))
	require.ErrorAs(t, blind.CheckTokens(sub13, mustTs("digits")), &le) // 1000 3-grams of digits: at most 7 bits
	assert.Equal(t, 7, le.MaxBits)
	assert.Equal(t, blind.AlphabetDigits, le.Alphabet)
	require.ErrorAs(t, blind.CheckTokens(blind.TokenSpec{Kind: blind.TokenSuffix, Bits: 16, MinLen: 2, MaxLen: 4}, mustTs("lower")), &le)
	assert.Equal(t, blind.TokenSuffix, le.Kind)
	assert.Contains(t, le.Error(), "suffixes of 2 runes")
	assert.NoError(t, blind.CheckTokens(setSpec, nil))
	assert.NoError(t, blind.CheckTokens(rangeSpec, nil))
	assert.ErrorAs(t, blind.CheckTokens(blind.TokenSpec{Kind: blind.TokenSet}, nil), &se)
}
