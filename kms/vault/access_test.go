package vault_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/fieldcrypt/fieldcrypt/internal/testenv"
	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/vault"
)

// writePolicy stores PolicyHCL(uri) under a fresh name and returns the name.
func writePolicy(t *testing.T, root *api.Client, uri string) string {
	t.Helper()
	hcl, err := vault.PolicyHCL(uri)
	if err != nil {
		t.Fatalf("PolicyHCL(%q) err = %v", uri, err)
	}
	name := uniqueName(t, "p")
	if err := root.Sys().PutPolicyWithContext(context.Background(), name, hcl); err != nil {
		t.Fatalf("PutPolicy() err = %v", err)
	}
	t.Cleanup(func() { _ = root.Sys().DeletePolicyWithContext(context.Background(), name) })
	return name
}

// checkAccess checks that kek (of the key the policy allows) can encrypt,
// decrypt and rewrap, and that other (a key the policy does not name) is
// denied on every operation.
func checkAccess(t *testing.T, kek, other *kms.Keeper, otherCT []byte) {
	t.Helper()
	ctx := context.Background()
	pt, ad := []byte("keyset"), []byte("tenant-a|pii")
	ct, err := kek.EncryptWithContext(ctx, pt, ad)
	if err != nil {
		t.Fatalf("EncryptWithContext(allowed key) err = %v", err)
	}
	got, err := kek.DecryptWithContext(ctx, ct, ad)
	if err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("DecryptWithContext(allowed key) = %q, %v; want %q, nil", got, err, pt)
	}
	if _, err := kek.Rewrap(ctx, ct, ad); err != nil {
		t.Errorf("Rewrap(allowed key, with associated data) err = %v", err)
	}
	if _, err := kek.Rewrap(ctx, ct[:0:0], nil); kms.CodeOf(err) != kms.CodeInvalidCiphertext {
		t.Errorf("Rewrap(allowed key, empty) err = %v, want invalid ciphertext", err)
	}
	for _, op := range []struct {
		name string
		call func() error
	}{
		{"encrypt", func() error { _, err := other.EncryptWithContext(ctx, pt, ad); return err }},
		{"decrypt", func() error { _, err := other.DecryptWithContext(ctx, otherCT, ad); return err }},
		{"rewrap", func() error { _, err := other.Rewrap(ctx, otherCT, ad); return err }},
	} {
		err := op.call()
		if !errors.Is(err, kms.ErrPermissionDenied) || kms.IsTransient(err) {
			t.Errorf("%s on a key the policy does not name: err = %v, want permission denied, permanent", op.name, err)
		}
		var re *api.ResponseError
		if !errors.As(err, &re) || re.StatusCode != 403 {
			t.Errorf("%s on a key the policy does not name: errors.As(*api.ResponseError) = %v, want status 403", op.name, re)
		}
	}
}

// A token holding only PolicyHCL(uri) uses its key and nothing else.
func TestLeastPrivilegePolicy(t *testing.T) {
	root := rootClient(t)
	ctx := context.Background()
	uri, otherURI := newKey(t, root, "transit"), newKey(t, root, "transit")
	policy := writePolicy(t, root, uri)
	tok, err := root.Auth().Token().CreateWithContext(ctx, &api.TokenCreateRequest{
		Policies: []string{policy}, NoDefaultPolicy: true, TTL: "10m",
	})
	if err != nil {
		t.Fatalf("creating a token: %v", err)
	}
	conn := dial(t, &vault.Options{Address: testenv.VaultAddr, Token: tok.Auth.ClientToken})
	kek, err := conn.Open(uri)
	if err != nil {
		t.Fatal(err)
	}
	other, err := conn.Open(otherURI)
	if err != nil {
		t.Fatal(err)
	}
	rootOther, _ := vault.New(root, otherURI, nil)
	otherCT, err := rootOther.EncryptWithContext(ctx, []byte("keyset"), []byte("tenant-a|pii"))
	if err != nil {
		t.Fatal(err)
	}
	checkAccess(t, kek, other, otherCT)

	// Encrypting under a key that does not exist would create it (Transit's
	// upsert); the policy does not grant create, so it is denied and no key
	// appears.
	mount, name, _ := vault.ParseURI(uri)
	missingURI := "hcvault://" + mount + "/keys/" + uniqueName(t, "missing")
	missing, err := conn.Open(missingURI)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := missing.EncryptWithContext(ctx, []byte("keyset"), nil); !errors.Is(err, kms.ErrPermissionDenied) {
		t.Errorf("EncryptWithContext(missing key) with the KEK policy: err = %v, want permission denied", err)
	}

	// The policy grants no administration of the key itself.
	for _, call := range []struct {
		what string
		do   func() error
	}{
		{"read the key", func() error { _, err := conn.Client().Logical().ReadWithContext(ctx, mount+"/keys/"+name); return err }},
		{"rotate the key", func() error {
			_, err := conn.Client().Logical().WriteWithContext(ctx, mount+"/keys/"+name+"/rotate", nil)
			return err
		}},
		{"export the key", func() error {
			_, err := conn.Client().Logical().ReadWithContext(ctx, mount+"/export/encryption-key/"+name)
			return err
		}},
	} {
		var re *api.ResponseError
		if err := call.do(); !errors.As(err, &re) || re.StatusCode != 403 {
			t.Errorf("%s with the KEK policy: err = %v, want 403", call.what, err)
		}
	}
}

// enableAppRole mounts the AppRole auth method at a fresh path and creates a
// role holding policy; it returns AppRole credentials for it.
func enableAppRole(t *testing.T, root *api.Client, policy string, roleConfig map[string]any) *vault.AppRole {
	t.Helper()
	ctx := context.Background()
	mount := uniqueName(t, "approle")
	if err := root.Sys().EnableAuthWithOptionsWithContext(ctx, mount, &api.EnableAuthOptions{Type: "approle"}); err != nil {
		t.Fatalf("enabling approle: %v", err)
	}
	t.Cleanup(func() { _ = root.Sys().DisableAuthWithContext(context.Background(), mount) })
	cfg := map[string]any{"token_policies": []string{policy}, "token_no_default_policy": true}
	for k, v := range roleConfig {
		cfg[k] = v
	}
	if _, err := root.Logical().WriteWithContext(ctx, "auth/"+mount+"/role/kek", cfg); err != nil {
		t.Fatalf("creating the role: %v", err)
	}
	rid, err := root.Logical().ReadWithContext(ctx, "auth/"+mount+"/role/kek/role-id")
	if err != nil || rid == nil {
		t.Fatalf("reading the role ID: %v", err)
	}
	sid, err := root.Logical().WriteWithContext(ctx, "auth/"+mount+"/role/kek/secret-id", nil)
	if err != nil || sid == nil {
		t.Fatalf("creating a secret ID: %v", err)
	}
	roleID, _ := rid.Data["role_id"].(string)
	secretID, _ := sid.Data["secret_id"].(string)
	if roleID == "" || secretID == "" {
		t.Fatal("the role ID or secret ID is missing from Vault's answer")
	}
	return &vault.AppRole{RoleID: roleID, SecretID: secretID, MountPath: mount}
}

func TestAppRole(t *testing.T) {
	root := rootClient(t)
	ctx := context.Background()
	uri, otherURI := newKey(t, root, "transit"), newKey(t, root, "transit")
	policy := writePolicy(t, root, uri)
	creds := enableAppRole(t, root, policy, nil)

	t.Run("login and use", func(t *testing.T) {
		// Through the opener, as a program would.
		opener := kms.NewOpener()
		opener.Register(vault.Scheme, vault.OpenFunc(&vault.Options{Address: testenv.VaultAddr, AppRole: creds}))
		kek, err := opener.Open(ctx, uri)
		if err != nil {
			t.Fatalf("Open(%q) err = %v", uri, err)
		}
		other, err := opener.Open(ctx, otherURI)
		if err != nil {
			t.Fatalf("Open(%q) err = %v", otherURI, err)
		}
		rootOther, _ := vault.New(root, otherURI, nil)
		otherCT, err := rootOther.EncryptWithContext(ctx, []byte("keyset"), []byte("tenant-a|pii"))
		if err != nil {
			t.Fatal(err)
		}
		checkAccess(t, kek, other, otherCT)
	})

	t.Run("bad secret ID", func(t *testing.T) {
		bad := *creds
		bad.SecretID = "00000000-0000-0000-0000-000000000000"
		conn, err := vault.Dial(ctx, &vault.Options{Address: testenv.VaultAddr, AppRole: &bad})
		if err == nil {
			conn.Close()
			t.Fatal("Dial(bad secret ID) err = nil, want error")
		}
		if !errors.Is(err, kms.ErrPermissionDenied) || kms.IsTransient(err) {
			t.Errorf("Dial(bad secret ID) err = %v, want permission denied, permanent", err)
		}
	})
}

// With a short token TTL, the Conn renews the token and, at its maximum TTL,
// logs in again: calls keep working past both.
func TestAppRoleRenewal(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 7 seconds")
	}
	root := rootClient(t)
	ctx := context.Background()
	uri := newKey(t, root, "transit")
	creds := enableAppRole(t, root, writePolicy(t, root, uri), map[string]any{
		"token_ttl": "2s", "token_max_ttl": "4s",
	})
	conn := dial(t, &vault.Options{Address: testenv.VaultAddr, AppRole: creds})
	kek, err := conn.Open(uri)
	if err != nil {
		t.Fatal(err)
	}
	first := conn.Client().Token()
	deadline := time.Now().Add(7 * time.Second)
	calls := 0
	for time.Now().Before(deadline) {
		if _, err := kek.EncryptWithContext(ctx, []byte("keyset"), nil); err != nil {
			t.Fatalf("EncryptWithContext() after %d calls err = %v", calls, err)
		}
		calls++
		time.Sleep(250 * time.Millisecond)
	}
	if conn.Client().Token() == first {
		t.Errorf("the token did not change past its 4s maximum TTL; want a new login")
	}
	// The first token has expired: it no longer works on its own.
	stale, err := vault.New(withToken(t, first), uri, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stale.EncryptWithContext(ctx, []byte("keyset"), nil); !errors.Is(err, kms.ErrPermissionDenied) {
		t.Errorf("EncryptWithContext(with the first, expired token) err = %v, want permission denied", err)
	}
}

// withToken returns a client on the dev server with token.
func withToken(t *testing.T, token string) *api.Client {
	t.Helper()
	cfg := api.DefaultConfig()
	cfg.Address = testenv.VaultAddr
	c, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(token)
	return c
}
