package crypt_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type widthMissing struct {
	_        struct{} `crypt:"record=w"`
	ID       string   `crypt:"id"`
	Email    string   `crypt:"encrypt"`
	EmailIdx string   `crypt:"blind=Email"`
}

type widthByPopulation struct {
	_        struct{} `crypt:"record=w"`
	ID       string   `crypt:"id"`
	Email    string   `crypt:"encrypt"`
	EmailIdx string   `crypt:"blind=Email,population=50000"`
}

type widthExplicit struct {
	_        struct{} `crypt:"record=w"`
	ID       string   `crypt:"id"`
	Email    string   `crypt:"encrypt"`
	EmailIdx string   `crypt:"blind=Email,bits=11"`
}

type widthTooFew struct {
	_       struct{} `crypt:"record=w"`
	ID      string   `crypt:"id"`
	Flag    string   `crypt:"encrypt"`
	FlagIdx string   `crypt:"blind=Flag,population=2"`
}

type widthLeaky struct {
	_        struct{} `crypt:"record=w"`
	ID       string   `crypt:"id"`
	Email    string   `crypt:"encrypt"`
	EmailIdx string   `crypt:"blind=Email,bits=32,population=1000"`
}

type widthWithin struct {
	_        struct{} `crypt:"record=w"`
	ID       string   `crypt:"id"`
	Email    string   `crypt:"encrypt"`
	EmailIdx string   `crypt:"blind=Email,bits=11,population=50000"`
}

// TestIndexWidth: a blind index states its width (bits=) or its population
// (population=, and the planner picks the width); there is no default,
// since none is safe for every population. A width the planner calls
// unsafe for the declared population is a warning, not an error.
func TestIndexWidth(t *testing.T) {
	ctx := context.Background()
	err := crypt.Validate(&widthMissing{})
	var pe *crypt.PlanError
	if !errors.As(err, &pe) || pe.Field != "EmailIdx" || !strings.Contains(err.Error(), "population=") || !strings.Contains(err.Error(), "bits=16") {
		t.Errorf("Validate(index without bits or population) err = %v, want a *PlanError on EmailIdx naming population= and the old bits=16", err)
	}
	if err := crypt.Validate(&widthTooFew{}); !errors.As(err, &pe) || pe.Field != "FlagIdx" {
		t.Errorf("Validate(population=2) err = %v, want a *PlanError: no safe width", err)
	}

	// population=50000 takes the planner's width, 11 bits: the same index
	// values as bits=11.
	e := newEnv(t)
	byPop := &widthByPopulation{ID: "1", Email: "ada@example.com"}
	explicit := &widthExplicit{ID: "1", Email: "ada@example.com"}
	if err := e.enc.Encrypt(ctx, byPop); err != nil {
		t.Fatal(err)
	}
	if err := e.enc.Encrypt(ctx, explicit); err != nil {
		t.Fatal(err)
	}
	if byPop.EmailIdx != explicit.EmailIdx || len(byPop.EmailIdx) != 4 {
		t.Errorf("population=50000 index %q, bits=11 index %q: want the same 11-bit value (4 hex digits)", byPop.EmailIdx, explicit.EmailIdx)
	}

	warnings, err := crypt.IndexWarnings(&widthLeaky{})
	if err != nil || len(warnings) != 1 || !strings.Contains(warnings[0], "widthLeaky.EmailIdx") {
		t.Errorf("IndexWarnings(bits=32, population=1000) = %q, %v; want one warning naming the field", warnings, err)
	}
	if err := crypt.Validate(&widthLeaky{}); err != nil {
		t.Errorf("Validate(bits=32, population=1000) err = %v, want only a warning", err)
	}
	if warnings, err := crypt.IndexWarnings(&widthWithin{}); err != nil || len(warnings) != 0 {
		t.Errorf("IndexWarnings(bits=11, population=50000) = %q, %v; want none", warnings, err)
	}

	// The programmatic spec takes the same options.
	spec := crypt.SchemaSpec{Record: "w", IDs: []crypt.ColumnName{{Column: "id", Name: "ID"}},
		Fields:  []crypt.FieldSpec{{Column: "email", Name: "Email"}},
		Indexes: []crypt.IndexSpec{{Column: "email_idx", Name: "EmailIdx", Sources: []string{"email"}}}}
	if _, err := crypt.NewSchema(spec); err == nil || !strings.Contains(err.Error(), "population=") {
		t.Errorf("NewSchema(index without bits or population) err = %v, want the width refusal", err)
	}
	spec.Indexes[0].Population = 50000
	if _, err := crypt.NewSchema(spec); err != nil {
		t.Errorf("NewSchema(population 50000) err = %v", err)
	}
}

// Two 11-bit indexes of one e-mail field: each is within range for 50,000
// values, but a database reader intersects them, 22 bits together.
type widthTwoOnOneField struct {
	_           struct{} `crypt:"record=w"`
	ID          string   `crypt:"id"`
	Email       string   `crypt:"encrypt"`
	Name        string   `crypt:"encrypt"`
	EmailIdx    string   `crypt:"blind=Email,transform=lower,bits=11,population=50000"`
	EmailRawIdx string   `crypt:"blind=Email,bits=11"`
	PairIdx     string   `crypt:"blind=Name+Email,bits=11,population=50000"` // a compound: its population is of pairs
}

type widthTwoNarrow struct {
	_         struct{} `crypt:"record=w"`
	ID        string   `crypt:"id"`
	Email     string   `crypt:"encrypt"`
	EmailIdx  string   `crypt:"blind=Email,transform=lower,bits=8,population=50000"`
	DomainIdx string   `crypt:"blind=Email,transform=trim,bits=6"`
}

// TestCombinedIndexWidth: several indexes of one field add up, as
// CipherSweet's planner counts them; the warning names them all and the
// field's declared population. A compound index is judged on its own.
func TestCombinedIndexWidth(t *testing.T) {
	warnings, err := crypt.IndexWarnings(&widthTwoOnOneField{})
	require.NoError(t, err)
	require.Len(t, warnings, 1, "%q", warnings)
	assert.Contains(t, warnings[0], "EmailIdx and EmailRawIdx")
	assert.Contains(t, warnings[0], "22 bits together")
	assert.NotContains(t, warnings[0], "PairIdx")

	warnings, err = crypt.IndexWarnings(&widthTwoNarrow{})
	require.NoError(t, err)
	assert.Empty(t, warnings, "8+6 bits over 50,000 values")

	// The same through a SchemaSpec.
	s, err := crypt.SchemaOf(widthTwoOnOneField{})
	require.NoError(t, err)
	_, err = crypt.NewSchema(s)
	require.NoError(t, err, "a warning, not an error")
}
