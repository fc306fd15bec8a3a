package reencrypt

import (
	"encoding/json"
	"sync"
	"time"
)

// Mode says what a run did.
type Mode string

// The modes.
const (
	ModeReencrypt Mode = "reencrypt" // rewrote stale rows
	ModeDryRun    Mode = "dry-run"   // counted what it would rewrite; wrote nothing
	ModeVerify    Mode = "verify"    // checked every row; wrote nothing
)

// Outcome is how a run ended; the fieldcrypt tool maps it to its exit
// code.
type Outcome string

// The outcomes.
const (
	// Done: the job is complete and no row was left behind (re-encryption);
	// every row is current (dry run: there is nothing to do; verify: every
	// value decrypts, is under its primary key, and every index is right).
	Done Outcome = "done"
	// Partial: the run stopped before the job was complete (its context
	// was cancelled; run again to resume), or rows were left behind
	// (failed, legacy plaintext without Migrate, unresolved write
	// conflicts), or (verify, dry run) some rows are not current.
	Partial Outcome = "partial"
	// Failed: the run could not proceed: a database or KEK error that
	// persisted through retries, or a bad configuration. Progress up to the
	// last committed batch is kept; run again to resume.
	Failed Outcome = "failed"
)

// Summary is the result of a run. It serialises to JSON and holds no
// plaintext or key material; failed rows are named by primary key.
type Summary struct {
	Mode    Mode    `json:"mode"`
	Job     string  `json:"job,omitempty"`
	Worker  string  `json:"worker,omitempty"`
	Table   string  `json:"table"`
	Outcome Outcome `json:"outcome"`
	Error   string  `json:"error,omitempty"`

	// Scanned rows were read by this run, in batches it saw commit. Each
	// ends in exactly one of Current, Rewritten, Failed and Skipped. (A
	// batch whose commit answer was lost, as when the run is cancelled
	// mid-commit, may have committed uncounted: JobTotals, read from the
	// database, is authoritative.)
	Scanned int64 `json:"scanned"`
	// Current rows needed nothing: every value under its primary key, every
	// index right, or the row was deleted by a concurrent writer.
	Current int64 `json:"current"`
	// Rewritten rows were re-encrypted and written (dry run: would be;
	// verify: are stale and would be).
	Rewritten int64 `json:"rewritten"`
	// Failed rows hold a value that could not be read (see Failures); they
	// were left exactly as they were.
	Failed int64 `json:"failed"`
	// Skipped rows were left for another run: legacy plaintext without
	// Migrate, or a write conflict that persisted after one retry.
	Skipped int64 `json:"skipped"`
	// Legacy rows held plaintext in an encrypted column (encrypted when
	// Migrate was set).
	Legacy int64 `json:"legacy"`
	// Conflicts counts compare-and-swap misses: a concurrent write changed
	// the row between the job's read and its write. The row was re-read
	// and handled again.
	Conflicts int64 `json:"conflicts"`

	// Failures counts failed and skipped rows by reason: "decrypt",
	// "malformed", "index_mismatch", "no_access" (no KEK of the class at
	// all), "key_not_found", "key_disabled", "key_destroyed",
	// "scope_shredded", "keyset_not_found", "missing_scope",
	// "missing_identity", "legacy",
	// "conflict", ...
	Failures map[string]int64 `json:"failures,omitempty"`
	// FailedRows names the first failed or skipped rows (at most 100).
	FailedRows []RowFailure `json:"failed_rows,omitempty"`
	// Columns counts, per encrypted column, the values found under each key
	// ID (before rewriting) and the legacy, empty and malformed ones.
	Columns map[string]*ColumnKeys `json:"columns,omitempty"`

	// AlreadyComplete is set when the job (Job) had finished before this
	// run started, at JobFinished: the run did nothing. After another
	// rotation, a new pass needs Options.Restart or another job name.
	AlreadyComplete bool       `json:"already_complete,omitempty"`
	JobFinished     *time.Time `json:"job_finished,omitempty"`

	// Ranges is how many key ranges this worker finished; JobTotals is the
	// state of the whole job (all workers, all runs) at the end.
	Ranges    int        `json:"ranges,omitempty"`
	JobTotals *JobTotals `json:"job_totals,omitempty"`

	Started  time.Time     `json:"started"`
	Duration time.Duration `json:"-"`
}

// MarshalJSON adds the duration in seconds.
func (s *Summary) MarshalJSON() ([]byte, error) {
	type plain Summary
	return json.Marshal(struct {
		*plain
		Seconds float64 `json:"seconds"`
	}{(*plain)(s), s.Duration.Seconds()})
}

// RowFailure names a row left behind.
type RowFailure struct {
	Key    string `json:"key"`              // the primary key
	Column string `json:"column,omitempty"` // the column at fault, when known
	Reason string `json:"reason"`
}

// ColumnKeys counts the values of one encrypted column.
type ColumnKeys struct {
	Keys      map[uint32]int64 `json:"keys"` // values by key ID
	Legacy    int64            `json:"legacy"`
	Empty     int64            `json:"empty"` // NULL or empty
	Malformed int64            `json:"malformed"`
}

// JobTotals is the state of a whole job, across workers and runs.
type JobTotals struct {
	Ranges     int   `json:"ranges"`
	RangesDone int   `json:"ranges_done"`
	Rows       int64 `json:"rows"`        // rows committed as processed
	Rewritten  int64 `json:"rewritten"`   // rows rewritten
	LeftBehind int64 `json:"left_behind"` // rows failed or skipped
	Estimate   int64 `json:"estimate"`    // rows estimated when the job was planned
	Complete   bool  `json:"complete"`
}

// maxFailedRows bounds Summary.FailedRows.
const maxFailedRows = 100

// tally accumulates the counts of a run. Batches are counted in a local
// tally and merged into the run's shared one once committed.
type tally struct {
	mu                                                          sync.Mutex
	scanned, current, rewritten, failed, skipped, legacy, clash int64
	failures                                                    map[string]int64
	rows                                                        []RowFailure
	columns                                                     map[string]*ColumnKeys
	ranges                                                      int
}

func (t *tally) column(name string) *ColumnKeys {
	if t.columns == nil {
		t.columns = map[string]*ColumnKeys{}
	}
	c := t.columns[name]
	if c == nil {
		c = &ColumnKeys{Keys: map[uint32]int64{}}
		t.columns[name] = c
	}
	return c
}

func (t *tally) countValue(column string, state valueState, keyID uint32) {
	c := t.column(column)
	switch state {
	case valueEmpty:
		c.Empty++
	case valueEncrypted:
		c.Keys[keyID]++
	case valueLegacy:
		c.Legacy++
	case valueMalformed:
		c.Malformed++
	}
}

// leftBehind records a failed or skipped row.
func (t *tally) leftBehind(f RowFailure) {
	if t.failures == nil {
		t.failures = map[string]int64{}
	}
	t.failures[f.Reason]++
	if len(t.rows) < maxFailedRows {
		t.rows = append(t.rows, f)
	}
}

// add merges o into t.
func (t *tally) add(o *tally) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.scanned += o.scanned
	t.current += o.current
	t.rewritten += o.rewritten
	t.failed += o.failed
	t.skipped += o.skipped
	t.legacy += o.legacy
	t.clash += o.clash
	t.ranges += o.ranges
	for k, v := range o.failures {
		if t.failures == nil {
			t.failures = map[string]int64{}
		}
		t.failures[k] += v
	}
	for _, r := range o.rows {
		if len(t.rows) < maxFailedRows {
			t.rows = append(t.rows, r)
		}
	}
	for name, oc := range o.columns {
		c := t.column(name)
		for k, v := range oc.Keys {
			c.Keys[k] += v
		}
		c.Legacy += oc.Legacy
		c.Empty += oc.Empty
		c.Malformed += oc.Malformed
	}
}

// reset empties t for reuse by the next batch.
func (t *tally) reset() {
	cols := t.columns
	*t = tally{}
	for _, c := range cols {
		clear(c.Keys)
		c.Legacy, c.Empty, c.Malformed = 0, 0, 0
	}
	t.columns = cols
}

// snapshot returns the counts progress reports need.
func (t *tally) snapshot() (scanned, rewritten int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.scanned, t.rewritten
}

// fill copies the counts into s.
func (t *tally) fill(s *Summary) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s.Scanned, s.Current, s.Rewritten = t.scanned, t.current, t.rewritten
	s.Failed, s.Skipped, s.Legacy, s.Conflicts = t.failed, t.skipped, t.legacy, t.clash
	s.Failures, s.FailedRows, s.Columns, s.Ranges = t.failures, t.rows, t.columns, t.ranges
}
