package cli_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/fieldcrypt/fieldcrypt/cmd/fieldcrypt/internal/cli"
	"github.com/fieldcrypt/fieldcrypt/cmd/fieldcrypt/internal/cli/testdata/crmmodel"
	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/keyring/sqlstore"
	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/local"
)

// harness is a fieldcrypt setup in a temporary directory: a SQLite keyset
// store, local KEKs for classes pii and support, and a config file.
type harness struct {
	dir     string
	config  string            // path of fieldcrypt.yaml
	store   string            // path of the SQLite store
	keks    map[string]string // class -> local:// URI
	environ []string          // the environment the runs see
}

// contact is the record the tests encrypt, as an application would: from
// a package of its own, which fieldcrypt schema can read too.
type contact = crmmodel.Contact

// contactsTables describes the contacts table of the job tests, as the
// contact struct encrypts it.
const contactsTables = `tables:
  - name: contacts
    primary_key: id
    key_type: text
    record: contact
    scope: tenant
    ids: [{column: id, name: ID}]
    encrypted:
      - {column: email, name: Email, class: pii}
      - {column: notes, name: Notes, class: support}
    indexes:
      - {column: email_idx, name: EmailIdx, sources: [email], transforms: lower, bits: 16}
`

const testConfig = `# fieldcrypt test configuration
store: sqlite:{{store}}
keks:
  pii: {{pii}}
  support: {{support}}
cache_ttl: 200ms
propagation_margin: 100ms
`

func newHarness(t *testing.T) *harness {
	t.Helper()
	dir := t.TempDir()
	h := &harness{
		dir:     dir,
		config:  filepath.Join(dir, "fieldcrypt.yaml"),
		store:   filepath.Join(dir, "keys.db"),
		keks:    map[string]string{},
		environ: []string{},
	}
	for _, class := range []string{"pii", "support"} {
		h.keks[class] = h.newKEK(t, class)
	}
	cfg := strings.NewReplacer("{{store}}", h.store, "{{pii}}", h.keks["pii"], "{{support}}", h.keks["support"]).Replace(testConfig)
	h.writeConfig(t, cfg)
	return h
}

// newKEK creates a local KEK key file and returns its URI.
func (h *harness) newKEK(t *testing.T, name string) string {
	t.Helper()
	uri, err := local.CreateInsecureKeyFile(filepath.Join(h.dir, name+"-kek.json"))
	if err != nil {
		t.Fatalf("CreateInsecureKeyFile(%s) err = %v", name, err)
	}
	return uri
}

func (h *harness) writeConfig(t *testing.T, text string) {
	t.Helper()
	if err := os.WriteFile(h.config, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// result is what one run of the command did.
type result struct {
	code   int
	stdout string
	// stderr is what an operator reads on stderr: each JSON log record
	// replaced by its message (and its error, if any), each other line
	// as it is; rawStderr is stderr as written.
	stderr, rawStderr string
}

func (r result) String() string {
	return "exit " + strconv.Itoa(r.code) + "\n--- stdout:\n" + r.stdout + "--- stderr:\n" + r.rawStderr
}

// stderrText replaces each JSON log record of stderr by its message and
// error.
func stderrText(raw string) string {
	var b strings.Builder
	for line := range strings.Lines(raw) {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil {
			b.WriteString(line)
			continue
		}
		fmt.Fprint(&b, rec["msg"])
		for _, k := range []string{"error", "err"} {
			if v, ok := rec[k]; ok {
				fmt.Fprintf(&b, " %s=%v", k, v)
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// run runs fieldcrypt with the harness's config file and args.
func (h *harness) run(t *testing.T, args ...string) result {
	t.Helper()
	return h.runIn(t, context.Background(), "", args...)
}

// runIn runs fieldcrypt with ctx and stdin.
func (h *harness) runIn(t *testing.T, ctx context.Context, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	full := append([]string{"--config", h.config}, args...)
	code := cli.Run(ctx, full, cli.Env{
		Stdin:   strings.NewReader(stdin),
		Stdout:  &out,
		Stderr:  &errb,
		Environ: h.environ,
	})
	return result{code, out.String(), stderrText(errb.String()), errb.String()}
}

// mustRun runs fieldcrypt and fails the test unless it exits 0.
func (h *harness) mustRun(t *testing.T, args ...string) result {
	t.Helper()
	r := h.run(t, args...)
	if r.code != cli.ExitOK {
		t.Fatalf("fieldcrypt %s: %v", strings.Join(args, " "), r)
	}
	return r
}

// openKeyring opens, as an application would, a keyring over the SQLite
// store at path with the given KEKs (keysets are never created
// implicitly).
func openKeyring(t *testing.T, path string, keks map[string]string, accept ...string) *keyring.Keyring {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return openKeyringDB(t, db, sqlstore.SQLite, "", keks, accept...)
}

// openKeyringDB opens a keyring over the keyset store in table of db.
func openKeyringDB(t *testing.T, db *sql.DB, d sqlstore.Dialect, table string, keks map[string]string, accept ...string) *keyring.Keyring {
	t.Helper()
	store, err := sqlstore.New(db, d, &sqlstore.Options{Table: table})
	if err != nil {
		t.Fatal(err)
	}
	opener := kms.NewOpener()
	opener.Register(local.Scheme, local.OpenFunc(nil))
	byClass := make(map[string][]string) // accept holds CLASS=URI entries
	for _, e := range accept {
		class, uri, _ := strings.Cut(e, "=")
		byClass[class] = append(byClass[class], uri)
	}
	kr, err := keyring.New(keyring.Config{
		Store: store, Opener: opener, KEKs: keks, AcceptKEKs: byClass,
		CacheTTL: time.Millisecond, StalePeriod: -1, DisableAutoCreate: true,
	})
	if err != nil {
		t.Fatalf("keyring.New() err = %v", err)
	}
	t.Cleanup(func() { kr.Close() })
	return kr
}

// encryptContact encrypts a contact through kr and returns the stored form.
func encryptContact(t *testing.T, kr *keyring.Keyring, id, tenant, email string) contact {
	t.Helper()
	c := contact{ID: id, Tenant: tenant, Email: email, Notes: "called about " + id}
	if err := crypt.New(kr, nil).Encrypt(context.Background(), &c); err != nil {
		t.Fatalf("Encrypt(%s) err = %v", id, err)
	}
	return c
}

// decryptContact decrypts a copy of the stored contact through kr.
func decryptContact(kr *keyring.Keyring, stored contact) (contact, error) {
	c := stored
	err := crypt.New(kr, nil).Decrypt(context.Background(), &c)
	return c, err
}

func strconvU(n uint32) string { return strconv.FormatUint(uint64(n), 10) }
