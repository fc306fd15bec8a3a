package cli_test

import (
	"os/exec"
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
	} {
		r := h.run(t, tt.args...)
		assert.Equal(t, tt.code, r.code, "fieldcrypt %s: %v", strings.Join(tt.args, " "), r)
		assert.Contains(t, r.stdout+r.stderr, tt.want, "fieldcrypt %s", strings.Join(tt.args, " "))
	}
	leftovers, err := exec.Command("sh", "-c", "ls -d testdata/crmmodel/_fieldcrypt_schema_* 2>/dev/null || true").Output()
	require.NoError(t, err)
	assert.Empty(t, strings.TrimSpace(string(leftovers)), "temporary programs left behind")
}
