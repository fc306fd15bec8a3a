package cli_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/cmd/fieldcrypt/internal/cli"
	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// crm is a CRM database beside the harness's keyset store, with a
// contacts table the config describes.
type crm struct {
	path string
	db   *sql.DB
}

func newCRM(t *testing.T, h *harness) *crm {
	t.Helper()
	return newCRMWith(t, h, contactsTables)
}

// newCRMWith is newCRM with the tables: description given.
func newCRMWith(t *testing.T, h *harness, tables string) *crm {
	t.Helper()
	path := filepath.Join(h.dir, "crm.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`CREATE TABLE contacts (id TEXT PRIMARY KEY, tenant TEXT NOT NULL, email TEXT, email_idx TEXT, notes TEXT)`); err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile(h.config)
	if err != nil {
		t.Fatal(err)
	}
	h.writeConfig(t, string(cfg)+"database: sqlite:"+path+"\n"+tables)
	return &crm{path: path, db: db}
}

// insert encrypts n contacts of tenant and stores them; it returns their
// plaintext e-mails by ID.
func (c *crm) insert(t *testing.T, kr *keyring.Keyring, tenant string, n int) map[string]string {
	t.Helper()
	emails := map[string]string{}
	for i := range n {
		id := fmt.Sprintf("%s-%03d", tenant, i)
		email := fmt.Sprintf("Person%d@%s.example", i, tenant)
		ct := encryptContact(t, kr, id, tenant, email)
		if _, err := c.db.Exec(`INSERT INTO contacts VALUES (?, ?, ?, ?, ?)`, ct.ID, ct.Tenant, ct.Email, ct.EmailIdx, ct.Notes); err != nil {
			t.Fatal(err)
		}
		emails[id] = email
	}
	return emails
}

// readAll reads and decrypts every contact through kr.
func (c *crm) readAll(t *testing.T, kr *keyring.Keyring) map[string]string {
	t.Helper()
	rows, err := c.db.Query(`SELECT id, tenant, email, email_idx, notes FROM contacts`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]string{}
	for rows.Next() {
		var ct contact
		if err := rows.Scan(&ct.ID, &ct.Tenant, &ct.Email, &ct.EmailIdx, &ct.Notes); err != nil {
			t.Fatal(err)
		}
		dec, err := decryptContact(kr, ct)
		if err != nil {
			t.Fatalf("Decrypt(%s) err = %v", ct.ID, err)
		}
		got[ct.ID] = dec.Email
	}
	return got
}

// statusJSON is the part of `status --json` the tests read.
type statusJSON struct {
	NotPrimary int64 `json:"not_primary"`
	Legacy     int64 `json:"legacy"`
	Tables     []struct {
		Table   string `json:"table"`
		Rows    int64  `json:"rows"`
		Columns []struct {
			Column string `json:"column"`
			Keys   []struct {
				Scope  string `json:"scope"`
				KeyID  uint32 `json:"key_id"`
				State  string `json:"state"`
				Values int64  `json:"values"`
			} `json:"keys"`
		} `json:"columns"`
	} `json:"tables"`
}

func (h *harness) status(t *testing.T, args ...string) statusJSON {
	t.Helper()
	r := h.mustRun(t, append([]string{"status", "--json"}, args...)...)
	var s statusJSON
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
		t.Fatalf("status --json: %v\n%s", err, r.stdout)
	}
	return s
}

// summaryJSON is the part of the job's JSON summary the tests read.
type summaryJSON struct {
	Mode    string `json:"mode"`
	Outcome string `json:"outcome"`
	Tables  []struct {
		Table     string           `json:"table"`
		Outcome   string           `json:"outcome"`
		Scanned   int64            `json:"scanned"`
		Rewritten int64            `json:"rewritten"`
		Failed    int64            `json:"failed"`
		Failures  map[string]int64 `json:"failures"`
	} `json:"tables"`
}

func parseSummary(t *testing.T, text string) summaryJSON {
	t.Helper()
	var s summaryJSON
	if err := json.Unmarshal([]byte(text), &s); err != nil {
		t.Fatalf("job summary: %v\n%s", err, text)
	}
	return s
}

// oldKey returns the non-primary, non-destroyed key of a keyset.
func oldKey(t *testing.T, h *harness, scope, class, purpose string) listed {
	t.Helper()
	for _, k := range keysOf(h.list(t), scope, class, purpose) {
		if !k.Primary && k.Status != "destroyed" {
			return k
		}
	}
	t.Fatalf("%s/%s/%s has no old key", scope, class, purpose)
	return listed{}
}

// TestJobLifecycle is a whole data-key and index-key rotation: status
// shows values under the old keys, destroy is refused, the job moves
// them, verify passes, destroy is allowed, and every contact still reads.
func TestJobLifecycle(t *testing.T) {
	h := newHarness(t)
	c := newCRM(t, h)
	h.mustRun(t, "keys", "init", "--scope", "acme")
	h.mustRun(t, "keys", "init", "--scope", "globex")
	kr := openKeyring(t, h.store, h.keks)
	want := c.insert(t, kr, "acme", 30)
	for id, e := range c.insert(t, kr, "globex", 20) {
		want[id] = e
	}

	if s := h.status(t); s.NotPrimary != 0 || len(s.Tables) != 1 || s.Tables[0].Rows != 50 {
		t.Fatalf("status before rotation = %+v, want 50 rows all under primary keys", s)
	}

	h.mustRun(t, "keys", "rotate", "--scope", "acme", "--class", "pii", "--purpose", "all")
	s := h.status(t)
	if s.NotPrimary != 30 {
		t.Errorf("status after rotating acme/pii: not_primary = %d, want 30 (acme's e-mails)", s.NotPrimary)
	}
	text := h.mustRun(t, "status", "--scope", "acme")
	if !strings.Contains(text.stdout, "enabled") || !strings.Contains(text.stdout, "fieldcrypt reencrypt") {
		t.Errorf("status table does not show the old key's values:\n%s", text.stdout)
	}

	oldData, oldIndex := oldKey(t, h, "acme", "pii", "data"), oldKey(t, h, "acme", "pii", "index")
	for _, old := range []struct {
		purpose string
		key     listed
	}{{"data", oldData}, {"index", oldIndex}} {
		r := h.run(t, "keys", "destroy", "--scope", "acme", "--class", "pii", "--purpose", old.purpose, "--key-id", itoa(old.key.KeyID), "--yes", "--now")
		if r.code != cli.ExitFailed || !strings.Contains(r.stderr, "destroy refused") {
			t.Errorf("keys destroy of the old %s key while values use it: %v\nwant refused", old.purpose, r)
		}
	}
	if r := h.run(t, "verify"); r.code != cli.ExitPartial {
		t.Errorf("verify before the job: %v\nwant exit 2 (rows not current)", r)
	}

	summaryFile := filepath.Join(h.dir, "summary.json")
	r := h.mustRun(t, "reencrypt", "--json", "--summary-json", summaryFile, "--batch-size", "7")
	sum := parseSummary(t, r.stdout)
	if sum.Outcome != "done" || len(sum.Tables) != 1 || sum.Tables[0].Rewritten != 30 || sum.Tables[0].Scanned != 50 {
		t.Errorf("reencrypt summary = %+v, want done, 50 scanned, 30 rewritten", sum)
	}
	if data, err := os.ReadFile(summaryFile); err != nil || parseSummary(t, string(data)).Outcome != "done" {
		t.Errorf("--summary-json file: %v, %s", err, data)
	}
	if !strings.Contains(r.rawStderr, `"msg":"progress"`) {
		t.Errorf("reencrypt without a terminal logged no JSON progress event:\n%s", r.rawStderr)
	}
	if s := h.status(t); s.NotPrimary != 0 {
		t.Errorf("status after the job: not_primary = %d, want 0", s.NotPrimary)
	}
	r = h.mustRun(t, "verify")
	if !strings.Contains(r.stdout, "outcome: done") {
		t.Errorf("verify after the job:\n%s", r.stdout)
	}

	for _, old := range []struct {
		purpose string
		key     listed
	}{{"data", oldData}, {"index", oldIndex}} {
		sel := []string{"--scope", "acme", "--class", "pii", "--purpose", old.purpose, "--key-id", itoa(old.key.KeyID)}
		h.mustRun(t, append([]string{"keys", "disable"}, sel...)...)
		h.mustRun(t, append([]string{"keys", "destroy", "--yes", "--now"}, sel...)...)
	}
	if got := c.readAll(t, openKeyring(t, h.store, h.keks)); len(got) != len(want) {
		t.Errorf("read %d contacts after the rotation, want %d", len(got), len(want))
	} else {
		for id, e := range want {
			if got[id] != e {
				t.Errorf("contact %s e-mail = %q, want %q", id, got[id], e)
			}
		}
	}
	h.mustRun(t, "verify")
}

func TestJobPartialAndDryRun(t *testing.T) {
	h := newHarness(t)
	c := newCRM(t, h)
	h.mustRun(t, "keys", "init", "--scope", "acme")
	c.insert(t, openKeyring(t, h.store, h.keks), "acme", 5)
	h.mustRun(t, "keys", "rotate", "--scope", "acme", "--class", "pii")

	r := h.run(t, "reencrypt", "--dry-run", "--json")
	if r.code != cli.ExitPartial || parseSummary(t, r.stdout).Tables[0].Rewritten != 5 {
		t.Errorf("reencrypt --dry-run with 5 stale rows: %v\nwant exit 2, 5 would be rewritten", r)
	}
	if s := h.status(t); s.NotPrimary != 5 {
		t.Errorf("a dry run changed rows: not_primary = %d, want 5", s.NotPrimary)
	}

	// A row whose e-mail is not a readable value is left behind.
	if _, err := c.db.Exec(`UPDATE contacts SET email = 'fc1:AAAA' WHERE id = 'acme-002'`); err != nil {
		t.Fatal(err)
	}
	r = h.run(t, "reencrypt", "--json")
	sum := parseSummary(t, r.stdout)
	if r.code != cli.ExitPartial || sum.Outcome != "partial" || sum.Tables[0].Rewritten != 4 || sum.Tables[0].Failed != 1 {
		t.Errorf("reencrypt with one broken row: %v\nwant exit 2, 4 rewritten, 1 failed", r)
	}
	r = h.run(t, "verify")
	if r.code != cli.ExitPartial || !strings.Contains(r.stdout, "acme-002") {
		t.Errorf("verify with one broken row: %v\nwant exit 2 naming acme-002", r)
	}
}

func TestJobProgressBarOnTerminal(t *testing.T) {
	h := newHarness(t)
	c := newCRM(t, h)
	h.mustRun(t, "keys", "init", "--scope", "acme")
	c.insert(t, openKeyring(t, h.store, h.keks), "acme", 5)
	var out, errb strings.Builder
	code := cli.Run(context.Background(), []string{"--config", h.config, "reencrypt"},
		cli.Env{Stdout: &out, Stderr: &errb, Environ: h.environ, IsTerminal: func(io.Writer) bool { return true }})
	if code != cli.ExitOK {
		t.Fatalf("reencrypt: exit %d\n%s%s", code, out.String(), errb.String())
	}
	for _, want := range []string{"\r\x1b[K", "contacts reencrypt [", "100.0%", "rows/s", "ETA"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("reencrypt on a terminal: stderr lacks %q:\n%q", want, errb.String())
		}
	}
	if strings.Contains(errb.String(), `"msg":"progress"`) {
		t.Errorf("reencrypt on a terminal also logged progress lines:\n%s", errb.String())
	}
	if !strings.Contains(out.String(), "outcome: done") {
		t.Errorf("reencrypt text summary:\n%s", out.String())
	}
}

func TestJobConfigErrors(t *testing.T) {
	h := newHarness(t)
	h.mustRun(t, "keys", "init")
	cases := []struct {
		name  string
		extra string
		args  []string
		want  string
	}{
		{"no tables", "", []string{"status"}, "no tables configured"},
		{"bad table", "tables:\n  - name: contacts\n    primary_key: id\n    record: contact\n    encrypted: []\n", []string{"status"}, "no encrypted columns"},
		{"unknown table flag", contactsTables, []string{"status", "--table", "leads"}, `--table "leads"`},
		{"bad batch size", contactsTables, []string{"reencrypt", "--batch-size", "0"}, "--batch-size"},
		{"missing tables file", "", []string{"--tables", "/nonexistent/t.yaml", "status"}, "tables_file"},
	}
	base, err := os.ReadFile(h.config)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h.writeConfig(t, string(base)+tc.extra)
			r := h.run(t, tc.args...)
			if r.code != cli.ExitUsage || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("fieldcrypt %v: %v\nwant exit 64 mentioning %q", tc.args, r, tc.want)
			}
		})
	}
}

func TestTablesFile(t *testing.T) {
	h := newHarness(t)
	c := newCRM(t, h)
	h.mustRun(t, "keys", "init", "--scope", "acme")
	c.insert(t, openKeyring(t, h.store, h.keks), "acme", 3)
	// The same tables from a file of their own, the config file without them.
	tables := filepath.Join(h.dir, "tables.yaml")
	if err := os.WriteFile(tables, []byte(contactsTables), 0o600); err != nil {
		t.Fatal(err)
	}
	h.writeConfig(t, "store: sqlite:"+h.store+"\ndatabase: sqlite:"+c.path+"\nkeks:\n  pii: "+h.keks["pii"]+"\n  support: "+h.keks["support"]+"\n")
	h.environ = []string{"FIELDCRYPT_TABLES_FILE=" + tables}
	if s := h.status(t); len(s.Tables) != 1 || s.Tables[0].Rows != 3 {
		t.Errorf("status with FIELDCRYPT_TABLES_FILE = %+v, want contacts with 3 rows", s)
	}
}

// TestJobTablesDisagreeingWithDatabase: a tables: description that the
// database contradicts is a configuration error (exit 64) that names the
// setting, for every command that reads the tables: the default key_type
// (integer) on a TEXT primary key, whose keys the database orders as text
// (paging by number would skip rows), and two column names that differ
// only in case, which SQLite takes for one column.
func TestJobTablesDisagreeingWithDatabase(t *testing.T) {
	cases := []struct {
		name, tables, want string
	}{
		{"integer key_type on a TEXT key", strings.Replace(contactsTables, "    key_type: text\n", "", 1), "key_type"},
		{"columns differing in case", strings.Replace(contactsTables, "{column: notes, name: Notes", "{column: EMAIL, name: Notes", 1), "EMAIL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.mustRun(t, "keys", "init", "--scope", "acme")
			newCRMWith(t, h, tc.tables)
			for _, args := range [][]string{{"status"}, {"reencrypt"}} {
				r := h.run(t, args...)
				if r.code != cli.ExitUsage || !strings.Contains(r.stderr, tc.want) {
					t.Errorf("fieldcrypt %v: %v\nwant exit %d mentioning %q", args, r, cli.ExitUsage, tc.want)
				}
			}
		})
	}
}
