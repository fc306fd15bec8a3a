package reencrypt

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

// IndexReport is what IndexStatus found in one table: for each blind-index
// column, per scope, under which index keys the stored values are.
type IndexReport struct {
	Table   string              `json:"table"`
	Rows    int64               `json:"rows"` // rows of the selected scope read
	Columns []IndexColumnStatus `json:"columns"`
	// Tokens counts, per token index and scope, the rows whose stored
	// tokens are under each index key.
	Tokens   []TokenIndexStatus `json:"tokens,omitempty"`
	Duration time.Duration      `json:"-"`
}

// TokenIndexStatus counts the rows of one token index. Tokens do not
// record their key: each row's tokens are recomputed from its decrypted
// sources under every enabled index key and compared, as a set, with
// those its side table holds. The counts are of rows, not of tokens:
// Primary rows hold exactly the tokens of the primary index key (none,
// when their sources give none), Older those of an older enabled key,
// Unmatched those of no enabled key, Missing none though their sources
// give some (the job computes them), and Unreadable rows could not be
// checked. Empty is not used.
type TokenIndexStatus struct {
	Index  string             `json:"index"` // the token index's name
	Kind   string             `json:"kind"`
	Table  string             `json:"side_table"`
	Class  string             `json:"class"` // the class of its index keyset
	Scopes []IndexScopeCounts `json:"scopes"`
}

// IndexColumnStatus counts the values of one blind-index column.
type IndexColumnStatus struct {
	Column string             `json:"column"`
	Class  string             `json:"class"` // the class of its index keyset
	Scopes []IndexScopeCounts `json:"scopes"`
}

// IndexScopeCounts counts the index values of one column in one scope. A
// blind-index value does not record its key: each is recomputed from the
// row's decrypted sources under every enabled index key and compared.
type IndexScopeCounts struct {
	Scope string `json:"scope"`
	// Primary values equal their recomputation under the primary index key.
	Primary int64 `json:"primary"`
	// Older values equal their recomputation under another enabled index
	// key: the job has not rewritten them yet.
	Older int64 `json:"older"`
	// Unmatched values equal no recomputation under an enabled key: they
	// are under a disabled (or destroyed) index key, or the configuration
	// disagrees with how the application computed them.
	Unmatched int64 `json:"unmatched"`
	// Empty values are NULL or empty.
	Empty int64 `json:"empty"`
	// Unreadable rows could not be checked: their sources do not decrypt
	// (legacy plaintext, a destroyed or disabled data key, a shredded
	// scope...).
	Unreadable int64 `json:"unreadable"`
	// Missing (token indexes only) counts rows whose side table holds no
	// token though their sources give some: never computed, which no
	// index key explains. The job computes them.
	Missing int64 `json:"missing,omitempty"`
}

// NotPrimary is the number of values that may still be under an index key
// other than the primary: Older plus Unmatched.
func (c IndexScopeCounts) NotPrimary() int64 { return c.Older + c.Unmatched }

// IndexStatusOptions selects what IndexStatus looks at.
type IndexStatusOptions struct {
	// Scope restricts the count to the rows of one scope, which the
	// database selects (WHERE scope = ?): the rows of other scopes are
	// never read. "" counts every scope.
	Scope string
	// Class restricts it to the index columns whose index keyset is of
	// this class; "" counts every index column. Only the columns of the
	// key, the scope, the identities, these indexes and their sources are
	// read: a destroy-time check of one index key looks at nothing else.
	Class string
	// BatchSize is the rows read at a time. Default 500.
	BatchSize int
}

// IndexStatus counts, for every blind-index column of table t (of
// opts.Class), in every scope (or opts.Scope), the stored index values
// that are under the primary index key, under an older enabled key, under
// no enabled key, and empty. It is the evidence to check before disabling
// or destroying an index key. It decrypts the index sources (the class's
// KEK must be configured) and writes nothing. A keyset the keyring cannot
// open stops it with a *KEKError.
func IndexStatus(ctx context.Context, db *sql.DB, d Dialect, enc *crypt.Encryptor, t Table, opts *IndexStatusOptions) (*IndexReport, error) {
	started := time.Now()
	var o IndexStatusOptions
	if opts != nil {
		o = *opts
	}
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	if err := CheckColumns(ctx, db, d, t); err != nil {
		return nil, err
	}
	slim := Table{Name: t.Name, PrimaryKey: t.PrimaryKey, KeyType: t.KeyType, TokenTables: t.TokenTables,
		SchemaSpec: crypt.SchemaSpec{Record: t.Record, Scope: t.Scope, IDs: t.IDs, Unbound: t.Unbound}}
	addSources := func(sources []string) {
		for _, f := range t.Fields {
			if slices.Contains(sources, f.Column) && !slices.ContainsFunc(slim.Fields, func(e crypt.FieldSpec) bool { return e.Column == f.Column }) {
				slim.Fields = append(slim.Fields, f)
			}
		}
	}
	for _, ix := range t.Indexes {
		class := t.IndexClass(ix)
		if o.Class != "" && class != o.Class {
			continue
		}
		ix.Class = class
		slim.Indexes = append(slim.Indexes, ix)
		addSources(ix.Sources)
	}
	for _, tk := range t.Tokens {
		class := t.TokenClass(tk)
		if o.Class != "" && class != o.Class {
			continue
		}
		tk.Class = class
		slim.Tokens = append(slim.Tokens, tk)
		addSources(tk.Sources)
	}
	rep := &IndexReport{Table: t.Name}
	if len(slim.Indexes) == 0 && len(slim.Tokens) == 0 {
		rep.Duration = time.Since(started)
		return rep, nil
	}
	schema, err := crypt.NewSchema(slim.SchemaSpec)
	if err != nil {
		return nil, &ConfigError{Table: t.Name, Msg: err.Error()}
	}
	l := newLayout(d, &slim)
	x, err := newExaminer(l, schema, enc, db, true, false)
	if err != nil {
		return nil, err
	}
	counts := make([]map[string]*IndexScopeCounts, len(l.idx)+len(l.tok)) // blind indexes, then token indexes
	for i := range counts {
		counts[i] = map[string]*IndexScopeCounts{}
	}
	count := func(i int, scope string) *IndexScopeCounts {
		c := counts[i][scope]
		if c == nil {
			c = &IndexScopeCounts{Scope: scope}
			counts[i][scope] = c
		}
		return c
	}
	// With a scope, the database reads only that scope's rows. A table
	// without a scope column is all of scope "default".
	byScope := o.Scope != "" && l.scope >= 0
	if o.Scope != "" && l.scope < 0 && o.Scope != "default" {
		return finishIndexReport(rep, l, counts, started), nil
	}
	var after any
	for {
		var args []any
		query := l.selectBatch(after != nil, false)
		if byScope {
			query = l.selectScopeBatch(after != nil)
			args = append(args, o.Scope)
		}
		if after != nil {
			args = append(args, after)
		}
		rows, err := db.QueryContext(ctx, query, append(args, int64(o.BatchSize))...)
		if err != nil {
			return nil, fmt.Errorf("reencrypt: index status of %s: %w", t.Name, err)
		}
		var raws [][]any
		for rows.Next() {
			raw := make([]any, len(l.cols))
			ptrs := make([]any, len(raw))
			for i := range raw {
				ptrs[i] = &raw[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return nil, fmt.Errorf("reencrypt: index status of %s: %w", t.Name, err)
			}
			raws = append(raws, raw)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("reencrypt: index status of %s: %w", t.Name, err)
		}
		if err := x.batchKeys(raws); err != nil {
			return nil, &ConfigError{Table: t.Name, Column: t.PrimaryKey, Msg: err.Error()}
		}
		for _, raw := range raws {
			if after, err = keyValue(l.t.keyType(), raw[0]); err != nil {
				return nil, &ConfigError{Table: t.Name, Column: t.PrimaryKey, Msg: err.Error()}
			}
			scope, err := l.scopeOf(raw)
			if err != nil {
				return nil, err
			}
			if o.Scope != "" && scope != o.Scope {
				continue // a collation that compares loosely (MySQL: case, trailing spaces)
			}
			rep.Rows++
			if err := indexRow(ctx, x, raw, scope, count); err != nil {
				return nil, err
			}
		}
		if len(raws) < o.BatchSize {
			break
		}
	}
	return finishIndexReport(rep, l, counts, started), nil
}

// finishIndexReport fills rep's columns from the counts, per column and
// scope in scope order.
func finishIndexReport(rep *IndexReport, l *layout, counts []map[string]*IndexScopeCounts, started time.Time) *IndexReport {
	for i, c := range l.idx {
		cs := IndexColumnStatus{Column: c.column, Class: c.class}
		for _, sc := range counts[i] {
			cs.Scopes = append(cs.Scopes, *sc)
		}
		slices.SortFunc(cs.Scopes, func(a, b IndexScopeCounts) int { return cmp.Compare(a.Scope, b.Scope) })
		rep.Columns = append(rep.Columns, cs)
	}
	for j, c := range l.tok {
		ts := TokenIndexStatus{Index: c.name, Kind: string(l.t.Tokens[c.spec].Kind), Table: c.table, Class: c.class}
		for _, sc := range counts[len(l.idx)+j] {
			ts.Scopes = append(ts.Scopes, *sc)
		}
		slices.SortFunc(ts.Scopes, func(a, b IndexScopeCounts) int { return cmp.Compare(a.Scope, b.Scope) })
		rep.Tokens = append(rep.Tokens, ts)
	}
	rep.Duration = time.Since(started)
	return rep
}

// indexRow classifies the index values of one row.
func indexRow(ctx context.Context, x *examiner, raw []any, scope string, count func(int, string) *IndexScopeCounts) error {
	l := x.l
	unreadable := func() error {
		for i := range len(l.idx) + len(l.tok) {
			count(i, scope).Unreadable++
		}
		return nil
	}
	if scope == "" {
		return unreadable()
	}
	row, err := x.row(raw)
	if err != nil {
		return err
	}
	if err := x.enc.DecryptRow(ctx, x.schema, row); err != nil {
		if kekFailure(err, x.enc.Keys()) {
			return &KEKError{Table: l.t.Name, Err: err}
		}
		if rowReason(err) == "" {
			return fmt.Errorf("reencrypt: index status of %s: %w", l.t.Name, err)
		}
		return unreadable()
	}
	for i, c := range l.idx {
		stored, _ := textOf(raw[c.pos])
		cnt := count(i, scope)
		if stored == "" {
			cnt.Empty++
			continue
		}
		vals, err := x.enc.RowIndexValues(ctx, x.schema, row, c.column)
		switch {
		case err != nil && kekFailure(err, x.enc.Keys()):
			return &KEKError{Table: l.t.Name, Err: err}
		case err != nil && rowReason(err) == "":
			return fmt.Errorf("reencrypt: index status of %s: %w", l.t.Name, err)
		case err != nil:
			cnt.Unreadable++
		case len(vals) > 0 && stored == vals[0]:
			cnt.Primary++
		case len(vals) > 1 && slices.Contains(vals[1:], stored):
			cnt.Older++
		default:
			cnt.Unmatched++
		}
	}
	if len(l.tok) == 0 {
		return nil
	}
	// Token indexes: EncryptRow computes the tokens under the primary
	// index key (on a copy: it encrypts the row's columns too).
	primary := maps.Clone(row)
	if err := x.enc.EncryptRow(ctx, x.schema, primary); err != nil {
		if kekFailure(err, x.enc.Keys()) {
			return &KEKError{Table: l.t.Name, Err: err}
		}
		if rowReason(err) == "" {
			return fmt.Errorf("reencrypt: index status of %s: %w", l.t.Name, err)
		}
		for j := range l.tok {
			count(len(l.idx)+j, scope).Unreadable++
		}
		return nil
	}
	key, err := keyValue(l.t.keyType(), raw[0])
	if err != nil {
		return err
	}
	for j, c := range l.tok {
		cnt := count(len(l.idx)+j, scope)
		stored, err := x.storedTokens(ctx, j, key)
		if err != nil {
			return fmt.Errorf("reencrypt: index status of %s: %w", l.t.Name, err)
		}
		want, _ := primary[c.name].(crypt.Tokens)
		state, err := x.classifyTokens(ctx, j, scope, stored, want, row)
		var ce *ConfigError
		switch {
		case errors.As(err, &ce):
			return err
		case err != nil && kekFailure(err, x.enc.Keys()):
			return &KEKError{Table: l.t.Name, Err: err}
		case err != nil && rowReason(err) == "":
			return fmt.Errorf("reencrypt: index status of %s: %w", l.t.Name, err)
		case err != nil:
			cnt.Unreadable++
		case state == tokPrimary:
			cnt.Primary++
		case state == tokOlder:
			cnt.Older++
		case state == tokMissing:
			cnt.Missing++
		default:
			cnt.Unmatched++
		}
	}
	return nil
}
