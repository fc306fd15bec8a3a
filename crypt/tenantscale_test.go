package crypt_test

import (
	"container/list"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/local"
)

// The tenant-scale benchmarks encrypt a BenchContact (three keysets per
// tenant: pii data, support data, pii index) for many tenants, and report
// each figure as a ratio against one tenant in the same run: batches of
// the two alternate, so both see the same machine load. See BENCHMARKS.md.
//
//	go test ./crypt -run '^$' -bench 'Tenants|TenantWarmup' -benchtime 200000x -args -tenants 1000,10000,100000
//	GOMEMLIMIT=15GiB go test ./crypt -run '^$' -bench 'Tenants$' -benchtime 1000000x -timeout 120m -args -tenants 1000000 -cases uniform/fits,zipf/10pct
var (
	tenantsFlag = flag.String("tenants", "1000,10000,100000", "tenant counts for the tenant-scale benchmarks")
	casesFlag   = flag.String("cases", "uniform/fits,uniform/10pct,zipf/fits,zipf/10pct", "access/cache cases of BenchmarkTenants")
)

// keysetsPerTenant is how many keysets encrypting a BenchContact uses.
const keysetsPerTenant = 3

func tenantCounts(b *testing.B) []int {
	var ns []int
	for f := range strings.SplitSeq(*tenantsFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			b.Fatalf("-tenants: %q is not a tenant count", f)
		}
		ns = append(ns, n)
	}
	return ns
}

// tenantWorld is a keyset store holding the keysets of n tenants, built
// once per n and shared by the benchmarks, each of which opens its own
// keyring (and so its own cache) over it.
type tenantWorld struct {
	n       int
	names   []string
	store   *keyring.MemoryStore
	opener  *kms.Opener
	kek     string
	once    sync.Once
	created time.Duration
}

var (
	worldsMu sync.Mutex
	worlds   = map[int]*tenantWorld{}
	kekDir   string
)

func world(b *testing.B, n int) *tenantWorld {
	worldsMu.Lock()
	w := worlds[n]
	if w == nil {
		if kekDir == "" {
			// Outlives any one benchmark: the worlds are shared. The
			// files go when the process ends (TestMain is not worth it
			// for a benchmark's key file).
			dir, err := os.MkdirTemp("", "fieldcrypt-tenants")
			if err != nil {
				b.Fatal(err)
			}
			kekDir = dir
		}
		w = &tenantWorld{n: n}
		worlds[n] = w
	}
	worldsMu.Unlock()
	w.once.Do(func() { w.build(b) })
	if w.store == nil {
		b.Fatal("building the tenant world failed")
	}
	return w
}

func (w *tenantWorld) build(b *testing.B) {
	uri, err := local.CreateInsecureKeyFile(filepath.Join(kekDir, fmt.Sprintf("kek-%d.json", w.n)))
	if err != nil {
		b.Fatal(err)
	}
	w.opener = kms.NewOpener()
	w.opener.Register(local.Scheme, local.OpenFunc(nil))
	w.kek = uri
	w.names = make([]string, w.n)
	for i := range w.names {
		w.names[i] = fmt.Sprintf("tenant-%07d", i)
	}
	store := keyring.NewMemoryStore()
	// Creating needs no cache: a small one keeps the heap of a 1M-tenant
	// world to the store's.
	kr, enc := w.open(b, store, 1000)
	defer kr.Close()
	ctx := context.Background()
	start := time.Now()
	c := benchPlain()
	for _, name := range w.names {
		c = benchPlain()
		c.TenantID = name
		if err := enc.Encrypt(ctx, &c); err != nil {
			b.Fatal(err)
		}
	}
	w.created = time.Since(start)
	w.store = store
}

func (w *tenantWorld) open(b *testing.B, store keyring.Store, maxKeysets int) (*keyring.Keyring, *crypt.Encryptor) {
	kr, err := keyring.New(keyring.Config{
		Store: store, Opener: w.opener, DefaultKEK: w.kek,
		MaxKeysets: maxKeysets,
		CacheTTL:   time.Hour, // the runs outlast the default TTL at 1M tenants
	})
	if err != nil {
		b.Fatal(err)
	}
	return kr, crypt.New(kr, nil)
}

// trace records the tenants the records of a run belong to, drawn as the
// run goes (b.Loop does not say ahead how many records it will run).
type trace struct {
	n    int
	zipf *rand.Zipf // nil: round robin
	perm []int
	t    []int32
}

// newTrace returns a round-robin trace over n tenants, or with zipf set,
// one that draws tenants with Zipf-distributed popularity (s = 1.1), the
// shape of tenant traffic: a few large tenants and a long tail. Ranks are
// shuffled onto tenants so that popularity says nothing about the name.
func newTrace(n int, zipf bool) *trace {
	tr := &trace{n: n}
	if zipf {
		r := rand.New(rand.NewPCG(1, 2))
		tr.zipf = rand.NewZipf(r, 1.1, 1, uint64(n-1))
		tr.perm = r.Perm(n)
	}
	return tr
}

func (tr *trace) next() int32 {
	x := int32(len(tr.t) % tr.n)
	if tr.zipf != nil {
		x = int32(tr.perm[tr.zipf.Uint64()])
	}
	tr.t = append(tr.t, x)
	return x
}

// lruMisses counts the misses of an exact LRU cache of size tenants
// replaying t (a tenant's three keysets are always used together, so an
// LRU over keysets behaves as one over tenants with a third the room).
func lruMisses(t []int32, size int) int {
	l := list.New()
	at := make(map[int32]*list.Element, size)
	misses := 0
	for _, x := range t {
		if e, ok := at[x]; ok {
			l.MoveToFront(e)
			continue
		}
		misses++
		at[x] = l.PushFront(x)
		if l.Len() > size {
			last := l.Back()
			l.Remove(last)
			delete(at, last.Value.(int32))
		}
	}
	return misses
}

// BenchmarkTenants encrypts records spread over many tenants:
//
//   - access: round robin over every tenant (uniform), or Zipf;
//   - cache: MaxKeysets holding every tenant's keysets (fits), or a tenth
//     of them (10pct).
//
// It reports the cost per record, its ratio against one tenant (ratio),
// the KMS calls per million records after warm-up, and the keyring's
// keyset hit rate against that of an exact LRU of the same size on the
// same trace.
func BenchmarkTenants(b *testing.B) {
	for _, n := range tenantCounts(b) {
		for c := range strings.SplitSeq(*casesFlag, ",") {
			access, fit, _ := strings.Cut(strings.TrimSpace(c), "/")
			if (access != "uniform" && access != "zipf") || (fit != "fits" && fit != "10pct") {
				b.Fatalf("-cases: %q is not uniform|zipf / fits|10pct", c)
			}
			b.Run(fmt.Sprintf("n=%d/access=%s/cache=%s", n, access, fit), func(b *testing.B) {
				benchTenants(b, world(b, n), access, fit)
			})
		}
	}
}

func benchTenants(b *testing.B, w *tenantWorld, access, fit string) {
	ctx := context.Background()
	maxKeysets := keysetsPerTenant * w.n
	if fit == "10pct" {
		maxKeysets = max(keysetsPerTenant, maxKeysets/10)
	}
	kr, enc := w.open(b, w.store, maxKeysets)
	defer kr.Close()
	one, oneEnc := w.open(b, w.store, 0)
	defer one.Close()

	// Warm-up touches every tenant once, then (Zipf) draws as many
	// records again for the frequencies to settle. The trace records it
	// all, so that the LRU replays exactly what the keyring saw.
	t := newTrace(w.n, access == "zipf")
	warm := w.n
	if access == "zipf" {
		warm = 2 * w.n
	}
	c := new(BenchContact)
	plain := benchPlain()
	encrypt := func(e *crypt.Encryptor, tenant string) {
		*c = plain
		c.TenantID = tenant
		if err := e.Encrypt(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
	for i := range w.n {
		t.t = append(t.t, int32(i))
		encrypt(enc, w.names[i])
	}
	for range warm - w.n {
		encrypt(enc, w.names[t.next()])
	}
	encrypt(oneEnc, w.names[0])
	runtime.GC()
	before := kr.Stats()

	// Batches of the two alternate, so that both see the same load.
	var libNS, oneNS int64
	i := warm
	batchStart := time.Now()
	oneBatch := func(k int) {
		mid := time.Now()
		libNS += mid.Sub(batchStart).Nanoseconds()
		for range k {
			encrypt(oneEnc, w.names[0])
		}
		batchStart = time.Now()
		oneNS += batchStart.Sub(mid).Nanoseconds()
	}
	b.ResetTimer()
	for b.Loop() {
		encrypt(enc, w.names[t.next()])
		i++
		if (i-warm)%pairedBatch == 0 {
			oneBatch(pairedBatch)
		}
	}
	oneBatch((i - warm) % pairedBatch)
	b.StopTimer()
	records := i - warm
	after := kr.Stats()
	b.ReportMetric(float64(libNS)/float64(records), "tenants-ns/record")
	b.ReportMetric(float64(oneNS)/float64(records), "one-tenant-ns/record")
	b.ReportMetric(float64(libNS)/float64(oneNS), "ratio")
	b.ReportMetric(float64(after.KMSCalls-before.KMSCalls)*1e6/float64(records), "kms-calls/1M-records")
	lookups := float64(keysetsPerTenant * records)
	b.ReportMetric(100*(1-float64(after.Loads-before.Loads)/lookups), "hit-%")
	b.ReportMetric(100*(1-float64(lruMissesAfter(t.t, warm, warm+records, maxKeysets/keysetsPerTenant))/float64(records)), "lru-hit-%")
}

// lruMissesAfter replays t[:end] through an exact LRU of size tenants and
// counts the misses from t[from] on.
func lruMissesAfter(t []int32, from, end, size int) int {
	return lruMisses(t[:end], size) - lruMisses(t[:from], size)
}

// BenchmarkTenantWarmup measures a fresh keyring's first use of tenants
// whose keysets are stored (each tenant: three loads, each a store read and
// a KMS unwrap): one iteration is one tenant, and after every n of them
// the keyring is replaced by a fresh one. It reports the heap the cached
// keysets of one tenant take, measured after the first pass. Warm-up is
// linear when the cost per tenant does not grow with n.
func BenchmarkTenantWarmup(b *testing.B) {
	for _, n := range tenantCounts(b) {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			w := world(b, n)
			ctx := context.Background()
			plain := benchPlain()
			c := new(BenchContact)
			var (
				kr    *keyring.Keyring
				enc   *crypt.Encryptor
				base  uint64
				heap  float64
				calls int64
			)
			heapNow := func() uint64 {
				var ms runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&ms)
				return ms.HeapAlloc
			}
			closeRing := func() {
				calls += kr.Stats().KMSCalls
				kr.Close()
			}
			i := 0
			for b.Loop() {
				if i%n == 0 {
					b.StopTimer()
					if kr != nil {
						closeRing()
					}
					if i == 0 {
						base = heapNow() // a full GC: once, not per pass
					}
					kr, enc = w.open(b, w.store, keysetsPerTenant*w.n)
					b.StartTimer()
				}
				*c = plain
				c.TenantID = w.names[i%n]
				if err := enc.Encrypt(ctx, c); err != nil {
					b.Fatal(err)
				}
				i++
				if i == n {
					b.StopTimer()
					heap = float64(heapNow()-base) / float64(i)
					b.StartTimer()
				}
			}
			if i < n {
				b.StopTimer()
				heap = float64(heapNow()-base) / float64(i)
			}
			closeRing()
			b.ReportMetric(heap, "heap-B/tenant")
			b.ReportMetric(float64(calls)/float64(i), "kms-calls/tenant")
		})
	}
}

var (
	warmupFlag      = flag.String("warmup", "10000,100000", "the two tenant counts BenchmarkTenantWarmupPaired compares")
	warmupStoreFlag = flag.Int("warmup-store", 0, "BenchmarkTenantWarmupPaired: warm up the first tenants of one store of this many tenants (0: a store of each count's size)")
	warmupMaxFlag   = flag.Int("warmup-max", 0, "BenchmarkTenantWarmupPaired: the keyrings' MaxKeysets (0: three keysets per tenant of each count; -1: the keyring's default)")
)

// BenchmarkTenantWarmupPaired measures warm-up: each iteration warms up a
// fresh keyring over the first world of -warmup (every tenant once, three
// keyset loads each), then a fresh keyring over the second, and reports
// the cost per tenant of each and "ratio", the second's total over the
// first's. A full GC runs, untimed, before each warm-up, so one keyring's
// garbage is not collected on the next one's time.
//
// To compare sizes, give one size per process (-warmup 10000,10000, then
// -warmup 100000,100000) and alternate processes: in one process both
// worlds share the heap, and the larger one delays the collections of the
// smaller warm-up, which then comes out cheaper than it is alone.
//
// By default each count warms up a store of its own size, so the store's
// map and records grow with the count too. With -warmup-store N both warm
// up the first tenants of one store of N tenants, as a service warms up
// the tenants that call it while its store holds them all: then only the
// keyring's own structures grow with the count.
//
// Each keyring's cache holds three keysets per tenant of its count, unless
// -warmup-max says otherwise: -warmup-max -1 gives both the keyring's
// default MaxKeysets (300,000 keysets, 100,000 tenants), as a service
// configured once warms up however many tenants call it.
//
// Where the system counts them (Unix), it also reports the minor page
// faults per tenant of each warm-up, "small-faults/tenant" and
// "large-faults/tenant": fresh heap pages, as against cache misses.
func BenchmarkTenantWarmupPaired(b *testing.B) {
	var ns []int
	for f := range strings.SplitSeq(*warmupFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			b.Fatalf("-warmup: %q is not a tenant count", f)
		}
		ns = append(ns, n)
	}
	if len(ns) != 2 {
		b.Fatalf("-warmup: want two tenant counts, got %d", len(ns))
	}
	if st := *warmupStoreFlag; st != 0 && st < max(ns[0], ns[1]) {
		b.Fatalf("-warmup-store %d holds fewer tenants than -warmup %s", st, *warmupFlag)
	}
	worldOf := func(n int) *tenantWorld {
		if *warmupStoreFlag != 0 {
			return world(b, *warmupStoreFlag)
		}
		return world(b, n)
	}
	small, large := worldOf(ns[0]), worldOf(ns[1])
	ctx := context.Background()
	plain := benchPlain()
	// warm warms up a fresh keyring over the first n tenants of w, and
	// returns its time and the minor page faults it took.
	warm := func(w *tenantWorld, n int) (time.Duration, int64) {
		runtime.GC()
		max := keysetsPerTenant * n
		switch {
		case *warmupMaxFlag < 0:
			max = 0 // the default
		case *warmupMaxFlag > 0:
			max = *warmupMaxFlag
		}
		kr, enc := w.open(b, w.store, max)
		defer kr.Close()
		c := new(BenchContact)
		faults := minorFaults()
		start := time.Now()
		// Labelled, as are the loads it starts, so that a CPU profile
		// (-test.cpuprofile, then pprof -tagfocus phase=warmup) shows the
		// warm-up apart from building the worlds.
		pprof.Do(ctx, pprof.Labels("phase", "warmup"), func(ctx context.Context) {
			for _, name := range w.names[:n] {
				*c = plain
				c.TenantID = name
				if err := enc.Encrypt(ctx, c); err != nil {
					b.Fatal(err)
				}
			}
		})
		d := time.Since(start)
		faults = minorFaults() - faults
		if loads := kr.Stats().Loads; loads != int64(keysetsPerTenant*n) {
			b.Fatalf("warm-up of %d tenants made %d keyset loads, want %d", n, loads, keysetsPerTenant*n)
		}
		return d, faults
	}
	var (
		smallT, largeT time.Duration
		smallF, largeF int64
	)
	rounds := 0
	for b.Loop() {
		d, f := warm(small, ns[0])
		smallT, smallF = smallT+d, smallF+f
		d, f = warm(large, ns[1])
		largeT, largeF = largeT+d, largeF+f
		rounds++
	}
	b.ReportMetric(float64(smallT.Nanoseconds())/float64(rounds*ns[0]), "small-ns/tenant")
	b.ReportMetric(float64(largeT.Nanoseconds())/float64(rounds*ns[1]), "large-ns/tenant")
	b.ReportMetric(float64(largeT)/float64(smallT), "ratio")
	if minorFaults() >= 0 {
		// Fresh heap pages: the kernel zeroes and maps each on first
		// touch. The count is the process's (every thread's, the
		// runtime's own included, and pages the runtime returned to the
		// kernel and touched again), so it bounds the warm-up's rather
		// than measuring it exactly.
		b.ReportMetric(float64(smallF)/float64(rounds*ns[0]), "small-faults/tenant")
		b.ReportMetric(float64(largeF)/float64(rounds*ns[1]), "large-faults/tenant")
	}
}
