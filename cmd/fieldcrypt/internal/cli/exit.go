package cli

import (
	"context"
	"errors"
	"fmt"
)

// Exit codes of the fieldcrypt command.
const (
	ExitOK      = 0  // the command did all it was asked (a dry run or verify: found nothing to do)
	ExitFailed  = 1  // the command failed, or refused to act
	ExitPartial = 2  // part done: a job left rows behind or found rows not current, or a command was interrupted after part of its work
	ExitUsage   = 64 // bad flags, arguments or configuration, or tables the database lacks (EX_USAGE)
)

// usageError is a mistake in how the command was called or configured: a
// bad flag, a missing argument, an invalid configuration value. It exits
// with ExitUsage.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usagef returns a usageError with a formatted message.
func usagef(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// exitError carries an exit code other than ExitFailed, with the error to
// print (nil prints nothing more).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit code %d", e.code)
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

// interrupted makes err a partial exit (ExitPartial) when the command was
// interrupted (ctx cancelled: Ctrl-C, SIGTERM) after done > 0 steps of its
// work were made, as the exit-code table promises; otherwise err is
// returned as it is (an interruption before any work is a plain failure).
func interrupted(ctx context.Context, done int, err error) error {
	if err == nil || done == 0 || ctx.Err() == nil {
		return err
	}
	return &exitError{code: ExitPartial, err: fmt.Errorf("interrupted after part of the work: %w", err)}
}

// exitCode maps an error returned by a command to the process exit code.
func exitCode(err error) int {
	var ue *usageError
	var ee *exitError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &ue):
		return ExitUsage
	}
	return ExitFailed
}
