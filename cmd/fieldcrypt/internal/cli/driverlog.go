package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/go-sql-driver/mysql"
	"google.golang.org/grpc/grpclog"
)

// The libraries the tool links log on their own: go-sql-driver/mysql
// writes "[mysql] ..." lines to stderr, and gRPC (the Cloud KMS client)
// writes its errors there. Both loggers are process-wide, so they are
// installed once, as adapters that forward to the logger of the running
// command (driverLog): in JSON mode every line on stderr stays a JSON
// record, and in text mode these lines follow the configured format.
// Outside a command (before its configuration is loaded, after it ends)
// they are dropped.
var (
	driverLog        atomic.Pointer[slog.Logger]
	driverLogInstall sync.Once
)

// installDriverLoggers installs the adapters, once per process, at the
// start of the first command: before any driver or client is used.
func installDriverLoggers() {
	driverLogInstall.Do(func() {
		mysql.SetLogger(mysqlLogger{})
		grpclog.SetLoggerV2(grpcLogger{})
	})
}

// routeDriverLogs sends the adapters' messages to log until the returned
// function is called.
func routeDriverLogs(log *slog.Logger) (restore func()) {
	installDriverLoggers()
	driverLog.Store(log)
	return func() { driverLog.CompareAndSwap(log, nil) }
}

// logDriver writes one message of a library to the command's logger.
func logDriver(level slog.Level, source, msg string) {
	if l := driverLog.Load(); l != nil {
		l.Log(context.Background(), level, strings.TrimRight(msg, "\n"), "source", source)
	}
}

// mysqlLogger is go-sql-driver/mysql's Logger. The driver logs only what
// it cannot return as an error (a broken connection, a malformed packet).
type mysqlLogger struct{}

func (mysqlLogger) Print(v ...any) { logDriver(slog.LevelError, "mysql", fmt.Sprint(v...)) }

// grpcLogger is gRPC's LoggerV2. Its info and warning messages are debug
// records (gRPC shows neither by default), its errors error records. V
// reports no verbosity.
type grpcLogger struct{}

func (grpcLogger) Info(args ...any)   { logDriver(slog.LevelDebug, "grpc", fmt.Sprint(args...)) }
func (grpcLogger) Infoln(args ...any) { logDriver(slog.LevelDebug, "grpc", fmt.Sprintln(args...)) }
func (grpcLogger) Infof(format string, args ...any) {
	logDriver(slog.LevelDebug, "grpc", fmt.Sprintf(format, args...))
}
func (grpcLogger) Warning(args ...any)   { logDriver(slog.LevelDebug, "grpc", fmt.Sprint(args...)) }
func (grpcLogger) Warningln(args ...any) { logDriver(slog.LevelDebug, "grpc", fmt.Sprintln(args...)) }
func (grpcLogger) Warningf(format string, args ...any) {
	logDriver(slog.LevelDebug, "grpc", fmt.Sprintf(format, args...))
}
func (grpcLogger) Error(args ...any)   { logDriver(slog.LevelError, "grpc", fmt.Sprint(args...)) }
func (grpcLogger) Errorln(args ...any) { logDriver(slog.LevelError, "grpc", fmt.Sprintln(args...)) }
func (grpcLogger) Errorf(format string, args ...any) {
	logDriver(slog.LevelError, "grpc", fmt.Sprintf(format, args...))
}
func (grpcLogger) V(int) bool { return false }

// Fatal logs and exits, as gRPC expects of a LoggerV2.
func (g grpcLogger) Fatal(args ...any) { g.Error(args...); os.Exit(ExitFailed) }

// Fatalln logs and exits.
func (g grpcLogger) Fatalln(args ...any) { g.Errorln(args...); os.Exit(ExitFailed) }

// Fatalf logs and exits.
func (g grpcLogger) Fatalf(format string, args ...any) {
	g.Errorf(format, args...)
	os.Exit(ExitFailed)
}
