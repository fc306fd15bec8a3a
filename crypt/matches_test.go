package crypt_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

type matchContact struct {
	_        struct{} `crypt:"record=match_contact"`
	ID       string   `crypt:"id"`
	TenantID string   `crypt:"scope"`
	First    string   `crypt:"encrypt"`
	Last     string   `crypt:"encrypt"`
	Email    string   `crypt:"encrypt"`
	Phone    *string  `crypt:"encrypt"`
	Notes    []byte   `crypt:"encrypt"`
	EmailIdx string   `crypt:"blind=Email,transform=lower+trim,bits=32"`
	PhoneIdx string   `crypt:"blind=Phone,transform=digits+last4,bits=16"`
	NameIdx  string   `crypt:"blind=First+Last,transform=lower,bits=24,name=full_name"`
	NotesIdx string   `crypt:"blind=Notes,bits=16"`
}

func TestMatches(t *testing.T) {
	rec := matchContact{First: "Ada", Last: "Lovelace", Email: " Ada@Example.com", Phone: ptr("+44 20 7946 0018"), Notes: []byte("x")}
	for _, tc := range []struct {
		name  string
		probe matchContact
		index string
		want  bool
	}{
		{"transforms applied", matchContact{Email: "ada@example.com"}, "EmailIdx", true},
		{"different value", matchContact{Email: "bob@example.com"}, "EmailIdx", false},
		{"last four digits", matchContact{Phone: ptr("0018")}, "PhoneIdx", true},
		{"other digits", matchContact{Phone: ptr("0019")}, "PhoneIdx", false},
		{"compound, by name=", matchContact{First: "ADA", Last: "lovelace"}, "full_name", true},
		{"compound, one source differs", matchContact{First: "Ada", Last: "Byron"}, "NameIdx", false},
		{"compound, one source missing", matchContact{First: "Ada"}, "NameIdx", false},
		{"bytes source", matchContact{Notes: []byte("x")}, "NotesIdx", true},
		{"empty probe never matches", matchContact{}, "EmailIdx", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := crypt.Matches(&rec, &tc.probe, tc.index)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got, "Matches(record, %+v, %q)", tc.probe, tc.index)
		})
	}
	// A record without a value does not match a probe with one.
	got, err := crypt.Matches(matchContact{}, matchContact{Email: "ada@example.com"}, "EmailIdx")
	require.NoError(t, err)
	assert.False(t, got)
}

func TestMatchesRefusals(t *testing.T) {
	_, err := crypt.Matches(&matchContact{}, &matchContact{}, "Nope")
	assert.ErrorIs(t, err, crypt.ErrUnknownIndex)
	_, err = crypt.Matches(&matchContact{}, &Contact{}, "EmailIdx")
	assert.ErrorIs(t, err, crypt.ErrTypeMismatch)
	_, err = crypt.Matches(nil, &matchContact{}, "EmailIdx")
	var iae *crypt.InvalidArgumentError
	assert.ErrorAs(t, err, &iae)
}

// TestMatchesComparesTheScope: a blind index collides across tenants, so a
// row of another tenant holding the same value must never pass the
// filter, however the tenant is spelled.
func TestMatchesComparesTheScope(t *testing.T) {
	rec := matchContact{TenantID: "acme", Email: "ada@example.com"}
	for _, tenant := range []string{"globex", "ACME", "acme ", ""} {
		got, err := crypt.Matches(&rec, &matchContact{TenantID: tenant, Email: "ada@example.com"}, "EmailIdx")
		require.NoError(t, err)
		assert.False(t, got, "Matches(record of acme, probe of %q) = true, want false", tenant)
	}
	got, err := crypt.Matches(&rec, &matchContact{TenantID: "acme", Email: "ADA@example.com"}, "EmailIdx")
	require.NoError(t, err)
	assert.True(t, got)
}
