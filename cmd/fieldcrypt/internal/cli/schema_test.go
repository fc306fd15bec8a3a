package cli_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fieldcrypt/fieldcrypt/cmd/fieldcrypt/internal/cli"
	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/reencrypt"
)

// TestSchemaCommandFeedsTheJob: `fieldcrypt schema` reads the tags of a
// record type in its own package (testdata/crmmodel, tagged as the tests'
// contact struct) through the Go toolchain, and what it prints, fed back
// to the job as the tables: description, runs clean: after a rotation the
// job rewrites every row under the new keys and verify finds them current.
func TestSchemaCommandFeedsTheJob(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatalf("fieldcrypt schema needs the Go toolchain: %v", err)
	}
	h := newHarness(t)
	r := h.mustRun(t, "schema", "./testdata/crmmodel", "Contact=contacts")
	cfg, err := reencrypt.ParseConfig([]byte(r.stdout))
	require.NoError(t, err, "the printed description:\n%s", r.stdout)
	require.Len(t, cfg.Tables, 1)
	got := cfg.Tables[0]
	assert.Equal(t, "contacts", got.Name)
	assert.Equal(t, "id", got.PrimaryKey)
	assert.Equal(t, reencrypt.KeyText, got.KeyType)
	assert.Equal(t, crypt.SchemaSpec{
		Record: "contact", Scope: "tenant",
		IDs: []crypt.ColumnName{{Column: "id", Name: "ID"}},
		Fields: []crypt.FieldSpec{
			{Column: "email", Name: "Email", Class: "pii"},
			{Column: "notes", Name: "Notes", Class: "support"},
		},
		Indexes: []crypt.IndexSpec{{Column: "email_idx", Name: "EmailIdx", Sources: []string{"email"}, Transforms: "lower", Bits: 16, Class: "pii"}},
	}, got.SchemaSpec)

	c := newCRMWith(t, h, r.stdout)
	h.mustRun(t, "keys", "init", "--scope", "acme")
	want := c.insert(t, openKeyring(t, h.store, h.keks), "acme", 20)
	h.mustRun(t, "verify")
	h.mustRun(t, "keys", "rotate", "--scope", "acme", "--class", "pii", "--purpose", "all")
	sum := parseSummary(t, h.mustRun(t, "reencrypt", "--json").stdout)
	if sum.Outcome != "done" || len(sum.Tables) != 1 || sum.Tables[0].Rewritten != 20 {
		t.Errorf("reencrypt with the printed description = %+v, want done with 20 rows rewritten", sum)
	}
	if r := h.mustRun(t, "verify"); !strings.Contains(r.stdout, "outcome: done") {
		t.Errorf("verify after the job:\n%s", r.stdout)
	}
	assert.Equal(t, want, c.readAll(t, openKeyring(t, h.store, h.keks)))
}

// TestSchemaCommandRefusals: arguments that name no exported type, a
// main package (which no program can import) and a record with no single
// key to page by are refused with what was wrong, and no program is left
// behind in the package.
func TestSchemaCommandRefusals(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatalf("fieldcrypt schema needs the Go toolchain: %v", err)
	}
	h := newHarness(t)
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"schema", "./testdata/crmmodel"}, cli.ExitUsage, "at least one TYPE=TABLE"},
		{[]string{"schema", "./testdata/crmmodel", "contact=contacts"}, cli.ExitUsage, "not an exported Go type name"},
		{[]string{"schema", "./testdata/crmmodel", "Contact"}, cli.ExitUsage, "want TYPE=TABLE"},
		{[]string{"schema", "./testdata/crmmodel", `Contact=x");os.Exit(0)//`}, cli.ExitOK, `name: x");os.Exit(0)//`},
		{[]string{"schema", "../..", "Contact=contacts"}, cli.ExitUsage, "main package"},
		{[]string{"schema", "./testdata/crmmodel", "Line=lines"}, cli.ExitFailed, "2 identity columns"},
		{[]string{"schema", "./testdata/crmmodel", "Missing=m"}, cli.ExitFailed, "Missing"},
		{[]string{"schema", "./testdata/crmmodel", "Caller=callers"}, cli.ExitFailed, "Caller.PhoneIdx: blind index over Phone (column phone), which is not encrypted"},
	} {
		r := h.run(t, tt.args...)
		assert.Equal(t, tt.code, r.code, "fieldcrypt %s: %v", strings.Join(tt.args, " "), r)
		assert.Contains(t, r.stdout+r.stderr, tt.want, "fieldcrypt %s", strings.Join(tt.args, " "))
	}
	leftovers, err := exec.Command("sh", "-c", "ls -d testdata/crmmodel/_fieldcrypt_schema_* 2>/dev/null || true").Output()
	require.NoError(t, err)
	assert.Empty(t, strings.TrimSpace(string(leftovers)), "temporary programs left behind")
}

// TestTableOfRefusesAPlaintextSource: an index over a field that is not
// encrypted has no description the job can run (it recomputes indexes from
// the encrypted columns it decrypts, and NewSchema takes no other source),
// so TableOf refuses the record with a *crypt.PlanError naming the index.
func TestTableOfRefusesAPlaintextSource(t *testing.T) {
	type caller struct {
		_        struct{} `crypt:"record=caller"`
		ID       int64    `crypt:"id"`
		Name     string   `crypt:"encrypt"`
		Phone    string
		PhoneIdx string `crypt:"blind=Name+Phone,bits=12"`
	}
	_, err := reencrypt.TableOf("callers", "", caller{})
	var pe *crypt.PlanError
	require.True(t, errors.As(err, &pe), "TableOf err = %v, want *crypt.PlanError", err)
	assert.Equal(t, "PhoneIdx", pe.Field)
	assert.Contains(t, pe.Msg, "blind index over Phone (column phone), which is not encrypted")
	assert.Contains(t, pe.Msg, "cannot maintain a blind index over a plaintext column")
}

// appModule writes a throwaway application module into a temporary
// directory, requiring the fieldcrypt module at fieldcrypt (a directory,
// through a replace directive), with a package model holding the files
// model; it returns the module's directory.
func appModule(t *testing.T, fieldcrypt string, model map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "app")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "model"), 0o755))
	gomod := "module example.com/app\n\ngo 1.26\n\nrequire github.com/fieldcrypt/fieldcrypt v0.0.0\n\n" +
		"replace github.com/fieldcrypt/fieldcrypt => " + fieldcrypt + "\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644))
	for name, text := range model {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "model", name), []byte(text), 0o644))
	}
	return dir
}

// goIn runs the go command in dir and fails the test if it fails.
func goIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go %s:\n%s", strings.Join(args, " "), out)
	return string(out)
}

// readFiles returns the contents of the named files of dir.
func readFiles(t *testing.T, dir string, names ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, n))
		require.NoError(t, err)
		out[n] = string(b)
	}
	return out
}

// noLeftovers fails the test if a temporary program is left in dir.
func noLeftovers(t *testing.T, dir string) {
	t.Helper()
	left, err := filepath.Glob(filepath.Join(dir, "_fieldcrypt_schema_*"))
	require.NoError(t, err)
	assert.Empty(t, left, "temporary programs left behind")
}

const appModel = `package model

import "github.com/fieldcrypt/fieldcrypt/crypt"

// Contact is stored by GORM.
type Contact struct {
	_        struct{} ` + "`crypt:\"record=contact\"`" + `
	ID       int64    ` + "`crypt:\"id\"`" + `
	Email    string   ` + "`crypt:\"encrypt,class=pii\" gorm:\"column:email_address\"`" + `
	EmailIdx string   ` + "`crypt:\"blind=Email,transform=lower,bits=14\"`" + `
	Address  ` + "`gorm:\"embeddedPrefix:home_\"`" + `
}

// Address is embedded in Contact.
type Address struct {
	Street string ` + "`crypt:\"encrypt,class=pii\"`" + `
}

// Check is here so that the package imports crypt, as a model package
// does.
var Check = crypt.Validate
`

// TestSchemaCommandInAnApplicationModule: in an application module whose
// model package imports only crypt, so that its go.mod lists none of the
// requirements of package reencrypt that the generated program imports,
// fieldcrypt schema prints the description, and leaves the module's
// go.mod and go.sum as they were, byte for byte: as they are (where go run
// would refuse: go.mod needs updates), with GOFLAGS=-mod=mod (which lets the
// go command rewrite them) and with a vendor directory (which holds no
// reencrypt). The application's module graph is part of this
// repository's, so go list -m all here puts that graph's go.mod files in
// the module cache (a build loads only some of them: not the requirements
// of a go 1.16 module such as go-logr/stdr, which a fresh cache lacks).
// On a cold module cache that one command needs the network, as any build
// of this repository does; then the test runs with GOPROXY=off. It runs
// with GOWORK=off and no GOFLAGS of the caller's, so that a go.work file
// or a flag in the developer's environment changes neither the graph it
// fetches nor what the subtests see.
func TestSchemaCommandInAnApplicationModule(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatalf("fieldcrypt schema needs the Go toolchain: %v", err)
	}
	t.Setenv("GOWORK", "off")
	t.Setenv("GOFLAGS", "")
	checkout := strings.TrimSpace(goIn(t, ".", "list", "-m", "-f", "{{.Dir}}"))
	sum, err := os.ReadFile(filepath.Join(checkout, "go.sum"))
	require.NoError(t, err)
	goIn(t, checkout, "list", "-m", "all")
	t.Setenv("GOPROXY", "off")

	for _, tt := range []struct {
		name, goflags string
		vendor        bool
	}{{"plain", "", false}, {"GOFLAGS=-mod=mod", "-mod=mod", false}, {"vendor", "", true}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("GOFLAGS", tt.goflags)
			app := appModule(t, checkout, map[string]string{"model.go": appModel})
			// go.sum: this checkout's, a superset of what the module needs,
			// so that the go command verifies every module offline. go.mod:
			// as building the model package leaves it, with the
			// requirements of what crypt imports and nothing more. (go mod
			// tidy would need the test dependencies of those too, which
			// the module cache need not hold.)
			require.NoError(t, os.WriteFile(filepath.Join(app, "go.sum"), sum, 0o644))
			goIn(t, app, "list", "-mod=mod", "./model")
			files := []string{"go.mod", "go.sum"}
			if tt.vendor {
				goIn(t, app, "mod", "vendor")
				files = append(files, "vendor/modules.txt")
			}
			before := readFiles(t, app, files...)
			require.NotContains(t, before["go.mod"], "go.yaml.in/yaml", "the application's go.mod already lists reencrypt's requirements")

			h := newHarness(t)
			r := h.run(t, "schema", "--dir", app, "./model", "Contact=contacts")
			require.Equal(t, cli.ExitOK, r.code, "%v", r)
			cfg, err := reencrypt.ParseConfig([]byte(r.stdout))
			require.NoError(t, err, "the printed description:\n%s", r.stdout)
			require.Len(t, cfg.Tables, 1)
			got := cfg.Tables[0]
			assert.Equal(t, "contacts", got.Name)
			assert.Equal(t, "id", got.PrimaryKey)
			assert.Equal(t, reencrypt.KeyInteger, got.KeyType)
			assert.Equal(t, crypt.SchemaSpec{
				Record: "contact",
				IDs:    []crypt.ColumnName{{Column: "id", Name: "ID"}},
				Fields: []crypt.FieldSpec{
					{Column: "email_address", Name: "Email", Class: "pii"},
					{Column: "home_street", Name: "Street", Class: "pii"},
				},
				Indexes: []crypt.IndexSpec{{Column: "email_idx", Name: "EmailIdx", Sources: []string{"email_address"}, Transforms: "lower", Bits: 14, Class: "pii"}},
			}, got.SchemaSpec)

			assert.Equal(t, before, readFiles(t, app, files...), "the application's module files changed")
			noLeftovers(t, filepath.Join(app, "model"))
		})
	}
}

// TestSchemaCommandWithAnOldFieldcrypt: a module requiring a fieldcrypt
// from before reencrypt.TableOf is told that its fieldcrypt predates the
// command and to upgrade it, not shown only a compiler error; nothing is
// left behind.
func TestSchemaCommandWithAnOldFieldcrypt(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatalf("fieldcrypt schema needs the Go toolchain: %v", err)
	}
	t.Setenv("GOPROXY", "off")
	t.Setenv("GOWORK", "off")
	old := filepath.Join(t.TempDir(), "fieldcrypt")
	require.NoError(t, os.MkdirAll(filepath.Join(old, "reencrypt"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(old, "go.mod"), []byte("module github.com/fieldcrypt/fieldcrypt\n\ngo 1.26\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(old, "reencrypt", "config.go"), []byte(`package reencrypt

import "io"

type Table struct{}

type Config struct{ Tables []Table }

func WriteConfig(w io.Writer, c *Config) error { return nil }
`), 0o644))
	app := appModule(t, old, map[string]string{"model.go": "package model\n\ntype Contact struct{ ID string }\n"})
	before := readFiles(t, app, "go.mod")

	h := newHarness(t)
	r := h.run(t, "schema", "--dir", app, "./model", "Contact=contacts")
	assert.Equal(t, cli.ExitFailed, r.code, "%v", r)
	assert.Contains(t, r.stderr, "predates fieldcrypt schema", "%v", r)
	assert.Contains(t, r.stderr, "upgrade it", "%v", r)
	assert.Equal(t, before, readFiles(t, app, "go.mod"))
	noLeftovers(t, filepath.Join(app, "model"))
}

// TestSchemaCommandInAReadOnlyPackage: a package whose directory is not
// writable (one in the module cache) is refused with what was wrong.
func TestSchemaCommandInAReadOnlyPackage(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatalf("fieldcrypt schema needs the Go toolchain: %v", err)
	}
	if os.Geteuid() == 0 {
		t.Skip("root writes into read-only directories")
	}
	t.Setenv("GOPROXY", "off")
	t.Setenv("GOWORK", "off")
	fc := t.TempDir() // a fieldcrypt module with nothing in it: the run stops before it matters
	require.NoError(t, os.WriteFile(filepath.Join(fc, "go.mod"), []byte("module github.com/fieldcrypt/fieldcrypt\n\ngo 1.26\n"), 0o644))
	app := appModule(t, fc, map[string]string{"model.go": "package model\n\ntype Contact struct{ ID string }\n"})
	model := filepath.Join(app, "model")
	require.NoError(t, os.Chmod(model, 0o555))
	t.Cleanup(func() { os.Chmod(model, 0o755) })

	h := newHarness(t)
	r := h.run(t, "schema", "--dir", app, "./model", "Contact=contacts")
	assert.Equal(t, cli.ExitFailed, r.code, "%v", r)
	assert.Contains(t, r.stderr, "the directory of package example.com/app/model is not writable", "%v", r)
	assert.Contains(t, r.stderr, "module cache", "%v", r)
}
