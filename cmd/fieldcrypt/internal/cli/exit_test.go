package cli_test

import (
	"strings"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/cmd/fieldcrypt/internal/cli"
)

// TestJobExitCodes checks the job commands against the exit-code table of
// docs/ROTATION.md: 0 done, 1 failed or refused, 2 partial (rows left
// behind, rows not current, interrupted), 64 usage or configuration.
func TestJobExitCodes(t *testing.T) {
	h := newHarness(t)
	c := newCRM(t, h)
	h.mustRun(t, "keys", "init", "--scope", "acme")
	c.insert(t, openKeyring(t, h.store, h.keks), "acme", 6)
	other := h.newKEK(t, "other")
	base := h.config

	type step struct {
		name   string
		before func(t *testing.T)
		args   []string
		code   int
		want   string // in stdout or stderr
	}
	steps := []step{
		{"dry run, nothing to do", nil, []string{"reencrypt", "--dry-run"}, cli.ExitOK, "outcome: done"},
		{"verify, every row current", nil, []string{"verify"}, cli.ExitOK, "outcome: done"},
		{"keys rewrap --dry-run", nil, []string{"keys", "rewrap", "--dry-run"}, cli.ExitOK, "dry run: 4 keysets would be rewrapped"},
		{"dry run, rows to rewrite", func(t *testing.T) {
			h.mustRun(t, "keys", "rotate", "--scope", "acme", "--class", "pii")
		}, []string{"reencrypt", "--dry-run"}, cli.ExitPartial, "some rows would be rewritten"},
		{"verify, rows not current", nil, []string{"verify"}, cli.ExitPartial, "not current"},
		{"dry run, a broken row", func(t *testing.T) {
			if _, err := c.db.Exec(`UPDATE contacts SET email = 'fc1:AAAA' WHERE id = 'acme-002'`); err != nil {
				t.Fatal(err)
			}
		}, []string{"reencrypt", "--dry-run"}, cli.ExitPartial, "acme-002"},
		{"dry run, a KEK that refuses", nil, []string{"--kek", "pii=" + other, "reencrypt", "--dry-run"}, cli.ExitFailed, "stopped at a keyset the keyring cannot open"},
		{"dry run with --restart", nil, []string{"reencrypt", "--dry-run", "--restart"}, cli.ExitUsage, "--restart and --dry-run"},
		{"reencrypt, a broken row left behind", nil, []string{"reencrypt"}, cli.ExitPartial, "1 failed"},
		{"reencrypt, a configured column missing", func(t *testing.T) {
			if _, err := c.db.Exec(`ALTER TABLE contacts RENAME COLUMN email_idx TO email_index`); err != nil {
				t.Fatal(err)
			}
		}, []string{"reencrypt"}, cli.ExitUsage, "column email_idx: does not exist in the database"},
		{"status, a configured column missing", nil, []string{"status"}, cli.ExitUsage, "under indexes"},
		{"verify, a configured column missing", nil, []string{"verify"}, cli.ExitUsage, "email_idx"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			h.config = base
			if s.before != nil {
				s.before(t)
			}
			r := h.run(t, s.args...)
			if r.code != s.code || !strings.Contains(r.stdout+r.stderr, s.want) {
				t.Errorf("fieldcrypt %v: %v\nwant exit %d with %q", s.args, r, s.code, s.want)
			}
		})
	}
}

// TestJobKEKErrorIsOneError: a job whose pii KEK refuses the keysets fails
// with exit 1 and one error, not a failed row per row.
func TestJobKEKErrorIsOneError(t *testing.T) {
	h := newHarness(t)
	c := newCRM(t, h)
	h.mustRun(t, "keys", "init", "--scope", "acme")
	c.insert(t, openKeyring(t, h.store, h.keks), "acme", 40)
	h.mustRun(t, "keys", "rotate", "--scope", "acme", "--class", "pii")
	r := h.run(t, "--kek", "pii="+h.newKEK(t, "other"), "reencrypt", "--json")
	if r.code != cli.ExitFailed {
		t.Fatalf("reencrypt with a pii KEK that refuses the keysets: %v\nwant exit 1", r)
	}
	sum := parseSummary(t, r.stdout)
	if sum.Outcome != "failed" || sum.Tables[0].Failed != 0 || sum.Tables[0].Rewritten != 0 {
		t.Errorf("summary = %+v, want failed with no row counted", sum)
	}
	if n := strings.Count(r.stderr, "fieldcrypt: "); n != 1 || strings.Contains(r.stderr, "row left as it was") || strings.Contains(r.stderr, "retrying") {
		t.Errorf("stderr holds %d errors, or failed rows, or retries; want one error:\n%s", n, r.stderr)
	}
	if !strings.Contains(r.stderr, "not configured for its class") || !strings.Contains(r.stderr, "acme/pii/data") {
		t.Errorf("the error does not say which keyset and why:\n%s", r.stderr)
	}
}

// TestJobAlreadyComplete: running a finished job again after another
// rotation says that the job is complete and how to start a new pass.
func TestJobAlreadyComplete(t *testing.T) {
	h := newHarness(t)
	c := newCRM(t, h)
	h.mustRun(t, "keys", "init", "--scope", "acme")
	c.insert(t, openKeyring(t, h.store, h.keks), "acme", 5)
	h.mustRun(t, "reencrypt")
	h.mustRun(t, "keys", "rotate", "--scope", "acme", "--class", "pii")

	r := h.mustRun(t, "reencrypt")
	for _, want := range []string{`job "contacts" was already complete`, "nothing was done", "fieldcrypt reencrypt --restart", "new --job name"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("reencrypt of a finished job: stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	if !strings.Contains(r.stderr, "job already complete") {
		t.Errorf("reencrypt of a finished job logged no warning:\n%s", r.stderr)
	}
	if s := h.status(t); s.NotPrimary != 5 {
		t.Fatalf("status: not_primary = %d, want 5", s.NotPrimary)
	}
	r = h.mustRun(t, "reencrypt", "--restart", "--json")
	if sum := parseSummary(t, r.stdout); sum.Tables[0].Rewritten != 5 {
		t.Errorf("reencrypt --restart = %+v, want 5 rewritten", sum)
	}
	if s := h.status(t); s.NotPrimary != 0 {
		t.Errorf("status after --restart: not_primary = %d, want 0", s.NotPrimary)
	}
}
