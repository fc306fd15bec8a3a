package blind

import (
	"math"
	"strconv"
)

// Alphabet size estimates of the leakage rule for substring, prefix and
// suffix token indexes: the number of symbols that make up most of a
// field's values after its transforms.
const (
	// AlphabetCaseFolded: letters of one case, digits and common
	// punctuation, after lower, upper or emaildomain.
	AlphabetCaseFolded = 40
	// AlphabetMixedCase: printable ASCII, when nothing folds case.
	AlphabetMixedCase = 96
	// AlphabetDigits: after digits.
	AlphabetDigits = 10
)

// TokenAlphabet returns the alphabet size estimate for values after the
// transforms ts: [AlphabetDigits] if they include digits (which leaves only
// ASCII digits, and no later transform adds other symbols),
// [AlphabetCaseFolded] if they include lower, upper or emaildomain, and
// [AlphabetMixedCase] otherwise.
func TokenAlphabet(ts []Transform) int {
	folded := false
	for _, t := range ts {
		switch t.name {
		case "digits":
			return AlphabetDigits
		case "lower", "upper", "emaildomain":
			folded = true
		}
	}
	if folded {
		return AlphabetCaseFolded
	}
	return AlphabetMixedCase
}

// maxLeakBits returns floor(length × log2(alphabet)) − 2, clamped to
// 1..[MaxTokenBits]: the widest token that leaves at least about 4 of the
// alphabet^length strings of that length per token value.
func maxLeakBits(length, alphabet int) int {
	b := int(math.Floor(float64(length)*math.Log2(float64(alphabet)))) - 2
	return min(max(b, 1), MaxTokenBits)
}

func alphabetOf(caseFolded bool) int {
	if caseFolded {
		return AlphabetCaseFolded
	}
	return AlphabetMixedCase
}

// RecommendSubstringBits returns the widest token for a substring index of
// n-grams of n runes that [CheckSubstring] accepts: floor(n × log2 A) − 2,
// with A = 40 if the transforms fold case and 96 if not. It is also the
// recommended width: the rule is a ceiling on what a token may tell, and
// below it each halving of the token space roughly doubles the false
// positives (a row with k distinct n-grams holds a given other token with
// probability about k / 2^bits). For trigrams: 13 bits folded, 17 not. It
// returns 0 for n outside 2..8.
func RecommendSubstringBits(n int, caseFolded bool) int {
	if n < MinGramLen || n > MaxGramLen {
		return 0
	}
	return maxLeakBits(n, alphabetOf(caseFolded))
}

// CheckSubstring refuses a substring index whose tokens would nearly name
// their n-grams. There are at most about A^n n-grams of n runes, with A =
// 40 when the transforms fold case and 96 otherwise; a token of more than
// floor(n × log2 A) − 2 bits leaves fewer than about 4 of them per token
// value, so each stored token identifies its n-gram, and the tokens of a
// row spell out which n-grams its value has: the value, nearly. The error
// is a [*TokenLeakageError] giving the widest acceptable width, or a
// [*TokenSpecError] for n outside 2..8 or bits outside 1..64.
func CheckSubstring(n, bits int, caseFolded bool) error {
	return checkLeak(TokenSubstring, n, bits, alphabetOf(caseFolded))
}

// RecommendPrefixBits returns the widest token that [CheckPrefix] accepts
// for a prefix or suffix index whose shortest length is minLen runes:
// floor(minLen × log2 A) − 2 (at most 64), with A as for
// [RecommendSubstringBits]. It returns 0 for minLen outside 1..64.
func RecommendPrefixBits(minLen int, caseFolded bool) int {
	if minLen < 1 || minLen > MaxAffixLen {
		return 0
	}
	return maxLeakBits(minLen, alphabetOf(caseFolded))
}

// CheckPrefix refuses a prefix or suffix index whose tokens of the
// shortest length, minLen runes, would nearly name their prefix (suffix),
// by the rule of [CheckSubstring]: there are at most A^minLen of them, so
// bits must be at most floor(minLen × log2 A) − 2. Longer prefixes have
// more possible values and are bounded by the same width. The error is a
// [*TokenLeakageError], or a [*TokenSpecError] for minLen outside 1..64 or
// bits outside 1..64.
func CheckPrefix(minLen, bits int, caseFolded bool) error {
	return checkLeak(TokenPrefix, minLen, bits, alphabetOf(caseFolded))
}

// CheckTokens applies the leakage rule to a whole spec whose values are
// transformed by ts: [CheckSubstring] for substring (with N), [CheckPrefix]
// for prefix and suffix (with MinLen), with A from [TokenAlphabet] (which
// also knows that digits leave 10 symbols). An invalid spec is its
// [*TokenSpecError]. Set and range indexes pass: size a set index's width
// with [Recommend] over its distinct elements, as a blind index; a range
// index's leakage is structural (see the package doc).
func CheckTokens(spec TokenSpec, ts []Transform) error {
	s, err := spec.normalize()
	if err != nil {
		return err
	}
	switch s.Kind {
	case TokenSubstring:
		return checkLeak(s.Kind, s.N, s.Bits, TokenAlphabet(ts))
	case TokenPrefix, TokenSuffix:
		return checkLeak(s.Kind, s.MinLen, s.Bits, TokenAlphabet(ts))
	}
	return nil
}

func checkLeak(kind TokenKind, length, bits, alphabet int) error {
	if kind == TokenSubstring && (length < MinGramLen || length > MaxGramLen) {
		return &TokenSpecError{Kind: kind, Field: "N", Reason: strconv.Itoa(length) + " is outside " +
			strconv.Itoa(MinGramLen) + ".." + strconv.Itoa(MaxGramLen)}
	}
	if kind != TokenSubstring && (length < 1 || length > MaxAffixLen) {
		return &TokenSpecError{Kind: kind, Field: "MinLen", Reason: strconv.Itoa(length) + " is outside 1.." + strconv.Itoa(MaxAffixLen)}
	}
	if bits < 1 || bits > MaxTokenBits {
		return &TokenSpecError{Kind: kind, Field: "Bits", Reason: strconv.Itoa(bits) + " is outside 1.." + strconv.Itoa(MaxTokenBits)}
	}
	if limit := maxLeakBits(length, alphabet); bits > limit {
		return &TokenLeakageError{Kind: kind, Len: length, Bits: bits, MaxBits: limit, Alphabet: alphabet}
	}
	return nil
}
