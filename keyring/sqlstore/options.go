package sqlstore

import "github.com/fieldcrypt/fieldcrypt/internal/sqldialect"

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

// quoteTable checks a table name and returns it quoted for the dialect.
func quoteTable(d Dialect, table string) (string, error) {
	if err := sqldialect.CheckTable(table); err != nil {
		return "", err
	}
	return d.QuoteTable(table), nil
}
