package reencrypt_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fieldcrypt/fieldcrypt/reencrypt"
)

func TestLoadConfig(t *testing.T) {
	tab := contactsTable(t)
	spec := tab.SchemaSpec
	if spec.Record != "contact" || spec.Scope != "tenant_id" || len(spec.IDs) != 1 || len(spec.Fields) != 4 || len(spec.Indexes) != 2 {
		t.Errorf("SchemaSpec() = %+v, want the contacts schema", spec)
	}
	if f := spec.Fields[3]; f.Column != "notes" || f.Name != "Notes" || f.Class != "support" || !f.Binary {
		t.Errorf("SchemaSpec().Fields[3] = %+v, want the binary support column notes", f)
	}
	if ix := spec.Indexes[0]; ix.Name != "EmailIdx" || ix.Transforms != "lower+trim" || ix.Bits != 32 || len(ix.Sources) != 1 {
		t.Errorf("SchemaSpec().Indexes[0] = %+v", ix)
	}
}

// TestConfigErrors checks that each mistake is refused with an error that
// names the table and the column.
func TestConfigErrors(t *testing.T) {
	const head = "tables:\n  - name: contacts\n    primary_key: id\n    record: contact\n"
	tests := []struct {
		name, yaml string
		want       []string // substrings of the error
	}{
		{"empty", "", []string{"empty configuration"}},
		{"no tables", "tables: []\n", []string{"no tables"}},
		{"unknown key", head + "    encrypted: [{column: email}]\n    colour: blue\n", []string{"colour"}},
		{"misspelt column key", head + "    encrypted: [{colum: email}]\n", []string{"colum"}},
		{"no name", "tables:\n  - primary_key: id\n    record: r\n    encrypted: [{column: email}]\n", []string{"name is empty"}},
		{"three-part name", "tables:\n  - name: a.b.c\n    primary_key: id\n    record: r\n    encrypted: [{column: email}]\n", []string{"table a.b.c", "more than one '.'"}},
		{"no record", "tables:\n  - name: contacts\n    primary_key: id\n    encrypted: [{column: email}]\n", []string{"table contacts", "record"}},
		{"no primary key", "tables:\n  - name: contacts\n    record: r\n    encrypted: [{column: email}]\n", []string{"table contacts", "primary-key column: empty name"}},
		{"bad key type", head + "    key_type: uuid\n    encrypted: [{column: email}]\n", []string{"table contacts", "column id", "key_type \"uuid\""}},
		{"no encrypted columns", head, []string{"table contacts", "no encrypted columns"}},
		{"encrypted twice", head + "    encrypted: [{column: email}, {column: email}]\n", []string{"table contacts", "column email", "listed twice"}},
		{"key encrypted", head + "    encrypted: [{column: id}]\n", []string{"table contacts", "column id", "primary-key column and the encrypted column"}},
		{"scope encrypted", head + "    scope: tenant\n    encrypted: [{column: tenant}]\n", []string{"column tenant", "scope column and the encrypted column"}},
		{"index source missing", head + "    encrypted: [{column: email}]\n    indexes: [{column: email_idx, sources: [emial]}]\n", []string{"table contacts", "column email_idx", `source "emial"`}},
		{"index without sources", head + "    encrypted: [{column: email}]\n    indexes: [{column: email_idx}]\n", []string{"column email_idx", "no sources"}},
		{"index bits", head + "    encrypted: [{column: email}]\n    indexes: [{column: email_idx, sources: [email], bits: 300}]\n", []string{"column email_idx", "bits 300"}},
		{"bad transform", head + "    encrypted: [{column: email}]\n    indexes: [{column: email_idx, sources: [email], transforms: upside-down}]\n", []string{"table contacts", "email_idx"}},
		{"bad class", head + "    encrypted: [{column: email, class: a/b}]\n", []string{"column email", `class "a/b"`}},
		{"control character", head + "    encrypted: [{column: \"em\\u0000ail\"}]\n", []string{"table contacts", "control character"}},
		{"table twice", head + "    encrypted: [{column: email}]\n" + strings.TrimPrefix(head, "tables:\n") + "    encrypted: [{column: email}]\n", []string{"table contacts", "listed twice"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := reencrypt.ParseConfig([]byte(tc.yaml))
			if err == nil {
				t.Fatalf("ParseConfig(%q) err = nil, want an error", tc.yaml)
			}
			var ce *reencrypt.ConfigError
			if !errors.As(err, &ce) {
				t.Errorf("ParseConfig(%q) err = %v (%T), want a *ConfigError", tc.yaml, err, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("ParseConfig(%q) err = %q, want it to contain %q", tc.yaml, err, w)
				}
			}
		})
	}
}

func TestParseDialect(t *testing.T) {
	for name, want := range map[string]reencrypt.Dialect{"postgres": reencrypt.Postgres, "PostgreSQL": reencrypt.Postgres,
		"sqlite": reencrypt.SQLite, "mysql": reencrypt.MySQL, "mariadb": reencrypt.MySQL} {
		if got, err := reencrypt.ParseDialect(name); err != nil || got != want {
			t.Errorf("ParseDialect(%q) = %v, %v; want %v", name, got, err, want)
		}
	}
	if _, err := reencrypt.ParseDialect("oracle"); err == nil {
		t.Errorf("ParseDialect(oracle) err = nil, want an error")
	}
}

func ExampleParseConfig() {
	cfg, err := reencrypt.ParseConfig([]byte(`
tables:
  - name: crm.contacts
    primary_key: id
    record: contact
    scope: tenant_id
    ids: [{column: id, name: ID}]
    encrypted:
      - {column: email, name: Email, class: pii}
      - {column: notes, name: Notes, class: support, binary: true}
    indexes:
      - {column: email_idx, name: EmailIdx, sources: [email], transforms: lower+trim, bits: 32}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, t := range cfg.Tables {
		fmt.Printf("%s: %d encrypted columns, %d blind indexes\n", t.Name, len(t.Fields), len(t.Indexes))
	}

	_, err = reencrypt.ParseConfig([]byte(`
tables:
  - name: contacts
    primary_key: id
    record: contact
    encrypted: [{column: email}]
    indexes: [{column: email_idx, sources: [emial]}]
`))
	fmt.Println(err)
	// Output:
	// crm.contacts: 2 encrypted columns, 1 blind indexes
	// reencrypt: config: line 7, column 15: table contacts: column email_idx: source "emial" is not an encrypted column of the table
}

// TestConfigErrorsNameTheirPlace: every configuration mistake says where it
// is (line and column of the file) in the YAML's own words, never with a Go
// type name.
func TestConfigErrorsNameTheirPlace(t *testing.T) {
	const head = "tables:\n  - name: contacts\n    record: contact\n    ids: [{column: id}]\n"
	tests := []struct {
		name, yaml string
		line       int
		want       string
	}{
		{"misspelt key", head + "    primary_kye: id\n    encrypted: [{column: email}]\n", 5, `unknown key "primary_kye" in tables[0] (known keys:`},
		{"misspelt column key", head + "    primary_key: id\n    encrypted:\n      - {column: email, clas: pii}\n", 7, `unknown key "clas" in tables[0].encrypted[0]`},
		{"top-level key", "table:\n  - name: contacts\n", 1, `unknown key "table" in the top level`},
		{"number expected", head + "    primary_key: id\n    encrypted: [{column: email}]\n    indexes: [{column: email_idx, sources: [email], bits: many}]\n", 7, "into a number"},
		{"list expected", head + "    primary_key: id\n    encrypted: email\n", 6, "into a list"},
		{"bad class", head + "    primary_key: id\n    encrypted:\n      - {column: email, class: \"a/b\"}\n", 7, `class "a/b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := reencrypt.ParseConfig([]byte(tt.yaml))
			if err == nil {
				t.Fatalf("ParseConfig() err = nil, want an error")
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) {
				t.Errorf("ParseConfig() err = %q, want it to contain %q", msg, tt.want)
			}
			if !strings.Contains(msg, fmt.Sprintf("line %d", tt.line)) {
				t.Errorf("ParseConfig() err = %q, want line %d", msg, tt.line)
			}
			for _, goName := range []string{"reencrypt.", "[]reencrypt", "in type", " int\n", "KeyType"} {
				if strings.Contains(msg, goName) {
					t.Errorf("ParseConfig() err = %q names Go type %q", msg, goName)
				}
			}
		})
	}
}

// TestConfigIndexWidth: a blind-index column states bits or population, as
// the struct's tag does; with population the planner's width is used.
func TestConfigIndexWidth(t *testing.T) {
	const head = "tables:\n  - name: contacts\n    primary_key: id\n    record: contact\n    ids: [{column: id}]\n    encrypted: [{column: email}]\n"
	if _, err := reencrypt.ParseConfig([]byte(head + "    indexes: [{column: email_idx, sources: [email]}]\n")); err == nil || !strings.Contains(err.Error(), "population=") {
		t.Errorf("ParseConfig(index without bits or population) err = %v, want the width refusal", err)
	}
	cfg, err := reencrypt.ParseConfig([]byte(head + "    indexes: [{column: email_idx, sources: [email], population: 50000}]\n"))
	if err != nil {
		t.Fatalf("ParseConfig(population: 50000) err = %v", err)
	}
	if got := cfg.Tables[0].Indexes[0].Population; got != 50000 {
		t.Errorf("population = %d, want 50000", got)
	}
}

// TestConfigYAMLFeatures: merge keys and anchors work as YAML says, a
// document of nested aliases is checked in linear time, and errors from
// the schema point at the column's own line.
func TestConfigYAMLFeatures(t *testing.T) {
	merged := `base: &base
  primary_key: id
  record: contact
  ids: [{column: id}]
  encrypted: [{column: email}]
tables:
  - <<: *base
    name: contacts
  - <<: [*base]
    name: leads
`
	// "base" is not a key of the configuration: merge keys are, though.
	if _, err := reencrypt.ParseConfig([]byte(merged)); err == nil || !strings.Contains(err.Error(), `unknown key "base"`) {
		t.Fatalf("ParseConfig(top-level base:) err = %v, want the unknown key named", err)
	}
	doc := "tables:\n  - &t\n    name: contacts\n    primary_key: id\n    record: contact\n    ids: [{column: id}]\n    encrypted: [{column: email}]\n  - <<: *t\n    name: leads\n"
	cfg, err := reencrypt.ParseConfig([]byte(doc))
	if err != nil {
		t.Fatalf("ParseConfig(merge key) err = %v", err)
	}
	if len(cfg.Tables) != 2 || cfg.Tables[1].Name != "leads" || cfg.Tables[1].PrimaryKey != "id" {
		t.Errorf("merged tables = %+v", cfg.Tables)
	}
	bad := "tables:\n  - &t\n    name: contacts\n    primary_key: id\n    record: contact\n    ids: [{column: id}]\n    encrypted: [{column: email}]\n  - <<: *t\n    name: leads\n    primary_kye: id\n"
	if _, err := reencrypt.ParseConfig([]byte(bad)); err == nil || !strings.Contains(err.Error(), "line 10") {
		t.Errorf("ParseConfig(misspelt key next to a merge) err = %v, want line 10", err)
	}

	// A table of 2,000 aliased columns, aliased 2,000 times: checked
	// once per alias target, not once per reference.
	const n = 2000
	var b strings.Builder
	b.WriteString("tables:\n  - &c\n    name: contacts\n    primary_key: id\n    record: contact\n    ids: [{column: id}]\n    encrypted: [&e {column: email}")
	for range n {
		b.WriteString(", *e")
	}
	b.WriteString("]\n")
	for range n {
		b.WriteString("  - *c\n")
	}
	start := time.Now()
	_, err = reencrypt.ParseConfig([]byte(b.String()))
	if err == nil {
		t.Fatalf("ParseConfig(aliased tables) err = nil, want an error (columns listed twice)")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("ParseConfig(%d aliased tables of %d aliased columns) took %v", n, n, d)
	}

	// A planner error names the column's line, in YAML terms.
	dup := "tables:\n  - name: contacts\n    primary_key: id\n    record: contact\n    ids: [{column: id}]\n    encrypted:\n      - {column: a, name: X}\n      - {column: b, name: X}\n"
	if _, err := reencrypt.ParseConfig([]byte(dup)); err == nil || !strings.Contains(err.Error(), "line 8") {
		t.Errorf("ParseConfig(two columns bound as X) err = %v, want line 8 (column b)", err)
	}
	neg := "tables:\n  - name: contacts\n    primary_key: id\n    record: contact\n    ids: [{column: id}]\n    encrypted: [{column: email}]\n    indexes: [{column: email_idx, sources: [email], population: -5}]\n"
	if _, err := reencrypt.ParseConfig([]byte(neg)); err == nil || !strings.Contains(err.Error(), "population -5") {
		t.Errorf("ParseConfig(population -5) err = %v, want it refused", err)
	}
	word := "tables:\n  - name: contacts\n    primary_key: id\n    record: contact\n    ids: [{column: id}]\n    encrypted: [{column: email}]\n    indexes: [{column: email_idx, sources: [email], population: many}]\n"
	if _, err := reencrypt.ParseConfig([]byte(word)); err == nil || strings.Contains(err.Error(), "int64") || !strings.Contains(err.Error(), "into a number") {
		t.Errorf("ParseConfig(population: many) err = %v, want 'into a number' and no Go type", err)
	}
}
