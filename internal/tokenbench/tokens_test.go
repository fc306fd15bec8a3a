package tokenbench

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"strings"
)

// The shapes of the three token indexes.
const (
	// minPrefix and maxPrefix bound the prefix lengths the prefix index
	// holds a token for.
	minPrefix, maxPrefix = 3, 8
	// maxTrigrams is the most distinct trigram tokens a value holds in the
	// substring index; a value with more holds the overflow token alone.
	maxTrigrams = 64
	// rangeLevels is the depth of the dyadic tree over days: 2^11 = 2048
	// leaves cover the 1826 days of 2021-2025.
	rangeLevels = 11
)

// mac computes tokens under one subkey. It is not safe for concurrent use.
type mac struct {
	h   hash.Hash
	msg []byte
	sum []byte
}

func newMAC(key []byte) *mac {
	return &mac{h: hmac.New(sha256.New, key), sum: make([]byte, 0, sha256.Size)}
}

// token is the first 8 bytes of HMAC-SHA-256 of the message mac.msg holds.
func (m *mac) token() int64 {
	m.h.Reset()
	m.h.Write(m.msg)
	m.sum = m.h.Sum(m.sum[:0])
	return int64(binary.BigEndian.Uint64(m.sum))
}

// subkeys are the secret keys of the three indexes.
type subkeys struct {
	prefix, email, created []byte
}

// tokenizer computes the tokens of the three indexes, for stored values
// and for queries. It is not safe for concurrent use: each goroutine makes
// its own from the same subkeys.
type tokenizer struct {
	prefix, email, created *mac
}

func newTokenizer(k subkeys) *tokenizer {
	return &tokenizer{prefix: newMAC(k.prefix), email: newMAC(k.email), created: newMAC(k.created)}
}

// prefixToken is the token of the prefix index for one prefix of a
// lowercased last name: HMAC("p" || len || prefix).
func (t *tokenizer) prefixToken(prefix string) int64 {
	t.prefix.msg = append(append(t.prefix.msg[:0], 'p', byte(len(prefix))), prefix...)
	return t.prefix.token()
}

// prefixTokens are the tokens a last name holds: one per prefix of its
// lowercased form from minPrefix to maxPrefix bytes long.
func (t *tokenizer) prefixTokens(lastName string) []int64 {
	s := strings.ToLower(lastName)
	var tokens []int64
	for n := minPrefix; n <= maxPrefix && n <= len(s); n++ {
		tokens = append(tokens, t.prefixToken(s[:n]))
	}
	return tokens
}

// overflowToken is the one token of a value with more than maxTrigrams
// distinct trigrams: every substring query matches it.
func (t *tokenizer) overflowToken() int64 {
	t.email.msg = append(t.email.msg[:0], 'o')
	return t.email.token()
}

// trigramTokens are the tokens of the distinct trigrams of s (already
// lowercased), HMAC("s" || trigram), in the order they first occur.
func (t *tokenizer) trigramTokens(s string) []int64 {
	seen := make(map[string]bool, len(s))
	var tokens []int64
	for i := 0; i+3 <= len(s); i++ {
		tri := s[i : i+3]
		if seen[tri] {
			continue
		}
		seen[tri] = true
		t.email.msg = append(append(t.email.msg[:0], 's'), tri...)
		tokens = append(tokens, t.email.token())
	}
	return tokens
}

// emailTokens are the tokens an e-mail address holds in the substring
// index: its distinct trigram tokens, or the overflow token alone when
// there are more than maxTrigrams.
func (t *tokenizer) emailTokens(email string) []int64 {
	tokens := t.trigramTokens(strings.ToLower(email))
	if len(tokens) > maxTrigrams {
		return []int64{t.overflowToken()}
	}
	return tokens
}

// dayToken is the token of one node of the range tree: the block at level
// (1..rangeLevels) whose days d share prefix = d >> (rangeLevels-level).
// HMAC("r" || level || prefix as 2 bytes).
func (t *tokenizer) dayToken(b block) int64 {
	t.created.msg = append(t.created.msg[:0], 'r', byte(b.level), byte(b.prefix>>8), byte(b.prefix))
	return t.created.token()
}

// dayTokens are the tokens a date holds, as days since the epoch: one per
// level of the tree, from the half of the five years down to the day.
func (t *tokenizer) dayTokens(day int) []int64 {
	tokens := make([]int64, 0, rangeLevels)
	for level := 1; level <= rangeLevels; level++ {
		tokens = append(tokens, t.dayToken(block{level: level, prefix: day >> (rangeLevels - level)}))
	}
	return tokens
}

// rangeTokens are the tokens of a query for the days from..to (inclusive):
// those of the range's minimal dyadic cover, of which a date in the range
// holds exactly one and a date outside none.
func (t *tokenizer) rangeTokens(from, to int) []int64 {
	var tokens []int64
	for _, b := range dyadicCover(from, to) {
		tokens = append(tokens, t.dayToken(b))
	}
	return tokens
}

// block is a node of the range tree: the 2^(rangeLevels-level) days whose
// offset shifted right by rangeLevels-level is prefix.
type block struct {
	level, prefix int
}

// first and last are the first and last day of the block.
func (b block) first() int { return b.prefix << (rangeLevels - b.level) }
func (b block) last() int  { return b.first() + 1<<(rangeLevels-b.level) - 1 }

// dyadicCover is the minimal set of blocks whose union is the days
// from..to exactly. Going left to right, it takes at each step the largest
// block that starts at the first day not yet covered and ends within the
// range: any exact cover is a left-to-right sequence of aligned blocks,
// and taking a smaller block never leaves fewer to take after it.
// Level 1 (1024 days) is the largest block; there is no root token.
func dyadicCover(from, to int) []block {
	var cover []block
	for from <= to {
		size := 0 // log2 of the block's size in days
		for size < rangeLevels-1 && from%(2<<size) == 0 && from+(2<<size)-1 <= to {
			size++
		}
		cover = append(cover, block{level: rangeLevels - size, prefix: from >> size})
		from += 1 << size
	}
	return cover
}
