package cli_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestJSONStderrOnly runs commands that warn, wait, ask, fail and refuse
// in JSON log mode, and checks that every line they write on stderr is a
// JSON object: the local-KEK warning, countdowns, confirmations and the
// final error included.
func TestJSONStderrOnly(t *testing.T) {
	h := newHarness(t)
	c := newCRM(t, h)
	h.mustRun(t, "keys", "init", "--scope", "acme")
	c.insert(t, openKeyring(t, h.store, h.keks), "acme", 3)
	cases := []struct {
		name    string
		environ []string
		stdin   string
		args    []string
	}{
		{"keys init", nil, "", []string{"--log-format", "json", "keys", "init", "--scope", "globex"}},
		{"keys list", nil, "", []string{"--log-format", "json", "keys", "list"}},
		{"keys rotate waits", nil, "", []string{"--log-format", "json", "keys", "rotate", "--scope", "globex", "--class", "pii"}},
		{"keys export to stdout", nil, "", []string{"--log-format", "json", "keys", "export", "--out", "-"}},
		{"unconfirmed shred", nil, "no\n", []string{"--log-format", "json", "keys", "shred", "--scope", "globex"}},
		{"shred of default", nil, "", []string{"--log-format", "json", "keys", "shred", "--scope", "default", "--yes"}},
		{"destroy refused", nil, "", []string{"--log-format", "json", "keys", "destroy", "--scope", "acme", "--class", "pii", "--key-id", "1", "--yes"}},
		{"reencrypt", nil, "", []string{"--log-format", "json", "reencrypt"}},
		{"status", nil, "", []string{"--log-format", "json", "status"}},
		{"group without command", nil, "", []string{"--log-format", "json", "keys"}},
		{"unknown flag", nil, "", []string{"--log-format", "json", "keys", "list", "--bogus"}},
		{"config error from env", []string{"FIELDCRYPT_LOG_FORMAT=json", "FIELDCRYPT_CACHE_TTL=soon"}, "", []string{"keys", "list"}},
		{"auto without a terminal", nil, "", []string{"keys", "list", "--scope", "nobody", "--json"}},
		{"auto, usage error", nil, "", []string{"keys", "shred"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h.environ = append([]string{}, tc.environ...)
			r := h.runIn(t, t.Context(), tc.stdin, tc.args...)
			if strings.TrimSpace(r.rawStderr) == "" {
				t.Fatalf("fieldcrypt %v wrote nothing on stderr: %v", tc.args, r)
			}
			for line := range strings.Lines(r.rawStderr) {
				var rec map[string]any
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Errorf("fieldcrypt %v: stderr line is not JSON (%v): %q", tc.args, err, line)
					continue
				}
				if _, ok := rec["msg"]; !ok {
					t.Errorf("fieldcrypt %v: stderr record has no msg: %q", tc.args, line)
				}
			}
		})
	}
}
