package cli_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/cmd/fieldcrypt/internal/cli"
)

// TestConfigPrecedence shows that the environment overrides the file and
// flags override both: each layer names a different (missing) store, and
// the error names the one in force.
func TestConfigPrecedence(t *testing.T) {
	h := newHarness(t)
	fileStore, envStore, flagStore := filepath.Join(h.dir, "from-file.db"), filepath.Join(h.dir, "from-env.db"), filepath.Join(h.dir, "from-flag.db")
	h.writeConfig(t, "store: sqlite:"+fileStore+"\nkeks:\n  pii: "+h.keks["pii"]+"\n")
	cases := []struct {
		name    string
		environ []string
		flags   []string
		want    string
	}{
		{"file", nil, nil, fileStore},
		{"env over file", []string{"FIELDCRYPT_STORE_DSN=sqlite:" + envStore}, nil, envStore},
		{"flag over env", []string{"FIELDCRYPT_STORE_DSN=sqlite:" + envStore}, []string{"--store", "sqlite:" + flagStore}, flagStore},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h.environ = append([]string{}, tc.environ...)
			r := h.run(t, append(tc.flags, "keys", "list")...)
			if r.code != cli.ExitFailed || !strings.Contains(r.stderr, tc.want+": the file does not exist") {
				t.Errorf("keys list: %v\nwant exit 1 naming %s", r, tc.want)
			}
		})
	}
}

func TestConfigEnvKEKs(t *testing.T) {
	h := newHarness(t)
	h.writeConfig(t, "store: sqlite:"+h.store+"\n")
	h.environ = []string{"FIELDCRYPT_KEK_PII=" + h.keks["pii"], "FIELDCRYPT_DEFAULT_KEK=" + h.keks["support"]}
	h.mustRun(t, "keys", "init", "--class", "pii", "--class", "other")
	keys := h.list(t)
	if k := keysOf(keys, "default", "pii", "data"); len(k) != 1 || k[0].KEKURI != h.keks["pii"] {
		t.Errorf("pii keyset %+v, want it under FIELDCRYPT_KEK_PII %s", k, h.keks["pii"])
	}
	if k := keysOf(keys, "default", "other", "data"); len(k) != 1 || k[0].KEKURI != h.keks["support"] {
		t.Errorf("other keyset %+v, want it under FIELDCRYPT_DEFAULT_KEK %s", k, h.keks["support"])
	}
}

// TestConfigErrors checks that every configuration mistake is a usage
// error (exit 64) that names the setting at fault and where it was set.
func TestConfigErrors(t *testing.T) {
	h := newHarness(t)
	good := "store: sqlite:" + h.store + "\nkeks:\n  pii: " + h.keks["pii"] + "\n"
	cases := []usageCase{
		{"unknown key", good + "kekz:\n  pii: x\n", nil, nil, []string{"line 4", "kekz", "unknown setting", "keks"}},
		{"unknown nested key", good + "vault:\n  adress: https://v\n", nil, nil, []string{"vault.adress", "address"}},
		{"bad duration in file", good + "cache_ttl: 5x\n", nil, nil, []string{"cache_ttl", "line 4", `"5x"`}},
		{"duration without unit", good + "cache_ttl: 300\n", nil, nil, []string{"cache_ttl", "5m"}},
		{"bad duration in env", good, []string{"FIELDCRYPT_CACHE_TTL=soon"}, nil, []string{"FIELDCRYPT_CACHE_TTL", `"soon"`}},
		{"bad duration flag", good, nil, []string{"--cache-ttl", "soon"}, []string{"cache-ttl"}},
		{"zero cache ttl", good + "cache_ttl: 0s\n", nil, nil, []string{"cache_ttl", "line 4", "positive"}},
		{"no scheme", "store: sqlite:x.db\nkeks:\n  pii: transit/keys/pii\n", nil, nil, []string{"keks.pii", "line 3", "no scheme"}},
		{"unknown scheme from env", good, []string{"FIELDCRYPT_KEK_PII=vaultx://k"}, nil, []string{"keks.pii (env FIELDCRYPT_KEK_PII)", `"vaultx"`, "hcvault"}},
		{"bad --kek", good, nil, []string{"--kek", "pii"}, []string{"--kek", "CLASS=URI"}},
		{"bad store kind", "store: redis://localhost\nkeks:\n  pii: " + h.keks["pii"] + "\n", nil, nil, []string{"store", "line 1", `"redis"`, "sqlite:PATH"}},
		{"no store", "keks:\n  pii: " + h.keks["pii"] + "\n", nil, nil, []string{"no keyset store", "FIELDCRYPT_STORE_DSN", "--store"}},
		{"no KEK", "store: sqlite:x.db\n", nil, nil, []string{"no KEK configured", "FIELDCRYPT_KEK_<CLASS>"}},
		{"keks not a mapping", "store: sqlite:x.db\nkeks: local://k\n", nil, nil, []string{"keks", "line 2", "mapping"}},
		{"not yaml", "store: [\n", nil, nil, []string{"config file"}},
		{"bad log format", good + "log_format: xml\n", nil, nil, []string{"log_format", `"xml"`}},
		{"lease too short", good + "lease: 100ms\n", nil, nil, []string{"lease", "line 4", "at least 1s"}},
		{"bad lease in env", good, []string{"FIELDCRYPT_LEASE=long"}, nil, []string{"FIELDCRYPT_LEASE", `"long"`}},
		{"zero lease flag", good, nil, []string{"--lease", "0s"}, []string{"lease (flag --lease)", "at least 1s"}},
		{"mysql without database", good, []string{"FIELDCRYPT_STORE_DSN=mysql://u:secret@h"}, nil, []string{"store (env FIELDCRYPT_STORE_DSN)", "no database name"}},
	}
	h.assertUsageErrors(t, cases)
}

func TestMissingConfigFile(t *testing.T) {
	h := newHarness(t)
	h.config = filepath.Join(h.dir, "nope.yaml")
	r := h.run(t, "keys", "list")
	if r.code != cli.ExitUsage || !strings.Contains(r.stderr, "nope.yaml does not exist") {
		t.Errorf("keys list --config nope.yaml: %v\nwant exit 64 naming the file", r)
	}
}

func TestConfigFromEnvPath(t *testing.T) {
	h := newHarness(t)
	h.mustRun(t, "keys", "init")
	var out strings.Builder
	code := cli.Run(t.Context(), []string{"keys", "list"}, cli.Env{
		Stdout: &out, Stderr: &strings.Builder{}, Environ: []string{"FIELDCRYPT_CONFIG=" + h.config},
	})
	if code != cli.ExitOK || !strings.Contains(out.String(), "default") {
		t.Errorf("keys list with FIELDCRYPT_CONFIG: exit %d, %q", code, out.String())
	}
}

func TestLogFormatJSON(t *testing.T) {
	h := newHarness(t)
	r := h.mustRun(t, "--log-format", "json", "keys", "init", "--class", "pii")
	var audit int
	for line := range strings.Lines(r.rawStderr) {
		if strings.HasPrefix(line, "{") && strings.Contains(line, `"msg":"fieldcrypt keyring:`) {
			audit++
			if strings.Contains(line, "\"value\"") || strings.Contains(line, "key_data") {
				t.Errorf("audit event holds key material: %s", line)
			}
		}
	}
	if audit == 0 {
		t.Errorf("--log-format json: no JSON audit event on stderr:\n%s", r.rawStderr)
	}
}

// TestAcceptKEKForms moves class pii to a new KEK and accepts the old one
// in each of the three forms: keys list, which unwraps every keyset,
// succeeds when the old KEK is accepted for pii and fails when it is
// accepted for support only.
func TestAcceptKEKForms(t *testing.T) {
	cases := []struct {
		name    string
		file    string // appended to the config file; {{old}} is the old pii KEK
		environ string
		flag    string
		ok      bool
	}{
		{"file with one URI", "accept_keks:\n  pii: {{old}}\n", "", "", true},
		{"file with a list", "accept_keks:\n  pii: [{{old}}]\n", "", "", true},
		{"env", "", "FIELDCRYPT_ACCEPT_KEKS=support={{support}},pii={{old}}", "", true},
		{"flag", "", "", "pii={{old}}", true},
		{"flag overrides the file", "accept_keks:\n  support: [{{old}}]\n", "", "pii={{old}}", true},
		{"accepted for another class", "accept_keks:\n  support: [{{old}}]\n", "", "", false},
		{"not accepted", "", "", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.mustRun(t, "keys", "init", "--scope", "acme", "--class", "pii")
			old, newPII := h.keks["pii"], h.newKEK(t, "pii-new")
			fill := strings.NewReplacer("{{old}}", old, "{{support}}", h.keks["support"]).Replace
			h.writeConfig(t, "store: sqlite:"+h.store+"\nkeks:\n  pii: "+newPII+"\n  support: "+h.keks["support"]+"\n"+fill(tc.file))
			if tc.environ != "" {
				h.environ = []string{fill(tc.environ)}
			}
			var args []string
			if tc.flag != "" {
				args = append(args, "--accept-kek", fill(tc.flag))
			}
			r := h.run(t, append(args, "keys", "list", "--json")...)
			switch {
			case tc.ok && r.code != cli.ExitOK:
				t.Errorf("keys list with the old pii KEK accepted for pii: %v\nwant exit 0", r)
			case !tc.ok && (r.code != cli.ExitFailed || !strings.Contains(r.stderr, "not configured for its class")):
				t.Errorf("keys list without the old pii KEK accepted for pii: %v\nwant exit 1, KEK not allowed", r)
			}
		})
	}
}

// TestAcceptKEKErrors: an accepted KEK without its class, or with a bad
// class or URI, is a usage error that explains the CLASS=URI form.
func TestAcceptKEKErrors(t *testing.T) {
	h := newHarness(t)
	good := "store: sqlite:" + h.store + "\nkeks:\n  pii: " + h.keks["pii"] + "\n"
	old := h.keks["support"]
	cases := []usageCase{
		{"flag without class", good, nil, []string{"--accept-kek", old}, []string{"--accept-kek", "want CLASS=URI", "for the class it names only"}},
		{"flag with an empty URI", good, nil, []string{"--accept-kek", "pii="}, []string{"want CLASS=URI"}},
		{"flag with a bad class", good, nil, []string{"--accept-kek", "pi\ti=" + old}, []string{"(flag --accept-kek)", "bad class name"}},
		{"flag with a bad scheme", good, nil, []string{"--accept-kek", "pii=vaultx://k"}, []string{"accept_keks.pii (flag --accept-kek)", `"vaultx"`}},
		{"env without class", good, []string{"FIELDCRYPT_ACCEPT_KEKS=" + old}, nil, []string{"FIELDCRYPT_ACCEPT_KEKS", "want CLASS=URI"}},
		{"env with one entry without class", good, []string{"FIELDCRYPT_ACCEPT_KEKS=pii=" + old + "," + old}, nil, []string{"FIELDCRYPT_ACCEPT_KEKS", "want CLASS=URI"}},
		{"file list without classes", good + "accept_keks: [" + old + "]\n", nil, nil, []string{"accept_keks", "line 4", "mapping of field class"}},
		{"file with a bad URI", good + "accept_keks:\n  pii: transit/keys/old\n", nil, nil, []string{"accept_keks.pii", "line 5", "no scheme"}},
		{"file with a mapping as URI", good + "accept_keks:\n  pii: {a: b}\n", nil, nil, []string{"accept_keks.pii", "KEK URI"}},
	}
	h.assertUsageErrors(t, cases)
}

// TestTablesErrorsGiveTheFileLine: a mistake under tables: in the config
// file is reported at its line in that file (not its line within the
// tables: block), with the YAML key's name.
func TestTablesErrorsGiveTheFileLine(t *testing.T) {
	h := newHarness(t)
	cfg, err := os.ReadFile(h.config)
	if err != nil {
		t.Fatal(err)
	}
	tables := strings.Replace(contactsTables, "primary_key: id", "primary_kye: id", 1)
	text := string(cfg) + "database: sqlite:" + filepath.Join(h.dir, "crm.db") + "\n" + tables
	h.writeConfig(t, text)
	want := 0
	for i, line := range strings.Split(text, "\n") {
		if strings.Contains(line, "primary_kye") {
			want = i + 1
		}
	}
	h.mustRun(t, "keys", "init", "--scope", "acme")
	r := h.run(t, "status")
	if r.code != cli.ExitUsage {
		t.Fatalf("status with a misspelt tables key: %v\nwant exit %d", r, cli.ExitUsage)
	}
	if !strings.Contains(r.stderr, fmt.Sprintf("line %d,", want)) || !strings.Contains(r.stderr, `"primary_kye"`) {
		t.Errorf("status error = %q, want line %d of the file and the key primary_kye", r.stderr, want)
	}
	if strings.Contains(r.stderr, "reencrypt.Table") {
		t.Errorf("status error names a Go type: %q", r.stderr)
	}
}

// usageCase is a configuration that `keys list` must refuse as a usage
// error (exit 64) whose message holds every string of want, and never
// the password "secret" a case's DSN may hold.
type usageCase struct {
	name    string
	file    string   // the config file's text
	environ []string // the environment
	flags   []string
	want    []string
}

// assertUsageErrors runs `keys list` under each case's configuration.
func (h *harness) assertUsageErrors(t *testing.T, cases []usageCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h.writeConfig(t, tc.file)
			h.environ = append([]string{}, tc.environ...)
			r := h.run(t, append(tc.flags, "keys", "list")...)
			if r.code != cli.ExitUsage {
				t.Fatalf("keys list with %s: %v\nwant exit 64", tc.name, r)
			}
			for _, want := range tc.want {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("error lacks %q:\n%s", want, r.stderr)
				}
			}
			if strings.Contains(r.rawStderr, "secret") {
				t.Errorf("error prints a password:\n%s", r.rawStderr)
			}
		})
	}
}
