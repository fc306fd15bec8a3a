package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// newLogger returns the logger of logs and the keyring's audit events, on
// w in the configured format.
func newLogger(w io.Writer, format, level string) *slog.Logger {
	lvl, _ := parseLevel(level)
	opts := &slog.HandlerOptions{Level: lvl}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func parseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info", "":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("unknown log level %q (want debug, info, warn or error)", s)
}

// jsonStderr reports whether stderr carries JSON log records, so that every
// line written there must be one: log_format json, or auto with stderr not
// a terminal. Before the configuration is loaded (or when it fails to
// load) it goes by the --log-format flag, then FIELDCRYPT_LOG_FORMAT.
func (a *app) jsonStderr() bool {
	format := ""
	switch {
	case a.cfg != nil:
		format = a.cfg.LogFormat
	case a.flags.fs != nil && a.flags.fs.Lookup("log-format") != nil && a.flags.fs.Lookup("log-format").Changed:
		format = a.flags.fs.Lookup("log-format").Value.String()
	default:
		format = a.env.getenv("FIELDCRYPT_LOG_FORMAT")
	}
	switch format {
	case "json":
		return true
	case "text":
		return false
	}
	return !a.env.isTerminal(a.env.Stderr)
}

// stderrLogger is the logger of the tool's own messages for the operator
// in JSON mode: confirmations, refusals, per-column counts, the commands
// to run next, the development-KEK warning and the final error. It is a
// JSON logger on stderr that every level passes: --log-level filters the
// logs and audit events (a.log), never what the operator must read, as
// text mode always shows them too.
func (a *app) stderrLogger() *slog.Logger {
	if a.operatorLog == nil {
		a.operatorLog = slog.New(slog.NewJSONHandler(a.env.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return a.operatorLog
}

// say writes a message for the operator on stderr: the line msg as it is
// in text mode, or a JSON log record of msg and attrs in JSON mode.
func (a *app) say(level slog.Level, msg string, attrs ...any) {
	if a.jsonStderr() {
		a.stderrLogger().Log(context.Background(), level, msg, attrs...)
		return
	}
	fmt.Fprintln(a.env.Stderr, msg)
}

// info writes an informational message on stderr (see say).
func (a *app) info(msg string, attrs ...any) { a.say(slog.LevelInfo, msg, attrs...) }

// warn writes a warning on stderr: "WARNING: msg" in text mode (see say).
func (a *app) warn(msg string, attrs ...any) {
	if !a.jsonStderr() {
		msg = "WARNING: " + msg
	}
	a.say(slog.LevelWarn, msg, attrs...)
}
