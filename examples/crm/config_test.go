package main

import (
	"errors"
	"flag"
	"io"
	"maps"
	"strings"
	"testing"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want func(*Config) // edits the default configuration into the expected one
	}{
		{"defaults", nil, nil, func(*Config) {}},
		{"environment", nil, map[string]string{
			"CRM_ADDR": "127.0.0.1:9000", "CRM_DB": "postgres://crm@db/crm", "CRM_DATA": "/srv/crm",
			"CRM_ROLE": "support", "CRM_KEK_SUPPORT": "hcvault://transit/keys/crm-support", "CRM_SEED": "false", "CRM_LOG": "json",
		}, func(c *Config) {
			c.Addr, c.DB, c.DataDir, c.Role, c.Seed, c.LogFormat = "127.0.0.1:9000", "postgres://crm@db/crm", "/srv/crm", RoleSupport, false, "json"
			c.KEKs = map[string]string{classSupport: "hcvault://transit/keys/crm-support"}
		}},
		{"anchor", []string{"-db", "postgres://crm@db/crm", "-anchor", "postgres://anchor@anchor-db/anchor"}, nil, func(c *Config) {
			c.DB, c.Anchor = "postgres://crm@db/crm", "postgres://anchor@anchor-db/anchor"
		}},
		{"anchor from the environment", nil, map[string]string{"CRM_ANCHOR": "sqlite:/srv/anchor/anchor.db"}, func(c *Config) {
			c.Anchor = "sqlite:/srv/anchor/anchor.db"
		}},
		{"flags win over the environment", []string{"-addr", ":1", "-role", "admin", "-kek-pii", "local://p.json", "-seed=true", "-db", "sqlite:x.db"},
			map[string]string{"CRM_ADDR": ":2", "CRM_ROLE": "support", "CRM_SEED": "false"}, func(c *Config) {
				c.Addr, c.DB = ":1", "sqlite:x.db"
				c.KEKs = map[string]string{classPII: "local://p.json"}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseConfig(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if err != nil {
				t.Fatalf("parseConfig(%q) err = %v", tt.args, err)
			}
			want := Config{Addr: "127.0.0.1:8080", DataDir: DefaultDataDir(), Role: RoleAdmin, KEKs: map[string]string{}, Seed: true, LogFormat: "text"}
			tt.want(&want)
			if got.Addr != want.Addr || got.DB != want.DB || got.DataDir != want.DataDir || got.Role != want.Role ||
				got.Seed != want.Seed || got.LogFormat != want.LogFormat || got.Anchor != want.Anchor || !maps.Equal(got.KEKs, want.KEKs) {
				t.Errorf("parseConfig(%q) = %+v, want %+v", tt.args, got, want)
			}
		})
	}
}

func TestParseConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"unknown role", []string{"-role", "manager"}, nil},
		{"support with the pii KEK", []string{"-role", "support", "-kek-pii", "local://pii.json"}, nil},
		{"support with the pii KEK from the environment", []string{"-role", "support"}, map[string]string{"CRM_KEK_PII": "local://pii.json"}},
		{"MySQL DSN", []string{"-db", "mysql://root@localhost/crm"}, nil},
		{"bare path", []string{"-db", "crm.db"}, nil},
		{"empty sqlite path", []string{"-db", "sqlite:"}, nil},
		{"log format", []string{"-log", "xml"}, nil},
		{"argument", []string{"serve"}, nil},
		{"unknown flag", []string{"-port", "80"}, nil},
		{"CRM_SEED", nil, map[string]string{"CRM_SEED": "maybe"}},
		{"empty data dir", []string{"-data", ""}, nil},
		{"MySQL anchor", []string{"-anchor", "mysql://root@localhost/anchor"}, nil},
		{"anchor in the CRM database file", []string{"-db", "sqlite:crm.db", "-anchor", "sqlite:./crm.db"}, nil},
		{"anchor in the default CRM database file", []string{"-data", "/srv/crm", "-anchor", "sqlite:/srv/crm/../crm/crm.db"}, nil},
		{"anchor in the CRM PostgreSQL database", []string{"-db", "postgres://crm@127.0.0.1/crm", "-anchor", "postgres://anchor@localhost:5432/crm?search_path=anchor"}, nil},
		{"anchor in the CRM PostgreSQL database from the environment", nil, map[string]string{"CRM_DB": "postgresql://crm@db/crm", "CRM_ANCHOR": "postgres://crm@db/crm"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := parseConfig(tt.args, func(k string) string { return tt.env[k] }, io.Discard); err == nil {
				t.Errorf("parseConfig(%q, env %v) err = nil, want error", tt.args, tt.env)
			}
		})
	}
	if _, err := parseConfig([]string{"-h"}, func(string) string { return "" }, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("parseConfig(-h) err = %v, want flag.ErrHelp", err)
	}
}

// TestDSNNotEchoed: an unusable -db value may hold a password; the error
// does not repeat it.
func TestDSNNotEchoed(t *testing.T) {
	_, err := parseConfig([]string{"-db", "mysql://root:hunter2@db/crm"}, func(string) string { return "" }, io.Discard)
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("parseConfig(-db with a password) err = %v, want an error without the password", err)
	}
	for _, dsn := range []string{
		"postgres://crm:hunter2@db:5432/crm?sslmode=disable",
		"postgres://crm@db:5432/crm?password=hunter2&sslmode=disable",
		"postgres://crm@db:5432/crm?sslmode=require&sslpassword=hunter2",
		"postgres://crm@db:5432/crm?pass%77ord=hunter2",
	} {
		if got := redactDSN(dsn); strings.Contains(got, "hunter2") {
			t.Errorf("redactDSN(%q) = %q, still holds the password", dsn, got)
		}
	}
}
