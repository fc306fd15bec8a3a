package blind_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"math/big"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/fieldcrypt/fieldcrypt/crypt/blind"
)

// This file computes tokens and queries straight from the construction in
// the package doc, as an independent implementation would: crypto/hmac on
// each message, runes split into a slice, maps for distinct n-grams,
// math/big for range offsets and a recursive tree walk for range covers.
// It calls nothing of package blind but the spec's fields.

// refToken returns the first 8 bytes of HMAC-SHA-256(subkey, msg) as a
// big-endian number with its low 64 − bits bits cleared, as an int64.
func refToken(subkey []byte, bits int, msg []byte) int64 {
	mac := hmac.New(sha256.New, subkey)
	mac.Write(msg)
	d := mac.Sum(nil)
	var u uint64
	for _, b := range d[:8] {
		u = u<<8 | uint64(b)
	}
	if bits < 64 {
		u = u >> (64 - bits) << (64 - bits)
	}
	return int64(u)
}

// refMsg returns tag || u32be(param) || payload.
func refMsg(tag byte, param int, payload []byte) []byte {
	m := []byte{tag, byte(param >> 24), byte(param >> 16), byte(param >> 8), byte(param)}
	return append(m, payload...)
}

// refRunes splits s into runes as utf8.DecodeRuneInString does: each byte
// of invalid UTF-8 is one rune. Each rune is its bytes in s.
func refRunes(s string) []string {
	var rs []string
	for len(s) > 0 {
		_, n := utf8.DecodeRuneInString(s)
		rs = append(rs, s[:n])
		s = s[n:]
	}
	return rs
}

// refSet returns the tokens sorted ascending, each once, or nil if there
// are none.
func refSet(m map[int64]bool) []int64 {
	if len(m) == 0 {
		return nil
	}
	out := make([]int64, 0, len(m))
	for t := range m {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// refDefaults fills in N and MaxTokens of a substring spec.
func refDefaults(spec blind.TokenSpec) blind.TokenSpec {
	if spec.Kind == blind.TokenSubstring {
		if spec.N == 0 {
			spec.N = 3
		}
		if spec.MaxTokens == 0 {
			spec.MaxTokens = 64
		}
	}
	return spec
}

// referenceTokens returns the tokens of a string value of a prefix, suffix,
// substring or set (one element) index.
func referenceTokens(t testing.TB, subkey []byte, spec blind.TokenSpec, value string) []int64 {
	t.Helper()
	return refTokenSet(subkey, spec.Bits, referenceMessages(t, spec, value))
}

// refTokenSet returns the tokens of the messages, sorted, each once.
func refTokenSet(subkey []byte, bits int, msgs [][]byte) []int64 {
	out := map[int64]bool{}
	for _, m := range msgs {
		out[refToken(subkey, bits, m)] = true
	}
	return refSet(out)
}

// referenceMessages returns the messages of a string value's tokens.
func referenceMessages(t testing.TB, spec blind.TokenSpec, value string) [][]byte {
	t.Helper()
	spec = refDefaults(spec)
	rs := refRunes(value)
	var msgs [][]byte
	switch spec.Kind {
	case blind.TokenPrefix:
		for l := spec.MinLen; l <= spec.MaxLen && l <= len(rs); l++ {
			msgs = append(msgs, refMsg('P', l, []byte(strings.Join(rs[:l], ""))))
		}
	case blind.TokenSuffix:
		for l := spec.MinLen; l <= spec.MaxLen && l <= len(rs); l++ {
			msgs = append(msgs, refMsg('S', l, []byte(strings.Join(rs[len(rs)-l:], ""))))
		}
	case blind.TokenSubstring:
		grams := refGrams(rs, spec.N)
		if len(grams) > spec.MaxTokens {
			return [][]byte{refMsg('O', spec.N, nil)}
		}
		sorted := make([]string, 0, len(grams))
		for g := range grams {
			sorted = append(sorted, g)
		}
		sort.Strings(sorted)
		for _, g := range sorted {
			msgs = append(msgs, refMsg('G', spec.N, []byte(g)))
		}
	case blind.TokenSet:
		msgs = append(msgs, refMsg('E', len(value), []byte(value)))
	default:
		t.Fatalf("referenceMessages: kind %q", spec.Kind)
	}
	return msgs
}

// refGrams returns the distinct n-grams of the runes rs.
func refGrams(rs []string, n int) map[string]bool {
	grams := map[string]bool{}
	for i := 0; i+n <= len(rs); i++ {
		grams[strings.Join(rs[i:i+n], "")] = true
	}
	return grams
}

// refDomain is a range domain in big integers.
type refDomain struct {
	min, step, maxOffset *big.Int
	levels               int
}

func newRefDomain(d blind.RangeDomain) refDomain {
	min, max, step := big.NewInt(d.Min), big.NewInt(d.Max), big.NewInt(d.Step)
	maxOffset := new(big.Int).Sub(max, min)
	maxOffset.Quo(maxOffset, step) // non-negative: Quo is floor
	return refDomain{min: min, step: step, maxOffset: maxOffset, levels: max1(maxOffset.BitLen())}
}

func max1(n int) int {
	if n < 1 {
		return 1
	}
	return n
}

func (d refDomain) offset(v int64) *big.Int {
	o := new(big.Int).Sub(big.NewInt(v), d.min)
	return o.Quo(o, d.step)
}

// refRangeMsg returns 'R' || u32be(level) || u64be(prefix).
func refRangeMsg(level int, prefix *big.Int) []byte {
	var p [8]byte
	prefix.FillBytes(p[:])
	return refMsg('R', level, p[:])
}

// referenceRangeTokens returns the tokens of v, in the domain.
func referenceRangeTokens(subkey []byte, spec blind.TokenSpec, v int64) []int64 {
	return refTokenSet(subkey, spec.Bits, referenceRangeMessages(spec, v))
}

// referenceRangeMessages returns the messages of v's tokens, level 1
// first.
func referenceRangeMessages(spec blind.TokenSpec, v int64) [][]byte {
	d := newRefDomain(spec.Domain)
	o := d.offset(v)
	var msgs [][]byte
	for l := 1; l <= d.levels; l++ {
		msgs = append(msgs, refRangeMsg(l, new(big.Int).Rsh(o, uint(d.levels-l))))
	}
	return msgs
}

// referenceCover returns the maximal tree nodes of levels 1..B whose
// existing offsets (0..maxOffset) are all in [lo, hi] after clamping, by a
// recursive walk from the two halves of the tree.
func referenceCover(dom blind.RangeDomain, lo, hi int64) []blind.CoverNode {
	d := newRefDomain(dom)
	lo, hi = max(lo, dom.Min), min(hi, dom.Max)
	if lo > hi {
		return nil
	}
	olo, ohi := d.offset(lo), d.offset(hi)
	var nodes []blind.CoverNode
	var walk func(level int, prefix *big.Int)
	walk = func(level int, prefix *big.Int) {
		shift := uint(d.levels - level)
		first := new(big.Int).Lsh(prefix, shift)
		last := new(big.Int).Sub(new(big.Int).Lsh(new(big.Int).Add(prefix, big.NewInt(1)), shift), big.NewInt(1))
		if last.Cmp(d.maxOffset) > 0 {
			last = d.maxOffset // offsets above do not exist
		}
		if first.Cmp(last) > 0 || last.Cmp(olo) < 0 || first.Cmp(ohi) > 0 {
			return // nothing that exists, or nothing in the interval
		}
		if first.Cmp(olo) >= 0 && last.Cmp(ohi) <= 0 {
			nodes = append(nodes, blind.CoverNode{Level: level, Prefix: prefix.Uint64()})
			return
		}
		walk(level+1, new(big.Int).Lsh(prefix, 1))
		walk(level+1, new(big.Int).Add(new(big.Int).Lsh(prefix, 1), big.NewInt(1)))
	}
	walk(1, big.NewInt(0))
	walk(1, big.NewInt(1))
	return nodes
}

// referenceRangeQuery returns the Any tokens of a range query.
func referenceRangeQuery(subkey []byte, spec blind.TokenSpec, lo, hi int64) []int64 {
	return refCoverTokens(subkey, spec.Bits, referenceCover(spec.Domain, lo, hi))
}

// refCoverTokens returns the tokens of cover nodes, sorted, each once.
func refCoverTokens(subkey []byte, bits int, nodes []blind.CoverNode) []int64 {
	var msgs [][]byte
	for _, n := range nodes {
		msgs = append(msgs, refRangeMsg(n.Level, new(big.Int).SetUint64(n.Prefix)))
	}
	return refTokenSet(subkey, bits, msgs)
}

// referenceQuery returns the All and Any tokens of a string query, which
// is long enough.
func referenceQuery(t testing.TB, subkey []byte, spec blind.TokenSpec, q string) (all, anyTokens []int64) {
	t.Helper()
	spec = refDefaults(spec)
	rs := refRunes(q)
	switch spec.Kind {
	case blind.TokenPrefix:
		l := min(len(rs), spec.MaxLen)
		return nil, []int64{refToken(subkey, spec.Bits, refMsg('P', l, []byte(strings.Join(rs[:l], ""))))}
	case blind.TokenSuffix:
		l := min(len(rs), spec.MaxLen)
		return nil, []int64{refToken(subkey, spec.Bits, refMsg('S', l, []byte(strings.Join(rs[len(rs)-l:], ""))))}
	case blind.TokenSubstring:
		overflow := refToken(subkey, spec.Bits, refMsg('O', spec.N, nil))
		grams := refGrams(rs, spec.N)
		if len(grams) > spec.MaxTokens {
			return nil, []int64{overflow}
		}
		m := map[int64]bool{}
		for g := range grams {
			m[refToken(subkey, spec.Bits, refMsg('G', spec.N, []byte(g)))] = true
		}
		return refSet(m), []int64{overflow}
	case blind.TokenSet:
		return nil, []int64{refToken(subkey, spec.Bits, refMsg('E', len(q), []byte(q)))}
	}
	t.Fatalf("referenceQuery: kind %q", spec.Kind)
	return nil, nil
}
