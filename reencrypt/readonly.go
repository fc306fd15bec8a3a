package reencrypt

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// span is a key range walked without the job tables: key > after and key
// <= upTo, nil meaning unbounded.
type span struct{ after, upTo any }

// readOnly walks the whole table without writing anything: a dry run or a
// verify pass. With Concurrency > 1 the table is split into key ranges
// walked in parallel.
func (r *runner) readOnly(ctx context.Context, sum *Summary) (*Summary, error) {
	var total int64
	if err := r.db.QueryRowContext(ctx, r.l.countRows()).Scan(&total); err != nil {
		return r.finish(ctx, sum, nil, fmt.Errorf("reencrypt: counting rows of %s: %w", r.l.t.Name, err))
	}
	spans := []span{{}}
	if r.o.Concurrency > 1 {
		bounds, err := boundaries(ctx, r.db, r.l, r.o.RangeSize)
		if err != nil {
			return r.finish(ctx, sum, nil, err)
		}
		spans = spans[:0]
		var after any
		for _, b := range bounds {
			upTo, err := keyValue(r.l.t.keyType(), b)
			if err != nil {
				return r.finish(ctx, sum, nil, err)
			}
			spans = append(spans, span{after, upTo})
			after = upTo
		}
		spans = append(spans, span{after, nil})
	}
	stop := r.reportProgress(ctx, func(context.Context) (int64, int64, error) {
		scanned, _ := r.total.snapshot()
		return scanned, total, nil
	})
	wctx, cancel := context.WithCancelCause(ctx)
	ch := make(chan span)
	var wg sync.WaitGroup
	for range min(r.o.Concurrency, len(spans)) {
		wg.Go(func() {
			x := r.examiner()
			for sp := range ch {
				if err := r.walk(wctx, x, sp); err != nil {
					cancel(err)
					return
				}
			}
		})
	}
feed:
	for _, sp := range spans {
		select {
		case ch <- sp:
		case <-wctx.Done():
			break feed
		}
	}
	close(ch)
	wg.Wait()
	err := context.Cause(wctx)
	cancel(nil)
	stop()
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		err = nil // stopped by the caller: Partial
	}
	return r.finish(ctx, sum, nil, err)
}

// walk examines every row of a span and counts what it finds.
func (r *runner) walk(ctx context.Context, x *examiner, sp span) error {
	log := r.log
	after := sp.after
	var t tally
	for {
		var results []result
		var done bool
		err := r.retry(ctx, log, "read", func() (err error) {
			t.reset()
			results, done, err = r.readAndExamine(ctx, x, after, sp.upTo, &t)
			return err
		})
		if err != nil {
			return err
		}
		for i := range results {
			r.count(&results[i], &t)
		}
		r.merge(ctx, log, &t)
		if done || len(results) == 0 {
			return nil
		}
		after = results[len(results)-1].key
	}
}
