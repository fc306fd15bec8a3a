package reencrypt_test

import (
	"errors"
	"os"
	"regexp"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/reencrypt"
)

// goType matches the Go type names yaml's errors would carry.
var goType = regexp.MustCompile(`reencrypt\.[A-Z]|\binto (u?int(8|16|32|64)?|bool|string|\[\]string)\b|in type `)

// FuzzParseConfig feeds arbitrary YAML to ParseConfig: it must never panic,
// and a configuration it accepts must validate and compile into a crypt
// schema for every table.
func FuzzParseConfig(f *testing.F) {
	if seed, err := os.ReadFile("testdata/contacts.yaml"); err == nil {
		f.Add(seed)
	}
	f.Add([]byte("tables: []"))
	f.Add([]byte("tables:\n- name: t\n  primary_key: id\n  record: r\n  encrypted:\n  - column: a\n"))
	f.Add([]byte("tables:\n- name: \"x;drop\"\n"))
	f.Add([]byte("tables:\n- &t\n  name: t\n  primary_key: id\n  record: r\n  ids: [{column: id}]\n  encrypted: [&e {column: a}, *e]\n- <<: *t\n  name: u\n"))
	f.Add([]byte("tables:\n- name: t\n  primary_key: id\n  record: r\n  ids: [{column: id}]\n  encrypted: [{column: a}]\n  indexes: [{column: i, sources: [a], population: x, bits: y}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := reencrypt.ParseConfig(data)
		if err != nil {
			if cfg != nil {
				t.Fatalf("ParseConfig() = %v, %v: a config beside an error", cfg, err)
			}
			var ce *reencrypt.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("ParseConfig() err = %T %v, want a *reencrypt.ConfigError", err, err)
			}
			// Operators read these: YAML words, never Go type names.
			if goType.MatchString(err.Error()) {
				t.Fatalf("ParseConfig() err = %q names a Go type", err)
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("ParseConfig() accepted a config that Validate() rejects: %v", err)
		}
		for _, tb := range cfg.Tables {
			if _, err := crypt.NewSchema(tb.SchemaSpec); err != nil {
				t.Fatalf("table %q validated but its schema does not compile: %v", tb.Name, err)
			}
		}
	})
}
