package sqldialect

import (
	"strconv"
	"strings"
)

// Rebind rewrites the ? parameter markers of query for the dialect: $1,
// $2, ... on PostgreSQL, unchanged elsewhere. Every '?' is a marker, so
// query must not hold one in a literal or a quoted name.
func (d Dialect) Rebind(query string) string {
	if d != Postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Placeholders numbers the parameters of one statement as it is written.
// Use a new one for each statement.
type Placeholders struct {
	d Dialect
	n int
}

// Placeholders returns a counter for the parameters of a new statement.
func (d Dialect) Placeholders() *Placeholders { return &Placeholders{d: d} }

// Next returns the next parameter marker: $n on PostgreSQL, ? elsewhere.
func (p *Placeholders) Next() string {
	p.n++
	if p.d == Postgres {
		return "$" + strconv.Itoa(p.n)
	}
	return "?"
}
