package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	tinkpb "github.com/tink-crypto/tink-go/v2/proto/tink_go_proto"
	"google.golang.org/protobuf/proto"

	"github.com/fieldcrypt/fieldcrypt/internal/testenv"
	"github.com/fieldcrypt/fieldcrypt/kms/vault"
)

// TestVaultKEKRotation rotates a Transit key in a real Vault, rewraps the
// keysets with `keys rewrap`, retires the old key version, and proves with
// an export and a verified import that every keyset unwraps under the new
// version alone.
func TestVaultKEKRotation(t *testing.T) {
	cfg := api.DefaultConfig()
	cfg.Address = testenv.VaultAddr
	cfg.MaxRetries = 0
	client, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	client.SetToken(testenv.VaultToken)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	_, err = client.Auth().Token().LookupSelfWithContext(ctx)
	cancel()
	testenv.Require(t, "Vault", err)
	if mounts, err := client.Sys().ListMounts(); err != nil {
		t.Fatal(err)
	} else if _, ok := mounts["transit/"]; !ok {
		if err := client.Sys().Mount("transit", &api.MountInput{Type: "transit"}); err != nil {
			t.Fatal(err)
		}
	}
	name := fmt.Sprintf("fieldcrypt-cli-%d", time.Now().UnixNano())
	if _, err := client.Logical().Write("transit/keys/"+name, map[string]any{"type": "aes256-gcm96"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		client.Logical().Write("transit/keys/"+name+"/config", map[string]any{"deletion_allowed": true})
		client.Logical().Delete("transit/keys/" + name)
	})

	h := newHarness(t)
	uri := "hcvault://transit/keys/" + name
	h.writeConfig(t, fmt.Sprintf("store: sqlite:%s\nkeks:\n  pii: %s\nvault:\n  address: %s\n", h.store, uri, testenv.VaultAddr))
	h.environ = []string{"VAULT_TOKEN=" + testenv.VaultToken}
	h.mustRun(t, "keys", "init", "--scope", "acme", "--class", "pii")
	if v := exportedVersions(t, h); v != "1,1" {
		t.Fatalf("Transit key versions of the new keysets = %s, want 1,1", v)
	}

	if _, err := client.Logical().Write("transit/keys/"+name+"/rotate", nil); err != nil {
		t.Fatal(err)
	}
	r := h.mustRun(t, "keys", "rewrap")
	t.Logf("keys rewrap after rotating the Transit key:\n%s", r.stdout)
	if !strings.Contains(r.stdout, "rewrapped 2 keysets") || !strings.Contains(r.stdout, "KMS calls made") {
		t.Errorf("keys rewrap stdout:\n%s", r.stdout)
	}
	if v := exportedVersions(t, h); v != "2,2" {
		t.Fatalf("Transit key versions after rewrap = %s, want 2,2", v)
	}

	if _, err := client.Logical().Write("transit/keys/"+name+"/config", map[string]any{"min_decryption_version": 2}); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(h.dir, "vault-backup.json")
	h.mustRun(t, "keys", "export", "--out", backup, "--force")
	r = h.mustRun(t, "--store", "sqlite:"+filepath.Join(h.dir, "drill.db"), "keys", "import", "--in", backup, "--verify")
	if !strings.Contains(r.stdout, "imported 2 keysets") {
		t.Errorf("restore drill after retiring version 1:\n%s", r.stdout)
	}

	h.environ = []string{"VAULT_TOKEN=not-a-token"}
	r = h.run(t, "--store", "sqlite:"+filepath.Join(h.dir, "drill2.db"), "keys", "import", "--in", backup, "--verify")
	if r.code != 1 {
		t.Errorf("import --verify with a bad Vault token: %v\nwant exit 1", r)
	}
	if strings.Contains(r.stderr, "not-a-token") {
		t.Errorf("an error printed the Vault token:\n%s", r.stderr)
	}
}

// exportedVersions exports the keysets and returns the Transit key version
// of each, comma-separated.
func exportedVersions(t *testing.T, h *harness) string {
	t.Helper()
	path := filepath.Join(h.dir, "versions.json")
	h.mustRun(t, "keys", "export", "--out", path, "--force")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Keysets []struct {
			EncryptedKeyset []byte `json:"encrypted_keyset"`
		} `json:"keysets"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	var versions []string
	for _, ks := range doc.Keysets {
		var eks tinkpb.EncryptedKeyset
		if err := proto.Unmarshal(ks.EncryptedKeyset, &eks); err != nil {
			t.Fatal(err)
		}
		v, err := vault.KeyVersion(eks.GetEncryptedKeyset())
		if err != nil {
			t.Fatal(err)
		}
		versions = append(versions, fmt.Sprint(v))
	}
	return strings.Join(versions, ",")
}
