package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"
)

// Env is what a run of the command sees of its process: standard streams,
// environment and clock. Tests fill it with buffers; [Main] with the
// process's own.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer

	// Environ is the environment as "KEY=value" strings; nil means
	// os.Environ().
	Environ []string

	// IsTerminal reports whether w is an interactive terminal, which turns
	// on progress bars and countdowns. Nil means: w is an *os.File on a
	// terminal.
	IsTerminal func(w io.Writer) bool

	// Now returns the current time for the command's own decisions, such
	// as whether a key was added longer than the propagation wait ago;
	// nil means time.Now. The keyring records creation times with the
	// real clock, so a test that sets Now moves it relative to time.Now.
	Now func() time.Time
}

func (e Env) environ() []string {
	if e.Environ == nil {
		return os.Environ()
	}
	return e.Environ
}

func (e Env) getenv(key string) string {
	for _, kv := range slices.Backward(e.environ()) {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

func (e Env) isTerminal(w io.Writer) bool {
	if e.IsTerminal != nil {
		return e.IsTerminal(w)
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func (e Env) now() time.Time {
	if e.Now == nil {
		return time.Now()
	}
	return e.Now()
}

// Main runs the fieldcrypt command with the process's arguments (without
// the program name) and streams, stops it cleanly on SIGINT or SIGTERM, and
// returns the exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return Run(ctx, args, Env{Stdin: stdin, Stdout: stdout, Stderr: stderr})
}

// Run runs the fieldcrypt command with args and returns its exit code
// (ExitOK, ExitFailed, ExitPartial or ExitUsage). Errors are printed on
// env.Stderr.
func Run(ctx context.Context, args []string, env Env) int {
	if env.Stdin == nil {
		env.Stdin = eofReader{}
	}
	if env.Stdout == nil {
		env.Stdout = io.Discard
	}
	if env.Stderr == nil {
		env.Stderr = io.Discard
	}
	installDriverLoggers()
	a := newApp(env)
	defer a.close()
	root := a.rootCommand()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	code := exitCode(err)
	var ee *exitError
	if err != nil && !(errors.As(err, &ee) && ee.err == nil) {
		a.report(err, code)
	}
	return code
}

// usageHint follows a usage error.
const usageHint = "Run 'fieldcrypt --help' or 'fieldcrypt <command> --help' for usage."

// report prints the error a command ended with: one line (and the usage
// hint after a usage error), or one JSON log record in JSON mode.
func (a *app) report(err error, code int) {
	if a.jsonStderr() {
		attrs := []any{"exit_code", code}
		if code == ExitUsage {
			attrs = append(attrs, "hint", usageHint)
		}
		a.stderrLogger().Error("fieldcrypt: "+err.Error(), attrs...)
		return
	}
	fmt.Fprintf(a.env.Stderr, "fieldcrypt: %v\n", err)
	if code == ExitUsage {
		fmt.Fprintln(a.env.Stderr, usageHint)
	}
}

// eofReader is an empty standard input.
type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }
