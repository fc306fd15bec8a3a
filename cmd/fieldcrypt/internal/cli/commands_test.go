package cli_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/cmd/fieldcrypt/internal/cli"
)

func TestEveryCommandHasExamples(t *testing.T) {
	paths := cli.CommandPaths()
	for _, want := range []string{
		"fieldcrypt keys init", "fieldcrypt keys list", "fieldcrypt keys add", "fieldcrypt keys promote",
		"fieldcrypt keys rotate", "fieldcrypt keys disable", "fieldcrypt keys enable", "fieldcrypt keys destroy",
		"fieldcrypt keys rewrap", "fieldcrypt keys shred", "fieldcrypt keys export", "fieldcrypt keys import",
		"fieldcrypt reencrypt", "fieldcrypt verify", "fieldcrypt status", "fieldcrypt version",
	} {
		if !slices.Contains(paths, want) {
			t.Errorf("CommandPaths() lacks %q", want)
		}
	}
	h := newHarness(t)
	for _, path := range paths {
		t.Run(path, func(t *testing.T) {
			args := append(strings.Fields(path)[1:], "--help")
			r := h.run(t, args...)
			if r.code != cli.ExitOK {
				t.Fatalf("%s --help: %v", path, r)
			}
			if !strings.Contains(r.stdout, "Examples:") {
				t.Errorf("%s --help has no Examples section:\n%s", path, r.stdout)
			}
		})
	}
}

func TestExitCodes(t *testing.T) {
	h := newHarness(t)
	h.mustRun(t, "keys", "init")
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"version", []string{"version"}, cli.ExitOK, ""},
		{"unknown command", []string{"keyz"}, cli.ExitUsage, `unknown command "keyz"`},
		{"unknown subcommand suggests", []string{"keys", "rotat"}, cli.ExitUsage, "did you mean rotate"},
		{"unknown flag", []string{"keys", "list", "--nope"}, cli.ExitUsage, "--nope"},
		{"bad flag value", []string{"keys", "disable", "--key-id", "x"}, cli.ExitUsage, "key-id"},
		{"stray argument", []string{"keys", "list", "acme"}, cli.ExitUsage, "takes no arguments"},
		{"group without command", []string{"keys"}, cli.ExitUsage, "needs a command"},
		{"missing required flag", []string{"keys", "export"}, cli.ExitUsage, "--out is required"},
		{"bad purpose", []string{"keys", "add", "--purpose", "both"}, cli.ExitUsage, "--purpose"},
		{"promote needs a key", []string{"keys", "promote"}, cli.ExitUsage, "--key-id"},
		{"missing keyset", []string{"keys", "add", "--scope", "nobody", "--class", "pii"}, cli.ExitFailed, "keys init --scope nobody --class pii"},
		{"missing export file", []string{"keys", "import", "--in", "/nonexistent/x.json"}, cli.ExitFailed, "opening export file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := h.run(t, tc.args...)
			if r.code != tc.code {
				t.Fatalf("fieldcrypt %s: %v\nwant exit %d", strings.Join(tc.args, " "), r, tc.code)
			}
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("fieldcrypt %s stderr lacks %q:\n%s", strings.Join(tc.args, " "), tc.want, r.stderr)
			}
		})
	}
}
