package filestore_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// The cross-process test runs this test binary again as helper processes
// that race for one write. These variables tell a helper what to do.
const (
	helperModeEnv = "FILESTORE_TEST_HELPER_MODE" // "create" or "update"
	helperDirEnv  = "FILESTORE_TEST_HELPER_DIR"
	helperNameEnv = "FILESTORE_TEST_HELPER_NAME"
	resultPrefix  = "helper result: "
	goFile        = "go" // the parent creates it to release the helpers
)

var raceID = keyring.KeysetID{Scope: "acme", Class: "pii", Purpose: keyring.PurposeData}

// TestHelperProcess is a helper process, not a test: it does nothing unless
// the cross-process test started it.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperModeEnv)
	if mode == "" {
		t.Skip("helper process for TestCrossProcess")
	}
	dir, name := os.Getenv(helperDirEnv), os.Getenv(helperNameEnv)
	s := open(t, dir)
	rec := &keyring.Record{ID: raceID, KEKURI: "local://" + name}
	fmt.Println("ready")
	for {
		if _, err := os.Stat(filepath.Join(dir, goFile)); err == nil {
			break
		}
		time.Sleep(200 * time.Microsecond)
	}
	var err error
	switch mode {
	case "create":
		err = s.Create(t.Context(), rec)
	case "update":
		err = s.Update(t.Context(), rec, 1)
	}
	switch {
	case err == nil:
		fmt.Println(resultPrefix + "ok")
	case errors.Is(err, keyring.ErrKeysetExists), errors.Is(err, keyring.ErrVersionConflict):
		fmt.Println(resultPrefix + "lost")
	default:
		fmt.Println(resultPrefix + "error " + err.Error())
	}
}

// TestCrossProcess races helper processes for the same write and checks
// that the flock makes exactly one win.
func TestCrossProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	const procs = 6
	for _, mode := range []string{"create", "update"} {
		t.Run(mode, func(t *testing.T) {
			for round := range 3 {
				dir := t.TempDir()
				s := open(t, dir)
				if mode == "update" {
					if err := s.Create(t.Context(), &keyring.Record{ID: raceID, KEKURI: "local://start"}); err != nil {
						t.Fatalf("Create err = %v", err)
					}
				}
				results := raceProcesses(t, dir, mode, procs)
				winner := ""
				for name, res := range results {
					switch {
					case res == "ok" && winner != "":
						t.Fatalf("round %d: %s and %s both succeeded, want exactly one", round, winner, name)
					case res == "ok":
						winner = name
					case res != "lost":
						t.Fatalf("round %d: %s: %s", round, name, res)
					}
				}
				if winner == "" {
					t.Fatalf("round %d: no process succeeded, want exactly one", round)
				}
				got, err := s.Get(t.Context(), raceID)
				if err != nil {
					t.Fatalf("Get err = %v", err)
				}
				if want := "local://" + winner; got.KEKURI != want {
					t.Errorf("round %d: stored KEKURI = %q, want the winner's %q", round, got.KEKURI, want)
				}
			}
		})
	}
}

// raceProcesses starts n helpers, releases them together once all are
// ready, and returns each one's result by name.
func raceProcesses(t *testing.T, dir, mode string, n int) map[string]string {
	t.Helper()
	type helper struct {
		name string
		cmd  *exec.Cmd
		out  *bufio.Scanner
	}
	var helpers []helper
	for i := range n {
		name := fmt.Sprint("proc-", i)
		cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), helperModeEnv+"="+mode, helperDirEnv+"="+dir, helperNameEnv+"="+name)
		cmd.Stderr = os.Stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatalf("starting helper: %v", err)
		}
		helpers = append(helpers, helper{name, cmd, bufio.NewScanner(stdout)})
	}
	for _, h := range helpers {
		if !h.out.Scan() || h.out.Text() != "ready" {
			t.Fatalf("%s did not get ready: %q %v", h.name, h.out.Text(), h.out.Err())
		}
	}
	if err := os.WriteFile(filepath.Join(dir, goFile), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	results := make(map[string]string)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, h := range helpers {
		wg.Go(func() {
			res := "no result"
			for h.out.Scan() {
				if line, ok := strings.CutPrefix(h.out.Text(), resultPrefix); ok {
					res = line
				}
			}
			if err := h.cmd.Wait(); err != nil {
				res += fmt.Sprintf(" (exit: %v)", err)
			}
			mu.Lock()
			results[h.name] = res
			mu.Unlock()
		})
	}
	wg.Wait()
	return results
}
