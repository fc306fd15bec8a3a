package cli_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fieldcrypt/fieldcrypt/cmd/fieldcrypt/internal/cli"
	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// listed is one key of `keys list --json`.
type listed struct {
	Scope   string `json:"scope"`
	Class   string `json:"class"`
	Purpose string `json:"purpose"`
	KeyID   uint32 `json:"key_id"`
	Status  string `json:"status"`
	Primary bool   `json:"primary"`
	KEKURI  string `json:"kek_uri"`
}

func (h *harness) list(t *testing.T, args ...string) []listed {
	t.Helper()
	r := h.mustRun(t, append([]string{"keys", "list", "--json"}, args...)...)
	var keys []listed
	if err := json.Unmarshal([]byte(r.stdout), &keys); err != nil {
		t.Fatalf("keys list --json: %v\n%s", err, r.stdout)
	}
	return keys
}

// keysOf returns the keys of one keyset.
func keysOf(keys []listed, scope, class, purpose string) []listed {
	var out []listed
	for _, k := range keys {
		if k.Scope == scope && k.Class == class && k.Purpose == purpose {
			out = append(out, k)
		}
	}
	return out
}

func primaryOf(t *testing.T, keys []listed) listed {
	t.Helper()
	for _, k := range keys {
		if k.Primary {
			return k
		}
	}
	t.Fatalf("no primary key in %+v", keys)
	return listed{}
}

func TestInitAndList(t *testing.T) {
	h := newHarness(t)
	r := h.mustRun(t, "keys", "init", "--scope", "acme", "--class", "pii", "--class", "support")
	for _, id := range []string{"acme/pii/data", "acme/pii/index", "acme/support/data", "acme/support/index"} {
		if !regexp.MustCompile(regexp.QuoteMeta(id) + `\s+created`).MatchString(r.stdout) {
			t.Errorf("keys init stdout lacks %q created:\n%s", id, r.stdout)
		}
	}
	if !strings.Contains(r.stderr, "DEVELOPMENT KEK") {
		t.Errorf("keys init with local KEKs printed no warning on stderr:\n%s", r.stderr)
	}
	if !strings.Contains(r.stderr, "keyset created") && !strings.Contains(r.stderr, "create") {
		t.Logf("audit events on stderr:\n%s", r.stderr)
	}

	again := h.mustRun(t, "keys", "init", "--scope", "acme", "--class", "pii")
	if !regexp.MustCompile(`acme/pii/data\s+exists`).MatchString(again.stdout) {
		t.Errorf("second keys init stdout = %q, want acme/pii/data exists", again.stdout)
	}

	keys := h.list(t)
	if len(keys) != 4 {
		t.Fatalf("keys list after init: %d keys, want 4: %+v", len(keys), keys)
	}
	for _, k := range keys {
		if !k.Primary || k.Status != "enabled" || k.KEKURI != h.keks[k.Class] {
			t.Errorf("key %+v: want enabled primary under %s", k, h.keks[k.Class])
		}
	}

	table := h.mustRun(t, "keys", "list", "--scope", "acme")
	for _, want := range []string{"SCOPE", "KEY ID", "STATUS", "PRIMARY", "CREATED", "KEK", h.keks["pii"], "enabled"} {
		if !strings.Contains(table.stdout, want) {
			t.Errorf("keys list table lacks %q:\n%s", want, table.stdout)
		}
	}
	if other := h.list(t, "--scope", "globex"); len(other) != 0 {
		t.Errorf("keys list --scope globex = %+v, want nothing", other)
	}
}

func TestInitCreatesLocalKEKs(t *testing.T) {
	h := newHarness(t)
	fresh := "local://" + filepath.Join(h.dir, "new", "dev-kek.json")
	r := h.run(t, "--kek", "dev="+fresh, "keys", "init", "--class", "dev")
	if r.code != cli.ExitFailed || !strings.Contains(r.stderr, "does not exist") || !strings.Contains(r.stderr, fresh) {
		t.Fatalf("keys init with a missing local KEK file: %v\nwant exit 1 naming the missing file", r)
	}
	// The hint names the flag that creates the file, not the command that
	// just failed.
	if !strings.Contains(r.stderr, "keys init --create-local-keks") || strings.Contains(r.stderr, "or `fieldcrypt keys init`)") {
		t.Errorf("keys init with a missing local KEK file: %v\nwant a hint to --create-local-keks", r)
	}
	h.mustRun(t, "--kek", "dev="+fresh, "keys", "init", "--class", "dev", "--create-local-keks")
	if keys := keysOf(h.list(t), "default", "dev", "data"); len(keys) != 1 || keys[0].KEKURI != fresh {
		t.Errorf("default/dev/data after init --create-local-keks = %+v, want one key under %s", keys, fresh)
	}
}

func TestRotateTwoPhase(t *testing.T) {
	h := newHarness(t)
	h.mustRun(t, "keys", "init", "--scope", "acme")
	kr := openKeyring(t, h.store, h.keks)
	before := encryptContact(t, kr, "c1", "acme", "ann@example.com")
	old := primaryOf(t, keysOf(h.list(t), "acme", "pii", "data"))

	start := time.Now()
	r := h.mustRun(t, "keys", "rotate", "--scope", "acme", "--class", "pii")
	// The config sets cache_ttl 200ms and propagation_margin 100ms.
	if waited := time.Since(start); waited < 300*time.Millisecond {
		t.Errorf("keys rotate took %v, want at least the 300ms propagation wait", waited)
	}
	for _, want := range []string{"added key", "promoted key"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("keys rotate stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	if !strings.Contains(r.stderr, "waiting 300ms") {
		t.Errorf("keys rotate stderr lacks the wait:\n%s", r.stderr)
	}

	keys := keysOf(h.list(t), "acme", "pii", "data")
	if len(keys) != 2 {
		t.Fatalf("acme/pii/data after rotate: %+v, want two keys", keys)
	}
	now := primaryOf(t, keys)
	if now.KeyID == old.KeyID {
		t.Fatalf("primary after rotate = %d, the old primary", now.KeyID)
	}
	if other := keysOf(h.list(t), "acme", "support", "data"); len(other) != 1 {
		t.Errorf("acme/support/data after rotating pii: %+v, want it untouched", other)
	}

	kr2 := openKeyring(t, h.store, h.keks)
	if got, err := decryptContact(kr2, before); err != nil || got.Email != "ann@example.com" {
		t.Errorf("Decrypt(value under the old key) = %q, %v; want it still readable", got.Email, err)
	}
	after := encryptContact(t, kr2, "c2", "acme", "bob@example.com")
	info, err := crypt.InspectText(after.Email)
	if err != nil || info.KeyID != now.KeyID {
		t.Errorf("new value's key = %+v, %v; want the promoted key %d", info, err, now.KeyID)
	}
}

func TestRotateRefusesShortWait(t *testing.T) {
	h := newHarness(t)
	h.mustRun(t, "keys", "init")
	r := h.run(t, "keys", "rotate", "--class", "pii", "--propagation", "10ms")
	if r.code != cli.ExitUsage || !strings.Contains(r.stderr, "shorter than the cache TTL") {
		t.Fatalf("keys rotate --propagation 10ms with cache_ttl 200ms: %v\nwant exit 64, refused", r)
	}
	if keys := keysOf(h.list(t), "default", "pii", "data"); len(keys) != 1 {
		t.Errorf("a refused rotate added keys: %+v", keys)
	}
	h.mustRun(t, "keys", "rotate", "--class", "pii", "--propagation", "10ms", "--force")
	if keys := keysOf(h.list(t), "default", "pii", "data"); len(keys) != 2 {
		t.Errorf("keys rotate --force: %+v, want two keys", keys)
	}
}

func TestRotateInterrupted(t *testing.T) {
	h := newHarness(t)
	h.mustRun(t, "keys", "init")
	// Ctrl-C: Main cancels the context on SIGINT.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(150*time.Millisecond, cancel)
	r := h.runIn(t, ctx, "", "keys", "rotate", "--class", "pii", "--propagation", "1m")
	if r.code != cli.ExitPartial || !strings.Contains(r.stderr, "keys promote") || !strings.Contains(r.stderr, "not promoted") {
		t.Fatalf("keys rotate interrupted during the wait: %v\nwant exit 2 (partial) and how to promote", r)
	}
	keys := keysOf(h.list(t), "default", "pii", "data")
	if len(keys) != 2 {
		t.Fatalf("after an interrupted rotate: %+v, want the added key kept", keys)
	}
	var added listed
	for _, k := range keys {
		if !k.Primary {
			added = k
		}
	}
	if added.Status != "enabled" {
		t.Errorf("added key %+v, want enabled and not primary", added)
	}
	r = h.mustRun(t, "keys", "promote", "--class", "pii", "--newest", "--now")
	if got := primaryOf(t, keysOf(h.list(t), "default", "pii", "data")); got.KeyID != added.KeyID {
		t.Errorf("keys promote --newest made %d primary, want %d\n%s", got.KeyID, added.KeyID, r)
	}
}

// TestPromoteRefusesYoungKey: promote refuses, and promotes nothing, while
// a key is younger than the propagation wait (cache_ttl 200ms +
// propagation_margin 100ms in the test config; 3s of margin for the
// refusals, so that a loaded machine cannot age the key past the wait
// between the subtests), unless --now.
func TestPromoteRefusesYoungKey(t *testing.T) {
	h := newHarness(t)
	h.mustRun(t, "keys", "init", "--scope", "acme")
	h.mustRun(t, "keys", "add", "--scope", "acme", "--class", "pii", "--class", "support")
	young := func(class string) listed {
		for _, k := range keysOf(h.list(t), "acme", class, "data") {
			if !k.Primary {
				return k
			}
		}
		t.Fatalf("acme/%s/data has no added key", class)
		return listed{}
	}
	pii := young("pii")
	cases := []struct {
		name string
		args []string
	}{
		{"--key-id", []string{"--class", "pii", "--key-id", itoa(pii.KeyID)}},
		{"--newest over two keysets", []string{"--newest"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := h.run(t, append([]string{"--propagation-margin", "3s", "keys", "promote", "--scope", "acme"}, tc.args...)...)
			if r.code != cli.ExitFailed {
				t.Fatalf("keys promote %v of a key just added: %v\nwant exit 1, refused", tc.args, r)
			}
			for _, want := range []string{"refusing to promote", "propagation wait 3.2s", "--now", "nothing was promoted"} {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("keys promote refusal lacks %q:\n%s", want, r.stderr)
				}
			}
			for _, class := range []string{"pii", "support"} {
				if p := primaryOf(t, keysOf(h.list(t), "acme", class, "data")); p.KeyID == young(class).KeyID {
					t.Errorf("a refused promote made key %d of acme/%s/data primary", p.KeyID, class)
				}
			}
		})
	}

	h.mustRun(t, "keys", "promote", "--scope", "acme", "--class", "pii", "--key-id", itoa(pii.KeyID), "--now")
	if p := primaryOf(t, keysOf(h.list(t), "acme", "pii", "data")); p.KeyID != pii.KeyID {
		t.Errorf("keys promote --now: primary %d, want %d", p.KeyID, pii.KeyID)
	}
	support := young("support")
	time.Sleep(300 * time.Millisecond)
	h.mustRun(t, "keys", "promote", "--scope", "acme", "--class", "support", "--newest")
	if p := primaryOf(t, keysOf(h.list(t), "acme", "support", "data")); p.KeyID != support.KeyID {
		t.Errorf("keys promote after the wait: primary %d, want %d", p.KeyID, support.KeyID)
	}
}

func TestRotateCountdownOnTerminal(t *testing.T) {
	h := newHarness(t)
	h.mustRun(t, "keys", "init")
	var out, errb strings.Builder
	code := cli.Run(context.Background(),
		[]string{"--config", h.config, "keys", "rotate", "--class", "pii", "--propagation", "1500ms"},
		cli.Env{Stdout: &out, Stderr: &errb, Environ: h.environ, IsTerminal: func(io.Writer) bool { return true }})
	if code != cli.ExitOK {
		t.Fatalf("keys rotate: exit %d\n%s", code, errb.String())
	}
	if !strings.Contains(errb.String(), "\r\x1b[K  1s left") {
		t.Errorf("keys rotate on a terminal drew no countdown:\n%q", errb.String())
	}
}

func TestAddPromoteDisableEnable(t *testing.T) {
	h := newHarness(t)
	h.mustRun(t, "keys", "init", "--scope", "acme")
	r := h.mustRun(t, "keys", "add", "--scope", "acme", "--class", "pii", "--purpose", "index")
	m := regexp.MustCompile(`added key (\d+) to acme/pii/index`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("keys add stdout = %q", r.stdout)
	}
	if !strings.Contains(r.stdout, "fieldcrypt keys promote --scope acme --class pii --purpose index --key-id "+m[1]) {
		t.Errorf("keys add does not say how to promote:\n%s", r.stdout)
	}
	old := primaryOf(t, keysOf(h.list(t), "acme", "pii", "index"))
	h.mustRun(t, "keys", "promote", "--scope", "acme", "--class", "pii", "--purpose", "index", "--key-id", m[1], "--now")

	cases := []struct {
		args   []string
		status string
	}{
		{[]string{"keys", "disable"}, "disabled"},
		{[]string{"keys", "enable"}, "enabled"},
	}
	for _, tc := range cases {
		t.Run(tc.args[1], func(t *testing.T) {
			args := append(tc.args, "--scope", "acme", "--class", "pii", "--purpose", "index", "--key-id", itoa(old.KeyID))
			h.mustRun(t, args...)
			for _, k := range keysOf(h.list(t), "acme", "pii", "index") {
				if k.KeyID == old.KeyID && k.Status != tc.status {
					t.Errorf("key %d after %s: status %s, want %s", k.KeyID, tc.args[1], k.Status, tc.status)
				}
			}
		})
	}

	newPrimary := primaryOf(t, keysOf(h.list(t), "acme", "pii", "index"))
	r = h.run(t, "keys", "disable", "--scope", "acme", "--class", "pii", "--purpose", "index", "--key-id", itoa(newPrimary.KeyID))
	if r.code != cli.ExitFailed || !strings.Contains(r.stderr, "primary") {
		t.Errorf("keys disable of the primary: %v\nwant exit 1 naming the primary", r)
	}
	r = h.run(t, "keys", "disable", "--scope", "acme", "--key-id", itoa(old.KeyID))
	if r.code != cli.ExitUsage || !strings.Contains(r.stderr, "--class") {
		t.Errorf("keys disable without --class in a scope of two classes: %v\nwant exit 64 asking for --class", r)
	}
	r = h.run(t, "keys", "disable", "--scope", "acme", "--class", "pii", "--key-id", "12345")
	if r.code != cli.ExitFailed || !strings.Contains(r.stderr, "has no key 12345") {
		t.Errorf("keys disable of an unknown key: %v\nwant exit 1", r)
	}
}

func itoa(id uint32) string { return strconvU(id) }

func TestExportImportRestoreDrill(t *testing.T) {
	h := newHarness(t)
	h.mustRun(t, "keys", "init", "--scope", "acme")
	stored := encryptContact(t, openKeyring(t, h.store, h.keks), "c1", "acme", "ann@example.com")

	backup := filepath.Join(h.dir, "backup.json")
	r := h.mustRun(t, "keys", "export", "--out", backup)
	if !strings.Contains(r.stdout, "exported 4 keysets") {
		t.Errorf("keys export stdout = %q", r.stdout)
	}
	if fi, err := os.Stat(backup); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("export file mode = %v, %v; want 0600", fi.Mode(), err)
	}
	if r := h.run(t, "keys", "export", "--out", backup); r.code != cli.ExitFailed || !strings.Contains(r.stderr, "--force") {
		t.Errorf("keys export onto an existing file: %v\nwant refused", r)
	}
	data, err := os.ReadFile(backup)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), keyring.ExportFormat) {
		t.Errorf("export lacks its format tag %q", keyring.ExportFormat)
	}

	// The drill: a fresh store restored from the export decrypts the data.
	restored := filepath.Join(h.dir, "restored.db")
	r = h.mustRun(t, "--store", "sqlite:"+restored, "keys", "import", "--in", backup, "--verify")
	if !strings.Contains(r.stdout, "imported 4 keysets") || !strings.Contains(r.stdout, "8 KMS calls") {
		t.Errorf("keys import --verify stdout = %q, want 4 keysets and 8 KMS calls (a trial and the import)", r.stdout)
	}
	got, err := decryptContact(openKeyring(t, restored, h.keks), stored)
	if err != nil || got.Email != "ann@example.com" || got.Notes != "called about c1" {
		t.Errorf("Decrypt through the restored store = %+v, %v; want the original values", got, err)
	}

	r = h.run(t, "--store", "sqlite:"+restored, "keys", "import", "--in", backup)
	if r.code != cli.ExitFailed || !strings.Contains(r.stderr, "--overwrite") {
		t.Errorf("second import without --overwrite: %v\nwant exit 1 suggesting --overwrite", r)
	}
	h.mustRun(t, "--store", "sqlite:"+restored, "keys", "import", "--in", backup, "--overwrite")

	// An import whose KEK this configuration lacks fails its verify.
	other := h.newKEK(t, "other")
	r = h.run(t, "--store", "sqlite:"+filepath.Join(h.dir, "third.db"), "--kek", "pii="+other, "keys", "import", "--in", backup, "--verify")
	if r.code != cli.ExitFailed {
		t.Errorf("import --verify with the wrong pii KEK: %v\nwant exit 1", r)
	}
}

func TestShredTenant(t *testing.T) {
	h := newHarness(t)
	h.mustRun(t, "keys", "init", "--scope", "acme")
	h.mustRun(t, "keys", "init", "--scope", "globex")
	kr := openKeyring(t, h.store, h.keks)
	acme := encryptContact(t, kr, "a1", "acme", "ann@acme.example")
	globex := encryptContact(t, kr, "g1", "globex", "gus@globex.example")

	r := h.runIn(t, context.Background(), "globex\n", "keys", "shred", "--scope", "acme")
	if r.code != cli.ExitFailed || !strings.Contains(r.stderr, "not confirmed") {
		t.Fatalf("keys shred with the wrong confirmation: %v\nwant refused", r)
	}
	if !strings.Contains(r.stderr, "acme/pii/data") {
		t.Errorf("keys shred does not print what it would destroy:\n%s", r.stderr)
	}
	if len(h.list(t, "--scope", "acme")) != 4 {
		t.Fatalf("an unconfirmed shred destroyed keysets")
	}

	r = h.runIn(t, context.Background(), "acme\n", "keys", "shred", "--scope", "acme")
	if r.code != cli.ExitOK || !strings.Contains(r.stdout, "4 keysets destroyed") {
		t.Fatalf("keys shred confirmed: %v", r)
	}
	kr2 := openKeyring(t, h.store, h.keks)
	if _, err := decryptContact(kr2, acme); err == nil {
		t.Errorf("Decrypt(acme contact) after shred err = nil, want an error")
	} else if !errors.Is(err, keyring.ErrScopeShredded) {
		t.Errorf("Decrypt(acme contact) after shred err = %v, want ErrScopeShredded", err)
	}
	if got, err := decryptContact(kr2, globex); err != nil || got.Email != "gus@globex.example" {
		t.Errorf("Decrypt(globex contact) after shredding acme = %q, %v; want it intact", got.Email, err)
	}

	r = h.run(t, "keys", "shred", "--scope", "default", "--yes")
	if r.code != cli.ExitFailed || !strings.Contains(r.stderr, "--force") {
		t.Errorf("keys shred --scope default: %v\nwant exit 1, refused without --force", r)
	}
}

func TestRewrapToNewKEK(t *testing.T) {
	h := newHarness(t)
	h.mustRun(t, "keys", "init", "--scope", "acme")
	stored := encryptContact(t, openKeyring(t, h.store, h.keks), "c1", "acme", "ann@example.com")
	oldPII := h.keks["pii"]
	newPII := h.newKEK(t, "pii-2")

	r := h.run(t, "--kek", "pii="+newPII, "keys", "rewrap")
	if r.code != cli.ExitFailed || !strings.Contains(r.stderr, "rewrap stopped") {
		t.Fatalf("keys rewrap to a new KEK without accepting the old one: %v\nwant exit 1", r)
	}

	r = h.mustRun(t, "--kek", "pii="+newPII, "--accept-kek", "pii="+oldPII, "keys", "rewrap", "--dry-run")
	if !strings.Contains(r.stdout, "from "+oldPII) || !strings.Contains(r.stdout, "dry run") {
		t.Errorf("keys rewrap --dry-run stdout:\n%s", r.stdout)
	}
	r = h.mustRun(t, "--kek", "pii="+newPII, "--accept-kek", "pii="+oldPII, "keys", "rewrap")
	// Two pii keysets unwrapped with the old KEK and wrapped with the new,
	// two support keysets unwrapped and wrapped with theirs: 8 calls.
	if !strings.Contains(r.stdout, "rewrapped 4 keysets; 8 KMS calls made") {
		t.Errorf("keys rewrap stdout = %q, want 4 keysets and 8 KMS calls", r.stdout)
	}
	h.environ = []string{"FIELDCRYPT_KEK_PII=" + newPII}
	for _, k := range keysOf(h.list(t), "acme", "pii", "data") {
		if k.KEKURI != newPII {
			t.Errorf("acme/pii/data after rewrap under %s, want %s", k.KEKURI, newPII)
		}
	}

	// The old KEK is no longer needed: remove its file.
	path := strings.TrimPrefix(oldPII, "local://")
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	keks := map[string]string{"pii": newPII, "support": h.keks["support"]}
	if got, err := decryptContact(openKeyring(t, h.store, keks), stored); err != nil || got.Email != "ann@example.com" {
		t.Errorf("Decrypt after rewrap, with the old KEK gone = %q, %v; want the value", got.Email, err)
	}
}

// rotatedPII creates acme's keysets, rotates its pii data keyset (add,
// wait, promote) and returns the key the rotation demoted.
func rotatedPII(t *testing.T, h *harness) listed {
	t.Helper()
	h.mustRun(t, "keys", "init", "--scope", "acme")
	h.mustRun(t, "keys", "rotate", "--scope", "acme", "--class", "pii")
	for _, k := range keysOf(h.list(t), "acme", "pii", "data") {
		if !k.Primary {
			return k
		}
	}
	t.Fatal("after keys rotate, acme's pii data keyset has no key but the primary")
	return listed{}
}

func TestDestroy(t *testing.T) {
	h := newHarness(t)
	old := rotatedPII(t, h)
	sel := []string{"--scope", "acme", "--class", "pii", "--key-id", itoa(old.KeyID)}

	// Just promoted: an instance that has not reloaded the keyset may
	// still write under the old key after any count, so destroy waits the
	// propagation wait (300ms in the test config) from the last change.
	r := h.run(t, append([]string{"keys", "destroy", "--yes"}, sel...)...)
	if r.code != cli.ExitFailed || !strings.Contains(r.stderr, "refusing to destroy") || !strings.Contains(r.stderr, "propagation wait 300ms") {
		t.Fatalf("keys destroy right after the promotion: %v\nwant refused, naming the propagation wait", r)
	}
	if slices.ContainsFunc(keysOf(h.list(t), "acme", "pii", "data"), func(k listed) bool { return k.Status == "destroyed" }) {
		t.Fatalf("a refused destroy destroyed a key")
	}
	time.Sleep(350 * time.Millisecond)

	r = h.run(t, append([]string{"keys", "destroy"}, sel...)...)
	if r.code != cli.ExitFailed || !strings.Contains(r.stderr, "no tables are configured") {
		t.Fatalf("keys destroy with no tables to check: %v\nwant refused", r)
	}
	r = h.runIn(t, context.Background(), "no\n", append([]string{"keys", "destroy", "--force"}, sel...)...)
	if r.code != cli.ExitFailed || !strings.Contains(r.stderr, "not confirmed") {
		t.Fatalf("keys destroy --force, not confirmed: %v\nwant refused", r)
	}
	r = h.runIn(t, context.Background(), itoa(old.KeyID)+"\n", append([]string{"keys", "destroy", "--force"}, sel...)...)
	if r.code != cli.ExitOK {
		t.Fatalf("keys destroy --force, confirmed: %v", r)
	}
	for _, k := range keysOf(h.list(t), "acme", "pii", "data") {
		if k.KeyID == old.KeyID && k.Status != "destroyed" {
			t.Errorf("key %d after destroy: %s, want destroyed", k.KeyID, k.Status)
		}
	}
	r = h.run(t, append([]string{"keys", "destroy", "--force", "--yes"}, sel...)...)
	if r.code != cli.ExitFailed || !strings.Contains(r.stderr, "already destroyed") {
		t.Errorf("destroying a destroyed key: %v\nwant exit 1", r)
	}
}

// TestDestroyWithChangeDatedInTheFuture: a keyset whose last change is
// dated ahead of this machine's clock (clock skew between the writer and
// the operator's machine) cannot be shown to have waited the propagation
// wait: destroy refuses and says the clocks disagree, rather than report
// a negative age.
func TestDestroyWithChangeDatedInTheFuture(t *testing.T) {
	h := newHarness(t)
	old := rotatedPII(t, h)
	db, err := sql.Open("sqlite", "file:"+h.store)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const where = " FROM fieldcrypt_keysets WHERE scope = 'acme' AND class = 'pii' AND purpose = 'data'"
	var updated string
	if err := db.QueryRow("SELECT updated_at" + where).Scan(&updated); err != nil {
		t.Fatal(err)
	}
	at, err := time.Parse(time.RFC3339Nano, updated)
	if err != nil {
		t.Fatalf("the store's updated_at %q: %v", updated, err)
	}
	if _, err := db.Exec("UPDATE fieldcrypt_keysets SET updated_at = ? WHERE scope = 'acme' AND class = 'pii' AND purpose = 'data'",
		at.Add(time.Hour).Format(time.RFC3339Nano)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(350 * time.Millisecond) // past the propagation wait of the change itself
	r := h.run(t, "keys", "destroy", "--scope", "acme", "--class", "pii", "--key-id", itoa(old.KeyID), "--yes")
	if r.code != cli.ExitFailed || !strings.Contains(r.stderr, "in the future") || strings.Contains(r.stderr, "changed -") {
		t.Errorf("keys destroy with the last change dated an hour ahead: %v\nwant refused, saying the clocks disagree", r)
	}
}
