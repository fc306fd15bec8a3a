package reencrypt_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/keyring/filestore"
	"github.com/fieldcrypt/fieldcrypt/kms/local"
	"github.com/fieldcrypt/fieldcrypt/reencrypt"
)

// logBuffer collects a run's JSON log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(&syncWriter{w: &l.buf, mu: &l.mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// TestKEKFailureStopsRun: a configured KEK that refuses or cannot open a
// keyset stops the run at the first one with a *KEKError, instead of
// failing every row under it; nothing is retried and no row is written.
func TestKEKFailureStopsRun(t *testing.T) {
	eachDB(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		const n, tenants = 120, 2
		k := newKeys(t)
		app := k.encryptor(t)
		db.createContacts(t)
		db.seed(t, app, n, tenants)
		rotate(t, app.Keyring(), keyring.PurposeData, tenantNames(tenants), classes...)
		tab := contactsTable(t)

		other, err := local.CreateInsecureKeyFile(filepath.Join(t.TempDir(), "other-kek.json"))
		if err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			name  string
			setup func(t *testing.T) *crypt.Encryptor
			want  error
		}{
			{"another KEK configured for pii", func(t *testing.T) *crypt.Encryptor {
				k2 := *k
				k2.KEKs = map[string]string{"pii": other, "support": k.KEKs["support"]}
				return k2.encryptor(t)
			}, keyring.ErrKEKNotAllowed},
			{"the pii KEK cannot open the keysets", func(t *testing.T) *crypt.Encryptor {
				// Same URI, another key: the KEK that wraps the keysets is gone.
				path := strings.TrimPrefix(k.KEKs["pii"], "local://")
				saved, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { os.WriteFile(path, saved, 0o600) })
				if err := os.Remove(path); err != nil {
					t.Fatal(err)
				}
				if _, err := local.CreateInsecureKeyFile(path); err != nil {
					t.Fatal(err)
				}
				return k.encryptor(t)
			}, keyring.ErrCorruptKeyset},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				before := db.rawDigest(t)
				var logs logBuffer
				opts := jobOptions("kek-" + strings.ReplaceAll(tc.name, " ", "-"))
				opts.Logger = logs.logger()
				start := time.Now()
				sum, err := reencrypt.Run(ctx, db.DB, db.d, tc.setup(t), tab, opts)
				var ke *reencrypt.KEKError
				if !errors.As(err, &ke) || !errors.Is(err, tc.want) {
					t.Fatalf("Run(%s) err = %v, want a *KEKError matching %v", tc.name, err, tc.want)
				}
				if sum.Outcome != reencrypt.Failed || sum.Failed != 0 || sum.Rewritten != 0 {
					t.Errorf("Run(%s) = %s; want failed, with no row counted as failed or rewritten", tc.name, js(sum))
				}
				if strings.Contains(logs.String(), "retrying after error") || strings.Contains(logs.String(), "row left as it was") {
					t.Errorf("Run(%s) retried or failed rows one by one:\n%s", tc.name, logs.String())
				}
				if d := time.Since(start); d > 5*time.Second {
					t.Errorf("Run(%s) took %v to stop", tc.name, d)
				}
				if db.rawDigest(t) != before {
					t.Errorf("Run(%s) changed rows", tc.name)
				}
				vsum, err := reencrypt.Verify(ctx, db.DB, db.d, tc.setup(t), tab, nil)
				if !errors.As(err, &ke) || vsum.Failed != 0 {
					t.Errorf("Verify(%s) = %s, %v; want a *KEKError and no failed row", tc.name, js(vsum), err)
				}
			})
		}
	})
}

// TestPermanentSQLErrorNotRetried renames an encrypted column between the
// job's read and its write: the UPDATE fails with an undefined column
// (PostgreSQL 42703, MariaDB 1054, SQLite "no such column"), and the run
// fails at once instead of retrying.
func TestPermanentSQLErrorNotRetried(t *testing.T) {
	eachDB(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		k := newKeys(t)
		app := k.encryptor(t)
		db.createContacts(t)
		db.seed(t, app, 50, 2)
		rotate(t, app.Keyring(), keyring.PurposeData, tenantNames(2), classes...)
		var logs logBuffer
		opts := jobOptions("undefined-column")
		opts.Concurrency, opts.Logger = 1, logs.logger()
		var once sync.Once
		reencrypt.BeforeWrite(opts, func(ctx context.Context, _ []any) {
			once.Do(func() {
				if _, err := db.ExecContext(ctx, "ALTER TABLE contacts RENAME COLUMN notes TO notes_renamed"); err != nil {
					t.Errorf("renaming notes: %v", err)
				}
			})
		})
		sum, err := reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), contactsTable(t), opts)
		if err == nil || sum.Outcome != reencrypt.Failed || !strings.Contains(err.Error(), "notes") {
			t.Fatalf("Run with a column renamed under it = %s, %v; want failed naming notes", js(sum), err)
		}
		if strings.Contains(logs.String(), "retrying after error") {
			t.Errorf("Run retried a permanent SQL error:\n%s", logs.String())
		}
		// Run again: the configuration names a column the table lacks, and
		// the run stops before it plans or reads anything.
		sum, err = reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), contactsTable(t), jobOptions("another-job"))
		var ce *reencrypt.ConfigError
		if !errors.As(err, &ce) || !errors.Is(err, reencrypt.ErrMissingColumn) || ce.Column != "notes" || sum.Outcome != reencrypt.Failed {
			t.Errorf("Run with a missing column = %s, %v; want a *ConfigError naming notes", js(sum), err)
		}
	})
}

// TestMissingColumn: Status, Run and Verify fail with a *ConfigError that
// names a configured column (or table) the database lacks, whatever the
// column's role, before reading a row or creating the job tables.
func TestMissingColumn(t *testing.T) {
	eachDB(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		k := newKeys(t)
		db.createContacts(t)
		good := contactsTable(t)
		cases := []struct {
			name   string
			edit   func(*reencrypt.Table)
			column string
		}{
			{"index column", func(t *reencrypt.Table) { t.Indexes[0].Column = "email_index" }, "email_index"},
			{"identity column", func(t *reencrypt.Table) { t.IDs[0].Column = "contact_id" }, "contact_id"},
			{"encrypted column", func(t *reencrypt.Table) { t.Fields[0].Column = "full_name" }, "full_name"},
			{"scope column", func(t *reencrypt.Table) { t.Scope = "tenant" }, "tenant"},
			{"table", func(t *reencrypt.Table) { t.Name = "leads" }, ""},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				tab := good
				tab.IDs = slices.Clone(good.IDs)
				tab.Fields = slices.Clone(good.Fields)
				tab.Indexes = slices.Clone(good.Indexes)
				tc.edit(&tab)
				check := func(what string, err error) {
					t.Helper()
					var ce *reencrypt.ConfigError
					if !errors.As(err, &ce) || !errors.Is(err, reencrypt.ErrMissingColumn) || ce.Column != tc.column {
						t.Errorf("%s with a missing %s err = %v, want a *ConfigError naming %q", what, tc.name, err, tc.column)
					}
				}
				_, err := reencrypt.Status(ctx, db.DB, db.d, tab)
				check("Status", err)
				_, err = reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), tab, jobOptions("missing"))
				check("Run", err)
				_, err = reencrypt.Verify(ctx, db.DB, db.d, k.encryptor(t), tab, nil)
				check("Verify", err)
			})
		}
		if err := reencrypt.CheckColumns(ctx, db.DB, db.d, good); err != nil {
			t.Errorf("CheckColumns(the right table) err = %v", err)
		}
		if rows, err := db.Query("SELECT 1 FROM " + reencrypt.JobsTable); err == nil {
			rows.Close()
			t.Errorf("a run refused for a missing column created %s", reencrypt.JobsTable)
		}
	})
}

// TestAlreadyComplete: running a finished job again does nothing, and the
// summary and the log say so, and when it finished.
func TestAlreadyComplete(t *testing.T) {
	db := openSQLite(t)
	ctx := context.Background()
	k := newKeys(t)
	app := k.encryptor(t)
	db.createContacts(t)
	db.seed(t, app, 40, 2)
	tab := contactsTable(t)
	if sum, err := reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), tab, jobOptions("twice")); err != nil || sum.AlreadyComplete {
		t.Fatalf("Run = %s, %v; want a job that runs", js(sum), err)
	}
	rotate(t, app.Keyring(), keyring.PurposeData, tenantNames(2), classes...)
	var logs logBuffer
	opts := jobOptions("twice")
	opts.Logger = logs.logger()
	sum, err := reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), tab, opts)
	if err != nil || !sum.AlreadyComplete || sum.JobFinished == nil || sum.Scanned != 0 || sum.Outcome != reencrypt.Done {
		t.Errorf("Run(finished job) = %s, %v; want done, already complete, with the time it finished", js(sum), err)
	}
	if !strings.Contains(logs.String(), "job already complete") || !strings.Contains(logs.String(), "Restart") {
		t.Errorf("Run(finished job) log does not say the job was complete and how to run a new pass:\n%s", logs.String())
	}
	opts = jobOptions("twice")
	opts.Restart = true
	if sum, err := reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), tab, opts); err != nil || sum.AlreadyComplete || sum.Rewritten != 40 {
		t.Errorf("Run(Restart) = %s, %v; want 40 rows rewritten", js(sum), err)
	}
}

// TestResumeSaysWhyItWaits: a range still leased by a worker that was
// killed (it holds the lease and commits nothing) makes a resumed run
// wait; the run says whom it waits for, how long and why, then takes the
// range over once the lease expires and finishes the job.
func TestResumeSaysWhyItWaits(t *testing.T) {
	eachDB(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		const n = 60
		k := newKeys(t)
		app := k.encryptor(t)
		db.createContacts(t)
		db.seed(t, app, n, 2)
		rotate(t, app.Keyring(), keyring.PurposeData, tenantNames(2), classes...)
		tab := contactsTable(t)

		// Plan the job, and stop at the first batch: the range is released.
		stopped, stop := context.WithCancel(ctx)
		opts := &reencrypt.Options{Job: "killed", BatchSize: 10, RangeSize: 1000}
		reencrypt.BeforeWrite(opts, func(context.Context, []any) { stop() })
		if sum, _ := reencrypt.Run(stopped, db.DB, db.d, k.encryptor(t), tab, opts); sum.Outcome != reencrypt.Partial {
			t.Fatalf("Run(stopped) = %s, want partial", js(sum))
		}
		// As a worker killed with -9 leaves it: leased for 1.5s more, idle.
		now := time.Now().UnixMilli()
		q := fmt.Sprintf("UPDATE %s SET owner = 'host-a-4242-dead', run_id = 'dead', token = 'dead', state = 'running', lease_ms = %d, updated_ms = %d WHERE job = 'killed'",
			reencrypt.RangesTable, now+1500, now-4000)
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
		var logs logBuffer
		opts = &reencrypt.Options{Job: "killed", Worker: "host-b", BatchSize: 10, Lease: time.Second, Logger: logs.logger()}
		start := time.Now()
		sum, err := reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), tab, opts)
		if err != nil || sum.Outcome != reencrypt.Done {
			t.Fatalf("Run(resumed) = %s, %v; want done", js(sum), err)
		}
		if waited := time.Since(start); waited < time.Second {
			t.Errorf("Run(resumed) took %v; it should have waited for the lease", waited)
		}
		log := logs.String()
		for _, want := range []string{`"level":"WARN"`, "waiting up to", `"owner":"host-a-4242-dead"`, "lease_expires_in_seconds", "killed with -9", "--lease"} {
			if !strings.Contains(log, want) {
				t.Errorf("Run(resumed) log lacks %q:\n%s", want, log)
			}
		}
		if c := strings.Count(log, "waiting up to"); c != 1 {
			t.Errorf("Run(resumed) said %d times that it waits, want once", c)
		}
	})
}

// TestHealthyWorkerWaitIsInfo: a run that waits for ranges another worker
// holds and committed a batch to a moment ago (a healthy worker, not one
// killed with -9) logs the wait at Info, with no talk of a crash.
func TestHealthyWorkerWaitIsInfo(t *testing.T) {
	db := openSQLite(t)
	ctx := context.Background()
	k := newKeys(t)
	app := k.encryptor(t)
	db.createContacts(t)
	db.seed(t, app, 40, 2)
	rotate(t, app.Keyring(), keyring.PurposeData, tenantNames(2), classes...)
	tab := contactsTable(t)
	stopped, stop := context.WithCancel(ctx)
	opts := &reencrypt.Options{Job: "busy", BatchSize: 10, RangeSize: 1000}
	reencrypt.BeforeWrite(opts, func(context.Context, []any) { stop() })
	if sum, _ := reencrypt.Run(stopped, db.DB, db.d, k.encryptor(t), tab, opts); sum.Outcome != reencrypt.Partial {
		t.Fatalf("Run(stopped) = %s, want partial", js(sum))
	}
	// As a working worker holds it: leased for 1.5s more, its last batch
	// committed just now.
	now := time.Now().UnixMilli()
	q := fmt.Sprintf("UPDATE %s SET owner = 'host-a-busy', run_id = 'busy', token = 'busy', state = 'running', lease_ms = %d, updated_ms = %d WHERE job = 'busy'",
		reencrypt.RangesTable, now+1500, now)
	if _, err := db.ExecContext(ctx, q); err != nil {
		t.Fatal(err)
	}
	var logs logBuffer
	opts = &reencrypt.Options{Job: "busy", Worker: "host-b", BatchSize: 10, Lease: 4 * time.Second, Logger: logs.logger()}
	if sum, err := reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), tab, opts); err != nil || sum.Outcome != reencrypt.Done {
		t.Fatalf("Run(waiting) = %s, %v; want done", js(sum), err)
	}
	var waiting map[string]any
	for line := range strings.Lines(logs.String()) {
		if strings.Contains(line, "waiting up to") {
			if err := json.Unmarshal([]byte(line), &waiting); err != nil {
				t.Fatal(err)
			}
		}
	}
	if waiting == nil {
		t.Fatalf("Run(waiting) did not say that it waits:\n%s", logs.String())
	}
	if waiting["level"] != "INFO" || strings.Contains(fmt.Sprint(waiting["reason"]), "killed with -9") || waiting["owner"] != "host-a-busy" {
		t.Errorf("Run(waiting) for a healthy worker logged %v; want level INFO, the owner, and no talk of a kill -9", waiting)
	}
}

// TestJobAfterShredCountsRows: the rows of a shredded tenant are left as
// they are, counted as failed with reason scope_shredded (a shredded scope
// is about its rows, not the run); the job creates no keyset for the
// tenant and moves the other tenants' rows.
func TestJobAfterShredCountsRows(t *testing.T) {
	eachDB(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		const n, tenants = 80, 2
		k := newKeys(t)
		app := k.encryptor(t)
		db.createContacts(t)
		db.seed(t, app, n, tenants)
		if _, err := keyring.NewManager(app.Keyring()).Shred(ctx, "tenant-0"); err != nil {
			t.Fatalf("Shred(tenant-0) err = %v", err)
		}
		rotate(t, app.Keyring(), keyring.PurposeData, []string{"tenant-1"}, classes...)
		shredded := db.readContacts(t, "WHERE tenant_id = 'tenant-0'")
		stored := func() int {
			store, err := filestore.Open(filepath.Join(k.Dir, "keysets"))
			if err != nil {
				t.Fatal(err)
			}
			list, err := store.List(ctx, "tenant-0")
			if err != nil {
				t.Fatal(err)
			}
			return len(list)
		}
		before := stored()

		sum, err := reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), contactsTable(t), jobOptions("after-shred"))
		if err != nil || sum.Outcome != reencrypt.Partial || sum.Failures["scope_shredded"] != int64(len(shredded)) || sum.Rewritten != int64(n-len(shredded)) {
			t.Errorf("Run after shredding tenant-0 = %s, %v; want partial: %d rows failed scope_shredded, %d rewritten", js(sum), err, len(shredded), n-len(shredded))
		}
		if after := db.readContacts(t, "WHERE tenant_id = 'tenant-0'"); digestRaw(after) != digestRaw(shredded) {
			t.Errorf("the job changed rows of the shredded tenant")
		}
		if got := stored(); got != before {
			t.Errorf("keysets stored for tenant-0: %d after the job, %d before; want none created", got, before)
		}
		for _, p := range []keyring.Purpose{keyring.PurposeData, keyring.PurposeIndex} {
			id := keyring.KeysetID{Scope: "tenant-0", Class: "pii", Purpose: p}
			if _, err := keyring.NewManager(k.keyring(t)).Keys(ctx, id); !errors.Is(err, keyring.ErrScopeShredded) {
				t.Errorf("Keys(%s) after the job err = %v, want ErrScopeShredded", id, err)
			}
		}
	})
}
