package cli_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fieldcrypt/fieldcrypt/cmd/fieldcrypt/internal/cli"
	"github.com/fieldcrypt/fieldcrypt/reencrypt"
)

// TestLeaseReachesTheJob: --lease is the job's lease. A run that finds
// the job's range held by another worker (as a worker killed with -9
// leaves it) says that it waits, with the configured lease in seconds,
// and takes the range over once that worker's lease expires.
func TestLeaseReachesTheJob(t *testing.T) {
	h := newHarness(t)
	c := newCRM(t, h)
	h.mustRun(t, "keys", "init", "--scope", "acme")
	c.insert(t, openKeyring(t, h.store, h.keks), "acme", 12)
	h.mustRun(t, "keys", "rotate", "--scope", "acme", "--class", "pii")

	// Plan the job and stop before the first batch.
	if r := h.runInterrupted(t, `"job open"`, "reencrypt", "--job", "leased", "--batch-size", "2"); r.code != cli.ExitPartial {
		t.Fatalf("reencrypt interrupted: %v\nwant exit 2", r)
	}
	now := time.Now().UnixMilli()
	q := fmt.Sprintf("UPDATE %s SET owner = 'host-a-dead', run_id = 'dead', token = 'dead', state = 'running', lease_ms = %d, updated_ms = %d WHERE job = 'leased'",
		reencrypt.RangesTable, now+1500, now-60000)
	if res, err := c.db.Exec(q); err != nil {
		t.Fatal(err)
	} else if n, _ := res.RowsAffected(); n == 0 {
		t.Fatal("the interrupted run planned no range")
	}

	r := h.mustRun(t, "--log-format", "json", "reencrypt", "--job", "leased", "--worker", "host-b", "--lease", "7s", "--json")
	if sum := parseSummary(t, r.stdout); sum.Outcome != "done" || sum.Tables[0].Rewritten != 12 {
		t.Errorf("reencrypt after taking the range over = %+v, want done with 12 rewritten", sum)
	}
	var waiting map[string]any
	for line := range strings.Lines(r.rawStderr) {
		if strings.Contains(line, "waiting up to") {
			if err := json.Unmarshal([]byte(line), &waiting); err != nil {
				t.Fatal(err)
			}
		}
	}
	if waiting == nil {
		t.Fatalf("reencrypt did not say that it waits for host-a-dead:\n%s", r.rawStderr)
	}
	if waiting["lease_seconds"] != 7.0 || waiting["owner"] != "host-a-dead" {
		t.Errorf("waiting record = %v, want lease_seconds 7 (--lease 7s) and owner host-a-dead", waiting)
	}
}
