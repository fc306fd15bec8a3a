package reencrypt_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

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

// sqlStateError is a driver error that reports its SQLSTATE, as pgx's
// *pgconn.PgError does.
type sqlStateError struct{ code string }

func (e sqlStateError) Error() string    { return "ERROR: something (SQLSTATE " + e.code + ")" }
func (e sqlStateError) SQLState() string { return e.code }

// mysqlError is an error as go-sql-driver/mysql returns it.
func mysqlError(number uint16, state, msg string) error {
	return &mysql.MySQLError{Number: number, SQLState: [5]byte([]byte(state)), Message: msg}
}

// TestPermanentSQL: the job decides by the driver's own error types:
// PostgreSQL by SQLSTATE, MySQL by error number (never by SQLSTATE 42000
// alone), SQLite by modernc's *sqlite.Error; another error is transient
// whatever its text says.
func TestPermanentSQL(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"PostgreSQL undefined column, wrapped", fmt.Errorf("reencrypt: updating contacts row 4: %w", sqlStateError{"42703"}), true},
		{"PostgreSQL undefined table", sqlStateError{"42P01"}, true},
		{"PostgreSQL insufficient privilege", sqlStateError{"42501"}, true},
		{"PostgreSQL invalid text representation", sqlStateError{"22P02"}, true},
		{"PostgreSQL serialization failure", sqlStateError{"40001"}, false},
		{"PostgreSQL deadlock", sqlStateError{"40P01"}, false},
		{"PostgreSQL admin shutdown", sqlStateError{"57P01"}, false},
		{"PostgreSQL connection failure", sqlStateError{"08006"}, false},

		{"MySQL unknown column, wrapped", fmt.Errorf("reencrypt: reading contacts: %w", mysqlError(1054, "42S22", "Unknown column 'notes' in 'field list'")), true},
		{"MySQL no such table", mysqlError(1146, "42S02", "Table 'test.contacts' doesn't exist"), true},
		{"MySQL syntax error", mysqlError(1064, "42000", "You have an error in your SQL syntax"), true},
		{"MySQL table access denied", mysqlError(1142, "42000", "SELECT command denied to user"), true},
		{"MySQL column access denied", mysqlError(1143, "42000", "SELECT command denied to user for column"), true},
		{"MySQL out of range", mysqlError(1264, "22003", "Out of range value for column"), true},
		{"MySQL incorrect value", mysqlError(1366, "HY000", "Incorrect string value"), true},
		{"MySQL data too long", mysqlError(1406, "22001", "Data too long for column"), true},
		{"MySQL truncated wrong value", mysqlError(1292, "22007", "Truncated incorrect DOUBLE value"), true},
		{"MySQL max_user_connections (42000)", mysqlError(1203, "42000", "User has already more than 'max_user_connections' active connections"), false},
		{"MySQL resource limit (42000)", mysqlError(1226, "42000", "User has exceeded the 'max_queries_per_hour' resource"), false},
		{"MySQL deadlock", mysqlError(1213, "40001", "Deadlock found when trying to get lock"), false},
		{"MySQL lock wait timeout", mysqlError(1205, "HY000", "Lock wait timeout exceeded"), false},
		{"MySQL text in a plain error", errors.New("Error 1054 (42S22): Unknown column 'notes' in 'field list'"), false},

		{"SQLite text in a KMS error", errors.New(`kms: decrypt: rpc error: code = NotFound desc = no such table "keys"`), false},
		{"SQLite text in a plain error", errors.New("SQL logic error: no such column: notes (1)"), false},
		{"driver: bad connection", errors.New("driver: bad connection"), false},
		{"context canceled", context.Canceled, false},
	}
	for name, c := range sqliteErrors(t) {
		cases = append(cases, struct {
			name string
			err  error
			want bool
		}{"SQLite " + name, c.err, c.want})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := reencrypt.PermanentSQL(tc.err); got != tc.want {
				t.Errorf("PermanentSQL(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

// sqliteErrors returns real modernc.org/sqlite errors: an unknown column,
// an unknown table and a syntax error (permanent), and a busy database
// (transient).
func sqliteErrors(t *testing.T) map[string]struct {
	err  error
	want bool
} {
	t.Helper()
	ctx := context.Background()
	db := openSQLite(t)
	if _, err := db.ExecContext(ctx, "CREATE TABLE contacts (id INTEGER PRIMARY KEY, email TEXT)"); err != nil {
		t.Fatal(err)
	}
	queryErr := func(q string) error {
		rows, err := db.QueryContext(ctx, q)
		if err == nil {
			rows.Close()
			t.Fatalf("%s: no error", q)
		}
		return fmt.Errorf("reencrypt: reading contacts: %w", err)
	}
	// A busy database: a second connection that will not wait for the
	// first one's write lock.
	hold, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	if _, err := hold.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	defer hold.ExecContext(ctx, "ROLLBACK")
	other, err := sql.Open("sqlite", strings.Replace(db.dsn, "busy_timeout(20000)", "busy_timeout(0)", 1))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	_, busy := other.ExecContext(ctx, "INSERT INTO contacts (email) VALUES ('a')")
	if busy == nil {
		t.Fatal("a write while another connection holds the write lock: no error")
	}
	return map[string]struct {
		err  error
		want bool
	}{
		"no such column": {queryErr("SELECT notes FROM contacts"), true},
		"no such table":  {queryErr("SELECT id FROM leads"), true},
		"syntax error":   {queryErr("SELEKT id FROM contacts"), true},
		"busy":           {busy, false},
	}
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
			{"encrypted column", func(t *reencrypt.Table) { t.Encrypted[0].Column = "full_name" }, "full_name"},
			{"scope column", func(t *reencrypt.Table) { t.Scope = "tenant" }, "tenant"},
			{"table", func(t *reencrypt.Table) { t.Name = "leads" }, ""},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				tab := good
				tab.IDs = append([]reencrypt.IDColumn(nil), good.IDs...)
				tab.Encrypted = append([]reencrypt.EncryptedColumn(nil), good.Encrypted...)
				tab.Indexes = append([]reencrypt.IndexColumn(nil), good.Indexes...)
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
		if _, err := app.Keyring().Shred(ctx, "tenant-0"); err != nil {
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
			if _, err := k.keyring(t).Keys(ctx, id); !errors.Is(err, keyring.ErrScopeShredded) {
				t.Errorf("Keys(%s) after the job err = %v, want ErrScopeShredded", id, err)
			}
		}
	})
}
