package crypt_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

// A database writer who repoints a foreign key makes an association load
// another tenant's record, which decrypts under its own binding. A held
// record must therefore be in its holder's scope.

type (
	scAccount struct { // holds records of its own
		_        struct{} `crypt:"record=sc_account"`
		ID       int64    `crypt:"id"`
		TenantID string   `crypt:"scope"`
		Name     string   `crypt:"encrypt,class=pii"`
		Owner    *company
		Deals    []*scDeal
	}
	scDeal struct {
		_        struct{} `crypt:"record=sc_deal"`
		ID       int64    `crypt:"id"`
		TenantID string   `crypt:"scope"`
		Title    string   `crypt:"encrypt,class=pii"`
		Company  *company // two levels down
	}
	scCatalog struct { // a record type without a scope field: the default scope
		_    struct{} `crypt:"record=sc_catalog"`
		ID   int64    `crypt:"id"`
		Name string   `crypt:"encrypt,class=pii"`
	}
	scOrder struct {
		_        struct{} `crypt:"record=sc_order"`
		ID       int64    `crypt:"id"`
		TenantID string   `crypt:"scope"`
		Note     string   `crypt:"encrypt,class=pii"`
		Item     *scCatalog
		Partner  *company `crypt:"anyscope"` // another tenant's record, on purpose
	}
	scBadAnyScope struct {
		ID       int64  `crypt:"id"`
		TenantID string `crypt:"scope"`
		Name     string `crypt:"anyscope"`
	}
)

// TestHeldRecordOfAnotherScopeRefused: Decrypt of a holder whose held
// record (at any depth) is another tenant's fails with ErrScopeMismatch
// and leaves every record as it was; Encrypt refuses such a tree too; and
// CheckScopes, which GORM's Preload path uses, finds it without keys.
func TestHeldRecordOfAnotherScopeRefused(t *testing.T) {
	ctx := t.Context()
	e := newEnv(t)
	globexCo := &company{ID: 9, TenantID: "globex", Name: "Globex secret name"}
	require.NoError(t, e.enc.Encrypt(ctx, globexCo))

	for name, build := range map[string]func() *scAccount{
		"held directly": func() *scAccount {
			return &scAccount{ID: 1, TenantID: "acme", Name: "Acme account", Owner: new(*globexCo)}
		},
		"held by a held record": func() *scAccount {
			return &scAccount{ID: 1, TenantID: "acme", Name: "Acme account",
				Deals: []*scDeal{{ID: 2, TenantID: "acme", Title: "Renewal", Company: new(*globexCo)}}}
		},
	} {
		t.Run(name, func(t *testing.T) {
			// The holder as stored: encrypted in acme, then a writer repoints
			// its foreign key to globex's company.
			a := build()
			a.Owner, a.Deals = nil, nil
			require.NoError(t, e.enc.Encrypt(ctx, a))
			loaded := build()
			loaded.Name = a.Name
			for _, d := range loaded.Deals {
				d.Title = mustEncrypt(t, e, &scDeal{ID: d.ID, TenantID: d.TenantID, Title: d.Title}).Title
			}
			before := *loaded
			err := e.enc.Decrypt(ctx, loaded)
			require.ErrorIs(t, err, crypt.ErrScopeMismatch)
			assert.NotContains(t, err.Error(), "globex", "the error does not name the other scope")
			assert.Equal(t, before, *loaded, "nothing decrypted")
			if loaded.Owner != nil {
				assert.Equal(t, globexCo.Name, loaded.Owner.Name, "the other tenant's record stays ciphertext")
			}
			assert.ErrorIs(t, crypt.CheckScopes(loaded), crypt.ErrScopeMismatch)
			assert.ErrorIs(t, crypt.CheckScopes(&[]*scAccount{{ID: 5, TenantID: "acme"}, loaded}), crypt.ErrScopeMismatch)

			plain := build()
			plain.Owner, plain.Deals = nil, nil
			plain.Owner = &company{ID: 9, TenantID: "globex", Name: "n"}
			assert.ErrorIs(t, e.enc.Encrypt(ctx, plain), crypt.ErrScopeMismatch)
			assert.Equal(t, "Acme account", plain.Name, "a refused Encrypt writes nothing")
		})
	}
}

// TestHeldRecordScopesAccepted: records of the holder's scope, held
// records without a scope field, and a field tagged anyscope pass.
func TestHeldRecordScopesAccepted(t *testing.T) {
	ctx := t.Context()
	e := newEnv(t)
	a := &scAccount{ID: 1, TenantID: "acme", Name: "Acme account",
		Owner: &company{ID: 3, TenantID: "acme", Name: "Acme Co"},
		Deals: []*scDeal{{ID: 2, TenantID: "acme", Title: "Renewal", Company: &company{ID: 4, TenantID: "acme", Name: "Sub"}}}}
	require.NoError(t, e.enc.Encrypt(ctx, a))
	require.NoError(t, crypt.CheckScopes(a))
	require.NoError(t, e.enc.Decrypt(ctx, a))
	assert.Equal(t, "Sub", a.Deals[0].Company.Name)

	o := &scOrder{ID: 1, TenantID: "acme", Note: "n", Item: &scCatalog{ID: 1, Name: "Widget"},
		Partner: &company{ID: 5, TenantID: "globex", Name: "Partner"}}
	require.NoError(t, e.enc.Encrypt(ctx, o))
	require.NoError(t, crypt.CheckScopes(o))
	require.NoError(t, e.enc.Decrypt(ctx, o))
	assert.Equal(t, "Partner", o.Partner.Name)
	assert.Equal(t, "Widget", o.Item.Name)

	err := crypt.Validate(&scBadAnyScope{})
	var pe *crypt.PlanError
	require.True(t, errors.As(err, &pe), "anyscope on a string field: %v", err)
	assert.Equal(t, "Name", pe.Field)
	assert.ErrorAs(t, crypt.CheckScopes(scAccount{}), new(*crypt.InvalidArgumentError))
}

func mustEncrypt[T any](t *testing.T, e *env, v *T) *T {
	t.Helper()
	require.NoError(t, e.enc.Encrypt(t.Context(), v))
	return v
}

type (
	scLeaf struct {
		_        struct{} `crypt:"record=sc_leaf"`
		ID       int64    `crypt:"id"`
		TenantID string   `crypt:"scope"`
		Note     string   `crypt:"encrypt,class=pii"`
	}
	scMid struct {
		_        struct{} `crypt:"record=sc_mid"`
		ID       int64    `crypt:"id"`
		TenantID string   `crypt:"scope"`
		Leaf     *scLeaf
	}
	scUnscoped struct { // a record type without a scope field, between two that have one
		_    struct{} `crypt:"record=sc_unscoped"`
		ID   int64    `crypt:"id"`
		Leaf *scLeaf
	}
	scRoot struct {
		_        struct{} `crypt:"record=sc_root"`
		ID       int64    `crypt:"id"`
		TenantID string   `crypt:"scope"`
		Name     string   `crypt:"encrypt,class=pii"`
		Partner  *scMid   `crypt:"anyscope"`
		Own      *scMid
		Link     *scUnscoped
	}
)

// TestScopeCheckedOnEveryHolding: a record held twice is checked against
// both holders (the first one may be a partner's, held through anyscope),
// and a holder without a scope field passes the check up to the record
// above it.
func TestScopeCheckedOnEveryHolding(t *testing.T) {
	globexLeaf := &scLeaf{ID: 9, TenantID: "globex", Note: "n"}
	shared := &scRoot{ID: 1, TenantID: "acme", Name: "n",
		Partner: &scMid{ID: 2, TenantID: "globex", Leaf: globexLeaf},
		Own:     &scMid{ID: 3, TenantID: "acme", Leaf: globexLeaf}}
	assert.ErrorIs(t, crypt.CheckScopes(shared), crypt.ErrScopeMismatch, "a record held by a partner's record and by acme's own")
	e := newEnv(t)
	assert.ErrorIs(t, e.enc.Encrypt(t.Context(), shared), crypt.ErrScopeMismatch)

	through := &scRoot{ID: 1, TenantID: "acme", Name: "n", Link: &scUnscoped{ID: 4, Leaf: &scLeaf{ID: 5, TenantID: "globex", Note: "n"}}}
	assert.ErrorIs(t, crypt.CheckScopes(through), crypt.ErrScopeMismatch, "a globex record under acme's, through a record without a scope")

	ok := &scRoot{ID: 1, TenantID: "acme", Name: "n",
		Partner: &scMid{ID: 2, TenantID: "globex", Leaf: &scLeaf{ID: 6, TenantID: "globex", Note: "n"}},
		Own:     &scMid{ID: 3, TenantID: "acme", Leaf: &scLeaf{ID: 7, TenantID: "acme", Note: "n"}},
		Link:    &scUnscoped{ID: 4, Leaf: &scLeaf{ID: 8, TenantID: "acme", Note: "n"}}}
	assert.NoError(t, crypt.CheckScopes(ok))
	require.NoError(t, e.enc.Encrypt(t.Context(), ok))
	require.NoError(t, e.enc.Decrypt(t.Context(), ok))
}
