package vault_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/fieldcrypt/fieldcrypt/internal/testenv"
	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/vault"
)

func TestErrorCodes(t *testing.T) {
	root := rootClient(t)
	ctx := context.Background()
	uri := newKey(t, root, "transit")
	kek, err := vault.New(root, uri, nil)
	if err != nil {
		t.Fatal(err)
	}
	pt, ad := []byte("PLAINTEXT-MARKER"), []byte("tenant-a")
	ct, err := kek.EncryptWithContext(ctx, pt, ad)
	if err != nil {
		t.Fatal(err)
	}
	open := func(uri string) *kms.Keeper {
		k, err := vault.New(root, uri, nil)
		if err != nil {
			t.Fatalf("New(%q) err = %v", uri, err)
		}
		return k
	}
	// Transit creates a missing key on encrypt (upsert) for a token that may
	// create; this mount refuses, as a production mount should.
	noUpsert := uniqueName(t, "noupsert")
	mountTransit(t, root, noUpsert)
	t.Cleanup(func() { _ = root.Sys().UnmountWithContext(context.Background(), noUpsert) })
	if _, err := root.Logical().WriteWithContext(ctx, noUpsert+"/config/keys", map[string]any{"disable_upsert": true}); err != nil {
		t.Fatalf("disabling upsert: %v", err)
	}
	missingKey := open("hcvault://" + noUpsert + "/keys/missing")
	missingMount := open("hcvault://" + uniqueName(t, "nomount") + "/keys/pii")
	cubbyhole := open("hcvault://cubbyhole/keys/pii") // not Transit: writes answer 204 with no body
	expired, cancel := context.WithDeadline(ctx, time.Now().Add(-time.Second))
	defer cancel()

	for _, tc := range []struct {
		name       string
		call       func() ([]byte, error)
		want       kms.Code
		wantStatus int // of the *api.ResponseError in the chain; 0 for none
	}{
		{"encrypt, missing key", func() ([]byte, error) { return missingKey.EncryptWithContext(ctx, pt, ad) }, kms.CodeNotFound, 400},
		{"decrypt, missing key", func() ([]byte, error) { return missingKey.DecryptWithContext(ctx, ct, ad) }, kms.CodeNotFound, 400},
		{"rewrap, missing key", func() ([]byte, error) { return missingKey.Rewrap(ctx, ct, ad) }, kms.CodeNotFound, 400},
		{"encrypt, missing mount", func() ([]byte, error) { return missingMount.EncryptWithContext(ctx, pt, ad) }, kms.CodeNotFound, 404},
		{"decrypt, wrong associated data", func() ([]byte, error) { return kek.DecryptWithContext(ctx, ct, []byte("tenant-b")) }, kms.CodeInvalidCiphertext, 400},
		{"decrypt, version too new", func() ([]byte, error) {
			return kek.DecryptWithContext(ctx, []byte(strings.Replace(string(ct), "vault:v1:", "vault:v9:", 1)), ad)
		}, kms.CodeInvalidCiphertext, 400},
		{"encrypt, not a Transit mount", func() ([]byte, error) { return cubbyhole.EncryptWithContext(ctx, pt, ad) }, kms.CodeUnknown, 0},
		{"encrypt, expired context", func() ([]byte, error) { return kek.EncryptWithContext(expired, pt, ad) }, kms.CodeDeadlineExceeded, 0},
		{"decrypt, expired context", func() ([]byte, error) { return kek.DecryptWithContext(expired, ct, ad) }, kms.CodeDeadlineExceeded, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := tc.call()
			if err == nil {
				t.Fatalf("%s = %q, nil; want error", tc.name, out)
			}
			var kerr *kms.Error
			if !errors.As(err, &kerr) {
				t.Fatalf("%s err = %v (%T), want a *kms.Error", tc.name, err, err)
			}
			if kerr.Code != tc.want {
				t.Errorf("%s code = %v, want %v (err = %v)", tc.name, kerr.Code, tc.want, err)
			}
			if !errors.Is(err, sentinelOf(tc.want)) {
				t.Errorf("%s: errors.Is(err, sentinel of %v) = false", tc.name, tc.want)
			}
			var re *api.ResponseError
			switch {
			case tc.wantStatus == 0 && errors.As(err, &re):
				t.Errorf("%s: the chain has an *api.ResponseError (%d), want none", tc.name, re.StatusCode)
			case tc.wantStatus != 0 && (!errors.As(err, &re) || re.StatusCode != tc.wantStatus):
				t.Errorf("%s: errors.As(*api.ResponseError) = %v, want status %d", tc.name, re, tc.wantStatus)
			}
			var ve *vault.VaultError
			if tc.wantStatus != 0 && !errors.As(err, &ve) {
				t.Errorf("%s: errors.As(*vault.VaultError) = false", tc.name)
			}
			msg := err.Error()
			if strings.Contains(msg, string(pt)) || strings.Contains(msg, testenv.VaultToken) || strings.Contains(msg, "\n") {
				t.Errorf("%s err = %q: want one line, without plaintext or token", tc.name, msg)
			}
			if !strings.Contains(msg, kerr.KeyURI) || kerr.KeyURI == "" {
				t.Errorf("%s err = %q: want the key URI in it", tc.name, msg)
			}
		})
	}
}

func sentinelOf(c kms.Code) error {
	return map[kms.Code]error{
		kms.CodeUnknown: kms.ErrUnknown, kms.CodeNotFound: kms.ErrNotFound, kms.CodeInvalidCiphertext: kms.ErrInvalidCiphertext,
		kms.CodeDeadlineExceeded: kms.ErrDeadlineExceeded, kms.CodeUnavailable: kms.ErrUnavailable,
		kms.CodeThrottled: kms.ErrThrottled, kms.CodePermissionDenied: kms.ErrPermissionDenied,
	}[c]
}

// closedPort returns a loopback address on which nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

func TestUnreachable(t *testing.T) {
	addr := closedPort(t)
	kek, err := dial(t, &vault.Options{Address: addr, Token: "t"}).Open("hcvault://transit/keys/pii")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ct := []byte("vault:v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==")
	for _, op := range []struct {
		name string
		call func() ([]byte, error)
	}{
		{"encrypt", func() ([]byte, error) { return kek.EncryptWithContext(ctx, []byte("pt"), nil) }},
		{"decrypt", func() ([]byte, error) { return kek.DecryptWithContext(ctx, ct, nil) }},
		{"rewrap", func() ([]byte, error) { return kek.Rewrap(ctx, ct, nil) }},
	} {
		t.Run(op.name, func(t *testing.T) {
			start := time.Now()
			_, err := op.call()
			if !errors.Is(err, kms.ErrUnavailable) || !kms.IsTransient(err) {
				t.Errorf("%s on a closed port: err = %v, want unavailable, transient", op.name, err)
			}
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("%s on a closed port took %v; a refused connection is not retried", op.name, took)
			}
		})
	}
	// So does an AppRole login.
	_, err = vault.Dial(ctx, &vault.Options{Address: addr, AppRole: &vault.AppRole{RoleID: "r", SecretID: "s"}})
	if !errors.Is(err, kms.ErrUnavailable) {
		t.Errorf("Dial(AppRole, closed port) err = %v, want unavailable", err)
	}
}

// A rate-limit quota on a Transit mount makes Vault answer 429: without
// retries the caller sees CodeThrottled; with them the call waits and
// succeeds.
func TestThrottled(t *testing.T) {
	root := rootClient(t)
	ctx := context.Background()
	mount := uniqueName(t, "quota")
	mountTransit(t, root, mount)
	t.Cleanup(func() { _ = root.Sys().UnmountWithContext(context.Background(), mount) })
	uri := newKey(t, root, mount)
	quota := uniqueName(t, "q")
	if _, err := root.Logical().WriteWithContext(ctx, "sys/quotas/rate-limit/"+quota, map[string]any{
		"path": mount + "/", "rate": 1, "interval": "1s",
	}); err != nil {
		t.Fatalf("creating a rate-limit quota: %v", err)
	}
	t.Cleanup(func() { _, _ = root.Logical().DeleteWithContext(context.Background(), "sys/quotas/rate-limit/"+quota) })

	noRetry, err := dial(t, &vault.Options{Address: testenv.VaultAddr, Token: testenv.VaultToken, MaxRetries: -1}).Open(uri)
	if err != nil {
		t.Fatal(err)
	}
	var throttled error
	for range 5 {
		if _, throttled = noRetry.EncryptWithContext(ctx, []byte("pt"), nil); throttled != nil {
			break
		}
	}
	if !errors.Is(throttled, kms.ErrThrottled) || !kms.IsTransient(throttled) {
		t.Fatalf("EncryptWithContext() over the quota, no retries: err = %v, want throttled, transient", throttled)
	}

	retrying, err := dial(t, &vault.Options{Address: testenv.VaultAddr, Token: testenv.VaultToken,
		MaxRetries: 5, MinRetryWait: 500 * time.Millisecond, MaxRetryWait: 3 * time.Second}).Open(uri)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if _, err := retrying.EncryptWithContext(ctx, []byte("pt"), nil); err != nil {
			t.Errorf("EncryptWithContext() #%d over the quota, with retries: err = %v", i+1, err)
		}
	}
}
