package cli_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/cmd/fieldcrypt/internal/cli"
)

// cancelOn is a stderr that cancels the command's context (as Ctrl-C
// does) once what was written holds mark: an audit event that says a
// first step of the work was done.
type cancelOn struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	mark   string
	cancel context.CancelFunc
}

func (w *cancelOn) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.mark) {
		w.cancel()
	}
	return n, err
}

// runInterrupted runs fieldcrypt and interrupts it once stderr holds mark.
func (h *harness) runInterrupted(t *testing.T, mark string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stderr := &cancelOn{mark: mark, cancel: cancel}
	var out bytes.Buffer
	code := cli.Run(ctx, append([]string{"--config", h.config, "--log-format", "json"}, args...), cli.Env{
		Stdin: strings.NewReader(""), Stdout: &out, Stderr: stderr, Environ: h.environ,
	})
	raw := stderr.buf.String()
	return result{code, out.String(), stderrText(raw), raw}
}

// TestInterruptedAfterPartOfTheWork: keys rewrap, shred, add and rotate
// interrupted after their first keyset exit 2 (partial), as the
// exit-code table says; rotate and add print how to promote the keys they
// added. Interrupted before doing anything, a command exits 1.
func TestInterruptedAfterPartOfTheWork(t *testing.T) {
	h := newHarness(t)
	for _, scope := range []string{"acme", "globex", "initech"} {
		h.mustRun(t, "keys", "init", "--scope", scope)
	}
	cases := []struct {
		name string
		mark string // the audit event of the first step
		args []string
		want []string
	}{
		{"keys rewrap", `"keyset rewrapped"`, []string{"keys", "rewrap"}, []string{"rewrap stopped after 1 of"}},
		{"keys shred", `"keyset shredded"`, []string{"keys", "shred", "--scope", "acme", "--yes"}, []string{"run it again to finish"}},
		{"keys add", `"add key"`, []string{"keys", "add", "--scope", "globex", "--purpose", "all"}, []string{"promote them with", "fieldcrypt keys promote --scope globex"}},
		{"keys rotate while adding", `"add key"`, []string{"keys", "rotate", "--scope", "initech", "--purpose", "all", "--propagation", "1m"}, []string{"promote them with", "fieldcrypt keys promote --scope initech"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := h.runInterrupted(t, tc.mark, tc.args...)
			if r.code != cli.ExitPartial {
				t.Fatalf("fieldcrypt %s interrupted after its first keyset: %v\nwant exit 2 (partial)", tc.name, r)
			}
			for _, want := range append(tc.want, "interrupted") {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("fieldcrypt %s interrupted: stderr lacks %q:\n%s", tc.name, want, r.stderr)
				}
			}
		})
	}
	t.Run("before any work", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if r := h.runIn(t, ctx, "", "keys", "rewrap"); r.code != cli.ExitFailed {
			t.Errorf("keys rewrap interrupted before any work: %v\nwant exit 1", r)
		}
	})
}
