package testenv

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
)

// TransitKey creates a fresh aes256-gcm96 Transit key on the Vault dev
// server (enabling transit/ if needed) and deletes it when the test ends.
// It returns a root-token client and the key's name. A Vault that does not
// answer stops the test as Require does.
func TransitKey(t testing.TB, prefix string) (*api.Client, string) {
	t.Helper()
	cfg := api.DefaultConfig()
	cfg.Address = VaultAddr
	cfg.MaxRetries = 0
	client, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	client.SetToken(VaultToken)
	client.SetNamespace("")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = client.Auth().Token().LookupSelfWithContext(ctx)
	Require(t, "Vault", err)
	mounts, err := client.Sys().ListMountsWithContext(ctx)
	if err != nil {
		t.Fatalf("ListMounts() err = %v", err)
	}
	if _, ok := mounts["transit/"]; !ok {
		if err := client.Sys().MountWithContext(ctx, "transit", &api.MountInput{Type: "transit"}); err != nil {
			t.Fatalf("enabling transit err = %v", err)
		}
	}
	name := fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano())
	if _, err := client.Logical().WriteWithContext(ctx, "transit/keys/"+name, map[string]any{"type": "aes256-gcm96"}); err != nil {
		t.Fatalf("creating transit key %s err = %v", name, err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		_, _ = client.Logical().WriteWithContext(ctx, "transit/keys/"+name+"/config", map[string]any{"deletion_allowed": true})
		_, _ = client.Logical().DeleteWithContext(ctx, "transit/keys/"+name)
	})
	return client, name
}
