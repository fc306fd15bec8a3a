package reencrypt_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/reencrypt"
)

// childEnv, when set, makes the test binary run a job as a child process
// of TestKillResume (see TestMain) instead of running tests. It holds a
// childConfig in JSON.
const childEnv = "FIELDCRYPT_REENCRYPT_CHILD"

// TestMain runs the child's job instead of the tests when childEnv is set.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(runChild())
	}
	os.Exit(m.Run())
}

// killRowsEnv overrides the number of contacts of TestKillResume.
const killRowsEnv = "FIELDCRYPT_REENCRYPT_KILL_ROWS"

type childConfig struct {
	DSN   string `json:"dsn"`
	Keys  *keys  `json:"keys"`
	Job   string `json:"job"`
	Table string `json:"table,omitempty"` // "people" (TestKillResumeTokens); default contacts
}

// childOptions are the child's job options; its leases are short, so that
// the run that resumes after the kill takes its ranges over quickly.
func childOptions(job string) *reencrypt.Options {
	return &reencrypt.Options{Job: job, Worker: "child", Concurrency: 2, BatchSize: 500, RangeSize: 10_000, Lease: 3 * time.Second}
}

// runChild runs the job described by childEnv to completion, unless it is
// killed first; it prints the summary.
func runChild() int {
	var cfg childConfig
	if err := json.Unmarshal([]byte(os.Getenv(childEnv)), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	db, err := sql.Open("pgx", cfg.DSN)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	defer db.Close()
	kr, err := cfg.Keys.open()
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	c, err := reencrypt.LoadConfig(filepath.Join("testdata", "contacts.yaml"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	tab, _ := c.Table("contacts")
	opts := childOptions(cfg.Job)
	if cfg.Table == "people" {
		if tab, err = reencrypt.TableOf("people", "", Person{}); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			return 2
		}
		opts = peopleChildOptions(cfg.Job)
	}
	sum, err := reencrypt.Run(context.Background(), db, reencrypt.Postgres, crypt.New(kr, nil), tab, opts)
	json.NewEncoder(os.Stdout).Encode(sum)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	return 0
}

func killRows(t *testing.T) int {
	if s := os.Getenv(killRowsEnv); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1000 {
			t.Fatalf("%s=%q: want a number of rows, at least 1000", killRowsEnv, s)
		}
		return n
	}
	if raceEnabled {
		return 20_000
	}
	return 200_000
}

// TestKillResume seeds 200k contacts on PostgreSQL, rotates every data
// key, starts the job in a child process and kills it with SIGKILL once
// its checkpoints have advanced, then runs the job again (as another
// worker, taking the dead worker's ranges over when their leases expire).
// Afterwards every row decrypts to its original plaintext (a digest of all
// plaintexts), every value is under the new keys, and no row was skipped
// or written twice (a trigger counts each row's writes).
func TestKillResume(t *testing.T) {
	db := openPostgres(t)
	ctx := context.Background()
	n := killRows(t)
	const tenants = 8
	k := newKeys(t)
	app := k.encryptor(t)
	db.createContacts(t)
	start := time.Now()
	db.seed(t, app, n, tenants)
	t.Logf("seeded %d contacts in %v", n, time.Since(start).Round(time.Millisecond))
	start = time.Now()
	before := digest(db.decryptAll(t, app))
	t.Logf("digest of all plaintexts in %v", time.Since(start).Round(time.Millisecond))
	tab := contactsTable(t)
	newKeys := rotate(t, app.Keyring(), keyring.PurposeData, tenantNames(tenants), classes...)

	cfg, err := json.Marshal(childConfig{DSN: db.dsn, Keys: k, Job: "kill"})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(cfg))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start = time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	// Kill the child once it has committed 40% of the rows.
	committed := func() int64 {
		var done int64
		err := db.QueryRow("SELECT COALESCE(SUM(rows_done), 0) FROM " + reencrypt.RangesTable + " WHERE job = 'kill'").Scan(&done)
		if err != nil {
			return 0 // the job tables may not exist yet
		}
		return done
	}
	for committed() < int64(n)*4/10 {
		select {
		case err := <-exited:
			t.Fatalf("the child exited (%v) before it could be killed; stdout %s; stderr %s", err, stdout.String(), stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	if err := syscall.Kill(cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-exited
	// A COMMIT the child sent just before SIGKILL may still be applied
	// by the server after the child is gone: read the count once it has
	// settled.
	atKill := settled(committed)
	if atKill >= int64(n) {
		t.Fatalf("the child committed all %d rows before it was killed", n)
	}
	t.Logf("killed the child after %v with %d rows committed", time.Since(start).Round(time.Millisecond), atKill)

	start = time.Now()
	opts := childOptions("kill")
	opts.Worker = "resumer"
	sum, err := reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), tab, opts)
	if err != nil || sum.Outcome != reencrypt.Done {
		t.Fatalf("Run(after the kill) = %s, %v; want done", js(sum), err)
	}
	t.Logf("resumed run: %d rows in %v (%.0f rows/s)", sum.Scanned, time.Since(start).Round(time.Millisecond), float64(sum.Scanned)/time.Since(start).Seconds())
	if sum.Scanned != int64(n)-atKill || sum.Rewritten != sum.Scanned {
		t.Errorf("Run(after the kill) scanned %d and rewrote %d rows, want the %d not committed before the kill", sum.Scanned, sum.Rewritten, int64(n)-atKill)
	}
	if jt := sum.JobTotals; jt.Rows != int64(n) || jt.Rewritten != int64(n) || jt.LeftBehind != 0 {
		t.Errorf("JobTotals = %+v, want %d rows processed and rewritten, none left behind", jt, n)
	}
	takenOver := 0
	for _, r := range db.ranges(t, "kill") {
		if r.claims > 1 {
			takenOver++
		}
	}
	if takenOver == 0 {
		t.Errorf("no range was taken over from the killed worker")
	}
	if got := db.rewriteCounts(t); got[1] != n {
		t.Errorf("rows by number of writes = %v, want all %d written exactly once", got, n)
	}
	assertUnder(t, db, tab, newKeys)
	if after := digest(db.decryptAll(t, app)); after != before {
		t.Errorf("plaintext digest after the job = %s, want %s (as before)", after, before)
	}
}

// settled returns read's value once two reads 300ms apart agree.
func settled(read func() int64) int64 {
	v := read()
	for {
		time.Sleep(300 * time.Millisecond)
		next := read()
		if next == v {
			return v
		}
		v = next
	}
}
