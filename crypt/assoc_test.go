package crypt_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

// Records that hold records of their own, as GORM associations do.
type (
	company struct {
		_        struct{} `crypt:"record=company"`
		ID       int64    `crypt:"id"`
		TenantID string   `crypt:"scope"`
		Name     string   `crypt:"encrypt,class=pii"`
	}
	interaction struct {
		_         struct{} `crypt:"record=interaction"`
		ID        int64    `crypt:"id"`
		TenantID  string   `crypt:"scope"`
		Note      string   `crypt:"encrypt,class=support"`
		ContactID int64
		Contact   *customer // a back reference
	}
	customer struct {
		_            struct{} `crypt:"record=customer"`
		ID           int64    `crypt:"id"`
		TenantID     string   `crypt:"scope"`
		Email        string   `crypt:"encrypt,class=pii"`
		Employer     *company
		HQ           company
		Interactions []interaction
		Pinned       []*interaction
	}
)

func newCustomer() *customer {
	c := &customer{
		ID: 1, TenantID: "acme", Email: "ada@example.com",
		Employer: &company{ID: 7, TenantID: "acme", Name: "Analytical Engines Ltd"},
		HQ:       company{ID: 8, TenantID: "acme", Name: "Difference Works"},
		Interactions: []interaction{
			{ID: 10, TenantID: "acme", Note: "called about invoice", ContactID: 1},
			{ID: 11, TenantID: "acme", Note: "asked for a refund", ContactID: 1},
		},
	}
	c.Pinned = []*interaction{{ID: 12, TenantID: "acme", Note: "VIP", ContactID: 1}, nil}
	c.Interactions[0].Contact = c // a cycle: done once
	return c
}

// TestHeldRecordsAreTheirOwnRecords shows that Encrypt of a record encrypts
// each record it holds under that record's own binding: each decrypts on
// its own, and a held record's value does not decrypt as the holder's.
func TestHeldRecordsAreTheirOwnRecords(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	c := newCustomer()
	require.NoError(t, e.enc.Encrypt(ctx, c))
	for _, s := range []string{c.Email, c.Employer.Name, c.HQ.Name, c.Interactions[0].Note, c.Interactions[1].Note, c.Pinned[0].Note} {
		assert.True(t, strings.HasPrefix(s, "fc1:"), "held field not encrypted: %.12q", s)
	}

	emp := *c.Employer
	require.NoError(t, e.enc.Decrypt(ctx, &emp), "a held record decrypts on its own")
	assert.Equal(t, "Analytical Engines Ltd", emp.Name)

	// The held record's value is bound to that record: moved into another
	// company row it fails.
	other := company{ID: 8, TenantID: "acme", Name: c.Employer.Name}
	assert.ErrorIs(t, e.enc.Decrypt(ctx, &other), crypt.ErrDecrypt)

	require.NoError(t, e.enc.Decrypt(ctx, c))
	assert.Equal(t, newCustomer().Email, c.Email)
	assert.Equal(t, "Analytical Engines Ltd", c.Employer.Name)
	assert.Equal(t, "Difference Works", c.HQ.Name)
	assert.Equal(t, "called about invoice", c.Interactions[0].Note)
	assert.Equal(t, "asked for a refund", c.Interactions[1].Note)
	assert.Equal(t, "VIP", c.Pinned[0].Note)
	assert.Same(t, c, c.Interactions[0].Contact)
}

// TestHeldRecordsAllOrNothing shows that a failure in a held record leaves
// the holder and every other held record unchanged.
func TestHeldRecordsAllOrNothing(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	done := newCustomer()
	require.NoError(t, e.enc.Encrypt(ctx, done))

	c := newCustomer()
	c.Interactions[1].Note = done.Interactions[1].Note // already encrypted
	err := e.enc.Encrypt(ctx, c)
	require.ErrorIs(t, err, crypt.ErrAlreadyEncrypted)
	assert.Contains(t, err.Error(), "associated record Interactions")
	assert.Equal(t, "ada@example.com", c.Email, "holder changed by a failed Encrypt")
	assert.Equal(t, "Analytical Engines Ltd", c.Employer.Name, "held record changed by a failed Encrypt")
	assert.Equal(t, "called about invoice", c.Interactions[0].Note)

	// And on Decrypt: a tampered held value fails the whole tree.
	enc := newCustomer()
	require.NoError(t, e.enc.Encrypt(ctx, enc))
	enc.Pinned[0].Note = enc.Interactions[0].Note // moved from another row
	before := enc.Email
	require.ErrorIs(t, e.enc.Decrypt(ctx, enc), crypt.ErrDecrypt)
	assert.Equal(t, before, enc.Email, "holder decrypted although a held record failed")
}

// TestHeldRecordInsideSliceElementRefused: a record held by a plain slice
// element would have no holder to bind to; the planner refuses it.
func TestHeldRecordInsideSliceElementRefused(t *testing.T) {
	type line struct {
		Item  string `crypt:"encrypt"`
		Buyer *company
	}
	type order struct {
		_     struct{} `crypt:"record=order"`
		ID    string   `crypt:"id"`
		Lines []line
	}
	err := crypt.Validate(&order{})
	var pe *crypt.PlanError
	require.True(t, errors.As(err, &pe), "Validate(order) err = %v, want *PlanError", err)
	assert.Equal(t, "Buyer", pe.Field)
}

// TestValidateChecksHeldRecordTypes: Validate of a holder plans the record
// types it holds, so a bad tag there fails at startup too.
func TestValidateChecksHeldRecordTypes(t *testing.T) {
	type badCompany struct {
		_    struct{} `crypt:"record=bad_company"`
		ID   string   `crypt:"id"`
		Name int      `crypt:"encrypt"`
	}
	type holder struct {
		_        struct{} `crypt:"record=holder"`
		ID       string   `crypt:"id"`
		Email    string   `crypt:"encrypt"`
		Employer []*badCompany
	}
	require.NoError(t, crypt.Validate(&customer{}))
	err := crypt.Validate(&holder{})
	var pe *crypt.PlanError
	require.True(t, errors.As(err, &pe), "Validate(holder) err = %v, want *PlanError", err)
	assert.Equal(t, "Name", pe.Field)
}
