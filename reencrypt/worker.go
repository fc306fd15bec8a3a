package reencrypt

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

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
		sum.AlreadyComplete = true
		attrs := []any{"reason", "the job finished before this run; after another rotation, a new pass needs Restart (fieldcrypt reencrypt --restart) or another job name"}
		if at, err := jt.finishedAt(ctx); err == nil && !at.IsZero() {
			sum.JobFinished = &at
			attrs = append(attrs, "finished", at)
		}
		r.log.Warn("job already complete: nothing was done", attrs...)
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
			r.sayWaiting(ctx, jt)
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
		r.merge(ctx, log, &t)
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

// sayWaiting logs, once per other worker, that this run waits for ranges
// that worker holds, why, and until when: after a kill -9 a resumed job
// otherwise sits silent until the dead worker's leases expire. A worker
// that committed a batch within the last half lease is taken to be
// working: the wait is logged at Info, without talk of a crash. One idle
// for longer is a warning that it may have died.
func (r *runner) sayWaiting(ctx context.Context, jt *jobTables) {
	held, err := jt.heldByOthers(ctx)
	if err != nil {
		r.log.Debug("reading the ranges other workers hold", "err", err)
		return
	}
	r.waitMu.Lock()
	defer r.waitMu.Unlock()
	if r.waitLogged == nil {
		r.waitLogged = map[string]bool{}
	}
	for _, h := range held {
		if r.waitLogged[h.owner] {
			continue
		}
		r.waitLogged[h.owner] = true
		left := time.Duration(h.leftMs) * time.Millisecond
		idle := time.Duration(h.idleMs) * time.Millisecond
		msg := fmt.Sprintf("waiting up to %v for %d ranges leased by worker %s", left.Round(time.Second), h.ranges, h.owner)
		attrs := []any{"owner", h.owner, "ranges", h.ranges, "lease_expires_in_seconds", left.Seconds(), "idle_seconds", idle.Seconds(),
			"lease_seconds", r.o.Lease.Seconds()}
		if idle <= r.o.Lease/2 {
			r.log.Info(msg, append(attrs, "reason", fmt.Sprintf("nothing else is left to claim; that worker is working on them "+
				"(its last batch was committed %v ago); this run finishes when it does, or takes them over from their checkpoints if its lease expires", idle.Round(time.Millisecond)))...)
			continue
		}
		r.log.Warn(msg, append(attrs, "reason", fmt.Sprintf("nothing else is left to claim, and that worker has committed nothing for %v, more than half its lease: "+
			"it may have stopped without releasing them (killed with -9, or its machine died); once its lease expires this run takes them over from their checkpoints. "+
			"The lease is Options.Lease (fieldcrypt --lease); a worker run again under the dead worker's name (--worker) takes them over at once", idle.Round(time.Millisecond)))...)
	}
}
