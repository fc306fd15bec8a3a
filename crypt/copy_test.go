package crypt_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

type copyAddress struct {
	Street string `crypt:"encrypt,class=pii"`
}

type copyContact struct {
	_         struct{} `crypt:"record=copy_contact"`
	ID        string   `crypt:"id"`
	TenantID  string   `crypt:"scope"`
	Email     string   `crypt:"encrypt,class=pii"`
	EmailIdx  string   `crypt:"blind=Email,transform=lower+trim,bits=32"`
	Phone     *string  `crypt:"encrypt,class=pii"`
	Notes     []byte   `crypt:"encrypt,class=support"`
	Home      *copyAddress
	Work      copyAddress
	Past      []copyAddress
	Others    []*copyAddress
	Employer  *company
	Untouched []string
}

func newCopyContact() *copyContact {
	return &copyContact{
		ID: "c-1", TenantID: "acme", Email: "Ada@Example.com", Phone: ptr("+44 20 7946 0018"),
		Notes: []byte("invoice 42"), Home: &copyAddress{Street: "12 St James's Square"},
		Work: copyAddress{Street: "1 Analytical Row"}, Past: []copyAddress{{Street: "3 Old Lane"}},
		Others:    []*copyAddress{{Street: "9 Other Way"}, nil},
		Employer:  &company{ID: 7, TenantID: "acme", Name: "Analytical Engines Ltd"},
		Untouched: []string{"a"},
	}
}

// TestEncryptedCopyLeavesTheOriginal shows that EncryptedCopy writes no
// memory the caller holds: every field, behind every pointer and in every
// slice, reads as before, and the copy decrypts to the same record.
func TestEncryptedCopyLeavesTheOriginal(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	orig := newCopyContact()
	want := newCopyContact()
	cp, err := crypt.Encrypted(ctx, e.enc, orig)
	require.NoError(t, err)
	assert.Equal(t, want, orig, "EncryptedCopy changed the original")

	for _, s := range []string{cp.Email, *cp.Phone, cp.Home.Street, cp.Work.Street, cp.Past[0].Street, cp.Others[0].Street, cp.Employer.Name} {
		assert.True(t, strings.HasPrefix(s, "fc1:"), "copy field not encrypted: %.12q", s)
	}
	assert.NotEmpty(t, cp.EmailIdx)
	require.NoError(t, e.enc.Decrypt(ctx, cp))
	cp.EmailIdx = ""
	assert.Equal(t, want, cp)

	// The method form, and its refusals.
	v, err := e.enc.EncryptedCopy(ctx, orig)
	require.NoError(t, err)
	assert.IsType(t, &copyContact{}, v)
	_, err = e.enc.EncryptedCopy(ctx, *orig)
	var iae *crypt.InvalidArgumentError
	assert.ErrorAs(t, err, &iae)

	// A failing copy returns nothing and leaves the original.
	enc := newCopyContact()
	require.NoError(t, e.enc.Encrypt(ctx, enc))
	orig.Email = enc.Email // already encrypted
	cp, err = crypt.Encrypted(ctx, e.enc, orig)
	assert.ErrorIs(t, err, crypt.ErrAlreadyEncrypted)
	assert.Nil(t, cp)
	assert.Equal(t, "c-1", orig.ID)
	assert.Equal(t, want.Home, orig.Home)
}
