package tokenbench

import (
	"context"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fieldcrypt/fieldcrypt/internal/testenv"
)

// The benchmark's size.
const (
	// contactCount is how many contacts are loaded, in a single tenant.
	contactCount = 1_000_000
	// seed makes the contacts, the subkeys and the query parameters the
	// same in every run.
	seed = 20261201
	// warmupRuns and queryRuns: each query runs warmupRuns times unmeasured,
	// then queryRuns times measured, with fresh random parameters each time.
	warmupRuns, queryRuns = 20, 200
	// writeRows contacts are inserted for each way of writing measured, and
	// rewriteRows contacts have their e-mail address rewritten.
	writeRows, rewriteRows = 100_000, 10_000
	// freshContacts are generated for the writes: writeRows for each of
	// the six insert writers.
	freshContacts = 6 * writeRows
	// txRows rows are written per transaction, in one round trip.
	txRows = 100
	// turnRows rows are written by one way of writing before the next one
	// takes its turn, so that they all see the same machine load.
	turnRows = 1_000
)

// TestTokenStorage measures the two token layouts against the plaintext
// baseline and prints the tables of RESULTS.md; doc.go says how to run it.
func TestTokenStorage(t *testing.T) {
	if os.Getenv("FIELDCRYPT_TOKENBENCH") != "1" {
		t.Skip("the token storage benchmark runs only with FIELDCRYPT_TOKENBENCH=1 (about twenty minutes, see doc.go)")
	}
	b := &bench{t: t, ctx: t.Context()}
	b.pool = openPool(t, testenv.PostgresSchema(t, "tokenbench"))
	keys := fixedSubkeys()
	pop := newPopulation(seed)

	b.phase("generate contacts and tokens", func() {
		b.contacts = pop.contacts(1, contactCount, keys)
	})
	b.logDataShape(newTokenizer(keys))
	b.phase("load", b.load)
	b.phase("build indexes", b.buildIndexes)
	b.phase("vacuum analyze", b.vacuumAnalyze)
	b.phase("storage", b.measureStorage)
	b.phase("queries", func() { b.measureQueries(newTokenizer(keys)) })
	var fresh []contact
	b.phase("generate contacts to write", func() {
		fresh = pop.contacts(contactCount+1, freshContacts, keys)
	})
	b.phase("writes", func() { b.measureWrites(fresh) })
	b.printReport()
}

// bench is the state of one run: the connection pool, the loaded contacts
// and the figures gathered for the report.
type bench struct {
	t        *testing.T
	ctx      context.Context
	pool     *pgxpool.Pool
	contacts []contact

	phases  []phaseTime
	loads   []loadTime
	storage []storageRow
	tables  []tableSize
	queries []queryResult
	writes  []writeResult
}

// phaseTime is how long a phase of the run took, and the machine's load
// average when it ended, to tell a disturbed run.
type phaseTime struct {
	name    string
	took    time.Duration
	loadAvg string
}

// phase runs one step of the benchmark and logs how long it took.
func (b *bench) phase(name string, step func()) {
	b.t.Logf("%s: starting (load average %s)", name, loadAverage())
	start := time.Now()
	step()
	p := phaseTime{name: name, took: time.Since(start).Round(100 * time.Millisecond), loadAvg: loadAverage()}
	b.phases = append(b.phases, p)
	b.t.Logf("%s: %v (load average %s)", name, p.took, p.loadAvg)
}

// exec runs statements that return no rows, failing the test on an error.
func (b *bench) exec(sql string, args ...any) {
	b.t.Helper()
	if _, err := b.pool.Exec(b.ctx, sql, args...); err != nil {
		b.t.Fatalf("%s: %v", sql, err)
	}
}

// openPool opens a pool on the test's schema, closed when the test ends
// (before the schema is dropped). Index builds get the memory to sort in
// one pass. FIELDCRYPT_TOKENBENCH_SET, a comma-separated list of
// name=value, sets planner settings on every connection, for every
// contender alike: "random_page_cost=1.1", say.
func openPool(t *testing.T, dsn string) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatalf("parse DSN: %v", err)
	}
	cfg.ConnConfig.RuntimeParams["maintenance_work_mem"] = "1GB"
	if set := os.Getenv("FIELDCRYPT_TOKENBENCH_SET"); set != "" {
		for _, kv := range strings.Split(set, ",") {
			name, value, ok := strings.Cut(strings.TrimSpace(kv), "=")
			if !ok || name == "" {
				t.Fatalf("FIELDCRYPT_TOKENBENCH_SET: %q is not name=value", kv)
			}
			cfg.ConnConfig.RuntimeParams[name] = value
			t.Logf("every connection: SET %s = %s", name, value)
		}
	}
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatalf("open pool: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// fixedSubkeys are the three indexes' secret subkeys, random-looking and
// the same in every run.
func fixedSubkeys() subkeys {
	var s [32]byte
	copy(s[:], "fieldcrypt tokenbench subkeys")
	r := rand.NewChaCha8(s)
	key := func() []byte {
		k := make([]byte, 32)
		_, _ = r.Read(k) // ChaCha8.Read always fills k and returns no error
		return k
	}
	return subkeys{prefix: key(), email: key(), created: key()}
}

// logDataShape logs the figures that say whether the generated data looks
// as intended: tokens per contact, how concentrated the surnames are, and
// how many addresses overflow the substring index.
func (b *bench) logDataShape(tk *tokenizer) {
	overflowToken := tk.overflowToken()
	var prefixTokens, emailTokens, overflow int
	names := map[string]int{}
	prefixes := map[string]int{}
	for i := range b.contacts {
		c := &b.contacts[i]
		prefixTokens += len(c.prefixTokens)
		emailTokens += len(c.emailTokens)
		if len(c.emailTokens) == 1 && c.emailTokens[0] == overflowToken {
			overflow++
		}
		names[c.lastName]++
		prefixes[strings.ToLower(c.lastName[:minPrefix])]++
	}
	n := float64(len(b.contacts))
	b.t.Logf("data: %d contacts, %d distinct surnames, most common %.2f%%; %d distinct 3-letter prefixes, most common %.2f%%",
		len(b.contacts), len(names), 100*float64(maxCount(names))/n, len(prefixes), 100*float64(maxCount(prefixes))/n)
	b.t.Logf("data: tokens per contact: prefix %.2f, e-mail %.2f, created %d; %d addresses overflow",
		float64(prefixTokens)/n, float64(emailTokens)/n, rangeLevels, overflow)
}

func maxCount(m map[string]int) int {
	most := 0
	for _, n := range m {
		most = max(most, n)
	}
	return most
}

// loadAverage is the machine's one-minute load average, or "unknown"
// where the system does not tell it.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Fields(string(b))[0]
}
