package crypt_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

// TestErrorsLeakNoSecrets provokes every kind of failure on a record of
// distinctive plaintexts and checks that no error text (Error, %v, %+v, %#v,
// %q) holds a plaintext or any key byte of the scope's keysets, raw or in
// hex or base64.
func TestErrorsLeakNoSecrets(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	stored := e.mustEncrypt(t, secretContact("c-1"))
	other := e.mustEncrypt(t, secretContact("c-2"))

	secrets := plaintextSecrets()
	for _, id := range []struct{ scope, class string }{{"acme", "pii"}, {"acme", "support"}} {
		secrets = append(secrets, e.rawKeys(t, dataID(id.scope, id.class))...)
	}
	secrets = append(secrets, e.rawKeys(t, indexID("acme", "pii"))...)

	decrypt := func(c *Contact) error { return e.enc.Decrypt(ctx, c) }
	supportOnly := crypt.New(e.newKeyring(t, map[string]string{"support": e.keks["support"]}), nil)
	cases := []struct {
		name string
		call func() error
	}{
		{"swapped value", func() error { c := clone(stored); c.Email = other.Email; return decrypt(c) }},
		{"flipped bit", func() error { c := clone(stored); c.Notes[20] ^= 4; return decrypt(c) }},
		{"truncated", func() error { c := clone(stored); c.Email = c.Email[:30]; return decrypt(c) }},
		{"wrong version", func() error { c := clone(stored); c.Email = "fc2:" + c.Email[4:]; return decrypt(c) }},
		{"plaintext in Decrypt", func() error { return decrypt(secretContact("c-3")) }},
		{"plaintext that looks like a version", func() error {
			c := clone(stored)
			c.Name = "fc9:" + secretName
			return decrypt(c)
		}},
		{"plaintext that is base64 of a secret", func() error {
			c := clone(stored)
			c.Name = "fc1:" + base64.RawURLEncoding.EncodeToString([]byte(secretName))
			return decrypt(c)
		}},
		{"encrypt twice", func() error { return e.enc.Encrypt(ctx, clone(stored)) }},
		{"no access", func() error { return supportOnly.Decrypt(ctx, clone(stored)) }},
		{"no access on encrypt", func() error { return supportOnly.Encrypt(ctx, secretContact("c-4")) }},
		{"unknown index", func() error {
			_, err := e.enc.BlindIndexValues(ctx, secretContact("c-5"), "NoSuchIdx")
			return err
		}},
		{"missing scope", func() error {
			c := secretContact("c-6")
			c.TenantID = ""
			return e.enc.Encrypt(ctx, c)
		}},
		{"invalid scope name", func() error {
			c := secretContact("c-7")
			c.TenantID = "acme/" + secretName
			return e.enc.Encrypt(ctx, c)
		}},
		{"not a pointer", func() error { return e.enc.Encrypt(ctx, *secretContact("c-8")) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if err == nil {
				t.Fatalf("%s: err = nil, want an error", tc.name)
			}
			if tc.name == "invalid scope name" {
				// The scope is a name, not a secret: it may be quoted. Only
				// check the key bytes here.
				assertNoSecrets(t, err, secrets[len(plaintextSecrets()):]...)
				return
			}
			assertNoSecrets(t, err, secrets...)
			t.Logf("%s: %v", tc.name, fmt.Sprint(err))
		})
	}
}
