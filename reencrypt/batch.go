package reencrypt

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/fieldcrypt/fieldcrypt/internal/sqldialect"
)

// batch reads, examines and (in one transaction with the checkpoint)
// writes the rows after key after, up to upTo. It returns the new
// checkpoint and whether the range is finished.
func (r *runner) batch(ctx context.Context, x *examiner, jt *jobTables, c *claimed, after, upTo any, t *tally) (last any, done bool, err error) {
	started := time.Now()
	results, done, err := r.readAndExamine(ctx, x, after, upTo, t)
	if err != nil {
		return nil, false, err
	}
	last = after
	if len(results) > 0 {
		last = results[len(results)-1].key
	}
	if r.o.beforeWrite != nil {
		var keys []any
		for _, res := range results {
			if res.verdict == vRewrite {
				keys = append(keys, res.key)
			}
		}
		r.o.beforeWrite(ctx, keys)
	}

	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, false, err
	}
	defer tx.Rollback()
	var n batchCounts
	for i := range results {
		res := &results[i]
		if res.verdict == vRewrite {
			if err := r.write(ctx, tx, x, res, t); err != nil {
				return nil, false, err
			}
		}
		r.count(res, t)
		n.rows++
		switch res.verdict {
		case vRewrite:
			n.rewritten++
		case vFailed, vSkipped:
			n.leftBehind++
		}
	}
	if err := r.writeTokens(ctx, tx, results); err != nil {
		return nil, false, err
	}
	cp := sql.NullString{String: keyString(last), Valid: last != nil}
	if err := jt.advance(ctx, tx, c, cp, done, n); err != nil {
		return nil, false, err
	}
	if err := tx.Commit(); err != nil {
		// A deferred constraint is checked here, and PostgreSQL's detail
		// would quote the row: a token or a blind-index value.
		return nil, false, fmt.Errorf("reencrypt: committing batch: %w", sqldialect.Redact(err))
	}
	if d := time.Since(started); d > r.o.Lease/2 {
		r.log.Warn("batch took more than half the lease; lower BatchSize or raise Lease", "range", c.no, "seconds", d.Seconds())
	}
	return last, done, nil
}

// write rewrites one row with compare-and-swap. When a concurrent write
// changed the row since it was read, the row is read again under a lock
// and examined once more; res then holds the outcome.
//
// A row whose token indexes change has its side-table rows replaced by
// the batch after every compare-and-swap, in the same transaction
// (writeTokens): the compare-and-swap has found the row as it was read,
// and locked it.
func (r *runner) write(ctx context.Context, tx *sql.Tx, x *examiner, res *result, t *tally) error {
	ok, err := r.swap(ctx, tx, res)
	if err != nil || ok {
		return err
	}
	t.clash++
	raw, err := r.readOne(ctx, tx, res.key)
	if errors.Is(err, sql.ErrNoRows) {
		res.verdict = vCurrent // deleted meanwhile: nothing left to move
		return nil
	}
	if err != nil {
		return err
	}
	if len(r.l.tok) > 0 {
		// The row changed: so may have its tokens. Read them again in
		// this transaction, after the row.
		toks, err := x.rowTokens(ctx, tx, res.key)
		if err != nil {
			return err
		}
		x.tb.pinKey, x.tb.pin = keyString(res.key), toks
		defer func() { x.tb.pinKey, x.tb.pin = "", nil }()
	}
	var scratch tally // the values were counted at the first read
	again, err := x.examine(ctx, raw, &scratch)
	if err != nil {
		return err
	}
	*res = again
	if res.verdict != vRewrite {
		return nil
	}
	if ok, err = r.swap(ctx, tx, res); err != nil || ok {
		return err
	}
	res.verdict, res.reason = vSkipped, "conflict" // the row is locked: should not happen
	return nil
}

// swap runs the compare-and-swap UPDATE of one row and reports whether the
// row still held what was read. A row whose columns all stay (only its
// tokens change) is not updated: it is read under a lock, compared the
// same way (an UPDATE that changes nothing is not counted by MySQL).
func (r *runner) swap(ctx context.Context, tx *sql.Tx, res *result) (bool, error) {
	if res.rowSame {
		args := make([]any, 0, 1+len(r.l.cas))
		args = append(args, res.key)
		for _, i := range r.l.cas {
			args = append(args, res.raw[i])
		}
		var k any
		err := tx.QueryRowContext(ctx, r.l.lockRow, args...).Scan(&k)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return false, nil
		case err != nil:
			return false, fmt.Errorf("reencrypt: locking %s row %s: %w", r.l.t.Name, keyString(res.key), sqldialect.Redact(err, args[1:]...))
		}
		return true, nil
	}
	args := make([]any, 0, len(res.set)+1+len(r.l.cas))
	args = append(args, res.set...)
	args = append(args, res.key)
	for _, i := range r.l.cas {
		args = append(args, res.raw[i])
	}
	out, err := tx.ExecContext(ctx, r.l.update, args...)
	if err != nil {
		// A unique blind index's violation quotes its value. The row's
		// ciphertexts and index values are withheld, its key is not.
		secrets := slices.Concat(args[:len(res.set)], args[len(res.set)+1:])
		return false, fmt.Errorf("reencrypt: updating %s row %s: %w", r.l.t.Name, keyString(res.key), sqldialect.Redact(err, secrets...))
	}
	n, err := out.RowsAffected()
	return n == 1, err
}

// readOne reads one row by key, locked until the transaction ends.
func (r *runner) readOne(ctx context.Context, tx *sql.Tx, key any) ([]any, error) {
	raw := make([]any, len(r.l.cols))
	ptrs := make([]any, len(raw))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	return raw, tx.QueryRowContext(ctx, r.l.selectOne, key).Scan(ptrs...)
}

// readAndExamine reads the next batch of a range and examines its rows.
// done is true when the range has no rows after this batch.
func (r *runner) readAndExamine(ctx context.Context, x *examiner, after, upTo any, t *tally) ([]result, bool, error) {
	if r.limiter != nil {
		if err := r.limiter.WaitN(ctx, r.o.BatchSize); err != nil {
			return nil, false, err
		}
	}
	var args []any
	if after != nil {
		args = append(args, after)
	}
	if upTo != nil {
		args = append(args, upTo)
	}
	args = append(args, int64(r.o.BatchSize))
	rows, err := r.db.QueryContext(ctx, r.l.selectBatch(after != nil, upTo != nil), args...)
	if err != nil {
		return nil, false, fmt.Errorf("reencrypt: reading %s: %w", r.l.t.Name, err)
	}
	defer rows.Close()
	var raws [][]any
	ptrs := make([]any, len(r.l.cols))
	for rows.Next() {
		raw := make([]any, len(r.l.cols))
		for i := range raw {
			ptrs[i] = &raw[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, false, fmt.Errorf("reencrypt: reading %s: %w", r.l.t.Name, err)
		}
		raws = append(raws, raw)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("reencrypt: reading %s: %w", r.l.t.Name, err)
	}
	rows.Close()
	x.newBatch()
	if err := x.batchKeys(raws); err != nil {
		return nil, false, err
	}
	results := make([]result, len(raws))
	for i, raw := range raws {
		if results[i], err = x.examine(ctx, raw, t); err != nil {
			return nil, false, err
		}
	}
	return results, len(raws) < r.o.BatchSize, nil
}

// count adds a row's outcome to t.
func (r *runner) count(res *result, t *tally) {
	t.scanned++
	if res.legacy {
		t.legacy++
	}
	switch res.verdict {
	case vCurrent:
		t.current++
	case vRewrite:
		t.rewritten++
	case vFailed:
		t.failed++
	case vSkipped:
		t.skipped++
	}
	if res.verdict == vFailed || res.verdict == vSkipped {
		t.leftBehind(RowFailure{Key: keyString(res.key), Column: res.column, Reason: res.reason})
	}
}

// merge adds a committed batch's tally to the run's and logs its failed
// rows (the first hundred).
func (r *runner) merge(ctx context.Context, log *slog.Logger, t *tally) {
	r.total.add(t)
	r.metrics.batch(ctx, t)
	r.total.mu.Lock()
	defer r.total.mu.Unlock()
	for _, f := range t.rows {
		if r.logged == maxFailedRows {
			log.Warn("further rows left behind are not logged; see the summary's counts")
		}
		r.logged++
		if r.logged <= maxFailedRows {
			log.Warn("row left as it was", "key", f.Key, "column", f.Column, "reason", f.Reason)
		}
	}
}

// retry runs f, retrying it with backoff on errors other than a lost
// lease, the end of ctx, or a permanent error (a bad configuration, a
// keyset that cannot be opened, an undefined column...).
func (r *runner) retry(ctx context.Context, log *slog.Logger, what string, f func() error) error {
	backoff := 250 * time.Millisecond
	for attempt := 0; ; attempt++ {
		err := f()
		if err == nil || errors.Is(err, errLeaseLost) || ctx.Err() != nil || attempt >= r.o.Retries || permanent(err) {
			return err
		}
		log.Warn("retrying after error", "what", what, "attempt", attempt+1, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff *= 2
	}
}
