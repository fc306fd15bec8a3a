package sqldialect

import "strings"

// QuoteIdent quotes one identifier so that the database reads it as a
// name, whatever it holds: "x" with embedded " doubled on PostgreSQL and
// SQLite, `x` with embedded ` doubled on MySQL. A quoted name is case
// sensitive on PostgreSQL.
//
// Quoting does not make every string a usable name: the caller rejects
// empty names and control characters (or checks with [CheckIdent]).
func (d Dialect) QuoteIdent(name string) string {
	if d == MySQL {
		return "`" + strings.ReplaceAll(name, "`", "``") + "`"
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// QuoteTable quotes a table name that may be qualified by a schema (or, on
// MySQL, a database; on SQLite, an attached database): every part between
// dots is quoted with [Dialect.QuoteIdent], so "crm.contacts" becomes
// "crm"."contacts". A name whose parts hold a dot cannot be written.
func (d Dialect) QuoteTable(name string) string {
	parts := strings.Split(name, ".")
	for i, p := range parts {
		parts[i] = d.QuoteIdent(p)
	}
	return strings.Join(parts, ".")
}
