package cli_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
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

// TestJSONOperatorMessagesIgnoreLevel: in JSON mode with --log-level
// error, the messages an operator must read still appear on stderr, as
// they do in text mode: the development-KEK warning, shred's list of
// keysets before its confirmation, destroy's per-column counts and
// rotate's "promote them with" commands.
func TestJSONOperatorMessagesIgnoreLevel(t *testing.T) {
	h := newHarness(t)
	c := newCRM(t, h)
	h.mustRun(t, "keys", "init", "--scope", "acme")
	h.mustRun(t, "keys", "init", "--scope", "globex")
	c.insert(t, openKeyring(t, h.store, h.keks), "acme", 3)
	h.mustRun(t, "keys", "rotate", "--scope", "acme", "--class", "pii")
	old := oldKey(t, h, "acme", "pii", "data")
	jsonErrors := []string{"--log-format", "json", "--log-level", "error"}

	cases := []struct {
		name      string
		interrupt bool // Ctrl-C after 150ms
		stdin     string
		args      []string
		want      []string
	}{
		{"development KEK", false, "", []string{"keys", "list"}, []string{"DEVELOPMENT KEK"}},
		{"shred's keysets", false, "no\n", []string{"keys", "shred", "--scope", "globex"}, []string{"globex/pii/data (KEK ", "About to destroy"}},
		{"destroy's counts", false, "", []string{"keys", "destroy", "--scope", "acme", "--class", "pii", "--key-id", itoa(old.KeyID), "--yes", "--now"}, []string{"contacts.email: 3 values under key"}},
		{"rotate's promote commands", true, "", []string{"keys", "rotate", "--scope", "globex", "--class", "pii", "--propagation", "1m"}, []string{"promote them with", "fieldcrypt keys promote"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if tc.interrupt {
				time.AfterFunc(150*time.Millisecond, cancel)
			}
			r := h.runIn(t, ctx, tc.stdin, append(jsonErrors, tc.args...)...)
			for _, want := range tc.want {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("fieldcrypt --log-level error %v: stderr lacks %q: %v", tc.args, want, r)
				}
			}
			for line := range strings.Lines(r.rawStderr) {
				if !jsonObject(line) {
					t.Errorf("fieldcrypt %v: stderr line is not JSON: %q", tc.args, line)
				}
			}
		})
	}
}

func jsonObject(line string) bool {
	var rec map[string]any
	return json.Unmarshal([]byte(line), &rec) == nil
}
