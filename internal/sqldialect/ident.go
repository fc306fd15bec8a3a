package sqldialect

import (
	"fmt"
	"strings"
)

// MaxIdentLen is the longest identifier [CheckIdent] accepts, in bytes:
// PostgreSQL's limit (MySQL's is 64).
const MaxIdentLen = 63

// CheckIdent accepts a plain identifier, one every dialect reads alike
// quoted or not: an ASCII letter or '_', then letters, digits and '_', at
// most [MaxIdentLen] bytes.
func CheckIdent(s string) error {
	if s == "" {
		return fmt.Errorf("empty identifier")
	}
	if len(s) > MaxIdentLen {
		return fmt.Errorf("identifier longer than %d bytes", MaxIdentLen)
	}
	for i := range len(s) {
		c := s[i]
		letter := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_'
		if !letter && (i == 0 || c < '0' || c > '9') {
			return fmt.Errorf("identifier %q: byte %d (%q) is not a letter, digit or '_'", s, i, c)
		}
	}
	return nil
}

// CheckTable accepts a table name of one or two plain identifiers (see
// [CheckIdent]) joined by a '.': "keysets" or "crypto.keysets".
func CheckTable(name string) error {
	parts := strings.Split(name, ".")
	if len(parts) > 2 {
		return fmt.Errorf("table name %q has more than one '.'", name)
	}
	for _, p := range parts {
		if err := CheckIdent(p); err != nil {
			return fmt.Errorf("table name %q: %w", name, err)
		}
	}
	return nil
}
