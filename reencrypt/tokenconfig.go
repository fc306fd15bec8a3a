package reencrypt

import (
	"cmp"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// TokenTable returns the side table that holds the tokens of the token
// index called name: its token_tables entry, or by convention
// <table>_<snake_case of the index's Go path>, in the table's own schema
// (database) when the table's name is qualified, as packages sqlcrypt and
// gormcrypt name it: each element of the path spelt in snake_case as
// GORM's default naming strategy spells a column, joined by '_'
// ("NamePrefix" is name_prefix, "Billing.ZipPrefix" billing_zip_prefix).
// An index whose name= option differs from its Go path needs a
// token_tables entry.
func (t *Table) TokenTable(name string) string {
	if side, ok := t.TokenTables[name]; ok {
		return side
	}
	var parts []string
	for p := range strings.SplitSeq(name, ".") {
		snake, _ := crypt.ColumnOf(reflect.StructField{Name: p})
		parts = append(parts, snake)
	}
	return t.Name + "_" + strings.Join(parts, "_")
}

// TokenClass returns the class whose index keyset computes the token
// index tk: its Class, or the class of its first source that names one,
// or "default", as package crypt settles it.
func (t *Table) TokenClass(tk crypt.TokenIndexSpec) string {
	if tk.Class != "" {
		return tk.Class
	}
	for _, src := range tk.Sources {
		for _, f := range t.Fields {
			if f.Column == src && f.Class != "" {
				return f.Class
			}
		}
	}
	return keyring.DefaultClass
}

// validateTokens checks the token indexes' sources and side tables: every
// token_tables entry names a token index, and every side table is a valid
// name, not the table itself, and no other index's.
func (t *Table) validateTokens() []error {
	var errs []error
	fail := func(at position, column, format string, args ...any) {
		errs = append(errs, &ConfigError{Table: t.Name, Column: column, Pos: at, Msg: fmt.Sprintf(format, args...)})
	}
	sides := map[string]string{} // side table → the index that uses it
	for _, tk := range t.Tokens {
		at := t.posOf(tk.Name)
		if tk.Name == "" {
			fail(at, "", "token index with no name")
			continue
		}
		if len(tk.Sources) == 0 {
			fail(at, tk.Name, "token index %s has no sources", tk.Name)
		}
		for _, src := range tk.Sources {
			if !slices.ContainsFunc(t.Fields, func(f crypt.FieldSpec) bool { return f.Column == src }) {
				fail(at, tk.Name, "token index %s: source %q is not an encrypted column of the table", tk.Name, src)
			}
		}
		side := t.TokenTable(tk.Name)
		if p, ok := t.tokTabPos[tk.Name]; ok {
			at = p
		}
		if msg := tableNameProblem(side); msg != "" {
			how := "its side table"
			if _, ok := t.TokenTables[tk.Name]; !ok {
				how = "its conventional side table (name it under token_tables)"
			}
			fail(at, tk.Name, "token index %s: %s %q: %s", tk.Name, how, side, msg)
			continue
		}
		switch prev, taken := sides[side]; {
		case side == t.Name:
			fail(at, tk.Name, "token index %s: its side table is the table itself", tk.Name)
		case taken:
			fail(at, tk.Name, "token indexes %s and %s share the side table %s: give each its own under token_tables", prev, tk.Name, side)
		}
		sides[side] = tk.Name
	}
	for _, name := range slices.Sorted(maps.Keys(t.TokenTables)) {
		if !slices.ContainsFunc(t.Tokens, func(tk crypt.TokenIndexSpec) bool { return tk.Name == name }) {
			at := cmp.Or(t.tokTabPos[name], t.pos)
			fail(at, name, "token_tables names %q, which is not a token index of the table (tokens: ... name:)", name)
		}
	}
	return errs
}

// tableNameProblem says what is wrong with a table name, optionally
// qualified by one schema (database), or "".
func tableNameProblem(name string) string {
	parts := strings.Split(name, ".")
	if len(parts) > 2 {
		return "more than one '.' (want table or schema.table)"
	}
	for _, p := range parts {
		if msg := identProblem(p); msg != "" {
			return msg
		}
	}
	return ""
}
