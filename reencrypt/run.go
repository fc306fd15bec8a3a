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
// Before it touches the job tables or reads the table for real, Run checks
// a sample of rows against the configuration ([CheckDrift]) and refuses
// one that disagrees with them (a *DriftError, outcome Failed).
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
	if err := CheckColumns(ctx, db, d, t); err != nil {
		return r.finish(ctx, sum, nil, err)
	}
	// Before the job tables are touched or a row is read for real: a
	// configuration that disagrees with the stored values stops here.
	if err := checkDrift(ctx, db, r.examiner(), r.log); err != nil {
		return r.finish(ctx, sum, nil, err)
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
// Failed; the outcome is Done only when every row is right. It first
// makes the drift check of [CheckDrift], as Run does. It uses
// Options' BatchSize, Concurrency, RangeSize, Rate, Progress and Logger.
func Verify(ctx context.Context, db *sql.DB, d Dialect, enc *crypt.Encryptor, t Table, opts *Options) (*Summary, error) {
	r, sum, err := newRunner(db, d, enc, &t, opts, ModeVerify)
	if err != nil {
		return sum, err
	}
	if err := CheckColumns(ctx, db, d, t); err != nil {
		return r.finish(ctx, sum, nil, err)
	}
	if err := checkDrift(ctx, db, r.examiner(), r.log); err != nil {
		return r.finish(ctx, sum, nil, err)
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
	o       Options
	mode    Mode
	log     *slog.Logger
	limiter *rate.Limiter // nil: unlimited
	metrics jobMetrics
	total   tally
	logged  int // failed rows logged, under total.mu
	wake    broadcast

	waitMu     sync.Mutex
	waitLogged map[string]bool // the other workers whose leases this run said it waits for
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
	if err := checkDialect(d); err != nil {
		return fail(err)
	}
	if err := t.Validate(); err != nil {
		return fail(err)
	}
	schema, err := crypt.NewSchema(t.SchemaSpec)
	if err != nil {
		return fail(err)
	}
	if d == SQLite && mode == ModeReencrypt {
		o.Concurrency = 1
	}
	r := &runner{db: db, d: d, enc: enc, l: newLayout(d, t), schema: schema, o: o, mode: mode}
	if _, err := newExaminer(r.l, schema, enc, db, false, false); err != nil {
		return fail(err)
	}
	r.log = o.Logger.With("table", t.Name, "mode", string(mode))
	r.metrics = newJobMetrics(o.MeterProvider, r)
	if mode == ModeReencrypt {
		r.log = r.log.With("job", o.Job, "worker", o.Worker)
	}
	if o.Rate > 0 {
		r.limiter = rate.NewLimiter(rate.Limit(o.Rate), o.BatchSize)
	}
	return r, sum, nil
}

func (r *runner) examiner() *examiner {
	x, _ := newExaminer(r.l, r.schema, r.enc, r.db, r.mode == ModeVerify, r.o.Migrate) // newRunner made one already
	x.noCrypto = r.o.noCrypto
	return x
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
