package reencrypt

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// Config is a configuration file: the tables whose encrypted columns the
// job maintains. The package documentation shows the YAML form.
type Config struct {
	Tables []Table `yaml:"tables" json:"tables"`
}

// Table describes one table: its primary key, what its rows' associated
// data binds (record type, scope and identity columns), its encrypted
// columns and its blind-index columns. It carries everything a
// crypt.SchemaSpec needs, and must name the same record type, identity
// names, field names and index names as the struct the application uses.
type Table struct {
	// Name is the table, optionally qualified: "contacts", "crm.contacts".
	Name string `yaml:"name" json:"name"`
	// PrimaryKey is the single primary-key column the job pages by.
	PrimaryKey string `yaml:"primary_key" json:"primary_key"`
	// KeyType is the primary key's type: KeyInteger (the default) or KeyText.
	KeyType KeyType `yaml:"key_type,omitempty" json:"key_type,omitempty"`
	// SchemaSpec describes the rows: the record type, scope and identity
	// columns bound into associated data, the encrypted columns and the
	// blind-index columns. It is the description package crypt compiles,
	// and crypt.SchemaOf derives it from a tagged struct.
	crypt.SchemaSpec `yaml:",inline"`

	// RebuildIndexes names blind-index columns whose stored values were
	// written otherwise than the description says (another width,
	// transforms or name, or none yet: a new column) and that the job
	// rewrites from the decrypted sources. The drift check does not hold
	// their stored values against the description, and Verify counts a
	// stored value that differs as not current rather than as a mismatch.
	// docs/ROTATION.md gives the procedure; remove the entry once the job
	// is done.
	// It may also name a token index (by its name) whose stored tokens
	// were computed otherwise than the description says, or not at all.
	RebuildIndexes []string `yaml:"rebuild_indexes,omitempty" json:"rebuild_indexes,omitempty"`

	// TokenTables names the side table of a token index (SchemaSpec.Tokens,
	// by the index's name) when it is not the conventional one,
	// <table>_<snake_case of the index's Go field name> ([Table.TokenTable]).
	// A side table holds the columns (<primary key>, token BIGINT NOT NULL):
	// one row per token of each row of the table.
	TokenTables map[string]string `yaml:"token_tables,omitempty" json:"token_tables,omitempty"`

	pos        position            // where the table was written (zero when not parsed from YAML)
	columnPos  map[string]position // where each of its columns (and each token index, by name) was written
	rebuildPos map[string]position // where each rebuild_indexes entry was written
	tokTabPos  map[string]position // where each token_tables entry was written
}

// KeyType is the type of a table's primary key.
type KeyType string

// The primary-key types. Integer keys are compared as integers, text keys
// by the database's collation; the job only ever lets the database compare
// them.
const (
	KeyInteger KeyType = "integer"
	KeyText    KeyType = "text"
)

// ConfigError reports a configuration mistake. It names the table and,
// when the mistake is about one column, the column.
type ConfigError struct {
	Table  string
	Column string
	Msg    string
	// Pos is where the mistake is in the configuration file (zero when the
	// configuration did not come from YAML).
	Pos position
	err error // what Unwrap returns, such as ErrMissingColumn
}

// Line and Col return where in the configuration file the mistake is, or
// 0 when that is not known.
func (e *ConfigError) Line() int { return e.Pos.line }

// Col is the column (1-based) of Line; see Line.
func (e *ConfigError) Col() int { return e.Pos.col }

// Unwrap returns the sentinel the error is an instance of, if any.
func (e *ConfigError) Unwrap() error { return e.err }

func (e *ConfigError) Error() string {
	var b strings.Builder
	b.WriteString("reencrypt: config")
	if e.Pos.line > 0 {
		fmt.Fprintf(&b, ": line %d, column %d", e.Pos.line, e.Pos.col)
	}
	if e.Table != "" {
		b.WriteString(": table " + e.Table)
	}
	if e.Column != "" {
		b.WriteString(": column " + e.Column)
	}
	b.WriteString(": " + e.Msg)
	return b.String()
}

// LoadConfig reads and validates a configuration file.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reencrypt: config: %w", err)
	}
	return ParseConfig(data)
}

// ParseConfig parses and validates a YAML configuration. Unknown keys are
// errors, so that a misspelt option is not silently ignored.
func ParseConfig(data []byte) (*Config, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &ConfigError{Msg: "empty configuration"}
		}
		return nil, &ConfigError{Msg: yamlMessage(err)}
	}
	return ParseConfigNode(&doc)
}

// Validate checks every table. The error joins one [*ConfigError] per
// mistake.
func (c *Config) Validate() error {
	if len(c.Tables) == 0 {
		return &ConfigError{Msg: "no tables"}
	}
	var errs []error
	seen := map[string]bool{}
	for i := range c.Tables {
		t := &c.Tables[i]
		if seen[t.Name] {
			errs = append(errs, &ConfigError{Table: t.Name, Pos: t.pos, Msg: "listed twice"})
		}
		seen[t.Name] = true
		if err := t.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Table returns the table called name.
func (c *Config) Table(name string) (Table, bool) {
	for _, t := range c.Tables {
		if t.Name == name {
			return t, true
		}
	}
	return Table{}, false
}

// Validate checks the table's description, including that package crypt
// accepts the schema it describes. The error joins one [*ConfigError] per
// mistake.
func (t *Table) Validate() error {
	var errs []error
	fail := func(column, format string, args ...any) {
		errs = append(errs, &ConfigError{Table: t.Name, Column: column, Pos: t.posOf(column), Msg: fmt.Sprintf(format, args...)})
	}
	name := t.Name
	if name == "" {
		name = "(unnamed)"
	}
	if t.Name == "" {
		fail("", "name is empty")
	} else if parts := strings.Split(t.Name, "."); len(parts) > 2 {
		fail("", "name %q has more than one '.' (want table or schema.table)", t.Name)
	} else {
		for _, p := range parts {
			if msg := identProblem(p); msg != "" {
				fail("", "name %q: %s", t.Name, msg)
			}
		}
	}
	if t.Record == "" {
		fail("", "record (the record type bound into associated data) is empty")
	} else if strings.ContainsAny(t.Record, "\",`") || identProblem(t.Record) != "" {
		fail("", "record %q may not contain quotes, commas, backquotes or control characters", t.Record)
	}
	switch t.KeyType {
	case "", KeyInteger, KeyText:
	default:
		fail(t.PrimaryKey, "key_type %q: want %q or %q", t.KeyType, KeyInteger, KeyText)
	}
	if len(t.Fields) == 0 {
		fail("", "no encrypted columns")
	}
	// Every column name is a valid identifier; encrypted and index columns
	// are each listed once and are neither the key, the scope nor an id.
	roles := map[string]string{}
	claim := func(column, role string, exclusive bool) {
		if msg := identProblem(column); msg != "" {
			fail(column, "%s column: %s", role, msg)
			return
		}
		if prev, ok := roles[column]; ok && (exclusive || prev == "encrypted" || prev == "blind-index") {
			if prev == role {
				fail(column, "%s column listed twice", role)
			} else {
				fail(column, "is both the %s column and the %s column", prev, role)
			}
			return
		}
		roles[column] = role
	}
	claim(t.PrimaryKey, "primary-key", false)
	if t.Scope != "" {
		claim(t.Scope, "scope", true)
	}
	for _, id := range t.IDs {
		if id.Column == t.PrimaryKey {
			continue // the key is usually an identity column too
		}
		claim(id.Column, "id", true)
	}
	classes := map[string]string{}
	for _, f := range t.Fields {
		claim(f.Column, "encrypted", true)
		classes[f.Column] = cmp.Or(f.Class, keyring.DefaultClass)
		if f.Class != "" {
			if err := (keyring.KeysetID{Scope: "s", Class: f.Class, Purpose: keyring.PurposeData}).Validate(); err != nil {
				fail(f.Column, "class %q: %v", f.Class, err)
			}
		}
	}
	for _, ix := range t.Indexes {
		claim(ix.Column, "blind-index", true)
		if len(ix.Sources) == 0 {
			fail(ix.Column, "blind index has no sources")
		}
		for _, src := range ix.Sources {
			if _, ok := classes[src]; !ok {
				fail(ix.Column, "source %q is not an encrypted column of the table", src)
			}
		}
		if ix.Population < 0 {
			fail(ix.Column, "population %d: want a positive number of distinct values", ix.Population)
		}
		if ix.Bits < 0 || ix.Bits > 256 {
			fail(ix.Column, "bits %d: want 1 to 256 (or give population: and no bits)", ix.Bits)
		}
	}
	seenRebuild := map[string]bool{}
	for _, col := range t.RebuildIndexes {
		at := t.pos
		if p, ok := t.rebuildPos[col]; ok {
			at = p
		}
		bad := func(msg string) {
			errs = append(errs, &ConfigError{Table: t.Name, Column: col, Pos: at, Msg: fmt.Sprintf(msg, col)})
		}
		switch {
		case !slices.ContainsFunc(t.Indexes, func(ix crypt.IndexSpec) bool { return ix.Column == col }) &&
			!slices.ContainsFunc(t.Tokens, func(tk crypt.TokenIndexSpec) bool { return tk.Name == col }):
			bad("rebuild_indexes names %q, which is not a blind-index column or a token index of the table")
		case seenRebuild[col]:
			bad("rebuild_indexes names %q twice")
		}
		seenRebuild[col] = true
	}
	errs = append(errs, t.validateTokens()...)
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if _, err := crypt.NewSchema(t.SchemaSpec); err != nil {
		pos := t.pos
		var pe *crypt.PlanError
		if errors.As(err, &pe) {
			pos = t.posOf(pe.Field) // the column the planner names
		}
		return &ConfigError{Table: t.Name, Pos: pos, Msg: strings.TrimPrefix(err.Error(), "crypt: "), err: err}
	}
	return nil
}

// identProblem says what is wrong with a column or table name, or "".
func identProblem(name string) string {
	switch {
	case name == "":
		return "empty name"
	case len(name) > 128:
		return "name longer than 128 bytes"
	case !utf8.ValidString(name):
		return "name is not valid UTF-8"
	case strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return "name contains a control character"
	}
	return ""
}

// keyType returns the primary key's type, with its default.
func (t *Table) keyType() KeyType { return cmp.Or(t.KeyType, KeyInteger) }
