package sqlstore

import (
	"fmt"
	"strings"
)

// DefaultTable is the table a [Store] uses when [Options.Table] is empty.
const DefaultTable = "fieldcrypt_keysets"

// Options configure a [Store]. The zero value, like nil, uses the defaults.
type Options struct {
	// Table names the table, optionally qualified by a PostgreSQL schema, a
	// MySQL database or an attached SQLite database: "fieldcrypt_keysets" or
	// "crypto.fieldcrypt_keysets". Each part starts with an ASCII letter or
	// '_', continues with letters, digits and '_', and has at most 63
	// bytes. The store quotes the parts, so in PostgreSQL they are case
	// sensitive. Empty means DefaultTable.
	Table string
}

// maxIdentLen is PostgreSQL's limit; MySQL's is 64.
const maxIdentLen = 63

// quoteTable checks a table name and returns it quoted for the dialect.
func quoteTable(d Dialect, table string) (string, error) {
	parts := strings.Split(table, ".")
	if len(parts) > 2 {
		return "", fmt.Errorf("table name %q has more than one '.'", table)
	}
	for i, p := range parts {
		if err := checkIdent(p); err != nil {
			return "", fmt.Errorf("table name %q: %w", table, err)
		}
		parts[i] = d.quote(p)
	}
	return strings.Join(parts, "."), nil
}

func checkIdent(s string) error {
	if s == "" {
		return fmt.Errorf("empty identifier")
	}
	if len(s) > maxIdentLen {
		return fmt.Errorf("identifier longer than %d bytes", maxIdentLen)
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
