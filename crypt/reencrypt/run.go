package reencrypt

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

// Run re-encrypts the stale rows of table t: rows with a value not under
// the current primary data key of its (scope, class), with a blind index
// not computed under the current primary index key, or (with
// Options.Migrate) with legacy plaintext. It is idempotent and resumable:
// several workers, in this process (Options.Concurrency) and in others on
// the same database (the same Options.Job), share the job.
//
// enc's keyring must be able to unwrap every class the table uses, and
// should be configured with DisableAutoCreate so that the job never
// creates keysets. Start the job after a promotion has reached this
// process (a fresh process, or longer than the keyring's CacheTTL).
//
// The Summary is never nil. The error is non-nil exactly when the outcome
// is Failed; a cancelled ctx stops the run cleanly with outcome Partial
// (run again to resume).
func Run(ctx context.Context, db *sql.DB, d Dialect, enc *crypt.Encryptor, t Table, opts *Options) (*Summary, error) {
	mode := ModeReencrypt
	if opts != nil && opts.DryRun {
		mode = ModeDryRun
	}
	r, sum, err := newRunner(db, d, enc, &t, opts, mode)
	if err != nil {
		return sum, err
	}
	if mode == ModeDryRun {
		return r.readOnly(ctx, sum)
	}
	return r.reencrypt(ctx, sum)
}

// Verify reads every row of table t and checks that every value decrypts
// and is under its primary key, and that every blind index equals its
// recomputation under the primary index key. It writes nothing. Stale rows
// count in Summary.Rewritten (what a Run would rewrite), unreadable ones in
// Failed; the outcome is Done only when every row is right. It uses
// Options' BatchSize, Concurrency, RangeSize, Rate, Progress and Logger.
func Verify(ctx context.Context, db *sql.DB, d Dialect, enc *crypt.Encryptor, t Table, opts *Options) (*Summary, error) {
	r, sum, err := newRunner(db, d, enc, &t, opts, ModeVerify)
	if err != nil {
		return sum, err
	}
	return r.readOnly(ctx, sum)
}

// runner is one run of one table.
type runner struct {
	db      *sql.DB
	d       Dialect
	enc     *crypt.Encryptor
	l       *layout
	schema  *crypt.Schema
	probe   *indexProbe
	o       Options
	mode    Mode
	log     *slog.Logger
	limiter *rate.Limiter // nil: unlimited
	total   tally
	logged  int // failed rows logged, under total.mu
	wake    broadcast
}

func newRunner(db *sql.DB, d Dialect, enc *crypt.Encryptor, t *Table, opts *Options, mode Mode) (*runner, *Summary, error) {
	o := opts.resolved(d, t)
	sum := &Summary{Mode: mode, Table: t.Name, Started: time.Now(), Outcome: Failed}
	if mode == ModeReencrypt {
		sum.Job, sum.Worker = o.Job, o.Worker
	}
	fail := func(err error) (*runner, *Summary, error) {
		sum.Error = err.Error()
		return nil, sum, err
	}
	switch {
	case db == nil:
		return fail(errors.New("reencrypt: nil *sql.DB"))
	case enc == nil:
		return fail(errors.New("reencrypt: nil *crypt.Encryptor"))
	case len(o.Job) > 200:
		return fail(fmt.Errorf("reencrypt: job name longer than 200 bytes"))
	case len(o.Worker) > 200:
		return fail(fmt.Errorf("reencrypt: worker name longer than 200 bytes"))
	}
	if err := d.check(); err != nil {
		return fail(err)
	}
	if err := t.Validate(); err != nil {
		return fail(err)
	}
	schema, err := crypt.NewSchema(t.SchemaSpec())
	if err != nil {
		return fail(err)
	}
	var probe *indexProbe
	if len(t.Indexes) > 0 {
		if probe, err = newIndexProbe(t); err != nil {
			return fail(err)
		}
	}
	if d == SQLite && mode == ModeReencrypt {
		o.Concurrency = 1
	}
	r := &runner{db: db, d: d, enc: enc, l: newLayout(d, t), schema: schema, probe: probe, o: o, mode: mode}
	r.log = o.Logger.With("table", t.Name, "mode", string(mode))
	if mode == ModeReencrypt {
		r.log = r.log.With("job", o.Job, "worker", o.Worker)
	}
	if o.Rate > 0 {
		r.limiter = rate.NewLimiter(rate.Limit(o.Rate), o.BatchSize)
	}
	return r, sum, nil
}

func (r *runner) examiner() *examiner {
	x := newExaminer(r.l, r.schema, r.probe, r.enc, r.mode == ModeVerify, r.o.Migrate)
	x.noCrypto = r.o.noCrypto
	return x
}

// reencrypt runs the job: plan it if it is new, then work on claimed
// ranges until none is left.
func (r *runner) reencrypt(ctx context.Context, sum *Summary) (*Summary, error) {
	jt := &jobTables{db: r.db, d: r.d, l: r.l, job: r.o.Job, worker: r.o.Worker, runID: randomID(), lease: r.o.Lease.Milliseconds()}
	finish := func(err error) (*Summary, error) { return r.finish(ctx, sum, jt, err) }
	if err := jt.ensure(ctx); err != nil {
		return finish(err)
	}
	if r.o.Restart {
		if err := jt.restart(ctx); err != nil {
			return finish(fmt.Errorf("reencrypt: restarting job %q: %w", r.o.Job, err))
		}
	}
	complete, err := jt.open(ctx, r.o.RangeSize)
	if err != nil {
		return finish(err)
	}
	if complete {
		r.log.Info("job already complete; nothing to do (set Restart for a new pass)")
		return finish(nil)
	}
	if t, err := jt.totals(ctx); err == nil {
		r.log.Info("job open", "ranges", t.Ranges, "ranges_done", t.RangesDone, "rows_estimate", t.Estimate, "rows_done", t.Rows)
	}

	stop := r.reportProgress(ctx, func(ctx context.Context) (int64, int64, error) {
		t, err := jt.totals(ctx)
		return t.Rows, t.Estimate, err
	})
	ctx, cancel := context.WithCancelCause(ctx)
	var wg sync.WaitGroup
	for w := range r.o.Concurrency {
		wg.Go(func() {
			if err := r.work(ctx, jt, w); err != nil {
				cancel(err)
			}
		})
	}
	wg.Wait()
	err = context.Cause(ctx)
	cancel(nil)
	stop()
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		err = nil // stopped by the caller: Partial, resumable
	}
	return finish(err)
}

// work is one worker goroutine: claim a range, process it, repeat; when
// nothing is claimable but the job is not complete (other workers hold
// ranges), wait for them, so as to take over a range whose worker dies.
func (r *runner) work(ctx context.Context, jt *jobTables, w int) error {
	log := r.log.With("goroutine", w)
	x := r.examiner()
	poll := min(r.o.Lease/4, time.Second)
	for ctx.Err() == nil {
		var c *claimed
		err := r.retry(ctx, log, "claim", func() (err error) {
			c, err = jt.claim(ctx)
			return err
		})
		if err != nil {
			return err
		}
		if c == nil {
			var t JobTotals
			err := r.retry(ctx, log, "read job", func() (err error) {
				t, err = jt.totals(ctx)
				return err
			})
			if err != nil {
				return err
			}
			if t.Complete {
				return nil
			}
			select {
			case <-ctx.Done():
			case <-time.After(poll):
			case <-r.wake.wait():
			}
			continue
		}
		log.Debug("range claimed", "range", c.no, "claims", c.claims, "resume_after", c.last.String)
		if c.claims > 1 {
			log.Info("range resumed from its checkpoint", "range", c.no, "claims", c.claims, "resume_after", c.last.String)
		}
		err = r.processRange(ctx, log, x, jt, c)
		switch {
		case errors.Is(err, errLeaseLost):
			log.Warn("lease lost: another worker took the range over; lower BatchSize or raise Lease", "range", c.no)
			continue
		case err != nil:
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if rerr := jt.release(rctx, c); rerr != nil {
				log.Warn("could not release range", "range", c.no, "err", rerr)
			}
			cancel()
			if ctx.Err() != nil {
				return nil // stopping: the range is released for the next run
			}
			return err
		}
		r.total.add(&tally{ranges: 1})
		log.Debug("range done", "range", c.no)
		r.wake.signal()
	}
	return nil
}

// processRange works through a claimed range from its checkpoint, one
// committed batch at a time.
func (r *runner) processRange(ctx context.Context, log *slog.Logger, x *examiner, jt *jobTables, c *claimed) error {
	kt := r.l.t.keyType()
	after, err := r.bound(kt, c.lo)
	if c.last.Valid {
		after, err = r.bound(kt, c.last)
	}
	if err != nil {
		return err
	}
	upTo, err := r.bound(kt, c.hi)
	if err != nil {
		return err
	}
	var t tally
	for {
		var last any
		var done bool
		retrying := false
		err := r.retry(ctx, log, "batch", func() error {
			t.reset()
			if retrying {
				// The failed attempt may have committed (a commit whose
				// answer was lost): resume from the stored checkpoint.
				cp, finished, err := jt.checkpoint(ctx, c)
				if err != nil {
					return err
				}
				if finished {
					done = true
					return nil
				}
				if cp.Valid {
					if after, err = r.bound(kt, cp); err != nil {
						return err
					}
				}
			}
			retrying = true
			var err error
			last, done, err = r.batch(ctx, x, jt, c, after, upTo, &t)
			return err
		})
		if err != nil {
			return err
		}
		r.merge(log, &t)
		if done {
			return nil
		}
		after = last
	}
}

// bound converts a stored range bound or checkpoint to a key value.
func (r *runner) bound(kt KeyType, s sql.NullString) (any, error) {
	if !s.Valid {
		return nil, nil
	}
	v, err := keyValue(kt, s.String)
	if err != nil {
		return nil, &ConfigError{Table: r.l.t.Name, Column: r.l.t.PrimaryKey, Msg: "job tables hold key " + err.Error()}
	}
	return v, nil
}

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
	cp := sql.NullString{String: keyString(last), Valid: last != nil}
	if err := jt.advance(ctx, tx, c, cp, done, n); err != nil {
		return nil, false, err
	}
	if err := tx.Commit(); err != nil {
		return nil, false, fmt.Errorf("reencrypt: committing batch: %w", err)
	}
	if d := time.Since(started); d > r.o.Lease/2 {
		r.log.Warn("batch took more than half the lease; lower BatchSize or raise Lease", "range", c.no, "seconds", d.Seconds())
	}
	return last, done, nil
}

// write rewrites one row with compare-and-swap. When a concurrent write
// changed the row since it was read, the row is read again under a lock
// and examined once more; res then holds the outcome.
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
// row still held what was read.
func (r *runner) swap(ctx context.Context, tx *sql.Tx, res *result) (bool, error) {
	args := make([]any, 0, len(res.set)+1+len(r.l.cas))
	args = append(args, res.set...)
	args = append(args, res.key)
	for _, i := range r.l.cas {
		args = append(args, res.raw[i])
	}
	out, err := tx.ExecContext(ctx, r.l.update, args...)
	if err != nil {
		return false, fmt.Errorf("reencrypt: updating %s row %s: %w", r.l.t.Name, keyString(res.key), err)
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
func (r *runner) merge(log *slog.Logger, t *tally) {
	r.total.add(t)
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

// retry runs f, retrying it with backoff on errors other than a lost lease
// or the end of ctx.
func (r *runner) retry(ctx context.Context, log *slog.Logger, what string, f func() error) error {
	backoff := 250 * time.Millisecond
	for attempt := 0; ; attempt++ {
		err := f()
		if err == nil || errors.Is(err, errLeaseLost) || ctx.Err() != nil || attempt >= r.o.Retries {
			return err
		}
		var ce *ConfigError
		if errors.As(err, &ce) {
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

// finish fills in the summary's counts, job totals and outcome.
func (r *runner) finish(ctx context.Context, sum *Summary, jt *jobTables, err error) (*Summary, error) {
	r.total.fill(sum)
	sum.Duration = time.Since(sum.Started)
	if jt != nil {
		qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if t, terr := jt.totals(qctx); terr == nil {
			if t.Complete {
				if ferr := jt.finish(qctx); ferr != nil && err == nil {
					err = ferr
				}
			}
			sum.JobTotals = &t
		} else if err == nil {
			err = terr
		}
	}
	switch {
	case err != nil:
		sum.Outcome, sum.Error = Failed, err.Error()
	case r.mode == ModeReencrypt && sum.JobTotals != nil && sum.JobTotals.Complete && sum.JobTotals.LeftBehind == 0:
		sum.Outcome = Done
	case r.mode != ModeReencrypt && ctx.Err() == nil && sum.Rewritten == 0 && sum.Failed == 0 && sum.Skipped == 0:
		sum.Outcome = Done
	default:
		sum.Outcome = Partial
	}
	attrs := []any{"outcome", sum.Outcome, "scanned", sum.Scanned, "rewritten", sum.Rewritten, "current", sum.Current,
		"failed", sum.Failed, "skipped", sum.Skipped, "legacy", sum.Legacy, "conflicts", sum.Conflicts, "seconds", sum.Duration.Seconds()}
	if err != nil {
		r.log.Error("run failed", append(attrs, "err", err)...)
		return sum, err
	}
	r.log.Info("run finished", attrs...)
	return sum, nil
}

// broadcast wakes every goroutine waiting on it.
type broadcast struct {
	mu sync.Mutex
	ch chan struct{}
}

func (b *broadcast) wait() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ch == nil {
		b.ch = make(chan struct{})
	}
	return b.ch
}

func (b *broadcast) signal() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ch != nil {
		close(b.ch)
		b.ch = nil
	}
}
