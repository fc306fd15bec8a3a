package reencrypt_test

import (
	"errors"
	"os"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/reencrypt"
)

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
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := reencrypt.ParseConfig(data)
		if err != nil {
			var ce *reencrypt.ConfigError
			if cfg != nil && !errors.As(err, &ce) {
				t.Fatalf("ParseConfig() = %v, %v: a config beside an error", cfg, err)
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("ParseConfig() accepted a config that Validate() rejects: %v", err)
		}
		for _, tb := range cfg.Tables {
			if _, err := crypt.NewSchema(tb.SchemaSpec()); err != nil {
				t.Fatalf("table %q validated but its schema does not compile: %v", tb.Name, err)
			}
		}
	})
}
