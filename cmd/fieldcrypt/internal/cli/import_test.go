package cli_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/cmd/fieldcrypt/internal/cli"
)

// TestImportBadFileCreatesNothing: keys import of a file that is not a
// valid export, or whose keysets this configuration cannot unwrap with
// --verify, fails with exit 1 and creates nothing: no SQLite file, no
// store directory, no PostgreSQL table.
func TestImportBadFileCreatesNothing(t *testing.T) {
	h := newHarness(t)
	h.mustRun(t, "keys", "init", "--scope", "acme")
	good := filepath.Join(h.dir, "good.json")
	h.mustRun(t, "keys", "export", "--out", good)
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, text string) string {
		path := filepath.Join(h.dir, name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	files := []struct {
		name  string
		path  string
		flags []string
	}{
		{"not JSON", write("notjson.json", "this is not an export\n"), nil},
		{"truncated", write("truncated.json", string(data[:len(data)/2])), nil},
		{"another format", write("format.json", strings.Replace(string(data), "fieldcrypt", "otherthing", 1)), nil},
		{"unknown field", write("field.json", strings.Replace(string(data), `"format"`, `"bogus": 1, "format"`, 1)), nil},
		{"wrong KEK with --verify", good, []string{"--kek", "pii=" + h.newKEK(t, "wrong"), "--accept-kek", "pii=" + h.keks["support"]}},
	}
	for _, f := range files {
		t.Run(f.name, func(t *testing.T) {
			sqlitePath := filepath.Join(h.dir, "restored-"+strings.ReplaceAll(f.name, " ", "-")+".db")
			dirPath := filepath.Join(h.dir, "restored-"+strings.ReplaceAll(f.name, " ", "-")+".d")
			for _, store := range []struct{ dsn, path string }{{"sqlite:" + sqlitePath, sqlitePath}, {"dir:" + dirPath, dirPath}} {
				args := append(append([]string{"--store", store.dsn}, f.flags...), "keys", "import", "--in", f.path, "--verify")
				r := h.run(t, args...)
				if r.code != cli.ExitFailed || !strings.Contains(r.stderr, "nothing was written") {
					t.Errorf("keys import of a bad file into %s: %v\nwant exit 1, nothing written", store.dsn, r)
				}
				if _, err := os.Stat(store.path); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("keys import of a bad file created %s (stat err = %v)", store.path, err)
				}
			}
		})
	}
	t.Run("PostgreSQL", func(t *testing.T) {
		dsn, db := postgresSchema(t)
		r := h.run(t, "--store", dsn, "keys", "import", "--in", files[0].path)
		if r.code != cli.ExitFailed {
			t.Fatalf("keys import of a bad file into PostgreSQL: %v\nwant exit 1", r)
		}
		var table *string
		if err := db.QueryRowContext(t.Context(), "SELECT to_regclass('fieldcrypt_keysets')::text").Scan(&table); err != nil {
			t.Fatal(err)
		}
		if table != nil {
			t.Errorf("keys import of a bad file created the table %s", *table)
		}
		h.mustRun(t, "--store", dsn, "keys", "import", "--in", good, "--verify")
	})
}
