package reencrypt

import (
	"context"
	"sync"
	"time"
)

// Progress is a run's progress, reported through Options.Progress and
// logged.
type Progress struct {
	Mode  Mode   `json:"mode"`
	Job   string `json:"job,omitempty"`
	Table string `json:"table"`
	// Done counts rows processed. For re-encryption it is the whole job's
	// count (every worker, every run), read from the job tables; otherwise
	// this run's.
	Done int64 `json:"done"`
	// Total estimates the rows to process (counted when the job was
	// planned, or when the run started).
	Total int64 `json:"total"`
	// Rewritten counts the rows this run rewrote (or would, or found stale).
	Rewritten int64 `json:"rewritten"`
	// Rate is rows per second since this run started; ETA estimates the
	// time left at that rate, 0 when unknown.
	Rate    float64       `json:"rate"`
	ETA     time.Duration `json:"eta"`
	Elapsed time.Duration `json:"elapsed"`
	// Final is set on the last report of a run.
	Final bool `json:"final,omitempty"`
}

// progressSource reads (done, total).
type progressSource func(ctx context.Context) (done, total int64, err error)

// reportProgress reports every ProgressInterval until the returned stop
// function is called, which makes a final report.
func (r *runner) reportProgress(ctx context.Context, src progressSource) (stop func()) {
	started := time.Now()
	base, _, _ := src(ctx)
	report := func(ctx context.Context, final bool) {
		done, total, err := src(ctx)
		if err != nil {
			r.log.Debug("reading progress", "err", err)
			return
		}
		_, rewritten := r.total.snapshot()
		p := Progress{Mode: r.mode, Table: r.l.t.Name, Done: done, Total: max(total, done),
			Rewritten: rewritten, Elapsed: time.Since(started), Final: final}
		if r.mode == ModeReencrypt {
			p.Job = r.o.Job
		}
		if secs := p.Elapsed.Seconds(); secs > 0 {
			p.Rate = float64(done-base) / secs
		}
		if p.Rate > 0 && p.Total > done {
			p.ETA = time.Duration(float64(p.Total-done) / p.Rate * float64(time.Second))
		}
		if r.o.Progress != nil {
			r.o.Progress(p)
		}
		r.log.Info("progress", "done", p.Done, "total", p.Total, "rewritten", p.Rewritten,
			"rows_per_second", int64(p.Rate), "eta_seconds", int64(p.ETA.Seconds()))
	}
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(r.o.ProgressInterval)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				report(rctx, true)
				cancel()
				return
			case <-tick.C:
				report(ctx, false)
			}
		}
	})
	return func() {
		close(quit)
		wg.Wait()
	}
}
