package reencrypt

import (
	"cmp"
	"slices"
	"strings"

	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// layout is where a table's columns sit in the rows the job reads, and the
// SQL it runs on the table. Column names reach SQL only quoted; values only
// as parameters.
type layout struct {
	d     Dialect
	t     *Table
	table string // quoted

	cols  []string // the columns read, unquoted: the key first
	scope int      // position of the scope column, -1 when there is none
	ids   []int    // positions of the identity columns, in IDs order
	enc   []encCol
	idx   []idxCol
	tok   []tokCol
	cas   []int // positions compared by the compare-and-swap: every column but the key

	byName map[string]string // field path bound into associated data → column

	update    string // UPDATE ... SET enc..., idx... WHERE key = ? AND cas...
	selectOne string // one row by key, locked for update
	lockRow   string // SELECT key WHERE key = ? AND cas..., locked for update: the compare-and-swap of a row whose columns stay
}

type encCol struct {
	pos    int
	column string
	class  string
	binary bool
}

type idxCol struct {
	pos    int
	column string
	class  string
}

// tokCol is a token index and its side table.
type tokCol struct {
	name   string // the index's name (its key in a crypt.Row)
	table  string // the side table, unquoted
	quoted string // the side table, quoted
	class  string // the class of its index keyset
	spec   int    // its position in the table's Tokens
}

func newLayout(d Dialect, t *Table) *layout {
	l := &layout{d: d, t: t, table: d.QuoteTable(t.Name), scope: -1, byName: map[string]string{}}
	pos := map[string]int{}
	add := func(col string) int {
		if i, ok := pos[col]; ok {
			return i
		}
		pos[col] = len(l.cols)
		l.cols = append(l.cols, col)
		return len(l.cols) - 1
	}
	add(t.PrimaryKey)
	if t.Scope != "" {
		l.scope = add(t.Scope)
	}
	for _, id := range t.IDs {
		l.ids = append(l.ids, add(id.Column))
	}
	for _, f := range t.Fields {
		l.enc = append(l.enc, encCol{pos: add(f.Column), column: f.Column, class: cmp.Or(f.Class, "default"), binary: f.Binary})
		l.byName[cmp.Or(f.Name, f.Column)] = f.Column
	}
	for _, ix := range t.Indexes {
		l.idx = append(l.idx, idxCol{pos: add(ix.Column), column: ix.Column, class: t.IndexClass(ix)})
		l.byName[cmp.Or(ix.Name, ix.Column)] = ix.Column
	}
	for i, tk := range t.Tokens {
		side := t.TokenTable(tk.Name)
		l.tok = append(l.tok, tokCol{name: tk.Name, table: side, quoted: d.QuoteTable(side), class: t.TokenClass(tk), spec: i})
	}
	for i := 1; i < len(l.cols); i++ {
		l.cas = append(l.cas, i)
	}

	p := d.Placeholders()
	var b strings.Builder
	b.WriteString("UPDATE " + l.table + " SET ")
	for i, c := range l.setColumns() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(d.QuoteIdent(c) + " = " + p.Next())
	}
	b.WriteString(" WHERE " + l.key() + " = " + p.Next())
	for _, i := range l.cas {
		b.WriteString(" AND " + sameValue(d, d.QuoteIdent(l.cols[i]), p))
	}
	l.update = b.String()

	p = d.Placeholders()
	l.selectOne = "SELECT " + l.selectList() + " FROM " + l.table + " WHERE " + l.key() + " = " + p.Next() + forUpdate(d)

	p = d.Placeholders()
	b.Reset()
	b.WriteString("SELECT " + l.key() + " FROM " + l.table + " WHERE " + l.key() + " = " + p.Next())
	for _, i := range l.cas {
		b.WriteString(" AND " + sameValue(d, d.QuoteIdent(l.cols[i]), p))
	}
	l.lockRow = b.String() + forUpdate(d)
	return l
}

// scopeOf returns the scope of row raw: the scope column's value in
// crypt's canonical text form, as the job binds it into associated data
// (an integer column's value in decimal, as identities are), or "default"
// when the table has no scope column. A NULL scope is "". Every reader of
// the scope (the job, status, the drift check, index status) goes through
// it, so that a value is never counted under another scope than the one
// its row is encrypted under.
func (l *layout) scopeOf(raw []any) (string, error) {
	if l.scope < 0 {
		return keyring.DefaultScope, nil
	}
	s, err := idText(raw[l.scope])
	if err != nil {
		return "", &ConfigError{Table: l.t.Name, Column: l.t.Scope, Msg: "scope column " + err.Error()}
	}
	return s, nil
}

// key is the quoted primary-key column.
func (l *layout) key() string { return l.d.QuoteIdent(l.t.PrimaryKey) }

// setColumns are the columns a rewrite sets: encrypted, then blind-index.
func (l *layout) setColumns() []string {
	out := make([]string, 0, len(l.enc)+len(l.idx))
	for _, c := range l.enc {
		out = append(out, c.column)
	}
	for _, c := range l.idx {
		out = append(out, c.column)
	}
	return out
}

func (l *layout) selectList() string {
	q := make([]string, len(l.cols))
	for i, c := range l.cols {
		q[i] = l.d.QuoteIdent(c)
	}
	return strings.Join(q, ", ")
}

// selectBatch reads the next rows of a key range: key > after (when
// hasAfter) and key <= upTo (when hasUpTo), in key order, at most a
// parameter's worth. Its parameters are after, upTo (those present) and
// the limit.
func (l *layout) selectBatch(hasAfter, hasUpTo bool) string {
	p := l.d.Placeholders()
	q := "SELECT " + l.selectList() + " FROM " + l.table
	var conds []string
	if hasAfter {
		conds = append(conds, l.key()+" > "+p.Next())
	}
	if hasUpTo {
		conds = append(conds, l.key()+" <= "+p.Next())
	}
	if len(conds) > 0 {
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	return q + " ORDER BY " + l.key() + " LIMIT " + p.Next()
}

// selectScopeBatch is selectBatch for the rows of one scope (the table
// must have a scope column): scope = ? and, when hasAfter, key > after, in
// key order. Its parameters are the scope, after (when present) and the
// limit.
func (l *layout) selectScopeBatch(hasAfter bool) string {
	p := l.d.Placeholders()
	q := "SELECT " + l.selectList() + " FROM " + l.table + " WHERE " + l.d.QuoteIdent(l.t.Scope) + " = " + p.Next()
	if hasAfter {
		q += " AND " + l.key() + " > " + p.Next()
	}
	return q + " ORDER BY " + l.key() + " LIMIT " + p.Next()
}

// selectBoundary finds the key that ends a range of n rows starting after
// a key (when hasAfter). Its parameters are after (when present) and n-1.
func (l *layout) selectBoundary(hasAfter bool) string {
	p := l.d.Placeholders()
	q := "SELECT " + l.key() + " FROM " + l.table
	if hasAfter {
		q += " WHERE " + l.key() + " > " + p.Next()
	}
	return q + " ORDER BY " + l.key() + " LIMIT 1 OFFSET " + p.Next()
}

// countRows counts the table's rows.
func (l *layout) countRows() string { return "SELECT COUNT(*) FROM " + l.table }

// selectLast reads the last rows in key order, the last first. Its
// parameter is the limit.
func (l *layout) selectLast() string {
	p := l.d.Placeholders()
	return "SELECT " + l.selectList() + " FROM " + l.table + " ORDER BY " + l.key() + " DESC LIMIT " + p.Next()
}

// selectKeyBounds reads the smallest and the largest key.
func (l *layout) selectKeyBounds() string {
	return "SELECT MIN(" + l.key() + "), MAX(" + l.key() + ") FROM " + l.table
}

// rebuildFlags marks, per blind-index column of l, whether the table's
// rebuild_indexes lists it.
func (l *layout) rebuildFlags() []bool {
	flags := make([]bool, len(l.idx))
	for j, c := range l.idx {
		flags[j] = slices.Contains(l.t.RebuildIndexes, c.column)
	}
	return flags
}

// selectTokensIn reads the tokens of a token index's side table for n
// keys, in key then token order: SELECT key, token FROM side WHERE key IN
// (...) ORDER BY key, token. Its parameters are the keys.
func (l *layout) selectTokensIn(c tokCol, n int) string {
	p := l.d.Placeholders()
	marks := make([]string, n)
	for i := range marks {
		marks[i] = p.Next()
	}
	return "SELECT " + l.key() + ", " + l.d.QuoteIdent("token") + " FROM " + c.quoted + " WHERE " + l.key() +
		" IN (" + strings.Join(marks, ", ") + ") ORDER BY " + l.key() + ", " + l.d.QuoteIdent("token")
}

// selectRowTokens reads the tokens of one row in a side table, in order.
func (l *layout) selectRowTokens(c tokCol) string {
	p := l.d.Placeholders()
	tok := l.d.QuoteIdent("token")
	return "SELECT " + tok + " FROM " + c.quoted + " WHERE " + l.key() + " = " + p.Next() + " ORDER BY " + tok
}

// deleteTokensIn deletes the tokens of n rows from a side table: DELETE
// FROM side WHERE key IN (...). Its parameters are the keys.
func (l *layout) deleteTokensIn(c tokCol, n int) string {
	p := l.d.Placeholders()
	marks := make([]string, n)
	for i := range marks {
		marks[i] = p.Next()
	}
	return "DELETE FROM " + c.quoted + " WHERE " + l.key() + " IN (" + strings.Join(marks, ", ") + ")"
}

// insertTokens inserts n tokens into a side table: its parameters are
// (key, token) pairs.
func (l *layout) insertTokens(c tokCol, n int) string {
	p := l.d.Placeholders()
	var b strings.Builder
	b.WriteString("INSERT INTO " + c.quoted + " (" + l.key() + ", " + l.d.QuoteIdent("token") + ") VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(" + p.Next() + ", " + p.Next() + ")")
	}
	return b.String()
}

// rebuildTokenFlags marks, per token index of l, whether the table's
// rebuild_indexes lists it.
func (l *layout) rebuildTokenFlags() []bool {
	flags := make([]bool, len(l.tok))
	for j, c := range l.tok {
		flags[j] = slices.Contains(l.t.RebuildIndexes, c.name)
	}
	return flags
}
