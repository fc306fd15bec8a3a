package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc/grpclog"

	"github.com/fieldcrypt/fieldcrypt/cmd/fieldcrypt/internal/cli"
)

// TestDriverLogsAreJSON: in JSON mode, what go-sql-driver/mysql and gRPC
// log on their own is a JSON record on stderr too. A MySQL "server" that
// closes every connection at once makes the driver log the broken
// connection; an error that gRPC logs while the command runs (the test
// logs one through grpclog, as the Cloud KMS client does on a broken
// channel) goes the same way.
func TestDriverLogsAreJSON(t *testing.T) {
	h := newHarness(t)
	h.mustRun(t, "version") // a first run installs the adapters before the server's goroutine starts
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			grpclog.Errorf("grpc error while the command runs")
			conn.Close()
		}
	}()
	// The server's goroutine logs through gRPC's process-wide logger while
	// the command writes to stderr itself: stderr must take concurrent
	// writes, as an *os.File does.
	var out bytes.Buffer
	var errb lockedBuffer
	code := cli.Run(context.Background(), []string{"--config", h.config, "--log-format", "json",
		"--store", "mysql://root@" + ln.Addr().String() + "/test", "keys", "list"},
		cli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Environ: h.environ})
	if code != cli.ExitFailed {
		t.Fatalf("keys list against a MySQL server that hangs up: exit %d, want 1\n%s", code, errb.String())
	}
	sources := map[string]bool{}
	for line := range strings.Lines(errb.String()) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("stderr line is not JSON: %q", line)
			continue
		}
		if s, ok := rec["source"].(string); ok {
			sources[s] = true
		}
	}
	if !sources["mysql"] || !sources["grpc"] {
		t.Errorf("stderr holds JSON records from %v, want the mysql driver's and gRPC's:\n%s", sources, errb.String())
	}
}

// lockedBuffer is a bytes.Buffer that takes concurrent writes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
