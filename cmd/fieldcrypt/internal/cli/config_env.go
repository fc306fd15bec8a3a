package cli

import (
	"strings"
)

// applyEnv overrides c with the FIELDCRYPT_* variables set in environ
// ("KEY=value" strings). Per-class KEKs are FIELDCRYPT_KEK_<CLASS>, the
// class lowercased: FIELDCRYPT_KEK_PII sets keks.pii. Empty variables are
// ignored.
func applyEnv(c *config, environ []string) error {
	vars := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && v != "" {
			vars[k] = v
		}
	}
	for _, s := range settings {
		if v, ok := vars[s.env]; ok {
			if err := s.set(c, v, "env "+s.env); err != nil {
				return usagef("%s: %w", s.env, err)
			}
		}
	}
	if v, ok := vars[acceptEnv]; ok {
		for _, entry := range splitList(v) {
			class, uri, err := parseAccepted(acceptEnv+" entry", entry)
			if err != nil {
				return usagef("%s: %w (separate entries with commas)", acceptEnv, err)
			}
			c.addAccepted(class, uri, "env "+acceptEnv)
		}
	}
	setBy := map[string]string{} // class -> the variable that set it
	for _, name := range sortedKeys(vars) {
		class, ok := strings.CutPrefix(name, kekEnvPrefix)
		if !ok || class == "" {
			continue
		}
		class = strings.ToLower(class)
		if other, ok := setBy[class]; ok {
			return usagef("%s and %s both set %s.%s: set one", other, name, kekKey, class)
		}
		setBy[class] = name
		c.KEKs[class] = vars[name]
		c.from[kekKey+"."+class] = "env " + name
	}
	return nil
}
