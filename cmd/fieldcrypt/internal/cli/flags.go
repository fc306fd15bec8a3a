package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// globalFlags are the flags every command takes: --config and one per
// setting, bound to the root command's persistent flag set.
type globalFlags struct {
	fs         *pflag.FlagSet
	configPath string
	keks       []string
	accept     []string
	values     map[string]any // flag name -> *string, *time.Duration or *[]string
}

func newGlobalFlags() *globalFlags { return &globalFlags{values: map[string]any{}} }

// register defines the global flags on fs.
func (g *globalFlags) register(fs *pflag.FlagSet) {
	g.fs = fs
	fs.StringVarP(&g.configPath, "config", "c", "", "YAML config file (env "+configEnv+")")
	fs.StringArrayVar(&g.keks, kekFlag, nil, "KEK of a field class, as CLASS=URI (repeatable; env "+kekEnvPrefix+"<CLASS>)")
	fs.StringArrayVar(&g.accept, acceptFlag, nil, "a further KEK that may unwrap the keysets of one class, such as its previous KEK during a move, as CLASS=URI (repeatable; env "+acceptEnv+"=CLASS=URI,...)")
	for _, s := range settings {
		usage := s.usage + " (env " + s.env + ")"
		switch s.kind {
		case kindString:
			g.values[s.flag] = fs.String(s.flag, "", usage)
		case kindDuration:
			g.values[s.flag] = fs.Duration(s.flag, 0, usage)
		case kindList:
			g.values[s.flag] = fs.StringArray(s.flag, nil, usage)
		}
	}
}

// apply overrides c with the flags given on the command line.
func (g *globalFlags) apply(c *config) error {
	for _, s := range settings {
		if f := g.fs.Lookup(s.flag); f == nil || !f.Changed {
			continue
		}
		from := "flag --" + s.flag
		switch v := g.values[s.flag].(type) {
		case *string:
			*(s.field(c).(*string)) = *v
		case *time.Duration:
			*(s.field(c).(*time.Duration)) = *v
		case *[]string:
			*(s.field(c).(*[]string)) = append([]string(nil), (*v)...)
		}
		c.from[s.key] = from
	}
	seen := map[string]bool{}
	for _, kv := range g.keks {
		class, uri, ok := strings.Cut(kv, "=")
		if !ok || class == "" || uri == "" {
			return usagef("--%s %q: want CLASS=URI, such as --kek pii=hcvault://transit/keys/pii", kekFlag, kv)
		}
		if seen[class] {
			return usagef("--%s names class %s twice: give each class one KEK", kekFlag, class)
		}
		seen[class] = true
		c.KEKs[class] = uri
		c.from[kekKey+"."+class] = fmt.Sprintf("flag --%s", kekFlag)
	}
	if len(g.accept) > 0 {
		// Flags replace the accepted KEKs of the file and the environment,
		// as every other list setting does.
		clear(c.AcceptKEKs)
		for _, entry := range g.accept {
			class, uri, err := parseAccepted("--"+acceptFlag, entry)
			if err != nil {
				return err
			}
			c.addAccepted(class, uri, "flag --"+acceptFlag)
		}
	}
	return nil
}
