package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/reencrypt"
)

// jobFlags are the flags of reencrypt and verify.
type jobFlags struct {
	tables      []string
	batchSize   int
	concurrency int
	rate        float64
	dryRun      bool
	migrate     bool
	restart     bool
	job         string
	worker      string
	summaryPath string
	asJSON      bool
}

func (f *jobFlags) register(fs *pflag.FlagSet, reencrypting bool) {
	fs.StringArrayVar(&f.tables, "table", nil, "work on this configured table only (repeatable; default: every table)")
	fs.IntVar(&f.batchSize, "batch-size", reencrypt.DefaultBatchSize, "rows read, and written in one transaction, at a time")
	fs.IntVar(&f.concurrency, "concurrency", 1, "key ranges worked on at once by this process (SQLite: always 1 when writing)")
	fs.Float64Var(&f.rate, "rate", 0, "rows read per second at most by this process (0: no limit)")
	fs.StringVar(&f.summaryPath, "summary-json", "", "also write the JSON summary to this file")
	fs.BoolVar(&f.asJSON, "json", false, "print the JSON summary on stdout instead of the text one")
	if reencrypting {
		fs.BoolVar(&f.dryRun, "dry-run", false, "count what would be rewritten; write nothing, not even the job tables")
		fs.BoolVar(&f.migrate, "migrate", false, "encrypt legacy plaintext found in encrypted columns, with the row's missing blind indexes and tokens (otherwise skipped and counted)")
		fs.BoolVar(&f.restart, "restart", false, "discard the job's progress and start a new pass (never while other workers run it)")
		fs.StringVar(&f.job, "job", "", "job name shared by the workers of one job (default: the table name; with several tables, NAME/TABLE)")
		fs.StringVar(&f.worker, "worker", "", "this worker's name, unique among live workers (default: host-pid)")
	}
}

// options returns the job options for table t.
func (f *jobFlags) options(a *app, t reencrypt.Table, ntables int) *reencrypt.Options {
	job := f.job
	if job != "" && ntables > 1 {
		job += "/" + t.Name
	}
	progress, log := a.jobReporting()
	return &reencrypt.Options{
		Job: job, Worker: f.worker, BatchSize: f.batchSize, Concurrency: f.concurrency, Rate: f.rate,
		Migrate: f.migrate, DryRun: f.dryRun, Restart: f.restart, Progress: progress, Logger: log, Lease: a.cfg.Lease,
	}
}

func (f *jobFlags) check() error {
	switch {
	case f.batchSize <= 0:
		return usagef("--batch-size %d: must be positive", f.batchSize)
	case f.concurrency <= 0:
		return usagef("--concurrency %d: must be positive", f.concurrency)
	case f.rate < 0:
		return usagef("--rate %v: must not be negative", f.rate)
	case f.restart && f.dryRun:
		return usagef("--restart and --dry-run: a dry run writes nothing, so it cannot restart a job")
	}
	return nil
}

// jobReport is the JSON summary of a reencrypt or verify run.
type jobReport struct {
	Mode    reencrypt.Mode       `json:"mode"`
	Outcome reencrypt.Outcome    `json:"outcome"`
	Tables  []*reencrypt.Summary `json:"tables"`
}

// runJob runs reencrypt (or a dry run) or verify over the selected tables,
// one after the other, and reports.
func (a *app) runJob(cmd *cobra.Command, f *jobFlags, verify bool) error {
	ctx := cmd.Context()
	if err := f.check(); err != nil {
		return err
	}
	kr, _, err := a.keyring(ctx, false)
	if err != nil {
		return err
	}
	jdb, err := a.openJobDB(ctx, f.tables)
	if err != nil {
		return err
	}
	enc := crypt.New(kr, nil)
	rep := jobReport{Mode: reencrypt.ModeReencrypt, Outcome: reencrypt.Done}
	switch {
	case verify:
		rep.Mode = reencrypt.ModeVerify
	case f.dryRun:
		rep.Mode = reencrypt.ModeDryRun
	}
	var runErr error
	for _, t := range jdb.tables {
		opts := f.options(a, t, len(jdb.tables))
		var sum *reencrypt.Summary
		if verify {
			sum, err = reencrypt.Verify(ctx, jdb.db, jdb.dialect, enc, t, opts)
		} else {
			sum, err = reencrypt.Run(ctx, jdb.db, jdb.dialect, enc, t, opts)
		}
		if sum == nil {
			sum = &reencrypt.Summary{Mode: rep.Mode, Table: t.Name, Outcome: reencrypt.Failed}
			if err != nil {
				sum.Error = err.Error()
			}
		}
		rep.Tables = append(rep.Tables, sum)
		if sum.Outcome == reencrypt.Failed {
			rep.Outcome = reencrypt.Failed
			runErr = fmt.Errorf("%s of table %s failed: %w", rep.Mode, t.Name, errOr(err, sum.Error))
			break
		}
		if sum.Outcome == reencrypt.Partial {
			rep.Outcome = reencrypt.Partial
		}
		if ctx.Err() != nil {
			rep.Outcome = reencrypt.Partial
			break
		}
	}
	if err := a.writeReport(cmd.OutOrStdout(), f, rep); err != nil {
		return err
	}
	switch {
	case runErr != nil:
		return tablesError(runErr)
	case rep.Outcome == reencrypt.Partial:
		return &exitError{code: ExitPartial, err: partialError(rep)}
	}
	return nil
}

// errOr returns err, or an error with msg when err is nil.
func errOr(err error, msg string) error {
	if err != nil {
		return err
	}
	return errors.New(msg)
}

func partialError(rep jobReport) error {
	var parts []string
	for _, s := range rep.Tables {
		if s.Outcome != reencrypt.Done {
			parts = append(parts, fmt.Sprintf("%s: %d failed, %d skipped, %d not current", s.Table, s.Failed, s.Skipped, s.Rewritten))
		}
	}
	what := "some rows were left behind"
	switch rep.Mode {
	case reencrypt.ModeVerify:
		what = "some rows are not current or do not decrypt"
	case reencrypt.ModeDryRun:
		what = "some rows would be rewritten"
	}
	if len(parts) == 0 {
		return fmt.Errorf("%s: partial: the run was interrupted (run again to resume)", rep.Mode)
	}
	return fmt.Errorf("%s: partial: %s (%s)", rep.Mode, what, strings.Join(parts, "; "))
}

// writeReport writes the JSON summary to --summary-json and prints the
// summary on w: JSON with --json, text otherwise.
func (a *app) writeReport(w io.Writer, f *jobFlags, rep jobReport) error {
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the summary: %w", err)
	}
	data = append(data, '\n')
	if f.summaryPath != "" {
		if err := os.WriteFile(f.summaryPath, data, 0o644); err != nil {
			return fmt.Errorf("writing the summary: %w", err)
		}
	}
	if f.asJSON {
		_, err := w.Write(data)
		return err
	}
	for _, s := range rep.Tables {
		if s.AlreadyComplete {
			finished := ""
			if s.JobFinished != nil {
				finished = " on " + s.JobFinished.Format(time.RFC3339)
			}
			fmt.Fprintf(w, "%s %s: job %q was already complete (it finished%s): nothing was done. "+
				"After another rotation, run `fieldcrypt reencrypt --restart` for a new pass, or give a new --job name\n", s.Mode, s.Table, s.Job, finished)
			continue
		}
		fmt.Fprintf(w, "%s %s: %s: scanned %d, current %d, %s %d, failed %d, skipped %d, legacy %d, conflicts %d (%v)\n",
			s.Mode, s.Table, s.Outcome, s.Scanned, s.Current, rewrittenWord(s.Mode), s.Rewritten, s.Failed, s.Skipped, s.Legacy, s.Conflicts,
			s.Duration.Round(time.Millisecond))
		for reason, n := range s.Failures {
			fmt.Fprintf(w, "  %s: %d rows\n", reason, n)
		}
		for _, r := range s.FailedRows {
			fmt.Fprintf(w, "  row %s %s: %s\n", r.Key, r.Column, r.Reason)
		}
		if s.Error != "" {
			fmt.Fprintf(w, "  error: %s\n", s.Error)
		}
		if jt := s.JobTotals; jt != nil {
			fmt.Fprintf(w, "  job %s: %d/%d ranges done, %d rows processed, %d rewritten, %d left behind, complete %v\n",
				s.Job, jt.RangesDone, jt.Ranges, jt.Rows, jt.Rewritten, jt.LeftBehind, jt.Complete)
		}
	}
	fmt.Fprintf(w, "outcome: %s\n", rep.Outcome)
	return nil
}

func rewrittenWord(m reencrypt.Mode) string {
	switch m {
	case reencrypt.ModeDryRun:
		return "would rewrite"
	case reencrypt.ModeVerify:
		return "not current"
	}
	return "rewritten"
}
