package cli_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/cmd/fieldcrypt/internal/cli"
)

// TestFailedExportKeepsTheBackup plays a nightly `keys export --force`
// that fails half-way: here its configuration names another KEK for
// class pii than the one the stored keysets are wrapped by (a KEK move
// under way, a mistyped --kek), so Export refuses after the output file
// was opened. The export truncated the previous backup before it began,
// leaving an empty file where last night's backup was; without --force it
// left an empty file that the next run then refuses to overwrite. A
// failed export must leave the file as it was, or absent.
func TestFailedExportKeepsTheBackup(t *testing.T) {
	h := newHarness(t)
	h.mustRun(t, "keys", "init", "--scope", "acme", "--class", "pii")
	backup := filepath.Join(h.dir, "keysets.json")
	h.mustRun(t, "keys", "export", "--out", backup)
	before, err := os.ReadFile(backup)
	if err != nil || len(before) == 0 {
		t.Fatalf("the first export wrote %d bytes, err = %v", len(before), err)
	}
	wrongKEK := "pii=" + h.newKEK(t, "pii-wrong")

	r := h.run(t, "--kek", wrongKEK, "keys", "export", "--force", "--out", backup)
	if r.code != cli.ExitFailed {
		t.Fatalf("keys export --force under another pii KEK: %v\nwant exit 1", r)
	}
	if after, err := os.ReadFile(backup); err != nil || !bytes.Equal(after, before) {
		t.Errorf("after a failed keys export --force the backup holds %d bytes (err = %v), want the previous %d bytes unchanged", len(after), err, len(before))
	}

	fresh := filepath.Join(h.dir, "fresh.json")
	r = h.run(t, "--kek", wrongKEK, "keys", "export", "--out", fresh)
	if r.code != cli.ExitFailed {
		t.Fatalf("keys export under another pii KEK: %v\nwant exit 1", r)
	}
	if _, err := os.Stat(fresh); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("after a failed keys export, %s: stat err = %v, want it absent", fresh, err)
	}
	entries, _ := os.ReadDir(h.dir)
	for _, e := range entries {
		if filepath.Ext(e.Name()) == ".tmp" || (len(e.Name()) > 0 && e.Name()[0] == '.') {
			t.Errorf("a failed export left %s behind", e.Name())
		}
	}
	// The next export, correctly configured, succeeds.
	h.mustRun(t, "keys", "export", "--out", fresh)
}
