package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// jobKeys are the top-level keys of the config file that belong to the
// re-encryption job; they are kept as YAML and decoded by the job commands.
var jobKeys = []string{"tables"}

// fileError is a mistake in the config file, naming the file, line and key.
func fileError(path string, line int, key, format string, args ...any) error {
	return usagef("config file %s: line %d: %s: %s", path, line, key, fmt.Sprintf(format, args...))
}

// applyFile overrides c with the settings of the YAML config file at path.
// Unknown keys are errors, so a misspelt setting is not silently ignored.
func applyFile(c *config, path string) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return usagef("config file %s does not exist", path)
	}
	if err != nil {
		return fmt.Errorf("reading config file: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return usagef("config file %s: %w", path, err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil // an empty file
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return fileError(path, root.Line, "(top level)", "want a mapping of settings, got %s", kindName(root))
	}
	return applyMapping(c, path, "", root, map[string]int{})
}

// applyMapping applies the pairs of a mapping whose keys are prefixed by
// prefix ("" at the top level, "vault." inside vault:). set holds the line
// of each setting the file gave so far: one given both dotted at the top
// level (vault.address:) and inside its section is given twice.
func applyMapping(c *config, path, prefix string, m *yaml.Node, set map[string]int) error {
	if err := checkUniqueKeys(path, prefix, m); err != nil {
		return err
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		key := prefix + k.Value
		from := fmt.Sprintf("%s line %d", path, k.Line)
		switch {
		case prefix == "" && k.Value == kekKey:
			if err := applyKEKs(c, path, v); err != nil {
				return err
			}
		case prefix == "" && k.Value == acceptKey:
			if err := applyAccepted(c, path, v); err != nil {
				return err
			}
		case prefix == "" && slices.Contains(jobKeys, k.Value):
			if c.Job == nil {
				c.Job = &yaml.Node{Kind: yaml.MappingNode}
			}
			c.Job.Content = append(c.Job.Content, k, v)
			c.JobFrom = path
		default:
			s, ok := lookupSetting(key)
			if ok {
				if line, twice := set[key]; twice {
					return fileError(path, k.Line, key, "set twice, first at line %d: keep one", line)
				}
				set[key] = k.Line
				if err := applyScalar(c, path, s, v, from); err != nil {
					return err
				}
				continue
			}
			if isSection(key) {
				if v.Kind != yaml.MappingNode {
					return fileError(path, v.Line, key, "want a mapping, got %s", kindName(v))
				}
				if err := applyMapping(c, path, key+".", v, set); err != nil {
					return err
				}
				continue
			}
			return fileError(path, k.Line, key, "unknown setting (known: %s)", strings.Join(knownKeys(prefix), ", "))
		}
	}
	return nil
}

func applyScalar(c *config, path string, s setting, v *yaml.Node, from string) error {
	if v.Tag == "!!null" {
		return nil
	}
	if s.kind == kindList && v.Kind == yaml.SequenceNode {
		var items []string
		for _, item := range v.Content {
			if item.Kind != yaml.ScalarNode {
				return fileError(path, item.Line, s.key, "list items must be strings, got %s", kindName(item))
			}
			items = append(items, item.Value)
		}
		*(s.field(c).(*[]string)) = items
		c.from[s.key] = from
		return nil
	}
	if v.Kind != yaml.ScalarNode {
		return fileError(path, v.Line, s.key, "want a single value, got %s", kindName(v))
	}
	if err := s.set(c, v.Value, from); err != nil {
		return fileError(path, v.Line, s.key, "%v", err)
	}
	return nil
}

func applyKEKs(c *config, path string, v *yaml.Node) error {
	if v.Tag == "!!null" {
		return nil
	}
	if v.Kind != yaml.MappingNode {
		return fileError(path, v.Line, kekKey, "want a mapping of field class to KEK URI, got %s", kindName(v))
	}
	if err := checkUniqueKeys(path, kekKey+".", v); err != nil {
		return err
	}
	for i := 0; i+1 < len(v.Content); i += 2 {
		class, uri := v.Content[i], v.Content[i+1]
		key := kekKey + "." + class.Value
		if uri.Kind != yaml.ScalarNode || uri.Tag == "!!null" {
			return fileError(path, uri.Line, key, "want a KEK URI, got %s", kindName(uri))
		}
		c.KEKs[class.Value] = uri.Value
		c.from[key] = fmt.Sprintf("%s line %d", path, class.Line)
	}
	return nil
}

// applyAccepted reads accept_keks: a mapping of field class to the KEK
// URIs accepted for that class only, each a URI or a list of URIs. The
// file's entries replace those of an earlier layer.
func applyAccepted(c *config, path string, v *yaml.Node) error {
	if v.Tag == "!!null" {
		return nil
	}
	if v.Kind != yaml.MappingNode {
		return fileError(path, v.Line, acceptKey, "want a mapping of field class to KEK URIs, such as "+
			"{pii: [hcvault://transit/keys/pii-old]}, got %s: an accepted KEK is accepted for the classes it is listed under only", kindName(v))
	}
	if err := checkUniqueKeys(path, acceptKey+".", v); err != nil {
		return err
	}
	clear(c.AcceptKEKs)
	for i := 0; i+1 < len(v.Content); i += 2 {
		class, val := v.Content[i], v.Content[i+1]
		key := acceptKey + "." + class.Value
		from := fmt.Sprintf("%s line %d", path, class.Line)
		var uris []*yaml.Node
		switch {
		case val.Kind == yaml.ScalarNode && val.Tag != "!!null":
			uris = []*yaml.Node{val}
		case val.Kind == yaml.SequenceNode:
			uris = val.Content
		default:
			return fileError(path, val.Line, key, "want a KEK URI or a list of KEK URIs, got %s", kindName(val))
		}
		for _, u := range uris {
			if u.Kind != yaml.ScalarNode || u.Tag == "!!null" || u.Value == "" {
				return fileError(path, u.Line, key, "want a KEK URI, got %s", kindName(u))
			}
			c.addAccepted(class.Value, u.Value, from)
		}
	}
	return nil
}

// checkUniqueKeys refuses a mapping that holds a key twice, such as two
// pii: lines under keks:. YAML forbids it, but the parser keeps both, and
// taking either one silently could wrap keysets under a KEK the operator
// did not mean (or another reader of the file takes the other).
func checkUniqueKeys(path, prefix string, m *yaml.Node) error {
	first := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i]
		if line, ok := first[k.Value]; ok {
			return fileError(path, k.Line, prefix+k.Value, "set twice, first at line %d: keep one", line)
		}
		first[k.Value] = k.Line
	}
	return nil
}

func lookupSetting(key string) (setting, bool) {
	for _, s := range settings {
		if s.key == key {
			return s, true
		}
	}
	return setting{}, false
}

// isSection reports whether key is a nested section such as "vault".
func isSection(key string) bool {
	for _, s := range settings {
		if strings.HasPrefix(s.key, key+".") {
			return true
		}
	}
	return false
}

// knownKeys lists the keys allowed directly under prefix.
func knownKeys(prefix string) []string {
	var out []string
	add := func(k string) {
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	if prefix == "" {
		add(kekKey)
		add(acceptKey)
	}
	for _, s := range settings {
		if rest, ok := strings.CutPrefix(s.key, prefix); ok {
			head, _, _ := strings.Cut(rest, ".")
			add(head)
		}
	}
	if prefix == "" {
		for _, k := range jobKeys {
			add(k)
		}
	}
	return out
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	case yaml.AliasNode:
		return "an alias"
	}
	return "nothing"
}
