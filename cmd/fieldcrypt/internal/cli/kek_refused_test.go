package cli_test

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"

	"github.com/fieldcrypt/fieldcrypt/cmd/fieldcrypt/internal/cli"
	"github.com/fieldcrypt/fieldcrypt/internal/testenv"
	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/keyring/sqlstore"
	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/local"
	"github.com/fieldcrypt/fieldcrypt/kms/vault"
)

// TestKEKRefused: the pii KEK is a Vault Transit key, and the Vault token
// the tool runs with is then replaced by one whose policy does not allow
// the key (as after a revoked grant). The class HAS a KEK, so this is not
// "no access": keys list, status and reencrypt fail with exit 1 and one
// error naming the keyset and the KEK, and the job counts no row as
// failed. A configuration with no pii KEK at all still lists the keysets
// as "no access" (exit 0).
func TestKEKRefused(t *testing.T) {
	client, name := testenv.TransitKey(t, "fieldcrypt-cli-refused")
	piiKEK := "hcvault://transit/keys/" + name
	h := newHarness(t)
	base := fmt.Sprintf("store: sqlite:%s\nkeks:\n  pii: %s\n  support: %s\nvault:\n  address: %s\ncache_ttl: 200ms\npropagation_margin: 100ms\n",
		h.store, piiKEK, h.keks["support"], testenv.VaultAddr)
	h.writeConfig(t, base)
	h.environ = []string{"VAULT_TOKEN=" + testenv.VaultToken}
	h.mustRun(t, "keys", "init", "--scope", "acme")
	c := newCRM(t, h)
	c.insert(t, vaultKeyring(t, h, map[string]string{"pii": piiKEK, "support": h.keks["support"]}), "acme", 20)
	h.mustRun(t, "keys", "rotate", "--scope", "acme", "--class", "pii")

	secret, err := client.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{"default"}, TTL: "10m"})
	if err != nil {
		t.Fatal(err)
	}
	h.environ = []string{"VAULT_TOKEN=" + secret.Auth.ClientToken}
	for _, args := range [][]string{{"keys", "list"}, {"status"}, {"reencrypt", "--json"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := h.run(t, args...)
			if r.code != cli.ExitFailed {
				t.Fatalf("fieldcrypt %s with a pii KEK that refuses: %v\nwant exit 1", strings.Join(args, " "), r)
			}
			for _, want := range []string{"acme/pii/", piiKEK, "refused"} {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("fieldcrypt %s with a pii KEK that refuses: stderr lacks %q:\n%s", strings.Join(args, " "), want, r.stderr)
				}
			}
			if (args[0] != "reencrypt" && strings.Contains(r.stdout, "no access")) || strings.Contains(r.stderr, "no_access") {
				t.Errorf("fieldcrypt %s shows a refusing KEK as no access:\n%v", strings.Join(args, " "), r)
			}
			if n := strings.Count(r.stderr, "fieldcrypt: "); n != 1 {
				t.Errorf("fieldcrypt %s: stderr holds %d errors, want one:\n%s", strings.Join(args, " "), n, r.stderr)
			}
			if args[0] == "reencrypt" {
				if sum := parseSummary(t, r.stdout); sum.Outcome != "failed" || sum.Tables[0].Failed != 0 || sum.Tables[0].Rewritten != 0 {
					t.Errorf("summary = %+v, want failed with no row counted", sum)
				}
			}
		})
	}

	// No pii KEK at all: the role table's case, listed as "no access".
	h.writeConfig(t, fmt.Sprintf("store: sqlite:%s\nkeks:\n  support: %s\n", h.store, h.keks["support"]))
	r := h.mustRun(t, "keys", "list")
	if !strings.Contains(r.stdout, "no access") {
		t.Errorf("keys list without a pii KEK: %v\nwant the pii keysets listed as no access", r)
	}
}

// vaultKeyring opens, as an application would, a keyring over the
// harness's store that opens Vault (root token) and local KEKs.
func vaultKeyring(t *testing.T, h *harness, keks map[string]string) *keyring.Keyring {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+h.store+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	store, err := sqlstore.New(db, sqlstore.SQLite, nil)
	if err != nil {
		t.Fatal(err)
	}
	opener := kms.NewOpener()
	opener.Register(local.Scheme, local.OpenFunc(nil))
	opener.Register(vault.Scheme, vault.OpenFunc(&vault.Options{Address: testenv.VaultAddr, Token: testenv.VaultToken}))
	kr, err := keyring.New(keyring.Config{Store: store, Opener: opener, KEKs: keks, DisableAutoCreate: true})
	if err != nil {
		t.Fatalf("keyring.New() err = %v", err)
	}
	t.Cleanup(func() { kr.Close() })
	return kr
}
