package cli_test

import (
	"testing"
)

// TestConfigSetTwiceRefused plays an operator whose configuration names
// one setting twice in one layer: a config file with two pii: lines under
// keks: (one added for a KEK move, the old one left in place), two
// --kek flags for one class, two environment variables that both set
// keks.pii. The tool took the last one silently, so keys init or keys
// rewrap could wrap keysets under a KEK the operator did not mean, and a
// fleet reading the same file with another parser would use the other.
// Each is a usage error (exit 64) naming both places, before any keyset
// is read or written.
func TestConfigSetTwiceRefused(t *testing.T) {
	h := newHarness(t)
	h.mustRun(t, "keys", "init", "--scope", "acme", "--class", "pii")
	other := h.newKEK(t, "other")
	store := "store: sqlite:" + h.store + "\n"
	good := store + "keks:\n  pii: " + h.keks["pii"] + "\n"
	cases := []usageCase{
		{"class twice under keks", store + "keks:\n  pii: " + h.keks["pii"] + "\n  pii: " + other + "\n", nil, nil,
			[]string{"keks.pii", "line 4", "line 3", "twice"}},
		{"class twice under accept_keks", good + "accept_keks:\n  pii: " + other + "\n  pii: " + h.keks["support"] + "\n", nil, nil,
			[]string{"accept_keks.pii", "line 6", "line 5", "twice"}},
		{"setting twice", good + "store: sqlite:" + h.dir + "/other.db\n", nil, nil,
			[]string{"store", "line 4", "line 1", "twice"}},
		{"section twice", good + "vault:\n  address: https://a.example\nvault:\n  namespace: team\n", nil, nil,
			[]string{"vault", "line 6", "line 4", "twice"}},
		{"a section's setting also dotted", good + "vault.address: https://a.example\nvault:\n  address: https://b.example\n", nil, nil,
			[]string{"vault.address", "line 6", "line 4", "twice"}},
		{"keks twice", good + "keks:\n  support: " + h.keks["support"] + "\n", nil, nil,
			[]string{"keks", "line 4", "line 2", "twice"}},
		{"--kek twice for a class", good, nil, []string{"--kek", "pii=" + h.keks["pii"], "--kek", "pii=" + other},
			[]string{"--kek", "pii", "twice"}},
		{"two variables for a class", good, []string{"FIELDCRYPT_KEK_PII=" + h.keks["pii"], "FIELDCRYPT_KEK_pii=" + other}, nil,
			[]string{"FIELDCRYPT_KEK_PII", "FIELDCRYPT_KEK_pii", "keks.pii"}},
	}
	h.assertUsageErrors(t, cases)
}
