package crypt_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

// The role table, enforced by keys: a support tool whose keyring holds only
// the "support" KEK reads the interaction history and nothing personal, even
// with the whole row in hand.
func TestDecryptFieldClasses(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	stored := e.mustEncrypt(t, secretContact("c-1"))

	tests := []struct {
		name        string
		keks        map[string]string
		wantFields  []string // left encrypted
		wantClasses []string
	}{
		{"support only", map[string]string{"support": e.keks["support"]}, []string{"Name", "Email", "Phone"}, []string{"pii"}},
		{"pii only", map[string]string{"pii": e.keks["pii"]}, []string{"Notes"}, []string{"support"}},
		{"unrelated class only", map[string]string{"financial": e.keks["default"]}, []string{"Name", "Email", "Phone", "Notes"}, []string{"pii", "support"}},
		{"everything", map[string]string{"pii": e.keks["pii"], "support": e.keks["support"]}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc := crypt.New(e.newKeyring(t, tt.keks), nil)
			c := clone(stored)
			err := enc.Decrypt(ctx, c)

			want := secretContact("c-1")
			want.EmailIdx, want.PhoneIdx = stored.EmailIdx, stored.PhoneIdx
			for _, f := range tt.wantFields {
				switch f { // unreadable fields keep their ciphertext
				case "Name":
					want.Name = stored.Name
				case "Email":
					want.Email = stored.Email
				case "Phone":
					want.Phone = stored.Phone
				case "Notes":
					want.Notes = stored.Notes
				}
			}
			assert.Equal(t, want, c, "record after Decrypt")

			if tt.wantFields == nil {
				require.NoError(t, err, "Decrypt()")
				return
			}
			var ae *crypt.AccessError
			if !errors.As(err, &ae) {
				t.Fatalf("Decrypt() err = %v (%T), want *crypt.AccessError", err, err)
			}
			if !errors.Is(err, crypt.ErrNoAccess) {
				t.Errorf("Decrypt() err = %v, want errors.Is(err, ErrNoAccess)", err)
			}
			assert.Equal(t, tt.wantFields, ae.Fields, "AccessError.Fields")
			assert.Equal(t, tt.wantClasses, ae.Classes, "AccessError.Classes")
			assert.Equal(t, "Contact", ae.Record)
			for _, c := range tt.wantClasses {
				assert.Contains(t, err.Error(), c, "error text names the class")
			}
			for _, f := range tt.wantFields {
				assert.Contains(t, err.Error(), f, "error text names the field")
			}
			assertNoSecrets(t, err, plaintextSecrets()...)

			// DecryptAll carries on past AccessErrors and reports one.
			recs := []*Contact{clone(stored), clone(stored)}
			err = crypt.DecryptAll(ctx, enc, recs)
			if !errors.As(err, &ae) {
				t.Fatalf("DecryptAll() err = %v, want *crypt.AccessError", err)
			}
			assert.Equal(t, want, recs[1], "second record after DecryptAll")
		})
	}
}

// A process without a class's KEK cannot write that class either: Encrypt
// fails with ErrNoAccess and changes nothing.
func TestEncryptWithoutAccess(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.mustEncrypt(t, secretContact("c-0")) // create acme's keysets
	enc := crypt.New(e.newKeyring(t, map[string]string{"support": e.keks["support"]}), nil)
	c := secretContact("c-1")
	before := clone(c)
	err := enc.Encrypt(ctx, c)
	if !errors.Is(err, crypt.ErrNoAccess) {
		t.Fatalf("Encrypt() err = %v, want ErrNoAccess", err)
	}
	var fe *crypt.FieldError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "pii", fe.Class)
	assert.Equal(t, before, c, "record after a failed Encrypt")
	assertNoSecrets(t, err, plaintextSecrets()...)
}

// A process without a class's KEK is refused every lookup and search of
// that class's indexes with ErrNoAccess, on a tenant that has index keys
// and on one that never stored anything alike. Were the second answered
// "no match", a support tool could tell which tenants hold personal data.
func TestSearchWithoutAccessWhateverTheTenant(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.mustEncrypt(t, secretContact("c-0")) // acme has its keysets
	type prefixed struct {
		ID       string       `crypt:"id"`
		TenantID string       `crypt:"scope"`
		Name     string       `crypt:"encrypt,class=pii"`
		NamePre  crypt.Tokens `crypt:"prefix=Name,len=3..8,bits=16"`
	}
	support := crypt.New(e.newKeyring(t, map[string]string{"support": e.keks["support"]}), nil)
	for _, tenant := range []string{"acme", "never-stored"} {
		probe := secretContact("c-1")
		probe.TenantID = tenant
		_, err := support.BlindIndexValues(ctx, probe, "EmailIdx")
		assert.ErrorIs(t, err, crypt.ErrNoAccess, "BlindIndexValues on tenant %q without the pii KEK", tenant)
		_, err = support.Search(ctx, &prefixed{TenantID: tenant}, "NamePre", crypt.HasPrefix("gra"))
		assert.ErrorIs(t, err, crypt.ErrNoAccess, "Search on tenant %q without the pii KEK", tenant)
		if err != nil {
			assertNoSecrets(t, err, []byte("gra"))
		}
	}
}
