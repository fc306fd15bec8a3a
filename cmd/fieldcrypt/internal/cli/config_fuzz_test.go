package cli

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/reencrypt"
)

// fileLine matches a config file error that names the line and the
// setting: "line 3: vault.address: ...".
var fileLine = regexp.MustCompile(`: line \d+: .*: `)

// goTypeName matches Go type names, which an operator should never read in
// an error about a config file.
var goTypeName = regexp.MustCompile(`\b(cli|reencrypt|crypt|yaml)\.[A-Z]|\*?yaml\.Node|\binto (u?int(8|16|32|64)?|bool|string|\[\]string)\b`)

// FuzzConfigFile feeds arbitrary YAML to the config file reader (and the
// merged config to validate, and its tables: section to the job's parser):
// none of them panics; the file reader's errors are usage errors that name
// the file and, unless the YAML itself is broken, the line and the setting
// at fault; validate's errors name a setting; and no error names a Go type.
func FuzzConfigFile(f *testing.F) {
	for _, s := range []string{
		"store: sqlite:keys.db\nkeks:\n  pii: local://pii.json\n",
		"store: postgres://u:pw@h/db\ndefault_kek: hcvault://transit/keys/pii\nvault:\n  address: http://127.0.0.1:8200\n  namespace: ns\n",
		"store: dir:keys\nkeks: {pii: aws-kms://arn:aws:kms:eu-west-1:111122223333:key/k}\naccept_keks:\n  pii: [local://old.json, local://older.json]\n  support: local://s.json\n",
		"store: sqlite:a.db\nanchor: sqlite:a.db\ndefault_kek: local://k.json\n",
		"store: sqlite:a.db\nanchor_table: x\ndefault_kek: local://k.json\ncache_ttl: 5m\nlease: 0s\n",
		"store: sqlite:a.db\ndefault_kek: local://k.json\nlog_format: xml\nlog_level: loud\n",
		"store: sqlite:a.db\ndefault_kek: local://k.json\ncache_ttl: -1s\npropagation_margin: x\n",
		"store: sqlite:a.db\ndefault_kek: nope\n", "store: sqlite:a.db\nkeks:\n  \"bad/class\": local://k.json\n",
		"tables:\n- name: t\n  primary_key: id\n  record: r\n  ids: [{column: id}]\n  encrypted: [{column: a}]\n",
		"", "---\n", "[1, 2]", "store: [a]", "keks: [a]", "keks: {pii: [a]}", "accept_keks: {pii: {x: y}}", "accept_keks: {pii: [\"\"]}",
		"vault: 1", "vault: {nope: 1}", "stor: x", "x: &a foo\nstore: *a", "store: !!binary aGk=", "\"\": 1", "store: ~\n",
		"store: a\nstore: b\n", "{", "a: b: c", "\t", "tables: 1",
	} {
		f.Add([]byte(s))
	}
	path := filepath.Join(f.TempDir(), "fieldcrypt.yaml")
	schemes := []string{"hcvault", "local", "aws-kms", "gcp-kms"}
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		c := newConfig()
		err := applyFile(c, path)
		if err != nil {
			msg := err.Error()
			var ue *usageError
			if !errors.As(err, &ue) {
				t.Fatalf("applyFile(%q) err = %T %v, want a usage error", data, err, err)
			}
			if !strings.HasPrefix(msg, "config file "+path) {
				t.Fatalf("applyFile(%q) err = %q does not name the file", data, msg)
			}
			if !strings.HasPrefix(msg, "config file "+path+": yaml: ") && !fileLine.MatchString(msg) {
				t.Fatalf("applyFile(%q) err = %q names no line and setting", data, msg)
			}
			if goTypeName.MatchString(msg) {
				t.Fatalf("applyFile(%q) err = %q names a Go type", data, msg)
			}
			return
		}
		if err := c.validate(schemes); err != nil {
			var ue *usageError
			if !errors.As(err, &ue) {
				t.Fatalf("validate() after %q err = %T %v, want a usage error", data, err, err)
			}
			msg := err.Error()
			named := strings.HasPrefix(msg, "no keyset store configured") || strings.HasPrefix(msg, "no KEK configured")
			for _, s := range settings {
				named = named || strings.HasPrefix(msg, s.key+" ") || strings.HasPrefix(msg, s.key+":")
			}
			named = named || strings.HasPrefix(msg, kekKey+".") || strings.HasPrefix(msg, acceptKey+".")
			if !named {
				t.Fatalf("validate() after %q err = %q names no setting", data, msg)
			}
			if goTypeName.MatchString(msg) {
				t.Fatalf("validate() after %q err = %q names a Go type", data, msg)
			}
		}
		if c.Job != nil {
			rc, err := reencrypt.ParseConfigNode(c.Job)
			if err != nil {
				if rc != nil {
					t.Fatalf("ParseConfigNode(tables of %q) = %v beside an error %v", data, rc, err)
				}
				if goTypeName.MatchString(err.Error()) {
					t.Fatalf("ParseConfigNode(tables of %q) err = %q names a Go type", data, err)
				}
			}
		}
	})
}
