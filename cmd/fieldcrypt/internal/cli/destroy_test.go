package cli_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/cmd/fieldcrypt/internal/cli"
)

// indexStatusJSON is the part of `status --index --json` the tests read.
type indexStatusJSON struct {
	IndexNotPrimary int64 `json:"index_not_primary"`
	Tables          []struct {
		Indexes []struct {
			Column  string `json:"column"`
			Class   string `json:"class"`
			Scope   string `json:"scope"`
			Primary int64  `json:"primary"`
			Older   int64  `json:"older"`
		} `json:"indexes"`
	} `json:"tables"`
}

func (h *harness) indexStatus(t *testing.T, args ...string) indexStatusJSON {
	t.Helper()
	r := h.mustRun(t, append([]string{"status", "--index", "--json"}, args...)...)
	var s indexStatusJSON
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
		t.Fatalf("status --index --json: %v\n%s", err, r.stdout)
	}
	return s
}

// TestDestroyIndexKeyChecksItsOwnColumns: the destroy-time check of an
// index key looks only at the index columns of its class in the rows of
// its scope. Stale data values of another class and stale indexes of
// another scope do not block it; its own stale index values do, with a
// message that names the index key and the status command that shows the
// count.
func TestDestroyIndexKeyChecksItsOwnColumns(t *testing.T) {
	h := newHarness(t)
	c := newCRM(t, h)
	h.mustRun(t, "keys", "init", "--scope", "acme")
	h.mustRun(t, "keys", "init", "--scope", "globex")
	kr := openKeyring(t, h.store, h.keks)
	c.insert(t, kr, "acme", 10)
	c.insert(t, kr, "globex", 7)
	h.mustRun(t, "keys", "rotate", "--scope", "acme", "--class", "pii", "--purpose", "index")
	old := oldKey(t, h, "acme", "pii", "index")
	destroy := []string{"keys", "destroy", "--scope", "acme", "--class", "pii", "--purpose", "index", "--key-id", itoa(old.KeyID), "--yes", "--now"}

	r := h.run(t, destroy...)
	if r.code != cli.ExitFailed {
		t.Fatalf("keys destroy of the old acme index key with acme indexes under it: %v\nwant exit 1, refused", r)
	}
	for _, want := range []string{"index key " + itoa(old.KeyID) + " of acme/pii/index", "fieldcrypt status --index --scope acme --class pii", "contacts.email_idx: 10 index values"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("destroy refusal lacks %q:\n%s", want, r.stderr)
		}
	}
	if s := h.indexStatus(t, "--scope", "acme", "--class", "pii"); s.IndexNotPrimary != 10 || len(s.Tables[0].Indexes) != 1 || s.Tables[0].Indexes[0].Older != 10 {
		t.Errorf("status --index --scope acme --class pii = %+v, want 10 values under the older index key", s)
	}
	text := h.mustRun(t, "status", "--index", "--scope", "acme")
	for _, want := range []string{"INDEX COLUMN", "email_idx", "OLDER KEY", "blind-index values are not under their primary index key"} {
		if !strings.Contains(text.stdout, want) {
			t.Errorf("status --index table lacks %q:\n%s", want, text.stdout)
		}
	}

	h.mustRun(t, "reencrypt")
	// Stale values elsewhere: acme's support notes (another class) and
	// globex's pii indexes (another scope).
	h.mustRun(t, "keys", "rotate", "--scope", "acme", "--class", "support")
	h.mustRun(t, "keys", "rotate", "--scope", "globex", "--class", "pii", "--purpose", "index")
	if r := h.run(t, "verify"); r.code != cli.ExitPartial {
		t.Fatalf("verify with stale notes and globex indexes: %v\nwant exit 2", r)
	}
	h.mustRun(t, "keys", "disable", "--scope", "acme", "--class", "pii", "--purpose", "index", "--key-id", itoa(old.KeyID))
	r = h.run(t, destroy...)
	if r.code != cli.ExitOK {
		t.Fatalf("keys destroy of the old acme index key once acme's pii indexes are current: %v\nwant exit 0 (other classes and scopes do not count)", r)
	}
	if s := h.indexStatus(t); s.IndexNotPrimary != 7 {
		t.Errorf("status --index: index_not_primary = %d, want globex's 7", s.IndexNotPrimary)
	}
}

// TestDestroyIndexKeyRefusesUnreadableRows: rows of the key's scope whose
// index sources do not decrypt (here: under a disabled data key) show
// nothing about which index key computed their index values, so destroy
// of an old index key refuses while there are any, unless --force.
func TestDestroyIndexKeyRefusesUnreadableRows(t *testing.T) {
	h := newHarness(t)
	c := newCRM(t, h)
	h.mustRun(t, "keys", "init", "--scope", "acme")
	c.insert(t, openKeyring(t, h.store, h.keks), "acme", 6)
	h.mustRun(t, "keys", "rotate", "--scope", "acme", "--class", "pii", "--purpose", "index")
	h.mustRun(t, "reencrypt") // every index value under the new index key
	oldIndex := oldKey(t, h, "acme", "pii", "index")
	h.mustRun(t, "keys", "disable", "--scope", "acme", "--class", "pii", "--purpose", "index", "--key-id", itoa(oldIndex.KeyID))
	// The e-mails become unreadable: their data key is rotated out and
	// disabled before the job moves them.
	h.mustRun(t, "keys", "rotate", "--scope", "acme", "--class", "pii")
	oldData := oldKey(t, h, "acme", "pii", "data")
	h.mustRun(t, "keys", "disable", "--scope", "acme", "--class", "pii", "--key-id", itoa(oldData.KeyID))

	destroy := []string{"keys", "destroy", "--scope", "acme", "--class", "pii", "--purpose", "index", "--key-id", itoa(oldIndex.KeyID), "--yes", "--now"}
	r := h.run(t, destroy...)
	if r.code != cli.ExitFailed {
		t.Fatalf("keys destroy of the old index key with 6 unreadable acme rows: %v\nwant exit 1, refused", r)
	}
	for _, want := range []string{"could not be checked", "contacts.email_idx: 6 rows of scope acme", "--force"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("destroy refusal lacks %q:\n%s", want, r.stderr)
		}
	}
	if r := h.mustRun(t, append(destroy, "--force")...); !strings.Contains(r.stdout, "destroyed key "+itoa(oldIndex.KeyID)) {
		t.Errorf("keys destroy --force: %v\nwant the key destroyed", r)
	}
}
