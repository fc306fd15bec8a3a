package reencrypt

import (
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// position is where something was written in the configuration file.
type position struct{ line, col int }

func nodePos(n *yaml.Node) position { return position{n.Line, n.Column} }

// ParseConfigNode parses and validates a configuration already read as a
// YAML node (a document, or the mapping that holds tables:), such as the
// tables: part of a larger file. Errors give the line and column of the
// node in that file and the YAML key names, so a mistake inside a larger
// file is reported where it is.
func ParseConfigNode(n *yaml.Node) (*Config, error) {
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return nil, &ConfigError{Msg: "empty configuration"}
		}
		n = n.Content[0]
	}
	if err := checkKeys(n, reflect.TypeFor[Config](), "", map[aliasCheck]bool{}); err != nil {
		return nil, err
	}
	var c Config
	if err := n.Decode(&c); err != nil {
		return nil, &ConfigError{Msg: yamlMessage(err)}
	}
	c.recordPositions(n)
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// aliasCheck is one alias target checked against one type: each is
// checked once, so that a document of aliases to aliases costs linear
// time.
type aliasCheck struct {
	n *yaml.Node
	t reflect.Type
}

// checkKeys refuses a mapping key that no field of t (a struct, or a
// slice or pointer of one) is tagged with, naming the key, where it is,
// and the keys that are allowed there. where is the path so far, for the
// message ("tables[1].indexes[0]"). A merge key ("<<") is checked through
// the mappings it merges.
func checkKeys(n *yaml.Node, t reflect.Type, where string, done map[aliasCheck]bool) error {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
		if done[aliasCheck{n, t}] {
			return nil
		}
		done[aliasCheck{n, t}] = true
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case n.Kind == yaml.SequenceNode && t.Kind() == reflect.Slice:
		for i, item := range n.Content {
			if err := checkKeys(item, t.Elem(), fmt.Sprintf("%s[%d]", where, i), done); err != nil {
				return err
			}
		}
	case n.Kind == yaml.MappingNode && t.Kind() == reflect.Struct:
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Tag == "!!merge" || k.Value == "<<" {
				// The merged value is a mapping, or a list of them.
				merged := v
				for merged.Kind == yaml.AliasNode && merged.Alias != nil {
					merged = merged.Alias
				}
				targets := []*yaml.Node{v}
				if merged.Kind == yaml.SequenceNode {
					targets = merged.Content
				}
				for _, m := range targets {
					if err := checkKeys(m, t, where, done); err != nil {
						return err
					}
				}
				continue
			}
			ft, ok := fields[k.Value]
			if !ok {
				at := "the top level"
				if where != "" {
					at = where
				}
				return &ConfigError{Pos: nodePos(k), Msg: fmt.Sprintf("unknown key %q in %s (known keys: %s)",
					k.Value, at, strings.Join(slices.Sorted(maps.Keys(fields)), ", "))}
			}
			next := k.Value
			if where != "" {
				next = where + "." + k.Value
			}
			if err := checkKeys(v, ft, next, done); err != nil {
				return err
			}
		}
	}
	return nil // scalars, and shapes Decode reports on
}

// yamlFields maps the yaml key of each field of struct t to its type.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := make(map[string]reflect.Type, t.NumField())
	for f := range t.Fields() {
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		switch {
		case !f.IsExported():
		case opts == "inline" && f.Type.Kind() == reflect.Struct:
			maps.Copy(out, yamlFields(f.Type)) // such as Table's crypt.SchemaSpec
		case name != "" && name != "-":
			out[name] = f.Type
		}
	}
	return out
}

// goTypeName matches the Go type names in yaml's decoding errors.
var goTypeName = regexp.MustCompile(`into (\[\])?(map\[[^\]]+\])?[a-z]*\.?[A-Za-z0-9]+`)

// yamlMessage rewrites a yaml decoding error for an operator: yaml's own
// line numbers (those of the file the node came from) stay, Go type names
// become what the key expects.
func yamlMessage(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.ReplaceAll(msg, "unmarshal errors:\n  ", "")
	return goTypeName.ReplaceAllStringFunc(msg, func(s string) string {
		switch {
		case strings.HasPrefix(s, "into []"):
			return "into a list"
		case strings.HasPrefix(s, "into map["):
			return "into a mapping"
		case strings.HasSuffix(s, " int"), strings.HasSuffix(s, "int64"):
			return "into a number"
		case strings.HasSuffix(s, " bool"):
			return "into true or false"
		case strings.HasSuffix(s, " string"), strings.HasSuffix(s, "KeyType"):
			return "into a string"
		}
		return "into a mapping"
	})
}

// recordPositions notes where each table and column was written, for the
// errors of Validate. n is the mapping that holds tables:.
func (c *Config) recordPositions(n *yaml.Node) {
	tables := mappingValue(n, "tables")
	if tables == nil || tables.Kind != yaml.SequenceNode {
		return
	}
	for i, tn := range tables.Content {
		if i >= len(c.Tables) {
			return
		}
		t := &c.Tables[i]
		t.pos = nodePos(tn)
		t.columnPos = map[string]position{}
		for _, key := range []string{"ids", "encrypted", "indexes"} {
			seq := mappingValue(tn, key)
			if seq == nil || seq.Kind != yaml.SequenceNode {
				continue
			}
			for _, item := range seq.Content {
				if col := mappingValue(item, "column"); col != nil {
					if _, ok := t.columnPos[col.Value]; !ok {
						t.columnPos[col.Value] = nodePos(item)
					}
				}
			}
		}
		if seq := mappingValue(tn, "tokens"); seq != nil && seq.Kind == yaml.SequenceNode {
			for _, item := range seq.Content {
				if name := mappingValue(item, "name"); name != nil {
					if _, ok := t.columnPos[name.Value]; !ok {
						t.columnPos[name.Value] = nodePos(item)
					}
				}
			}
		}
		if m := mappingValue(tn, "token_tables"); m != nil && m.Kind == yaml.MappingNode {
			t.tokTabPos = map[string]position{}
			for j := 0; j+1 < len(m.Content); j += 2 {
				t.tokTabPos[m.Content[j].Value] = nodePos(m.Content[j])
			}
		}
		if seq := mappingValue(tn, "rebuild_indexes"); seq != nil && seq.Kind == yaml.SequenceNode {
			t.rebuildPos = map[string]position{}
			for _, item := range seq.Content {
				if _, ok := t.rebuildPos[item.Value]; !ok {
					t.rebuildPos[item.Value] = nodePos(item)
				}
			}
		}
		for _, key := range []string{"primary_key", "scope"} {
			if v := mappingValue(tn, key); v != nil {
				if _, ok := t.columnPos[v.Value]; !ok {
					t.columnPos[v.Value] = nodePos(v)
				}
			}
		}
	}
}

// mappingValue returns the value of key in mapping n, or nil.
func mappingValue(n *yaml.Node, key string) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// posOf returns where column (or, for "", the table) was written.
func (t *Table) posOf(column string) position {
	if p, ok := t.columnPos[column]; ok {
		return p
	}
	return t.pos
}
