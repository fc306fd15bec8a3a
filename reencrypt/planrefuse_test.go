package reencrypt_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/reencrypt"
)

// A job table is compiled by the same planner as the application's struct
// tags, so every ambiguous binding the tags may not spell is refused here
// too, naming the table and both columns, before any row is read.
func TestConfigRefusesAmbiguity(t *testing.T) {
	const head = "tables:\n  - name: contacts\n    primary_key: id\n    record: contact\n"
	const ids = "    ids: [{column: id, name: ID}]\n"
	tests := []struct {
		name, yaml string
		plan       bool     // the error wraps a *crypt.PlanError
		want       []string // substrings of the error
	}{
		{"same field name", head + ids + "    encrypted:\n      - {column: home, name: Phone}\n      - {column: work, name: Phone}\n",
			true, []string{"table contacts", "column work", "column home", `"Phone"`}},
		{"a name spelling another's nested path", head + ids + "    encrypted:\n      - {column: billing_street, name: Billing.Street}\n      - {column: note, name: Billing.Street}\n",
			true, []string{"column note", "column billing_street", `"Billing.Street"`}},
		{"two indexes named zip", head + ids + "    encrypted: [{column: billing_zip}, {column: shipping_zip}]\n    indexes:\n" +
			"      - {column: billing_zip_idx, name: zip, sources: [billing_zip], bits: 16}\n      - {column: shipping_zip_idx, name: zip, sources: [shipping_zip], bits: 16}\n",
			true, []string{"column shipping_zip_idx", "column billing_zip_idx", "subkey"}},
		{"two ids under one name", head + "    ids: [{column: id, name: ID}, {column: key, name: ID}]\n    encrypted: [{column: email}]\n",
			true, []string{"column key", "column id", `"ID"`}},
		{"no identity", head + "    encrypted: [{column: email}]\n",
			true, []string{"table contacts", "column email", "binds no identity", "unbound: true"}},
		{"unbound with an identity", head + ids + "    unbound: true\n    encrypted: [{column: email}]\n",
			true, []string{"column id", "drop unbound"}},
		{"an option given twice", head + ids + "    encrypted:\n      - {column: email, class: pii, class: support}\n",
			false, []string{`"class" already defined`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := reencrypt.ParseConfig([]byte(tt.yaml))
			if err == nil {
				t.Fatalf("ParseConfig(%q) err = nil, want error", tt.yaml)
			}
			var ce *reencrypt.ConfigError
			if !errors.As(err, &ce) {
				t.Errorf("ParseConfig() err = %T %v, want a *reencrypt.ConfigError", err, err)
			}
			var pe *crypt.PlanError
			if got := errors.As(err, &pe); got != tt.plan {
				t.Errorf("ParseConfig() err = %v; wraps *crypt.PlanError = %v, want %v", err, got, tt.plan)
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("ParseConfig() err = %q, want it to contain %q", err, want)
				}
			}
		})
	}

	cfg, err := reencrypt.ParseConfig([]byte(head + "    unbound: true\n    encrypted: [{column: email}]\n"))
	if err != nil {
		t.Fatalf("ParseConfig(unbound table) err = %v", err)
	}
	if spec := cfg.Tables[0].SchemaSpec; !spec.Unbound {
		t.Errorf("SchemaSpec() = %+v, want Unbound", spec)
	}
}
