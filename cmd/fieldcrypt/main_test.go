package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/kms/local"
)

// TestBinary builds the command once and runs it, proving that main hands
// the process's arguments, streams, environment and exit code to the CLI.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "fieldcrypt")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	kek, err := local.CreateInsecureKeyFile(filepath.Join(dir, "kek.json"))
	if err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "FIELDCRYPT_STORE_DSN=sqlite:"+filepath.Join(dir, "keys.db"), "FIELDCRYPT_KEK_PII="+kek)

	run := func(args ...string) (string, string, int) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		cmd.Stdin = strings.NewReader("")
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("running %s: %v", bin, err)
		}
		return out.String(), errb.String(), code
	}

	if out, _, code := run("version"); code != 0 || !strings.HasPrefix(out, "fieldcrypt ") {
		t.Errorf("fieldcrypt version = %q, exit %d", out, code)
	}
	if out, errOut, code := run("keys", "init", "--scope", "acme"); code != 0 || !strings.Contains(out, "acme/pii/data") {
		t.Fatalf("fieldcrypt keys init: exit %d\n%s%s", code, out, errOut)
	}
	if out, _, code := run("keys", "list", "--scope", "acme"); code != 0 || !strings.Contains(out, "acme") {
		t.Errorf("fieldcrypt keys list = %q, exit %d", out, code)
	}
	if _, errOut, code := run("keys", "list", "--bogus"); code != 64 || !strings.Contains(errOut, "--bogus") {
		t.Errorf("fieldcrypt keys list --bogus: exit %d, stderr %q; want 64", code, errOut)
	}
	if _, errOut, code := run("keys", "shred", "--scope", "acme"); code != 1 || !strings.Contains(errOut, "not confirmed") {
		t.Errorf("fieldcrypt keys shred with empty stdin: exit %d, stderr %q; want 1, not confirmed", code, errOut)
	}
}
