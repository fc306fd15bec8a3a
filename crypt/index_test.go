package crypt_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

func TestBlindIndexQuery(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	stored := e.mustEncrypt(t, sampleContact()) // Email "Ada@Example.com ", Phone "+44 20 7946 0018"
	require.Len(t, stored.EmailIdx, 8, "EmailIdx (32 bits in hex)")
	require.Len(t, stored.PhoneIdx, 4, "PhoneIdx (16 bits in hex)")

	tests := []struct {
		name  string
		query *Contact
		index string
		want  []string
	}{
		{"email after lower+trim", &Contact{TenantID: "acme", Email: " ADA@example.com"}, "EmailIdx", []string{stored.EmailIdx}},
		{"phone after digits+last4", &Contact{TenantID: "acme", Phone: ptr("(0018)")}, "PhoneIdx", []string{stored.PhoneIdx}},
		{"email without a value", &Contact{TenantID: "acme"}, "EmailIdx", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.enc.BlindIndexValues(ctx, tt.query, tt.index)
			require.NoError(t, err, "BlindIndexValues(%s)", tt.index)
			assert.Equal(t, tt.want, got)
		})
	}
	t.Run("other email", func(t *testing.T) {
		got, err := e.enc.BlindIndexValues(ctx, &Contact{TenantID: "acme", Email: "grace@example.com"}, "EmailIdx")
		require.NoError(t, err)
		assert.NotContains(t, got, stored.EmailIdx)
	})
	t.Run("unknown index", func(t *testing.T) {
		_, err := e.enc.BlindIndexValues(ctx, &Contact{TenantID: "acme", Email: "x"}, "Email")
		if !errors.Is(err, crypt.ErrUnknownIndex) {
			t.Fatalf("BlindIndexValues(Email) err = %v, want ErrUnknownIndex", err)
		}
	})
	t.Run("empty source leaves the index empty", func(t *testing.T) {
		c := e.mustEncrypt(t, &Contact{ID: "c-9", TenantID: "acme", Name: "No Email"})
		assert.Empty(t, c.EmailIdx)
		assert.Empty(t, c.PhoneIdx)
	})
	t.Run("query with an encrypted source", func(t *testing.T) {
		_, err := e.enc.BlindIndexValues(ctx, &Contact{TenantID: "acme", Email: stored.Email}, "EmailIdx")
		if !errors.Is(err, crypt.ErrAlreadyEncrypted) {
			t.Fatalf("BlindIndexValues(encrypted email) err = %v, want ErrAlreadyEncrypted", err)
		}
	})
}

// TestBlindIndexRotation rotates the index keyset in two phases and checks
// that lookups find old and new rows throughout.
func TestBlindIndexRotation(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	query := func() []string {
		t.Helper()
		vals, err := e.enc.BlindIndexValues(ctx, &Contact{TenantID: "acme", Email: "ada@example.com"}, "EmailIdx")
		require.NoError(t, err, "BlindIndexValues")
		return vals
	}
	oldRow := e.mustEncrypt(t, sampleContact())
	require.Equal(t, []string{oldRow.EmailIdx}, query(), "before rotation")

	id := indexID("acme", "pii")
	newKey, err := e.admin.AddKey(ctx, id)
	require.NoError(t, err, "AddKey(%v)", id)

	// Phase 1: the new key is enabled, not primary. Writes keep the old
	// value; queries already carry both.
	vals := query()
	require.Len(t, vals, 2, "values after AddKey")
	assert.Equal(t, oldRow.EmailIdx, vals[0], "primary (old) key's value first")
	midRow := e.mustEncrypt(t, sampleContact())
	assert.Equal(t, oldRow.EmailIdx, midRow.EmailIdx, "rows written before PromoteKey")

	// Phase 2: promoted. New rows get the new value; both are found.
	require.NoError(t, e.admin.PromoteKey(ctx, id, newKey), "PromoteKey")
	newRow := e.mustEncrypt(t, sampleContact())
	assert.NotEqual(t, oldRow.EmailIdx, newRow.EmailIdx, "rows written after PromoteKey")
	vals = query()
	assert.Equal(t, []string{newRow.EmailIdx, oldRow.EmailIdx}, vals, "primary (new) key's value first")
	for _, row := range []*Contact{oldRow, midRow, newRow} {
		assert.True(t, slices.Contains(vals, row.EmailIdx), "row %s found", row.EmailIdx)
	}

	// The re-encryption job rewrites old rows; once the old key is
	// disabled, queries carry only the new value.
	keys, err := e.admin.Keys(ctx, id)
	require.NoError(t, err)
	for _, k := range keys {
		if k.ID != newKey {
			require.NoError(t, e.admin.DisableKey(ctx, id, k.ID), "DisableKey(old)")
		}
	}
	assert.Equal(t, []string{newRow.EmailIdx}, query(), "after the old key is disabled")
}

// twoEmailIndexes has two indexes of one source with the same settings:
// independent subkeys make their values unrelated.
type twoEmailIndexes struct {
	_         struct{} `crypt:"record=contact"`
	ID        string   `crypt:"id"`
	TenantID  string   `crypt:"scope"`
	Email     string   `crypt:"encrypt,class=pii"`
	EmailIdx  string   `crypt:"blind=Email,transform=lower+trim,bits=32"`
	EmailIdx2 string   `crypt:"blind=Email,transform=lower+trim,bits=32,name=email_v2"`
	NameIdx   string   `crypt:"blind=First+Last,transform=lower,bits=32"`
	First     string   `crypt:"encrypt,class=pii"`
	Last      string   `crypt:"encrypt,class=pii"`
}

func TestBlindIndexIndependence(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	acme := &twoEmailIndexes{ID: "c-1", TenantID: "acme", Email: "ada@example.com", First: "Ada", Last: "Lovelace"}
	globex := &twoEmailIndexes{ID: "c-1", TenantID: "globex", Email: "ada@example.com", First: "Ada", Last: "Lovelace"}
	require.NoError(t, e.enc.Encrypt(ctx, acme))
	require.NoError(t, e.enc.Encrypt(ctx, globex))

	assert.NotEqual(t, acme.EmailIdx, globex.EmailIdx, "same email in two tenants")
	assert.NotEqual(t, acme.EmailIdx, acme.EmailIdx2, "two indexes of the same source")

	// Compound: ("Ada", "Lovelace") differs from ("AdaLove", "lace").
	shifted := &twoEmailIndexes{ID: "c-2", TenantID: "acme", First: "AdaLove", Last: "lace"}
	require.NoError(t, e.enc.Encrypt(ctx, shifted))
	assert.NotEqual(t, acme.NameIdx, shifted.NameIdx, "compound index of shifted values")

	// Query by Go field name and by name= option alike.
	for _, name := range []string{"EmailIdx2", "email_v2"} {
		got, err := e.enc.BlindIndexValues(ctx, &twoEmailIndexes{TenantID: "acme", Email: "ADA@example.com "}, name)
		require.NoError(t, err, "BlindIndexValues(%s)", name)
		assert.Equal(t, []string{acme.EmailIdx2}, got, "BlindIndexValues(%s)", name)
	}
	got, err := e.enc.BlindIndexValues(ctx, &twoEmailIndexes{TenantID: "acme", First: "ADA", Last: "lovelace"}, "NameIdx")
	require.NoError(t, err)
	assert.Equal(t, []string{acme.NameIdx}, got, "compound query")
}
