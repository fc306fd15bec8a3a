package reencrypt

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// The job tables, in the connection's default schema (or database). Run
// creates them when they are missing.
const (
	JobsTable   = "fieldcrypt_jobs"
	RangesTable = "fieldcrypt_job_ranges"
)

// Range and job states.
const (
	statePending = "pending"
	stateRunning = "running"
	stateDone    = "done"
)

// ErrJobMismatch means a job of the same name exists for another table or
// primary key. Choose another job name, or Restart it.
var ErrJobMismatch = errors.New("reencrypt: a job of this name exists for another table")

// ErrJobChanged means a job that has not finished was started with
// another description of its table (another [Table.Fingerprint]): the rows
// it already rewrote follow that description. Finish the job with the
// description it started with, or restart it (Options.Restart, fieldcrypt
// reencrypt --restart) for a new pass under the new one.
var ErrJobChanged = errors.New("reencrypt: the table's description changed since the job started")

// errLeaseLost means another worker took over a range this worker was
// working on (its lease had expired). The batch was rolled back.
var errLeaseLost = errors.New("reencrypt: lease on range lost to another worker")

// fingerprintColumn is the column of JobsTable that holds the
// Table.Fingerprint a job started with; job tables created before it
// existed gain it when a job next runs (NULL: adopt the current one).
const fingerprintColumn = "table_sha256"

func jobTablesDDL(d Dialect) []string {
	text, name, blob, bigint := "TEXT", "TEXT", "TEXT", "BIGINT"
	suffix := ""
	switch d {
	case MySQL:
		name = "VARCHAR(200) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
		text = "VARCHAR(200) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
		blob = "BLOB" // keys as the driver sends them back: bytes
		suffix = " ENGINE=InnoDB"
	case SQLite:
		bigint = "INTEGER"
	}
	return []string{
		`CREATE TABLE IF NOT EXISTS ` + JobsTable + ` (
	name        ` + name + ` NOT NULL PRIMARY KEY,
	table_name  ` + text + ` NOT NULL,
	primary_key ` + text + ` NOT NULL,
	state       ` + text + ` NOT NULL,
	ranges      ` + bigint + ` NOT NULL,
	rows_est    ` + bigint + ` NOT NULL,
	created_ms  ` + bigint + ` NOT NULL,
	finished_ms ` + bigint + ` NULL,
	` + fingerprintColumn + ` ` + text + ` NULL
)` + suffix,
		`CREATE TABLE IF NOT EXISTS ` + RangesTable + ` (
	job         ` + name + ` NOT NULL,
	range_no    ` + bigint + ` NOT NULL,
	lo          ` + blob + ` NULL,
	hi          ` + blob + ` NULL,
	last_pk     ` + blob + ` NULL,
	state       ` + text + ` NOT NULL,
	owner       ` + text + ` NULL,
	run_id      ` + text + ` NULL,
	token       ` + text + ` NULL,
	lease_ms    ` + bigint + ` NULL,
	claims      ` + bigint + ` NOT NULL,
	batches     ` + bigint + ` NOT NULL,
	rows_est    ` + bigint + ` NOT NULL,
	rows_done   ` + bigint + ` NOT NULL,
	rewritten   ` + bigint + ` NOT NULL,
	left_behind ` + bigint + ` NOT NULL,
	updated_ms  ` + bigint + ` NOT NULL,
	PRIMARY KEY (job, range_no)
)` + suffix,
	}
}

// jobTables reads and writes one job's rows in the job tables.
type jobTables struct {
	db     *sql.DB
	d      Dialect
	l      *layout
	job    string
	worker string
	runID  string
	lease  int64        // milliseconds
	tokens atomic.Int64 // claims made by this run; shared by its goroutines
}

// claimed is a range this worker holds.
type claimed struct {
	no     int64
	lo, hi sql.NullString // bounds: key > lo, key <= hi; NULL is unbounded
	last   sql.NullString // the last committed key, the checkpoint
	claims int64
	token  string
}

// q rewrites the ? markers of a statement for the dialect.
func (j *jobTables) q(query string) string { return j.d.Rebind(query) }

// now is the database clock in milliseconds, as SQL.
func (j *jobTables) now() string { return nowMillis(j.d) }

// ensure creates the job tables when they are missing.
func (j *jobTables) ensure(ctx context.Context) error {
	for i, ddl := range jobTablesDDL(j.d) {
		if _, err := j.db.ExecContext(ctx, ddl); err != nil {
			// Two workers creating the table at once can collide on
			// PostgreSQL's catalog; it is fine if the table is there now.
			table := []string{JobsTable, RangesTable}[i]
			if _, err2 := j.db.ExecContext(ctx, "SELECT 1 FROM "+table+" WHERE 1 = 0"); err2 != nil {
				return fmt.Errorf("reencrypt: creating %s: %w", table, err)
			}
		}
	}
	return j.upgrade(ctx)
}

// upgrade adds the fingerprint column to a jobs table created before it
// existed. The column is probed rather than added with IF NOT EXISTS,
// which neither MySQL nor SQLite has; when two workers add it at once,
// the loser's ALTER fails and the probe then finds the column.
func (j *jobTables) upgrade(ctx context.Context) error {
	probe := func() error {
		rows, err := j.db.QueryContext(ctx, "SELECT "+fingerprintColumn+" FROM "+JobsTable+" WHERE 1 = 0")
		if err != nil {
			return err
		}
		return rows.Close()
	}
	if probe() == nil {
		return nil
	}
	typ := "TEXT"
	if j.d == MySQL {
		typ = "VARCHAR(200) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
	}
	if _, err := j.db.ExecContext(ctx, "ALTER TABLE "+JobsTable+" ADD COLUMN "+fingerprintColumn+" "+typ+" NULL"); err != nil {
		if probe() == nil {
			return nil
		}
		return fmt.Errorf("reencrypt: adding column %s to %s: %w", fingerprintColumn, JobsTable, err)
	}
	return nil
}

// restart deletes the job, so that open plans it again.
func (j *jobTables) restart(ctx context.Context) error {
	tx, err := j.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, j.q("DELETE FROM "+RangesTable+" WHERE job = ?"), j.job); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, j.q("DELETE FROM "+JobsTable+" WHERE name = ?"), j.job); err != nil {
		return err
	}
	return tx.Commit()
}

// open plans the job if it does not exist yet (one worker plans; the
// others wait for it on the job row's lock) and reports whether it is
// already complete.
func (j *jobTables) open(ctx context.Context, rangeSize int) (complete bool, err error) {
	tx, err := j.db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	insert := "INSERT INTO " + JobsTable + " (name, table_name, primary_key, state, ranges, rows_est, created_ms, " + fingerprintColumn + ") VALUES (?, ?, ?, ?, 0, 0, " + j.now() + ", ?)"
	switch j.d {
	case Postgres:
		insert += " ON CONFLICT (name) DO NOTHING"
	case MySQL:
		insert = strings.Replace(insert, "INSERT", "INSERT IGNORE", 1)
	case SQLite:
		insert = strings.Replace(insert, "INSERT", "INSERT OR IGNORE", 1)
	}
	res, err := tx.ExecContext(ctx, j.q(insert), j.job, j.l.t.Name, j.l.t.PrimaryKey, stateRunning, j.l.t.Fingerprint())
	if err != nil {
		return false, fmt.Errorf("reencrypt: creating job %q: %w", j.job, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return false, err
	} else if n == 0 {
		tx.Rollback()
		return j.existing(ctx)
	}

	var total int64
	if err := tx.QueryRowContext(ctx, j.l.countRows()).Scan(&total); err != nil {
		return false, fmt.Errorf("reencrypt: counting rows of %s: %w", j.l.t.Name, err)
	}
	bounds, err := boundaries(ctx, tx, j.l, rangeSize)
	if err != nil {
		return false, err
	}
	// Range i holds keys in (bounds[i-1], bounds[i]]; the first and last
	// are open-ended, so rows inserted later at either end are covered.
	n := len(bounds) + 1
	const chunk = 100
	for start := 0; start < n; start += chunk {
		end := min(n, start+chunk)
		var b strings.Builder
		var args []any
		b.WriteString("INSERT INTO " + RangesTable + " (job, range_no, lo, hi, last_pk, state, claims, batches, rows_est, rows_done, rewritten, left_behind, updated_ms) VALUES ")
		for i := start; i < end; i++ {
			if i > start {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?, ?, NULL, ?, 0, 0, ?, 0, 0, 0, " + j.now() + ")")
			var lo, hi any
			if i > 0 {
				lo = bounds[i-1]
			}
			if i < len(bounds) {
				hi = bounds[i]
			}
			est := int64(rangeSize)
			if i == n-1 {
				est = max(0, total-int64(rangeSize)*int64(n-1))
			}
			args = append(args, j.job, int64(i), lo, hi, statePending, est)
		}
		if _, err := tx.ExecContext(ctx, j.q(b.String()), args...); err != nil {
			return false, fmt.Errorf("reencrypt: planning job %q: %w", j.job, err)
		}
	}
	if _, err := tx.ExecContext(ctx, j.q("UPDATE "+JobsTable+" SET ranges = ?, rows_est = ? WHERE name = ?"), int64(n), total, j.job); err != nil {
		return false, err
	}
	return false, tx.Commit()
}

// existing checks that the job's row describes this table, with the
// description the job started with, and reports whether it is complete. A
// job row from before fingerprints were kept (NULL) adopts this run's. A
// complete job is not checked: it writes nothing more.
func (j *jobTables) existing(ctx context.Context) (bool, error) {
	var table, key, state string
	var started sql.NullString
	err := j.db.QueryRowContext(ctx, j.q("SELECT table_name, primary_key, state, "+fingerprintColumn+" FROM "+JobsTable+" WHERE name = ?"), j.job).
		Scan(&table, &key, &state, &started)
	if err != nil {
		return false, fmt.Errorf("reencrypt: reading job %q: %w", j.job, err)
	}
	if table != j.l.t.Name || key != j.l.t.PrimaryKey {
		return false, fmt.Errorf("%w: job %q is for %s (key %s), not %s (key %s)", ErrJobMismatch, j.job, table, key, j.l.t.Name, j.l.t.PrimaryKey)
	}
	if state == stateDone {
		return true, nil
	}
	now := j.l.t.Fingerprint()
	switch {
	case !started.Valid:
		_, err := j.db.ExecContext(ctx, j.q("UPDATE "+JobsTable+" SET "+fingerprintColumn+" = ? WHERE name = ? AND "+fingerprintColumn+" IS NULL"), now, j.job)
		if err != nil {
			return false, fmt.Errorf("reencrypt: recording the description of job %q: %w", j.job, err)
		}
		return j.existing(ctx) // another worker may have recorded its own first
	case started.String != now:
		return false, fmt.Errorf("%w: job %q on table %s started with a description of fingerprint %.12s, the configuration now gives %.12s "+
			"(an encrypted or blind-index column, a class, a transform, a width, a name, the scope or the identities changed); "+
			"finish the job with the description it started with, or restart it (Options.Restart, fieldcrypt reencrypt --restart) "+
			"for a new pass under the new one", ErrJobChanged, j.job, table, started.String, now)
	}
	return false, nil
}

// querier is a *sql.DB or a *sql.Tx.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// boundaries returns every size-th key in key order: the upper bounds of
// ranges of size rows. It walks the key index once.
func boundaries(ctx context.Context, q querier, l *layout, size int) ([]string, error) {
	var out []string
	var after any
	for {
		var args []any
		if after != nil {
			args = append(args, after)
		}
		args = append(args, int64(size-1))
		var v any
		err := q.QueryRowContext(ctx, l.selectBoundary(after != nil), args...).Scan(&v)
		if errors.Is(err, sql.ErrNoRows) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reencrypt: splitting %s into ranges: %w", l.t.Name, err)
		}
		if after, err = keyValue(l.t.keyType(), v); err != nil {
			return nil, &ConfigError{Table: l.t.Name, Column: l.t.PrimaryKey, Msg: err.Error()}
		}
		out = append(out, keyString(after))
	}
}

// claim takes the first range that is not done and not leased by another
// live worker, or returns nil when there is none. On PostgreSQL and MySQL
// concurrent claims skip each other's rows (SKIP LOCKED).
func (j *jobTables) claim(ctx context.Context) (*claimed, error) {
	c := &claimed{token: j.runID + "-" + strconv.FormatInt(j.tokens.Add(1), 10)}
	claimable := "job = ? AND state <> '" + stateDone + "' AND (lease_ms IS NULL OR lease_ms < " + j.now() + " OR (owner = ? AND run_id <> ?))"
	set := "state = '" + stateRunning + "', owner = ?, run_id = ?, token = ?, lease_ms = " + j.now() + " + ?, claims = claims + 1, updated_ms = " + j.now()
	cols := "range_no, lo, hi, last_pk, claims"
	if j.d == SQLite {
		res, err := j.db.ExecContext(ctx, "UPDATE "+RangesTable+" SET "+set+" WHERE job = ? AND range_no = (SELECT range_no FROM "+RangesTable+" WHERE "+claimable+" ORDER BY range_no LIMIT 1)",
			j.worker, j.runID, c.token, j.lease, j.job, j.job, j.worker, j.runID)
		if err != nil {
			return nil, fmt.Errorf("reencrypt: claiming a range: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return nil, err
		}
		err = j.db.QueryRowContext(ctx, "SELECT "+cols+" FROM "+RangesTable+" WHERE job = ? AND token = ?", j.job, c.token).
			Scan(&c.no, &c.lo, &c.hi, &c.last, &c.claims)
		if err != nil {
			return nil, fmt.Errorf("reencrypt: reading claimed range: %w", err)
		}
		return c, nil
	}
	tx, err := j.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	err = tx.QueryRowContext(ctx, j.q("SELECT "+cols+" FROM "+RangesTable+" WHERE "+claimable+" ORDER BY range_no LIMIT 1"+skipLocked(j.d)),
		j.job, j.worker, j.runID).Scan(&c.no, &c.lo, &c.hi, &c.last, &c.claims)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reencrypt: claiming a range: %w", err)
	}
	if _, err := tx.ExecContext(ctx, j.q("UPDATE "+RangesTable+" SET "+set+" WHERE job = ? AND range_no = ?"),
		j.worker, j.runID, c.token, j.lease, j.job, c.no); err != nil {
		return nil, fmt.Errorf("reencrypt: claiming range %d: %w", c.no, err)
	}
	c.claims++
	return c, tx.Commit()
}

// batchCounts is what one committed batch adds to its range's counters.
type batchCounts struct {
	rows, rewritten, leftBehind int64
}

// advance moves the range's checkpoint to last inside the batch's
// transaction, renews the lease, and fails with errLeaseLost when another
// worker has taken the range over: the batch's writes then roll back.
func (j *jobTables) advance(ctx context.Context, tx *sql.Tx, c *claimed, last sql.NullString, done bool, n batchCounts) error {
	state := stateRunning
	if done {
		state = stateDone
	}
	res, err := tx.ExecContext(ctx, j.q("UPDATE "+RangesTable+" SET last_pk = ?, state = ?, batches = batches + 1, rows_done = rows_done + ?, rewritten = rewritten + ?, left_behind = left_behind + ?, lease_ms = "+j.now()+" + ?, updated_ms = "+j.now()+" WHERE job = ? AND range_no = ? AND token = ?"),
		last, state, n.rows, n.rewritten, n.leftBehind, j.lease, j.job, c.no, c.token)
	if err != nil {
		return fmt.Errorf("reencrypt: checkpointing range %d: %w", c.no, err)
	}
	if k, err := res.RowsAffected(); err != nil {
		return err
	} else if k != 1 {
		return errLeaseLost
	}
	return nil
}

// checkpoint reads a claimed range's stored checkpoint and whether it is
// done; errLeaseLost when another worker holds it now.
func (j *jobTables) checkpoint(ctx context.Context, c *claimed) (last sql.NullString, done bool, err error) {
	var state string
	var token sql.NullString
	err = j.db.QueryRowContext(ctx, j.q("SELECT last_pk, state, token FROM "+RangesTable+" WHERE job = ? AND range_no = ?"), j.job, c.no).
		Scan(&last, &state, &token)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return last, false, errLeaseLost // the job was restarted
	case err != nil:
		return last, false, fmt.Errorf("reencrypt: reading range %d: %w", c.no, err)
	case token.String != c.token:
		return last, false, errLeaseLost
	}
	return last, state == stateDone, nil
}

// release gives a range back (the run is stopping), so that another worker
// or the next run can take it at once.
func (j *jobTables) release(ctx context.Context, c *claimed) error {
	_, err := j.db.ExecContext(ctx, j.q("UPDATE "+RangesTable+" SET state = CASE WHEN state = '"+stateDone+"' THEN state ELSE '"+statePending+"' END, owner = NULL, run_id = NULL, token = NULL, lease_ms = NULL, updated_ms = "+j.now()+" WHERE job = ? AND range_no = ? AND token = ?"),
		j.job, c.no, c.token)
	return err
}

// totals reads the state of the whole job.
func (j *jobTables) totals(ctx context.Context) (JobTotals, error) {
	var t JobTotals
	var ranges, done int64
	sum := func(expr string) string { return "COALESCE(" + bigint(j.d, "SUM("+expr+")") + ", 0)" }
	err := j.db.QueryRowContext(ctx, j.q("SELECT COUNT(*), "+sum("CASE WHEN state = '"+stateDone+"' THEN 1 ELSE 0 END")+", "+
		sum("rows_est")+", "+sum("rows_done")+", "+sum("rewritten")+", "+sum("left_behind")+" FROM "+RangesTable+" WHERE job = ?"), j.job).
		Scan(&ranges, &done, &t.Estimate, &t.Rows, &t.Rewritten, &t.LeftBehind)
	if err != nil {
		return t, fmt.Errorf("reencrypt: reading job %q: %w", j.job, err)
	}
	t.Ranges, t.RangesDone = int(ranges), int(done)
	t.Complete = ranges > 0 && ranges == done
	return t, nil
}

// finish marks the job complete.
func (j *jobTables) finish(ctx context.Context) error {
	_, err := j.db.ExecContext(ctx, j.q("UPDATE "+JobsTable+" SET state = ?, finished_ms = "+j.now()+" WHERE name = ? AND state <> ?"), stateDone, j.job, stateDone)
	return err
}

// held is what another worker holds of a job: its live leases.
type held struct {
	owner          string
	ranges         int64
	leftMs, idleMs int64 // until its last lease expires; since its last committed batch
}

// heldByOthers returns, per other worker, the ranges it holds under a lease
// that has not expired.
func (j *jobTables) heldByOthers(ctx context.Context) ([]held, error) {
	rows, err := j.db.QueryContext(ctx, j.q("SELECT owner, COUNT(*), "+bigint(j.d, "MAX(lease_ms) - "+j.now())+", "+bigint(j.d, j.now()+" - MAX(updated_ms)")+
		" FROM "+RangesTable+" WHERE job = ? AND state <> '"+stateDone+"' AND lease_ms >= "+j.now()+
		" AND owner IS NOT NULL AND NOT (owner = ? AND run_id = ?) GROUP BY owner ORDER BY owner"), j.job, j.worker, j.runID)
	if err != nil {
		return nil, fmt.Errorf("reencrypt: reading the leases of job %q: %w", j.job, err)
	}
	defer rows.Close()
	var out []held
	for rows.Next() {
		var h held
		if err := rows.Scan(&h.owner, &h.ranges, &h.leftMs, &h.idleMs); err != nil {
			return nil, fmt.Errorf("reencrypt: reading the leases of job %q: %w", j.job, err)
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// finishedAt returns when the job was marked complete (zero if unknown).
func (j *jobTables) finishedAt(ctx context.Context) (time.Time, error) {
	var ms sql.NullInt64
	err := j.db.QueryRowContext(ctx, j.q("SELECT finished_ms FROM "+JobsTable+" WHERE name = ?"), j.job).Scan(&ms)
	if err != nil || !ms.Valid {
		return time.Time{}, err
	}
	return time.UnixMilli(ms.Int64).UTC(), nil
}
