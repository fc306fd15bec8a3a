package reencrypt

import (
	"bytes"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

// TableOf describes the table name that holds records of the tagged struct
// type of v, from the struct itself (crypt.SchemaOf names its columns), so
// that no one copies a struct's tags into a configuration by hand.
//
// A record that holds records of their own (fields whose types declare
// record=, such as GORM associations) is described by its own columns only:
// each held record type lives in its own table and needs a table entry of
// its own, or the job, status and the destroy check would not see the rows
// that use its keys.
//
// primaryKey is the column the job pages by; "" takes the record's
// identity column when it has exactly one. The key's type (KeyInteger or
// KeyText) comes from its Go field. A token index whose name= option is
// not its Go field name gets a TokenTables entry naming the conventional
// side table of its field. The result passes Validate.
func TableOf(name, primaryKey string, v any) (Table, error) {
	spec, err := crypt.SchemaOf(v)
	if err != nil {
		return Table{}, err
	}
	if primaryKey == "" {
		if len(spec.IDs) != 1 {
			return Table{}, &ConfigError{Table: name, Msg: fmt.Sprintf(
				"record %s has %d identity columns: name the primary key the job pages by", spec.Record, len(spec.IDs))}
		}
		primaryKey = spec.IDs[0].Column
	}
	t := Table{Name: name, PrimaryKey: primaryKey, SchemaSpec: spec}
	typ := reflect.TypeOf(v)
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	found := false
	for _, f := range reflect.VisibleFields(typ) {
		if col, ok := crypt.ColumnOf(f); ok && col == primaryKey && len(f.Index) > 0 && !f.Anonymous {
			switch f.Type.Kind() {
			case reflect.String:
				t.KeyType = KeyText
			case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
				reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
				t.KeyType = KeyInteger
			default:
				return Table{}, &ConfigError{Table: name, Column: primaryKey, Msg: fmt.Sprintf(
					"primary key field %s is a %v: the job pages by an integer or text key", f.Name, f.Type)}
			}
			found = true
			break
		}
	}
	if !found {
		return Table{}, &ConfigError{Table: name, Column: primaryKey, Msg: fmt.Sprintf(
			"%v has no field stored in column %q to page by", typ, primaryKey)}
	}
	t.TokenTables = tokenTablesOf(typ, name, spec)
	if err := t.Validate(); err != nil {
		return Table{}, err
	}
	return t, nil
}

// tokenTablesOf names the side table of each token index of struct type
// typ whose name= option is not its Go field name: the convention,
// <table>_<snake_case of the Go field name>, cannot be read from the name
// alone.
func tokenTablesOf(typ reflect.Type, table string, spec crypt.SchemaSpec) map[string]string {
	var out map[string]string
	tokensType := reflect.TypeFor[crypt.Tokens]()
	for _, f := range reflect.VisibleFields(typ) {
		if f.Type != tokensType || !f.IsExported() {
			continue
		}
		name := ""
		_, opts, _ := strings.Cut(f.Tag.Get("crypt"), ",")
		for opt := range strings.SplitSeq(opts, ",") {
			if v, ok := strings.CutPrefix(opt, "name="); ok {
				name = v
			}
		}
		if name == "" || name == f.Name || !slices.ContainsFunc(spec.Tokens, func(tk crypt.TokenIndexSpec) bool { return tk.Name == name }) {
			continue
		}
		snake, _ := crypt.ColumnOf(reflect.StructField{Name: f.Name})
		if out == nil {
			out = map[string]string{}
		}
		out[name] = table + "_" + snake
	}
	return out
}

// WriteConfig writes c as the YAML configuration file LoadConfig reads.
func WriteConfig(w io.Writer, c *Config) error {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return fmt.Errorf("reencrypt: encoding the configuration: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("reencrypt: encoding the configuration: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}
