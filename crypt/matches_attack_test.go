package crypt_test

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

type matchOdd struct {
	_        struct{} `crypt:"record=match_odd"`
	ID       string   `crypt:"id"`
	TenantID string   `crypt:"scope"`
	First    string   `crypt:"encrypt"`
	Last     *string  `crypt:"encrypt"`
	Raw      []byte   `crypt:"encrypt"`
	NameIdx  string   `crypt:"blind=First+Last,transform=trim+lower,bits=24"`
	AllIdx   string   `crypt:"blind=First,transform=nfkc+collapse+trim+lower+upper+emaillocal,bits=24"`
	DomIdx   string   `crypt:"blind=First,transform=emaildomain+digits+last4+first2,bits=24"`
	RawIdx   string   `crypt:"blind=Raw,transform=lower,bits=24"`
}

// TestMatchesAgreesWithTheIndex: Matches accepts every record whose index
// inputs equal the probe's, so it never drops a row the index found for
// the same value (no false negative): a source that a transform empties
// is the same as one that holds nothing, as it is to the index.
func TestMatchesAgreesWithTheIndex(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	rec := &matchOdd{ID: "1", TenantID: "acme", First: "Ada"} // Last: nil
	probe := &matchOdd{TenantID: "acme", First: "ada", Last: ptr("   ")}

	stored := *rec
	require.NoError(t, e.enc.Encrypt(ctx, &stored))
	vals, err := e.enc.BlindIndexValues(ctx, probe, "NameIdx")
	require.NoError(t, err)
	require.Contains(t, vals, stored.NameIdx, "the index takes them for one value")

	ok, err := crypt.Matches(rec, probe, "NameIdx")
	require.NoError(t, err)
	assert.True(t, ok, "Matches dropped a record that holds the probe's value once transformed")
}

// TestMatchesOddInput: invalid UTF-8, []byte sources, nil pointers and
// every transform: no panic, and a value always matches itself.
func TestMatchesOddInput(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		b := make([]byte, r.IntN(12))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		s := string(b)
		var last *string
		if r.IntN(2) == 0 {
			last = &s
		}
		rec := &matchOdd{First: s, Last: last, Raw: b}
		probe := &matchOdd{First: s, Last: last, Raw: append([]byte(nil), b...)}
		for _, ix := range []string{"NameIdx", "AllIdx", "DomIdx", "RawIdx"} {
			ok, err := crypt.Matches(rec, probe, ix)
			require.NoError(t, err)
			assert.Equal(t, len(b) > 0 || (ix == "NameIdx" && last != nil && *last != ""), ok, "Matches(%q, itself, %s)", b, ix)
		}
	}
	var nilRec *matchOdd
	_, err := crypt.Matches(nilRec, &matchOdd{First: "a"}, "NameIdx")
	var iae *crypt.InvalidArgumentError
	assert.ErrorAs(t, err, &iae)
	_, err = crypt.Matches(&matchOdd{}, nilRec, "NameIdx")
	assert.ErrorIs(t, err, crypt.ErrTypeMismatch)
	_, err = crypt.Matches(&matchOdd{}, &matchContact{}, "NameIdx")
	assert.ErrorIs(t, err, crypt.ErrTypeMismatch)
	_, err = crypt.Matches(&matchOdd{}, &matchOdd{}, "Nope")
	assert.ErrorIs(t, err, crypt.ErrUnknownIndex)
	_, err = crypt.Matches(42, 42, "NameIdx")
	assert.ErrorAs(t, err, &iae)
}
