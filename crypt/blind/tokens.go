package blind

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/tink-crypto/tink-go/v2/prf"
)

// TokenKind is the kind of a token index: what queries its tokens answer.
type TokenKind string

// The kinds of token index.
const (
	// TokenPrefix answers "starts with": one token per prefix of MinLen to
	// MaxLen runes.
	TokenPrefix TokenKind = "prefix"
	// TokenSuffix answers "ends with": one token per suffix of MinLen to
	// MaxLen runes.
	TokenSuffix TokenKind = "suffix"
	// TokenSubstring answers "contains": one token per distinct n-gram of N
	// runes, or one overflow token for a value with more than MaxTokens of
	// them.
	TokenSubstring TokenKind = "substring"
	// TokenRange answers "between lo and hi" over int64 values: one token
	// per level of a binary tree over the domain.
	TokenRange TokenKind = "range"
	// TokenSet answers "has an element equal to": one equality token per
	// distinct element of a set. An index shared by several fields is a set
	// index whose elements come from those fields.
	TokenSet TokenKind = "set"
)

func (k TokenKind) valid() bool {
	switch k {
	case TokenPrefix, TokenSuffix, TokenSubstring, TokenRange, TokenSet:
		return true
	}
	return false
}

// Limits and defaults of a [TokenSpec].
const (
	// MaxTokenBits is the widest token: the first 8 bytes of HMAC-SHA-256,
	// a SQL BIGINT.
	MaxTokenBits = 64
	// MaxAffixLen bounds MaxLen of a prefix or suffix index, in runes.
	MaxAffixLen = 64
	// MinGramLen and MaxGramLen bound N of a substring index, in runes.
	MinGramLen = 2
	MaxGramLen = 8
	// DefaultGramLen is N when a substring spec leaves it 0: trigrams, as
	// PostgreSQL's pg_trgm uses. Bigrams are so few (about A^2 for an
	// alphabet of A symbols) that a token of fewer than 9 bits names its
	// bigram, and every row of a text column holds most frequent bigrams;
	// 4-grams and longer refuse queries shorter than N runes, which for
	// names and e-mail addresses are common.
	DefaultGramLen = 3
	// DefaultMaxTokens is MaxTokens when a substring spec leaves it 0. An
	// e-mail address, a name or a street line has fewer than 64 distinct
	// trigrams (a value of R runes has at most R-2), so such values are
	// indexed in full, at most 512 bytes of tokens per row; longer text
	// overflows to one token and is a candidate for every query.
	DefaultMaxTokens = 64
	// MaxMaxTokens bounds MaxTokens of a substring index.
	MaxMaxTokens = 1024
	// MaxRangeLevels bounds the levels of a range index's tree: the
	// domain's offsets, (Max-Min)/Step, must fit in 63 bits.
	MaxRangeLevels = 63
)

// The tags that start each kind's token messages; see the package doc.
const (
	tagPrefix   = 'P'
	tagSuffix   = 'S'
	tagGram     = 'G'
	tagOverflow = 'O'
	tagRange    = 'R'
	tagSet      = 'E'
)

// tokenSubkeyLabel separates the subkeys of token indexes from those of
// blind indexes ([DeriveSubkey]) and from any other use of the PRF.
const tokenSubkeyLabel = "fieldcrypt token index v1"

// DeriveTokenSubkey derives the subkey of one token index of one kind from
// a key of the scope's "index" keyset:
//
//	subkey = p.ComputePRF(u32be(len(label)) || label ||
//	                      u32be(len(recordType)) || recordType ||
//	                      u32be(len(indexName)) || indexName ||
//	                      u32be(len(kind)) || kind, 32)
//	label  = "fieldcrypt token index v1"
//
// so that a blind index and a token index of one name, and two kinds of
// token index of one name, never share a subkey. An unknown kind is a
// [*TokenSpecError]; the PRF must give 32 bytes, as for [DeriveSubkey].
func DeriveTokenSubkey(p prf.PRF, recordType, indexName string, kind TokenKind) ([]byte, error) {
	if !kind.valid() {
		return nil, &TokenSpecError{Kind: kind, Field: "Kind", Reason: "unknown token index kind; want prefix, suffix, substring, range or set"}
	}
	return deriveKey(p, fmt.Sprintf("%s token index %.64q of record type %.64q", kind, indexName, recordType),
		tokenSubkeyLabel, recordType, indexName, string(kind))
}

// RangeDomain is the domain of a range index: the int64 values Min..Max
// (inclusive), in buckets of Step. The caller maps its values to int64 (a
// date to days since an epoch, a timestamp to seconds, a decimal of scale s
// to value×10^s) in the same way when it stores them and when it queries.
type RangeDomain struct {
	Min, Max int64 // the smallest and largest storable values
	Step     int64 // the bucket width, at least 1: values in one bucket share every token
}

// levels returns the number of levels of the domain's tree and the largest
// offset, for a domain with Min <= Max and Step >= 1.
func (d RangeDomain) levels() (int, uint64) {
	maxOffset := (uint64(d.Max) - uint64(d.Min)) / uint64(d.Step)
	return max(1, bits.Len64(maxOffset)), maxOffset
}

// TokenSpec configures a token index. Fields that do not apply to Kind
// must be zero.
type TokenSpec struct {
	Kind TokenKind
	// Bits is the width of each token, 1..64: the token keeps the top Bits
	// bits of its 64. Fewer bits make tokens collide, which hides more and
	// adds false positives.
	Bits int
	// MinLen and MaxLen (prefix and suffix, 1 <= MinLen <= MaxLen <= 64)
	// are the lengths in runes of the prefixes or suffixes that get a
	// token. Queries shorter than MinLen are refused; longer than MaxLen
	// look up their first (last) MaxLen runes.
	MinLen, MaxLen int
	// N (substring, 2..8, default 3) is the n-gram length in runes.
	N int
	// MaxTokens (substring, 1..1024, default 64) is the most distinct
	// n-grams a value may have and still be indexed by them; a value with
	// more gets the overflow token alone.
	MaxTokens int
	// Domain (range) is the values the index can hold.
	Domain RangeDomain
}

// String describes the spec, such as "prefix bits=12 len=3..8" or
// "range bits=16 domain=[0,1825] step=1". Specs hold no secrets.
func (s TokenSpec) String() string {
	b := kindName(s.Kind) + " bits=" + strconv.Itoa(s.Bits)
	switch s.Kind {
	case TokenPrefix, TokenSuffix:
		b += " len=" + strconv.Itoa(s.MinLen) + ".." + strconv.Itoa(s.MaxLen)
	case TokenSubstring:
		b += " n=" + strconv.Itoa(s.N) + " max_tokens=" + strconv.Itoa(s.MaxTokens)
	case TokenRange:
		b += " domain=[" + strconv.FormatInt(s.Domain.Min, 10) + "," + strconv.FormatInt(s.Domain.Max, 10) +
			"] step=" + strconv.FormatInt(s.Domain.Step, 10)
	}
	return b
}

// normalize validates s and fills in the defaults.
func (s TokenSpec) normalize() (TokenSpec, error) {
	bad := func(field, reason string) (TokenSpec, error) {
		return TokenSpec{}, &TokenSpecError{Kind: s.Kind, Field: field, Reason: reason}
	}
	if !s.Kind.valid() {
		return bad("Kind", "unknown token index kind; want prefix, suffix, substring, range or set")
	}
	if s.Bits < 1 || s.Bits > MaxTokenBits {
		return bad("Bits", strconv.Itoa(s.Bits)+" is outside 1.."+strconv.Itoa(MaxTokenBits))
	}
	affix := s.Kind == TokenPrefix || s.Kind == TokenSuffix
	if !affix && (s.MinLen != 0 || s.MaxLen != 0) {
		return bad("MinLen", "applies to prefix and suffix indexes only; leave MinLen and MaxLen 0")
	}
	if s.Kind != TokenSubstring && s.N != 0 {
		return bad("N", "applies to substring indexes only; leave it 0")
	}
	if s.Kind != TokenSubstring && s.MaxTokens != 0 {
		return bad("MaxTokens", "applies to substring indexes only; leave it 0")
	}
	if s.Kind != TokenRange && s.Domain != (RangeDomain{}) {
		return bad("Domain", "applies to range indexes only; leave it zero")
	}
	switch s.Kind {
	case TokenPrefix, TokenSuffix:
		if s.MinLen < 1 || s.MinLen > MaxAffixLen {
			return bad("MinLen", strconv.Itoa(s.MinLen)+" is outside 1.."+strconv.Itoa(MaxAffixLen))
		}
		if s.MaxLen < s.MinLen || s.MaxLen > MaxAffixLen {
			return bad("MaxLen", strconv.Itoa(s.MaxLen)+" is outside MinLen.."+strconv.Itoa(MaxAffixLen)+" ("+strconv.Itoa(s.MinLen)+".."+strconv.Itoa(MaxAffixLen)+")")
		}
	case TokenSubstring:
		if s.N == 0 {
			s.N = DefaultGramLen
		}
		if s.N < MinGramLen || s.N > MaxGramLen {
			return bad("N", strconv.Itoa(s.N)+" is outside "+strconv.Itoa(MinGramLen)+".."+strconv.Itoa(MaxGramLen))
		}
		if s.MaxTokens == 0 {
			s.MaxTokens = DefaultMaxTokens
		}
		if s.MaxTokens < 1 || s.MaxTokens > MaxMaxTokens {
			return bad("MaxTokens", strconv.Itoa(s.MaxTokens)+" is outside 1.."+strconv.Itoa(MaxMaxTokens))
		}
	case TokenRange:
		d := s.Domain
		if d.Step < 1 {
			return bad("Domain", "Step "+strconv.FormatInt(d.Step, 10)+" is less than 1")
		}
		if d.Min > d.Max {
			return bad("Domain", "Min "+strconv.FormatInt(d.Min, 10)+" is greater than Max "+strconv.FormatInt(d.Max, 10))
		}
		if (uint64(d.Max)-uint64(d.Min))/uint64(d.Step) >= 1<<MaxRangeLevels {
			return bad("Domain", "(Max-Min)/Step needs 64 levels, more than "+strconv.Itoa(MaxRangeLevels)+
				"; use a Step of at least 2 or a narrower domain")
		}
	}
	return s, nil
}

// Tokenizer computes the tokens of one token index under one subkey, and
// the queries that find them. It is immutable and safe for concurrent use;
// build one per (index, key) with [NewTokenizer] and keep it. Like
// [Indexer] it keeps the subkey's HMAC-SHA-256 states after the pad blocks
// and computes on pooled scratch states, so a token costs two SHA-256
// compressions and tokenizing allocates nothing beyond the caller's slice.
type Tokenizer struct {
	spec         TokenSpec // normalized
	mask         uint64    // the top Bits bits
	inner, outer []byte    // marshaled SHA-256 states after the HMAC pads

	levels    int    // range: levels of the tree, B
	maxOffset uint64 // range: (Max-Min)/Step
}

// NewTokenizer returns a Tokenizer for spec keyed by subkey (at least
// [MinSubkeySize] bytes, normally from [DeriveTokenSubkey] for spec.Kind).
// Errors are a [*TokenSpecError] or [*SubkeyError]. N and MaxTokens of a
// substring spec default to [DefaultGramLen] and [DefaultMaxTokens].
func NewTokenizer(subkey []byte, spec TokenSpec) (*Tokenizer, error) {
	s, err := spec.normalize()
	if err != nil {
		return nil, err
	}
	if len(subkey) < MinSubkeySize {
		return nil, &SubkeyError{Len: len(subkey)}
	}
	t := &Tokenizer{spec: s, mask: ^uint64(0) << (MaxTokenBits - s.Bits)}
	if s.Kind == TokenRange {
		t.levels, t.maxOffset = s.Domain.levels()
	}
	t.inner, t.outer = hmacPads(subkey)
	return t, nil
}

// Spec returns the Tokenizer's spec, with defaults filled in.
func (t *Tokenizer) Spec() TokenSpec { return t.spec }

// Kind returns the kind of the index.
func (t *Tokenizer) Kind() TokenKind { return t.spec.Kind }

// String describes the tokenizer without its key: its spec, such as
// "blind.Tokenizer{prefix bits=12 len=3..8}".
func (t Tokenizer) String() string { return "blind.Tokenizer{" + t.spec.String() + "}" }

// Format writes String for every verb (%v, %+v, %#v, %x, %d...), so that
// printing a Tokenizer, or a pointer to one, never shows the HMAC states
// keyed by its subkey.
func (t Tokenizer) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, t.String()) }

// Levels returns B, the number of levels of a range index's tree (the
// number of tokens of each value), or 0 for other kinds.
func (t *Tokenizer) Levels() int { return t.levels }

// MaxTokensPerValue returns the most tokens one value can have: MaxLen −
// MinLen + 1 for prefix and suffix, MaxTokens for substring, Levels for
// range, 1 for a set element. The Append methods allocate nothing when dst
// has that much spare capacity (per element, for [Tokenizer.AppendSetTokens]).
func (t *Tokenizer) MaxTokensPerValue() int {
	switch t.spec.Kind {
	case TokenPrefix, TokenSuffix:
		return t.spec.MaxLen - t.spec.MinLen + 1
	case TokenSubstring:
		return t.spec.MaxTokens
	case TokenRange:
		return t.levels
	}
	return 1
}

// tokenRun is one call's use of a pooled scratch state.
type tokenRun struct {
	t    *Tokenizer
	st   *indexState
	used int // the longest message written to st.msg, to be wiped
}

func (t *Tokenizer) begin() tokenRun {
	return tokenRun{t: t, st: scratch.Get().(*indexState)}
}

// end wipes the messages and keyed states and returns the state to the
// pool.
func (r *tokenRun) end() {
	st := r.st
	clear(st.msg[:r.used])
	st.msg = st.msg[:0]
	if cap(st.msg) > maxPooledMessage {
		st.msg = nil
	}
	st.inner.Reset()
	st.outer.Reset()
	clear(st.sum[:])
	scratch.Put(st)
	r.st = nil
}

// buf returns the message buffer, empty, with room for n bytes. A buffer
// too small is wiped before it is replaced, so that growing it leaves no
// copy of a value behind.
func (r *tokenRun) buf(n int) []byte {
	if cap(r.st.msg) < n {
		clear(r.st.msg[:r.used])
		r.used = 0
		r.st.msg = make([]byte, 0, max(n, 64))
	}
	return r.st.msg[:0]
}

// token returns token(tag || u32be(param) || payload).
func (r *tokenRun) token(tag byte, param uint32, payload string) int64 {
	msg := append(r.buf(5+len(payload)), tag)
	msg = binary.BigEndian.AppendUint32(msg, param)
	msg = append(msg, payload...)
	return r.sum(msg)
}

// tokenUint returns token(tag || u32be(param) || u64be(payload)).
func (r *tokenRun) tokenUint(tag byte, param uint32, payload uint64) int64 {
	msg := append(r.buf(13), tag)
	msg = binary.BigEndian.AppendUint32(msg, param)
	msg = binary.BigEndian.AppendUint64(msg, payload)
	return r.sum(msg)
}

// sum returns the token of msg: the first 8 bytes of
// HMAC-SHA-256(subkey, msg) as a big-endian uint64, masked to the top Bits
// bits, as an int64.
func (r *tokenRun) sum(msg []byte) int64 {
	st, t := r.st, r.t
	st.msg = msg
	r.used = max(r.used, len(msg))
	if err := st.inner.UnmarshalBinary(t.inner); err != nil {
		panic("blind: restore the HMAC inner state: " + err.Error()) // never: it was marshaled by the same package
	}
	st.inner.Write(msg)
	innerSum := st.inner.Sum(st.sum[:0])
	if err := st.outer.UnmarshalBinary(t.outer); err != nil {
		panic("blind: restore the HMAC outer state: " + err.Error()) // never
	}
	st.outer.Write(innerSum)
	full := st.outer.Sum(st.sum[:0])
	return int64(binary.BigEndian.Uint64(full) & t.mask)
}

// sortDedup sorts dst[base:] ascending and removes repeated tokens.
func sortDedup(dst []int64, base int) []int64 {
	tail := dst[base:]
	slices.Sort(tail)
	return dst[:base+len(slices.Compact(tail))]
}

// AppendTokens appends the tokens of one (transformed) value to dst,
// sorted ascending and without repeats among themselves, and returns the
// extended slice. It applies to prefix, suffix and substring indexes, and
// to a set index for a set of one element (see
// [Tokenizer.AppendSetTokens]); a range index takes
// [Tokenizer.AppendRangeTokens]. Otherwise it returns dst and a
// [*TokenError] wrapping [ErrWrongKind] or [ErrValueTooLong].
//
// Runes are those of utf8.DecodeRuneInString, so each byte of invalid
// UTF-8 is one rune, and tokens hash the value's own bytes. A value with
// fewer runes than MinLen (prefix, suffix) or N (substring) has no tokens.
// dst's existing elements are left alone: to index several values into one
// token set, sort and compact the result.
func (t *Tokenizer) AppendTokens(dst []int64, value string) ([]int64, error) {
	switch t.spec.Kind {
	case TokenPrefix:
		return t.appendPrefix(dst, value), nil
	case TokenSuffix:
		return t.appendSuffix(dst, value), nil
	case TokenSubstring:
		return t.appendSubstring(dst, value), nil
	case TokenSet:
		return t.appendSet("AppendTokens", dst, value)
	}
	return dst, &TokenError{Op: "AppendTokens", Kind: t.spec.Kind, Err: ErrWrongKind}
}

// AppendSetTokens appends the tokens of a set index's elements to dst: one
// per distinct element, message 'E' || u32be(len(e)) || e, sorted ascending
// and without repeats among themselves. The elements of an index shared by
// several fields are those of all of them. It returns dst and a
// [*TokenError] for another kind of index or an element longer than
// [MaxValueLen].
func (t *Tokenizer) AppendSetTokens(dst []int64, elements ...string) ([]int64, error) {
	return t.appendSet("AppendSetTokens", dst, elements...)
}

func (t *Tokenizer) appendSet(op string, dst []int64, elements ...string) ([]int64, error) {
	if t.spec.Kind != TokenSet {
		return dst, &TokenError{Op: op, Kind: t.spec.Kind, Err: ErrWrongKind}
	}
	for _, e := range elements {
		if uint64(len(e)) > maxValueLen {
			return dst, &TokenError{Op: op, Kind: t.spec.Kind, Err: ErrValueTooLong}
		}
	}
	base := len(dst)
	r := t.begin()
	for _, e := range elements {
		dst = append(dst, r.token(tagSet, uint32(len(e)), e))
	}
	r.end()
	return sortDedup(dst, base), nil
}

// appendPrefix appends token('P' || u32be(L) || first L runes) for each L
// in MinLen..MaxLen up to the value's length.
func (t *Tokenizer) appendPrefix(dst []int64, v string) []int64 {
	base := len(dst)
	r := t.begin()
	for i, n := 0, 0; i < len(v) && n < t.spec.MaxLen; {
		_, size := utf8.DecodeRuneInString(v[i:])
		i += size
		n++
		if n >= t.spec.MinLen {
			dst = append(dst, r.token(tagPrefix, uint32(n), v[:i]))
		}
	}
	r.end()
	return sortDedup(dst, base)
}

// appendSuffix appends token('S' || u32be(L) || last L runes) for each L
// in MinLen..MaxLen up to the value's length.
func (t *Tokenizer) appendSuffix(dst []int64, v string) []int64 {
	base := len(dst)
	total := runeCount(v)
	if total < t.spec.MinLen {
		return dst
	}
	r := t.begin()
	for i, n := 0, total; n >= t.spec.MinLen; n-- {
		if n <= t.spec.MaxLen {
			dst = append(dst, r.token(tagSuffix, uint32(n), v[i:]))
		}
		_, size := utf8.DecodeRuneInString(v[i:])
		i += size
	}
	r.end()
	return sortDedup(dst, base)
}

// runeCount counts the runes of s as utf8.DecodeRuneInString splits them.
func runeCount(s string) int {
	n := 0
	for i := 0; i < len(s); n++ {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return n
}

// lastRunesForward returns the last n runes of s, splitting s into runes
// from its start, or s if it has fewer.
func lastRunesForward(s string, n int) string {
	skip := runeCount(s) - n
	i := 0
	for ; skip > 0; skip-- {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return s[i:]
}

// appendSubstring appends the tokens of the distinct n-grams of v, message
// 'G' || u32be(N) || gram, or if v has more than MaxTokens distinct
// n-grams the overflow token alone, message 'O' || u32be(N).
//
// The distinct n-grams are kept in dst[base:] while scanning, sorted by
// their bytes, each as start<<8 | length in bytes (an n-gram is at most 8
// runes of 4 bytes); the tokens then replace them.
func (t *Tokenizer) appendSubstring(dst []int64, v string) []int64 {
	base := len(dst)
	dst, overflow := t.grams(dst, v)
	if len(dst) == base && !overflow {
		return dst // fewer than N runes
	}
	r := t.begin()
	if overflow {
		dst = append(dst[:base], r.token(tagOverflow, uint32(t.spec.N), ""))
	} else {
		for i, g := range dst[base:] {
			start, length := g>>8, g&0xff
			dst[base+i] = r.token(tagGram, uint32(t.spec.N), v[start:start+length])
		}
	}
	r.end()
	return sortDedup(dst, base)
}

// grams appends the distinct n-grams of v to dst as start<<8 | length,
// sorted by their bytes, and reports whether there were more than
// MaxTokens of them (dst then holds MaxTokens of them).
func (t *Tokenizer) grams(dst []int64, v string) ([]int64, bool) {
	n := t.spec.N
	base := len(dst)
	var ring [MaxGramLen + 1]int // the last n+1 rune boundaries
	for k, i := 0, 0; ; k++ {
		ring[k%(n+1)] = i
		if k >= n {
			start := ring[(k-n)%(n+1)]
			gram := v[start:i]
			// Binary search among the distinct n-grams so far.
			set := dst[base:]
			lo, hi := 0, len(set)
			found := false
			for lo < hi {
				m := int(uint(lo+hi) >> 1)
				s, l := set[m]>>8, set[m]&0xff
				switch other := v[s : s+l]; {
				case other < gram:
					lo = m + 1
				case other > gram:
					hi = m
				default:
					found = true
					lo, hi = m, m
				}
			}
			if !found {
				if len(set) == t.spec.MaxTokens {
					return dst, true
				}
				dst = append(dst, 0)
				copy(dst[base+lo+1:], dst[base+lo:])
				dst[base+lo] = int64(start)<<8 | int64(len(gram))
			}
		}
		if i == len(v) {
			return dst, false
		}
		_, size := utf8.DecodeRuneInString(v[i:])
		i += size
	}
}

// AppendRangeTokens appends the tokens of a range index value to dst:
// with o = (v − Min) / Step and B levels, for ℓ = 1..B the token of
// 'R' || u32be(ℓ) || u64be(o >> (B−ℓ)), sorted ascending and without
// repeats among themselves. A value outside the domain is a [*TokenError]
// wrapping [ErrOutOfDomain] that names the bound (never the value);
// another kind of index, one wrapping [ErrWrongKind].
func (t *Tokenizer) AppendRangeTokens(dst []int64, v int64) ([]int64, error) {
	const op = "AppendRangeTokens"
	if t.spec.Kind != TokenRange {
		return dst, &TokenError{Op: op, Kind: t.spec.Kind, Err: ErrWrongKind}
	}
	d := t.spec.Domain
	if v < d.Min {
		return dst, &TokenError{Op: op, Kind: TokenRange, Err: ErrOutOfDomain, Bound: "Min", Limit: d.Min}
	}
	if v > d.Max {
		return dst, &TokenError{Op: op, Kind: TokenRange, Err: ErrOutOfDomain, Bound: "Max", Limit: d.Max}
	}
	o := t.offset(v)
	base := len(dst)
	r := t.begin()
	for l := 1; l <= t.levels; l++ {
		dst = append(dst, r.tokenUint(tagRange, uint32(l), o>>(t.levels-l)))
	}
	r.end()
	return sortDedup(dst, base), nil
}

// offset returns floor((v − Min) / Step) for Min <= v: v − Min, computed
// in uint64, cannot overflow.
func (t *Tokenizer) offset(v int64) uint64 {
	return (uint64(v) - uint64(t.spec.Domain.Min)) / uint64(t.spec.Domain.Step)
}

// Query is a lookup in a token index. A row is a candidate when its token
// set holds every token of All (when All is not empty) or any token of
// Any; the empty Query matches no row. In SQL, with the tokens in a
// BIGINT[] column (PostgreSQL, with a GIN index):
//
//	tokens @> $All OR tokens && $Any
//
// or in a side table (row_id, token) indexed on token:
//
//	row_id IN (SELECT row_id FROM t WHERE token IN ($All...)
//	           GROUP BY row_id HAVING COUNT(DISTINCT token) = len(All))
//	OR row_id IN (SELECT row_id FROM t WHERE token IN ($Any...))
//
// Candidates include false positives; the caller decrypts them and keeps
// those that the kind's Match function accepts. Both slices are sorted
// ascending without repeats.
type Query struct {
	All, Any []int64
}

// Empty reports whether q matches no row.
func (q Query) Empty() bool { return len(q.All) == 0 && len(q.Any) == 0 }

// Matches reports whether a row with the given tokens is a candidate for
// q: the in-memory form of the SQL condition. The tokens may be in any
// order; sorted ascending, as the Append methods return them, they are
// matched in one merge pass (as are a Query's own slices, which need not
// be sorted either).
func (q Query) Matches(tokens []int64) bool {
	sorted := func(s []int64) []int64 {
		if slices.IsSorted(s) {
			return s
		}
		return slices.Sorted(slices.Values(s))
	}
	tokens = sorted(tokens)
	if intersects(sorted(q.Any), tokens) {
		return true
	}
	return len(q.All) > 0 && contains(tokens, sorted(q.All))
}

// intersects reports whether the sorted a and b have an element in
// common.
func intersects(a, b []int64) bool {
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch {
		case a[i] < b[j]:
			i++
		case a[i] > b[j]:
			j++
		default:
			return true
		}
	}
	return false
}

// contains reports whether the sorted set holds every element of the
// sorted sub.
func contains(set, sub []int64) bool {
	j := 0
	for _, x := range sub {
		for j < len(set) && set[j] < x {
			j++
		}
		if j == len(set) || set[j] != x {
			return false
		}
	}
	return true
}

// PrefixQuery returns the query for values that start with q (see
// [MatchPrefix]) in a prefix index: with Q the runes of q and L =
// min(Q, MaxLen), Any = {token of q's first L runes}. A query of fewer
// than MinLen runes is a [*TokenError] wrapping [ErrQueryTooShort].
func (t *Tokenizer) PrefixQuery(q string) (Query, error) {
	return t.affixQuery("PrefixQuery", TokenPrefix, q)
}

// SuffixQuery returns the query for values that end with q (see
// [MatchSuffix]) in a suffix index: with Q the runes of q and L =
// min(Q, MaxLen), Any = {token of q's last L runes}. A query of fewer than
// MinLen runes is a [*TokenError] wrapping [ErrQueryTooShort].
func (t *Tokenizer) SuffixQuery(q string) (Query, error) {
	return t.affixQuery("SuffixQuery", TokenSuffix, q)
}

func (t *Tokenizer) affixQuery(op string, kind TokenKind, q string) (Query, error) {
	if t.spec.Kind != kind {
		return Query{}, &TokenError{Op: op, Kind: t.spec.Kind, Err: ErrWrongKind}
	}
	n := runeCount(q)
	if n < t.spec.MinLen {
		return Query{}, &TokenError{Op: op, Kind: kind, Err: ErrQueryTooShort, Limit: int64(t.spec.MinLen)}
	}
	l := min(n, t.spec.MaxLen)
	r := t.begin()
	var tok int64
	if kind == TokenPrefix {
		tok = r.token(tagPrefix, uint32(l), firstRunes(q, l))
	} else {
		tok = r.token(tagSuffix, uint32(l), lastRunesForward(q, l))
	}
	r.end()
	return Query{Any: []int64{tok}}, nil
}

// SubstringQuery returns the query for values that contain q (see
// [MatchSubstring]) in a substring index: All = the tokens of q's distinct
// n-grams, Any = {the overflow token}, so that a value that overflowed is
// always a candidate. A query with more than MaxTokens distinct n-grams can
// only be in values that overflowed: its All is empty. A query of fewer
// than N runes is a [*TokenError] wrapping [ErrQueryTooShort].
func (t *Tokenizer) SubstringQuery(q string) (Query, error) {
	const op = "SubstringQuery"
	if t.spec.Kind != TokenSubstring {
		return Query{}, &TokenError{Op: op, Kind: t.spec.Kind, Err: ErrWrongKind}
	}
	if runeCount(q) < t.spec.N {
		return Query{}, &TokenError{Op: op, Kind: TokenSubstring, Err: ErrQueryTooShort, Limit: int64(t.spec.N)}
	}
	all, overflow := t.grams(make([]int64, 0, 8), q)
	r := t.begin()
	overflowToken := r.token(tagOverflow, uint32(t.spec.N), "")
	if overflow {
		all = nil
	} else {
		for i, g := range all {
			start, length := g>>8, g&0xff
			all[i] = r.token(tagGram, uint32(t.spec.N), q[start:start+length])
		}
		all = sortDedup(all, 0)
	}
	r.end()
	return Query{All: all, Any: []int64{overflowToken}}, nil
}

// EqualQuery returns the query for rows whose set holds an element equal
// to v (see [MatchSet]) in a set index: Any = {token of v}. Another kind of
// index is a [*TokenError] wrapping [ErrWrongKind]; a v longer than
// [MaxValueLen] bytes, one wrapping [ErrValueTooLong].
func (t *Tokenizer) EqualQuery(v string) (Query, error) {
	tokens, err := t.appendSet("EqualQuery", make([]int64, 0, 1), v)
	if err != nil {
		return Query{}, err
	}
	return Query{Any: tokens}, nil
}

// RangeQuery returns the query for values v with lo <= v <= hi (see
// [MatchRange]) in a range index: Any = the tokens of [Tokenizer.RangeCover].
// The bounds are clamped to the domain; an interval with nothing of the
// domain in it gives the empty Query, which matches no row. Values that
// share a Step bucket with a bound, but are outside [lo, hi], are false
// positives. Another kind of index is a [*TokenError] wrapping
// [ErrWrongKind].
func (t *Tokenizer) RangeQuery(lo, hi int64) (Query, error) {
	if t.spec.Kind != TokenRange {
		return Query{}, &TokenError{Op: "RangeQuery", Kind: t.spec.Kind, Err: ErrWrongKind}
	}
	nodes := t.RangeCover(lo, hi)
	if len(nodes) == 0 {
		return Query{}, nil
	}
	anyTokens := make([]int64, 0, len(nodes))
	r := t.begin()
	for _, n := range nodes {
		anyTokens = append(anyTokens, r.tokenUint(tagRange, uint32(n.Level), n.Prefix))
	}
	r.end()
	return Query{Any: sortDedup(anyTokens, 0)}, nil
}

// MatchPrefix reports whether value starts with q, rune by rune: the first
// runes of value, as many as q has, are q. It is the post-filter of
// [Tokenizer.PrefixQuery], on transformed plaintext. For valid UTF-8 it is
// strings.HasPrefix; with invalid UTF-8, runes are those of
// utf8.DecodeRuneInString (each invalid byte one rune), so "\xc3" is not a
// prefix of "é" ("\xc3\xa9").
func MatchPrefix(value, q string) bool {
	return firstRunes(value, runeCount(q)) == q
}

// MatchSuffix reports whether value ends with q, rune by rune, runes split
// from the start of value as in [MatchPrefix]: the post-filter of
// [Tokenizer.SuffixQuery]. For valid UTF-8 it is strings.HasSuffix.
func MatchSuffix(value, q string) bool {
	return lastRunesForward(value, runeCount(q)) == q
}

// MatchSubstring reports whether value contains q, rune by rune: q's runes
// appear, in order and together, among value's (split as in
// [MatchPrefix]). It is the post-filter of [Tokenizer.SubstringQuery]. For
// valid UTF-8 it is strings.Contains.
func MatchSubstring(value, q string) bool {
	n := runeCount(q)
	for i := 0; ; {
		if len(value)-i >= len(q) && value[i:i+len(q)] == q && firstRunes(value[i:], n) == q {
			return true
		}
		if i >= len(value) {
			return false
		}
		_, size := utf8.DecodeRuneInString(value[i:])
		i += size
	}
}

// MatchSet reports whether one of the elements equals q: the post-filter
// of [Tokenizer.EqualQuery].
func MatchSet(elements []string, q string) bool { return slices.Contains(elements, q) }

// MatchRange reports whether lo <= v <= hi: the post-filter of
// [Tokenizer.RangeQuery].
func MatchRange(v, lo, hi int64) bool { return lo <= v && v <= hi }
