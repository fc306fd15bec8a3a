package cli

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestExportWithoutHardLinks writes an export where hard links cannot be
// made, as on FAT and exFAT drives and on many network and object-store
// mounts (link fails with EPERM or ENOTSUP there): a backup is often kept
// on one. The export is written, and one already there is still not
// replaced without --force.
func TestExportWithoutHardLinks(t *testing.T) {
	t.Cleanup(func() { link = os.Link })
	link = func(oldname, newname string) error {
		return &os.LinkError{Op: "link", Old: oldname, New: newname, Err: syscall.EPERM}
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "keysets.json")
	write := func(s string) func(io.Writer) error {
		return func(w io.Writer) error {
			_, err := io.WriteString(w, s)
			return err
		}
	}
	if err := writeExportFile(path, false, write("first")); err != nil {
		t.Fatalf("writeExportFile(a new file, no hard links) err = %v, want the export written", err)
	}
	if got, err := os.ReadFile(path); err != nil || string(got) != "first" {
		t.Errorf("the export holds %q, %v; want %q", got, err, "first")
	}
	if err := writeExportFile(path, false, write("second")); !errors.Is(err, errExportExists) {
		t.Errorf("writeExportFile(an existing file, no hard links, no overwrite) err = %v, want errExportExists", err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, []byte("first")) {
		t.Errorf("after a refused export the file holds %q, want %q", got, "first")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("the directory holds %v, want the export alone", names)
	}
}
