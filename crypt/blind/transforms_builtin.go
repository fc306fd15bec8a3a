package blind

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// nfkc returns the Unicode NFKC normal form of s.
func nfkc(s string) string { return norm.NFKC.String(s) }

// collapseSpace replaces each run of Unicode white space with one ASCII
// space. It does not trim; combine it with "trim" for that.
func collapseSpace(s string) string {
	var b strings.Builder
	started := false // whether b holds the result so far
	inSpace := false
	for i, r := range s {
		if !unicode.IsSpace(r) {
			if started {
				_, size := utf8.DecodeRuneInString(s[i:])
				b.WriteString(s[i : i+size])
			}
			inSpace = false
			continue
		}
		if inSpace {
			continue
		}
		inSpace = true
		if !started {
			started = true
			b.Grow(len(s))
			b.WriteString(s[:i])
		}
		b.WriteByte(' ')
	}
	if !started {
		return s // no white space at all
	}
	return b.String()
}

// digitsOnly keeps the decimal digits of s (Unicode category Nd, in any
// script) as the ASCII digits 0-9 of the same value and drops every other
// rune.
func digitsOnly(s string) string {
	var b strings.Builder
	for _, r := range s {
		if d, ok := decimalValue(r); ok {
			b.WriteByte(byte('0' + d))
		}
	}
	return b.String()
}

// decimalValue returns the value of a decimal digit (category Nd) of any
// script. Unicode encodes each script's decimal digits as a contiguous run
// 0..9 (a stability guarantee), so within a run of the Nd table the value is
// the distance from the run's start modulo 10.
func decimalValue(r rune) (int, bool) {
	if r >= '0' && r <= '9' {
		return int(r - '0'), true
	}
	if r < 0x80 || !unicode.Is(unicode.Nd, r) {
		return 0, false
	}
	for _, rg := range unicode.Nd.R16 {
		if r >= rune(rg.Lo) && r <= rune(rg.Hi) {
			return digitIn(r, rune(rg.Lo), uint32(rg.Stride))
		}
	}
	for _, rg := range unicode.Nd.R32 {
		if r >= rune(rg.Lo) && r <= rune(rg.Hi) {
			return digitIn(r, rune(rg.Lo), uint32(rg.Stride))
		}
	}
	return 0, false
}

func digitIn(r, lo rune, stride uint32) (int, bool) {
	if stride != 1 {
		return 0, false // not a run of digits; never seen in the Nd table
	}
	return int((r - lo) % 10), true
}

// lastRunes returns the last n runes of s, or s if it has fewer. Each byte
// of invalid UTF-8 counts as one rune.
func lastRunes(s string, n int) string {
	end := len(s)
	for ; n > 0 && end > 0; n-- {
		_, size := utf8.DecodeLastRuneInString(s[:end])
		end -= size
	}
	return s[end:]
}

// firstRunes returns the first n runes of s, or s if it has fewer. Each
// byte of invalid UTF-8 counts as one rune.
func firstRunes(s string, n int) string {
	i := 0
	for ; n > 0 && i < len(s); n-- {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return s[:i]
}

// emailDomain returns the lower-cased part of s after its last '@', or all
// of s, lower-cased, if it has none (so a bare domain can be queried).
func emailDomain(s string) string {
	return strings.ToLower(s[strings.LastIndexByte(s, '@')+1:])
}

// emailLocal returns the part of s before its last '@', or all of s if it
// has none. Its case is kept: local parts may be case-sensitive.
func emailLocal(s string) string {
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		return s[:i]
	}
	return s
}
