package reencrypt

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/metric"
)

// Defaults for [Options].
const (
	DefaultBatchSize        = 500
	DefaultRangeSize        = 10_000
	DefaultLease            = 30 * time.Second
	DefaultRetries          = 3
	DefaultProgressInterval = time.Second
)

// Options tunes a run. The zero value (or nil) is ready to use.
type Options struct {
	// Job names the job in the job tables; workers giving the same name
	// share one job. Default: the table's name. Names are at most 200
	// bytes.
	Job string

	// Worker names this run in the job tables; default host-pid-random.
	// Names must be unique among live workers: a worker given a stable name
	// reclaims at once the ranges a previous run under that name left
	// leased (after a crash), instead of waiting for their leases to
	// expire.
	Worker string

	// BatchSize is the number of rows read, and written in one
	// transaction, at a time. Default 500.
	BatchSize int

	// Concurrency is the number of key ranges this process works on at
	// once (one goroutine and one connection each). Default 1; a SQLite
	// job always runs one.
	Concurrency int

	// RangeSize is the number of rows in each key range when a job is
	// planned; ranges are what workers claim. Default 10000.
	RangeSize int

	// Rate limits the rows read per second by this process; 0 means no
	// limit. With a limit, batches shrink so that each fits well inside
	// the lease.
	Rate float64

	// Lease is how long a claimed range stays a worker's without a
	// committed batch; after it another worker takes the range over. Every
	// batch must commit within it (lower BatchSize for slow indexes). It is
	// also how long a resumed job waits for the ranges of a worker killed
	// without releasing them. Default 30s.
	Lease time.Duration

	// Retries is how many times a batch that failed on a database or KEK
	// error is tried again (with backoff) before the run fails. Default 3;
	// negative means none.
	Retries int

	// Migrate encrypts legacy plaintext found in encrypted columns, and
	// writes the row's missing blind-index values and side-table tokens
	// in the same transaction. Without it such rows are skipped and
	// counted.
	Migrate bool

	// DryRun counts what a run would rewrite and writes nothing, not even
	// the job tables.
	DryRun bool

	// Restart discards the job's progress and plans it again: use it for a
	// new pass after another rotation. Never while other workers run it.
	Restart bool

	// Progress, when set, is called about every ProgressInterval and once
	// at the end, from one goroutine.
	Progress func(Progress)

	// MeterProvider receives the fieldcrypt.reencrypt.rows counter: the
	// rows of every committed batch, by outcome (current, rewritten,
	// failed, skipped, conflict), with the table, mode and job as
	// attributes. Default: the global OpenTelemetry provider, a no-op
	// until one is installed.
	MeterProvider metric.MeterProvider

	// ProgressInterval is how often progress is reported (and logged).
	// Default 1s.
	ProgressInterval time.Duration

	// Logger receives structured events: job planned, ranges claimed and
	// finished, leases lost, batches retried, rows failed (by primary key,
	// never values), progress, and the summary. Default: discard.
	Logger *slog.Logger

	// Test hooks, set by export_test.go. beforeWrite is called from every
	// worker goroutine.
	noCrypto    bool                                  // rewrite every row with its own values
	beforeWrite func(ctx context.Context, keys []any) // between a batch's read and its write
}

// resolved returns o with its defaults filled in.
func (o *Options) resolved(d Dialect, t *Table) Options {
	var r Options
	if o != nil {
		r = *o
	}
	r.Job = cmp.Or(r.Job, t.Name)
	if r.Worker == "" {
		host, _ := os.Hostname()
		r.Worker = cmp.Or(host, "worker") + "-" + strconv.Itoa(os.Getpid()) + "-" + randomID()[:4]
	}
	if r.BatchSize <= 0 {
		r.BatchSize = DefaultBatchSize
	}
	if r.Concurrency <= 0 {
		r.Concurrency = 1
	}
	if r.RangeSize <= 0 {
		r.RangeSize = DefaultRangeSize
	}
	if r.Lease <= 0 {
		r.Lease = DefaultLease
	}
	switch {
	case r.Retries == 0:
		r.Retries = DefaultRetries
	case r.Retries < 0:
		r.Retries = 0
	}
	if r.Rate > 0 {
		// A batch waits for its tokens while holding its range: keep that
		// wait under a quarter of the lease.
		r.BatchSize = max(1, min(r.BatchSize, int(r.Rate*r.Lease.Seconds()/4)))
	}
	if r.ProgressInterval <= 0 {
		r.ProgressInterval = DefaultProgressInterval
	}
	if r.Logger == nil {
		r.Logger = slog.New(slog.DiscardHandler)
	}
	return r
}

// randomID returns a random hex string that names one run.
func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand panics instead)
	return hex.EncodeToString(b[:])
}
