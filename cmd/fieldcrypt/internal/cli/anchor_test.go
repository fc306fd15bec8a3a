package cli_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/keyset"

	"github.com/fieldcrypt/fieldcrypt/cmd/fieldcrypt/internal/cli"
	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/keyring/sqlstore"
	"github.com/fieldcrypt/fieldcrypt/kms/local"
)

// storeOf opens the harness's SQLite keyset store as an attacker with
// write access to its database would.
func storeOf(t *testing.T, h *harness) keyring.Store {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+h.store+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, err := sqlstore.New(db, sqlstore.SQLite, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func overwrite(t *testing.T, s keyring.Store, rec *keyring.Record) {
	t.Helper()
	ctx := context.Background()
	if err := s.Delete(ctx, rec.ID); err != nil {
		t.Fatal(err)
	}
	c := *rec
	if err := s.Create(ctx, &c); err != nil {
		t.Fatal(err)
	}
}

// TestAnchorCatchesRollbackAcrossRuns: with --anchor, each run of the tool
// is a fresh process, yet a keyset row put back from before `keys destroy`
// is refused by the next run; without the anchor it is not (the documented
// limit).
func TestAnchorCatchesRollbackAcrossRuns(t *testing.T) {
	h := newHarness(t)
	anchor := "--anchor=sqlite:" + filepath.Join(h.dir, "anchor.db")
	h.mustRun(t, anchor, "keys", "init", "--scope", "acme", "--class", "pii")
	store := storeOf(t, h)
	id := keyring.KeysetID{Scope: "acme", Class: "pii", Purpose: keyring.PurposeData}
	before, err := store.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	h.mustRun(t, anchor, "keys", "add", "--scope", "acme", "--class", "pii")
	overwrite(t, store, before)

	r := h.run(t, anchor, "keys", "list", "--scope", "acme")
	if r.code != cli.ExitFailed || !strings.Contains(r.stderr, "rolled back") {
		t.Errorf("keys list with the anchor after a rollback: %v\nwant exit 1 naming the rollback", r)
	}
	if r := h.run(t, "keys", "list", "--scope", "acme"); r.code != cli.ExitOK {
		t.Errorf("keys list without the anchor: %v\nwant it to list the old keyset (the documented limit)", r)
	}
}

func TestAnchorConfigErrors(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"anchor in the store's database", []string{"--anchor", "sqlite:" + h.store}, "store's own database"},
		{"anchor in the store's file, another spelling", []string{"--anchor", "sqlite:" + filepath.Join(h.dir, ".", "sub", "..", "keys.db") + "?_pragma=foreign_keys(1)"}, "store's own database"},
		{"anchor in the store's PostgreSQL database, another user and host name", []string{
			"--store", "postgres://fieldcrypt_admin@127.0.0.1/crm?sslmode=disable",
			"--anchor", "postgres://anchor_writer:secret@LOCALHOST:5432/crm?search_path=anchors"}, "store's own database"},
		{"anchor in the store's MySQL database", []string{
			"--store", "mysql://admin@db.internal/crm", "--anchor", "mysql://other@db.internal:3306/crm"}, "store's own database"},
		{"anchor in the CRM database", []string{"--database", "sqlite:" + filepath.Join(h.dir, "crm.db"), "--anchor", "sqlite:" + filepath.Join(h.dir, "crm.db")}, "CRM database"},
		{"anchor table without anchor", []string{"--anchor-table", "anchors"}, "anchor is not"},
		{"anchor as a directory", []string{"--anchor", "dir:" + h.dir}, "SQL database"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.run(t, append(tc.args, "keys", "list")...)
			if r.code != cli.ExitUsage || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("fieldcrypt %v keys list: %v\nwant exit %d mentioning %q", tc.args, r, cli.ExitUsage, tc.want)
			}
		})
	}
	// Another database on the store's server is a valid anchor.
	r := h.run(t, "--store", "postgres://fieldcrypt_admin@127.0.0.1:1/crm?sslmode=disable", "--anchor", "postgres://fieldcrypt_admin@127.0.0.1:1/anchor?sslmode=disable", "keys", "list")
	if r.code == cli.ExitUsage {
		t.Errorf("an anchor in another database of the store's server: %v\nwant it accepted (a connection error at most)", r)
	}
}

// TestAnchorInStoreThroughDriverSettings: pgx takes the host, port and
// database from more than a URL's host and path (parameters, host lists,
// the PG* environment). An anchor DSN whose URL names another server or
// database, but which pgx would connect to the store's database, is
// refused as the store's own database.
func TestAnchorInStoreThroughDriverSettings(t *testing.T) {
	h := newHarness(t)
	store := "postgres://fieldcrypt_admin@127.0.0.1:5432/crm?sslmode=disable"
	for _, tc := range []struct {
		name, anchor string
		env          map[string]string
	}{
		{"host and dbname parameters", "postgres://anchor_writer@anchors.internal/anchor?host=127.0.0.1&dbname=crm", nil},
		{"database parameter", "postgres://anchor_writer@localhost/anchor?database=crm", nil},
		{"port parameter", "postgres://anchor_writer@localhost:6543/crm?port=5432", nil},
		{"a host list", "postgres://anchor_writer@anchors.internal:5432,localhost:5432/crm", nil},
		{"a Unix socket directory", "postgres://anchor_writer@anchors.internal/crm?host=/var/run/postgresql", nil},
		{"PGDATABASE for a URL without a database", "postgres://anchor_writer@localhost/", map[string]string{"PGDATABASE": "crm"}},
		{"the unspecified address", "postgres://anchor_writer@0.0.0.0:5432/crm", nil},
		{"a host name with a final dot", "postgres://anchor_writer@localhost.:5432/crm", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			r := h.run(t, "--store", store, "--anchor", tc.anchor, "keys", "list")
			if r.code != cli.ExitUsage || !strings.Contains(r.stderr, "store's own database") {
				t.Errorf("--anchor %s: %v\nwant exit %d: the store's own database", tc.anchor, r, cli.ExitUsage)
			}
		})
	}
	r := h.run(t, "--store", "mysql://admin@localhost:3306/crm", "--anchor", "mysql://anchor_writer@[::]:03306/crm", "keys", "list")
	if r.code != cli.ExitUsage || !strings.Contains(r.stderr, "store's own database") {
		t.Errorf("a MySQL anchor at [::]:03306 in the store's database: %v\nwant exit %d: the store's own database", r, cli.ExitUsage)
	}
	// The same spellings naming another database are accepted.
	for _, anchor := range []string{
		"postgres://anchor_writer@127.0.0.1:1/crm?dbname=anchor&sslmode=disable",
		"postgres://anchor_writer@127.0.0.1:1/crm?port=2&sslmode=disable",
	} {
		r := h.run(t, "--store", "postgres://fieldcrypt_admin@127.0.0.1:1/crm?sslmode=disable", "--anchor", anchor, "keys", "list")
		if r.code == cli.ExitUsage {
			t.Errorf("--anchor %s (another database): %v\nwant it accepted (a connection error at most)", anchor, r)
		}
	}
}

// TestKeysUpgrade stores a version 1 keyset record (docs/FORMAT.md
// section 10), which every command refuses, and upgrades it.
func TestKeysUpgrade(t *testing.T) {
	h := newHarness(t)
	h.mustRun(t, "keys", "init", "--scope", "other")
	store := storeOf(t, h)
	ctx := context.Background()
	kek, err := local.OpenFunc(nil)(ctx, h.keks["pii"])
	if err != nil {
		t.Fatal(err)
	}
	handle, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	if err != nil {
		t.Fatal(err)
	}
	var ad []byte
	for _, p := range []string{"fieldcrypt keyset v1", "acme", "pii", "data"} {
		ad = binary.BigEndian.AppendUint32(ad, uint32(len(p)))
		ad = append(ad, p...)
	}
	var buf bytes.Buffer
	if err := handle.WriteWithContext(ctx, keyset.NewBinaryWriter(&buf), kek, ad); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if err := store.Create(ctx, &keyring.Record{
		ID:     keyring.KeysetID{Scope: "acme", Class: "pii", Purpose: keyring.PurposeData},
		KEKURI: h.keks["pii"], EncryptedKeyset: buf.Bytes(), Metadata: []byte(`{}`), Created: now, Updated: now,
	}); err != nil {
		t.Fatal(err)
	}
	if r := h.run(t, "keys", "list", "--scope", "acme"); r.code != cli.ExitFailed {
		t.Errorf("keys list of a version 1 record: %v\nwant exit 1", r)
	}
	r := h.mustRun(t, "keys", "upgrade")
	if !strings.Contains(r.stdout, "upgraded 1 keysets") {
		t.Errorf("keys upgrade stdout = %q, want 1 keyset upgraded", r.stdout)
	}
	h.mustRun(t, "keys", "list", "--scope", "acme")
	if r := h.mustRun(t, "keys", "upgrade"); !strings.Contains(r.stdout, "upgraded 0 keysets") {
		t.Errorf("second keys upgrade stdout = %q, want 0", r.stdout)
	}
}

// TestImportVerifyAdvancesAnchor: keys import --overwrite --verify with an
// anchor records the imported (verified) versions in the anchor, so that a
// later rollback below them is caught; the real import, not only the trial,
// verifies.
func TestImportVerifyAdvancesAnchor(t *testing.T) {
	h := newHarness(t)
	h.mustRun(t, "keys", "init", "--scope", "acme", "--class", "pii")
	h.mustRun(t, "keys", "add", "--scope", "acme", "--class", "pii")
	backup := filepath.Join(h.dir, "backup.json")
	h.mustRun(t, "keys", "export", "--out", backup)

	anchorPath := filepath.Join(h.dir, "anchor.db")
	h.mustRun(t, "--anchor=sqlite:"+anchorPath, "keys", "import", "--in", backup, "--overwrite", "--verify")

	db, err := sql.Open("sqlite", "file:"+anchorPath+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got := map[string]int64{}
	rows, err := db.QueryContext(t.Context(), "SELECT scope, class, purpose, version FROM fieldcrypt_keyset_anchor")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var scope, class, purpose string
		var version int64
		if err := rows.Scan(&scope, &class, &purpose, &version); err != nil {
			t.Fatal(err)
		}
		got[scope+"/"+class+"/"+purpose] = version
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := stateVersions(t, backup)
	if len(want) == 0 {
		t.Fatal("the export holds no keyset")
	}
	for id, v := range want {
		if got[id] != int64(v) {
			t.Errorf("anchor after keys import --overwrite --verify: %s at version %d, want %d", id, got[id], v)
		}
	}
}

// stateVersions returns the state version of each keyset of an export
// file, by scope/class/purpose.
func stateVersions(t *testing.T, path string) map[string]uint64 {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Keysets []struct {
			Scope, Class, Purpose string
			State                 []byte
		}
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	versions := make(map[string]uint64)
	for _, k := range doc.Keysets {
		var st struct{ Version uint64 }
		if err := json.Unmarshal(k.State, &st); err != nil {
			t.Fatalf("state of %s/%s/%s: %v", k.Scope, k.Class, k.Purpose, err)
		}
		versions[k.Scope+"/"+k.Class+"/"+k.Purpose] = st.Version
	}
	return versions
}
