package vault_test

import (
	"context"
	"fmt"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/fieldcrypt/fieldcrypt/internal/testenv"
	"github.com/fieldcrypt/fieldcrypt/kms/vault"
)

// rootClient returns an api client with the dev server's root token, and
// makes sure transit/ is mounted. It stops the test when Vault is
// unreachable (testenv.Require).
func rootClient(t *testing.T) *api.Client {
	t.Helper()
	cfg := api.DefaultConfig()
	cfg.Address = testenv.VaultAddr
	cfg.MaxRetries = 0
	cfg.Timeout = 10 * time.Second
	client, err := api.NewClient(cfg)
	if err != nil {
		t.Fatalf("api.NewClient() err = %v", err)
	}
	client.SetToken(testenv.VaultToken)
	client.SetNamespace("")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err = client.Auth().Token().LookupSelfWithContext(ctx)
	testenv.Require(t, "Vault", err)
	mountTransit(t, client, "transit")
	return client
}

// mountTransit enables the transit engine at mount unless it is there.
func mountTransit(t *testing.T, client *api.Client, mount string) {
	t.Helper()
	ctx := context.Background()
	mounts, err := client.Sys().ListMountsWithContext(ctx)
	if err != nil {
		t.Fatalf("ListMounts() err = %v", err)
	}
	if _, ok := mounts[mount+"/"]; ok {
		return
	}
	if err := client.Sys().MountWithContext(ctx, mount, &api.MountInput{Type: "transit"}); err != nil {
		t.Fatalf("Mount(%s) err = %v", mount, err)
	}
}

var keySeq atomic.Int64

var nonWord = regexp.MustCompile(`[^\w]+`)

// uniqueName returns a name for a Vault object that no other test run uses.
func uniqueName(t *testing.T, prefix string) string {
	name := nonWord.ReplaceAllString(t.Name(), "-")
	if len(name) > 40 {
		name = name[len(name)-40:]
	}
	return fmt.Sprintf("%s-%s-%d-%d", prefix, name, time.Now().UnixNano()%1e9, keySeq.Add(1))
}

// newKey creates a fresh aes256-gcm96 key at mount and returns its URI. The
// key is deleted when the test ends.
func newKey(t *testing.T, client *api.Client, mount string) string {
	t.Helper()
	ctx := context.Background()
	name := uniqueName(t, "k")
	if _, err := client.Logical().WriteWithContext(ctx, mount+"/keys/"+name, map[string]any{"type": "aes256-gcm96"}); err != nil {
		t.Fatalf("creating transit key %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		_, _ = client.Logical().WriteWithContext(ctx, mount+"/keys/"+name+"/config", map[string]any{"deletion_allowed": true})
		_, _ = client.Logical().DeleteWithContext(ctx, mount+"/keys/"+name)
	})
	return vault.Scheme + "://" + mount + "/keys/" + name
}

// rotate adds a version to the key of uri.
func rotate(t *testing.T, client *api.Client, uri string) {
	t.Helper()
	mount, name, err := vault.ParseURI(uri)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Logical().WriteWithContext(context.Background(), mount+"/keys/"+name+"/rotate", nil); err != nil {
		t.Fatalf("rotating %s: %v", uri, err)
	}
}

// rootOptions are Options that reach the dev server with the root token.
func rootOptions() *vault.Options {
	return &vault.Options{Address: testenv.VaultAddr, Token: testenv.VaultToken}
}

// dial opens a connection with opts, closed when the test ends.
func dial(t *testing.T, opts *vault.Options) *vault.Conn {
	t.Helper()
	conn, err := vault.Dial(context.Background(), opts)
	if err != nil {
		t.Fatalf("Dial() err = %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}
