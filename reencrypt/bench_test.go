package reencrypt_test

import (
	"context"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/reencrypt"
)

// Benchmark sizes, overridable through the environment.
const (
	benchRowsEnv        = "FIELDCRYPT_BENCH_ROWS"        // contacts (default 20000)
	benchConcurrencyEnv = "FIELDCRYPT_BENCH_CONCURRENCY" // workers (default 2)
)

func envInt(b *testing.B, name string, def int) int {
	if s := os.Getenv(name); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			b.Fatalf("%s=%q: want a positive number", name, s)
		}
		return n
	}
	return def
}

// BenchmarkReencrypt measures the job on PostgreSQL: each iteration
// rotates every data key (untimed) and re-encrypts every row. Compare it
// with BenchmarkRewriteNoCrypto, run in the same invocation:
//
//	go test ./reencrypt/ -run '^$' -bench 'Reencrypt|RewriteNoCrypto' -benchtime 3x
func BenchmarkReencrypt(b *testing.B) {
	benchJob(b, false)
}

// BenchmarkRewriteNoCrypto is the crypto-free baseline: the same paging,
// batching, compare-and-swap writes and checkpoints over the same rows,
// each rewritten with its own values, without inspecting, decrypting or
// encrypting anything.
func BenchmarkRewriteNoCrypto(b *testing.B) {
	benchJob(b, true)
}

func benchJob(b *testing.B, noCrypto bool) {
	db := openPostgres(b)
	ctx := context.Background()
	n := envInt(b, benchRowsEnv, 20_000)
	const tenants = 8
	k := newKeys(b)
	enc := k.encryptor(b)
	db.createContacts(b)
	db.seed(b, enc, n, tenants)
	if _, err := db.Exec("VACUUM ANALYZE contacts"); err != nil {
		b.Fatal(err)
	}
	scopes := tenantNames(tenants)
	tab := contactsTable(b)
	concurrency := envInt(b, benchConcurrencyEnv, 2)

	var peak peakHeap
	var allocated uint64
	var elapsed time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		if !noCrypto {
			rotate(b, enc.Keyring(), keyring.PurposeData, scopes, classes...)
		}
		opts := &reencrypt.Options{Job: "bench-" + strconv.Itoa(i), Concurrency: concurrency, BatchSize: 500, RangeSize: 10_000}
		if noCrypto {
			reencrypt.NoCrypto(opts)
		}
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		stop := peak.watch()
		start := time.Now()
		b.StartTimer()

		sum, err := reencrypt.Run(ctx, db.DB, db.d, enc, tab, opts)

		b.StopTimer()
		elapsed += time.Since(start)
		stop()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		allocated += after.TotalAlloc - before.TotalAlloc
		if err != nil || sum.Outcome != reencrypt.Done || sum.Rewritten != int64(n) {
			b.Fatalf("Run = %s, %v; want every row rewritten", js(sum), err)
		}
		b.StartTimer()
	}
	rows := float64(n) * float64(b.N)
	b.ReportMetric(rows/elapsed.Seconds(), "rows/s")
	b.ReportMetric(float64(allocated)/rows, "B/row")
	b.ReportMetric(float64(peak.max)/(1<<20), "peak-heap-MB")
	b.ReportMetric(0, "ns/op") // a whole job per op: rows/s is the figure
}

// peakHeap samples the live heap while a run is in progress.
type peakHeap struct {
	max uint64
}

func (p *peakHeap) watch() (stop func()) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			p.max = max(p.max, sample[0].Value.Uint64())
			select {
			case <-quit:
				return
			case <-tick.C:
			}
		}
	})
	return func() { close(quit); wg.Wait() }
}
