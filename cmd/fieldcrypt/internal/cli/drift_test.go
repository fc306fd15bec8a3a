package cli_test

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/cmd/fieldcrypt/internal/cli"
)

// TestConfigDriftRefused plays a tables configuration copied by hand with
// `class: suport` for a column the application encrypts under `support`:
// reencrypt, verify and status refuse it with a configuration error (exit
// 64) that names the column and its line in the config file, and the
// table is left as it was.
func TestConfigDriftRefused(t *testing.T) {
	h := newHarness(t)
	c := newCRM(t, h)
	h.mustRun(t, "keys", "init", "--scope", "acme")
	c.insert(t, openKeyring(t, h.store, h.keks), "acme", 20)
	h.mustRun(t, "keys", "rotate", "--scope", "acme", "--class", "support")

	cfg, err := os.ReadFile(h.config)
	if err != nil {
		t.Fatal(err)
	}
	const right, wrong = "{column: notes, name: Notes, class: support}", "{column: notes, name: Notes, class: suport}"
	line := 0
	for i, l := range strings.Split(string(cfg), "\n") {
		if strings.Contains(l, right) {
			line = i + 1
		}
	}
	if line == 0 {
		t.Fatalf("the config does not describe the notes column as %s", right)
	}
	h.writeConfig(t, strings.Replace(string(cfg), right, wrong, 1))
	before := c.readAll(t, openKeyring(t, h.store, h.keks))
	raw := func() string {
		var b strings.Builder
		rows, err := c.db.Query(`SELECT id, email, email_idx, notes FROM contacts ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var id, email, idx, notes string
			if err := rows.Scan(&id, &email, &idx, &notes); err != nil {
				t.Fatal(err)
			}
			b.WriteString(id + email + idx + notes + "\n")
		}
		return b.String()
	}
	stored := raw()

	for _, args := range [][]string{{"reencrypt"}, {"reencrypt", "--dry-run"}, {"verify"}, {"status"}} {
		r := h.run(t, args...)
		out := r.stdout + r.stderr
		if r.code != cli.ExitUsage || !strings.Contains(out, "config drift") || !strings.Contains(out, "line "+strconv.Itoa(line)) ||
			!strings.Contains(out, "column notes") || !strings.Contains(out, `class "suport"`) {
			t.Errorf("fieldcrypt %v with class suport: %v\nwant exit 64 naming the column notes, its line %d and the class", args, r, line)
		}
	}
	if raw() != stored {
		t.Errorf("a refused run changed the table")
	}
	if after := c.readAll(t, openKeyring(t, h.store, h.keks)); len(after) != len(before) {
		t.Errorf("contacts after the refused runs: %d, want %d", len(after), len(before))
	}
}
