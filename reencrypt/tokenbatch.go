package reencrypt

import (
	"context"
	"database/sql"
	"fmt"
	"slices"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/internal/sqldialect"
)

// tokenKeysPerRead bounds the keys of one side-table read (an IN list).
const tokenKeysPerRead = 500

// rowsQuerier is a *sql.DB or a *sql.Tx.
type rowsQuerier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// tokenBatch is what an examiner knows of the side tables for the rows of
// the current batch: their keys, and once a row needs them (lazily, so
// that a batch of current rows costs no side-table read), every side
// table's tokens for those keys, read once per batch and side table.
type tokenBatch struct {
	keys   []any
	loaded bool
	stored []map[string]crypt.Tokens // per token index: key → tokens, sorted

	pinKey string         // a row read again inside a write transaction
	pin    []crypt.Tokens // its tokens, per token index, read in that transaction
}

// batchKeys starts a batch of rows read as raws.
func (x *examiner) batchKeys(raws [][]any) error {
	if len(x.l.tok) == 0 {
		return nil
	}
	keys := make([]any, 0, len(raws))
	for _, raw := range raws {
		k, err := keyValue(x.l.t.keyType(), raw[0])
		if err != nil {
			return err
		}
		keys = append(keys, k)
	}
	x.setBatch(keys)
	return nil
}

// setBatch starts a batch of rows with the given (normalised) keys.
func (x *examiner) setBatch(keys []any) {
	x.tb.keys, x.tb.loaded = keys, false
	x.tb.pin, x.tb.pinKey = nil, ""
	for _, m := range x.tb.stored {
		clear(m)
	}
}

// storedTokens returns the tokens the side table of token index j holds
// for key, sorted ascending.
func (x *examiner) storedTokens(ctx context.Context, j int, key any) (crypt.Tokens, error) {
	k := keyString(key)
	if x.tb.pin != nil && x.tb.pinKey == k {
		return x.tb.pin[j], nil
	}
	if !x.tb.loaded {
		if err := x.loadTokens(ctx); err != nil {
			return nil, err
		}
	}
	if !slices.ContainsFunc(x.tb.keys, func(b any) bool { return keyString(b) == k }) {
		// Not a row of the batch (none should be asked): read it alone.
		toks, err := x.rowTokens(ctx, x.db, key)
		if err != nil {
			return nil, err
		}
		return toks[j], nil
	}
	return x.tb.stored[j][k], nil
}

// loadTokens reads the tokens of the batch's rows from every side table:
// SELECT key, token FROM side WHERE key IN (...) ORDER BY key, token.
func (x *examiner) loadTokens(ctx context.Context) error {
	l := x.l
	if x.tb.stored == nil {
		x.tb.stored = make([]map[string]crypt.Tokens, len(l.tok))
		for j := range x.tb.stored {
			x.tb.stored[j] = map[string]crypt.Tokens{}
		}
	}
	for j, c := range l.tok {
		for start := 0; start < len(x.tb.keys); start += tokenKeysPerRead {
			keys := x.tb.keys[start:min(start+tokenKeysPerRead, len(x.tb.keys))]
			rows, err := x.db.QueryContext(ctx, l.selectTokensIn(c, len(keys)), keys...)
			if err != nil {
				return fmt.Errorf("reencrypt: reading the tokens of %s in %s: %w", c.name, c.table, err)
			}
			err = scanTokens(rows, l.t.keyType(), x.tb.stored[j])
			if err != nil {
				return fmt.Errorf("reencrypt: reading the tokens of %s in %s: %w", c.name, c.table, err)
			}
		}
	}
	x.tb.loaded = true
	return nil
}

// scanTokens adds rows of (key, token) to m, and closes rows.
func scanTokens(rows *sql.Rows, kt KeyType, m map[string]crypt.Tokens) error {
	defer rows.Close()
	for rows.Next() {
		var k, tok any
		if err := rows.Scan(&k, &tok); err != nil {
			return err
		}
		key, err := keyValue(kt, k)
		if err != nil {
			return err
		}
		v, err := tokenValue(tok)
		if err != nil {
			return err
		}
		ks := keyString(key)
		m[ks] = append(m[ks], v)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for k, toks := range m {
		if !slices.IsSorted(toks) { // a collation that orders keys loosely cannot unsort a key's own run, but be sure
			slices.Sort(toks)
			m[k] = toks
		}
	}
	return nil
}

// rowTokens reads the tokens of one row from every side table through q
// (inside a write transaction, for a row read again after a conflict).
func (x *examiner) rowTokens(ctx context.Context, q rowsQuerier, key any) ([]crypt.Tokens, error) {
	out := make([]crypt.Tokens, len(x.l.tok))
	for j, c := range x.l.tok {
		rows, err := q.QueryContext(ctx, x.l.selectRowTokens(c), key)
		if err != nil {
			return nil, fmt.Errorf("reencrypt: reading the tokens of %s in %s: %w", c.name, c.table, err)
		}
		for rows.Next() {
			var tok any
			if err := rows.Scan(&tok); err != nil {
				rows.Close()
				return nil, fmt.Errorf("reencrypt: reading the tokens of %s in %s: %w", c.name, c.table, err)
			}
			v, err := tokenValue(tok)
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("reencrypt: reading the tokens of %s in %s: %w", c.name, c.table, err)
			}
			out[j] = append(out[j], v)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("reencrypt: reading the tokens of %s in %s: %w", c.name, c.table, err)
		}
		slices.Sort(out[j])
	}
	return out, nil
}

// tokenState is what a row's stored tokens are, for one token index.
type tokenState uint8

const (
	tokPrimary   tokenState = iota // equal to those under the primary index key (both empty included)
	tokMissing                     // none stored, though the sources give some
	tokOlder                       // equal to those under an older enabled key
	tokUnmatched                   // equal to those under no enabled key
)

// tokenWrite is the new tokens of one token index of a row.
type tokenWrite struct {
	j      int
	tokens crypt.Tokens
}

// classifyTokens compares the stored tokens of token index j with primary,
// those EncryptRow computed from the plaintext row plain, and when they
// differ with those under the older enabled keys. A result under the
// primary key that disagrees with EncryptRow's is a *ConfigError: this
// package and crypt settle the index differently, and no row is judged
// by it.
func (x *examiner) classifyTokens(ctx context.Context, j int, scope string, stored, primary crypt.Tokens, plain crypt.Row) (tokenState, error) {
	switch {
	case slices.Equal(stored, primary):
		return tokPrimary, nil
	case len(stored) == 0:
		return tokMissing, nil
	}
	all, err := x.tokensUnder(ctx, j, plain)
	if err != nil {
		return 0, err
	}
	if len(all) == 0 || !slices.Equal(all[0], primary) {
		c := x.l.tok[j]
		return 0, &ConfigError{Table: x.l.t.Name, Column: c.name, Pos: x.l.t.posOf(c.name),
			Msg: "token index " + c.name + ": the tokens recomputed under the primary index key differ from crypt.EncryptRow's; this version of the job cannot tell stale tokens from damaged ones for this index (report it)"}
	}
	if slices.ContainsFunc(all[1:], func(t crypt.Tokens) bool { return slices.Equal(t, stored) }) {
		return tokOlder, nil
	}
	return tokUnmatched, nil
}

// writeTokens replaces, in tx, the side-table rows of the batch's
// rewritten rows whose tokens change, once every row's compare-and-swap
// has run: per side table, DELETE FROM side WHERE key IN (...), then
// INSERT INTO side (key, token) VALUES (...), (...), a few hundred keys
// or tokens a statement.
func (r *runner) writeTokens(ctx context.Context, tx *sql.Tx, results []result) error {
	const perStatement = 500
	for j, c := range r.l.tok {
		var keys []any
		var pairs []any
		for i := range results {
			res := &results[i]
			if res.verdict != vRewrite {
				continue
			}
			for _, w := range res.tokens {
				if w.j != j {
					continue
				}
				keys = append(keys, res.key)
				for _, tok := range w.tokens {
					pairs = append(pairs, res.key, tok)
				}
			}
		}
		// The database and the driver may quote the tokens: they are
		// withheld.
		fail := func(err error) error {
			var tokens []int64
			for i := 1; i < len(pairs); i += 2 {
				tokens = append(tokens, pairs[i].(int64))
			}
			return fmt.Errorf("reencrypt: replacing the tokens of %s in %s: %w", r.l.t.Name, c.table, sqldialect.Redact(err, tokens))
		}
		for start := 0; start < len(keys); start += perStatement {
			part := keys[start:min(start+perStatement, len(keys))]
			if _, err := tx.ExecContext(ctx, r.l.deleteTokensIn(c, len(part)), part...); err != nil {
				return fail(err)
			}
		}
		for start := 0; start < len(pairs); start += 2 * perStatement {
			part := pairs[start:min(start+2*perStatement, len(pairs))]
			if _, err := tx.ExecContext(ctx, r.l.insertTokens(c, len(part)/2), part...); err != nil {
				return fail(err)
			}
		}
	}
	return nil
}
