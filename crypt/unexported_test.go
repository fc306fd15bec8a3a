package crypt_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

// Reflection cannot set the fields of an unexported field: a tagged field
// inside one would silently stay plaintext.
type uxSecret struct {
	SSN    string `crypt:"encrypt,class=pii"`
	SSNIdx string `crypt:"blind=SSN,bits=16"`
}

type uxHolder struct {
	ID       string `crypt:"id"`
	TenantID string `crypt:"scope"`
	Name     string `crypt:"encrypt,class=pii"`
	secret   uxSecret
}

type uxPointer struct {
	ID     string `crypt:"id"`
	secret *uxSecret
}

type uxSlice struct {
	ID      string `crypt:"id"`
	secrets []uxSecret
}

type uxMap struct {
	ID      string `crypt:"id"`
	secrets map[string]*uxSecret
}

type uxDeep struct { // the unexported field sits in an exported nested struct
	ID    string `crypt:"id"`
	Outer uxOuter
}

type uxOuter struct {
	Street string `crypt:"encrypt,class=pii"`
	inner  uxSecret
}

type uxInSlice struct { // ... or in a slice element
	ID    string `crypt:"id"`
	Lines []uxOuter
}

// TestUnexportedFieldHoldingTagsRefused: such a field is a *PlanError
// naming it, at plan time, before any value is touched.
func TestUnexportedFieldHoldingTagsRefused(t *testing.T) {
	tests := []struct {
		name      string
		v         any
		wantType  string
		wantField string
		wantMsg   string
	}{
		{"struct", &uxHolder{}, "uxHolder", "secret", "crypt_test.uxSecret"},
		{"pointer to struct", &uxPointer{}, "uxPointer", "secret", "*crypt_test.uxSecret"},
		{"slice of structs", &uxSlice{}, "uxSlice", "secrets", "[]crypt_test.uxSecret"},
		{"map of structs", &uxMap{}, "uxMap", "secrets", "map[string]*crypt_test.uxSecret"},
		{"in a nested struct", &uxDeep{}, "uxOuter", "inner", "unexported field"},
		{"in a slice element", &uxInSlice{}, "uxOuter", "inner", "unexported field"},
	}
	e := newEnv(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertPlanRefused(t, e, tt.v, tt.wantType, tt.wantField, tt.wantMsg, "would stay plaintext")
		})
	}
}

// TestUnexportedFieldsAccepted: unexported fields that hold no tagged
// field, and one tagged `crypt:"-"` on purpose, are left alone.
func TestUnexportedFieldsAccepted(t *testing.T) {
	type plain struct{ Note string }
	type holder struct {
		ID      string `crypt:"id"`
		Secret  string `crypt:"encrypt"`
		created time.Time
		note    plain
		notes   []*plain
		cached  uxSecret `crypt:"-"`
	}
	h := &holder{ID: "h1", Secret: "s", cached: uxSecret{SSN: "kept"}}
	assert.NoError(t, crypt.Validate(h))
	e := newEnv(t)
	assert.NoError(t, e.enc.Encrypt(t.Context(), h))
	assert.Equal(t, "kept", h.cached.SSN, "a field tagged crypt:\"-\" is left alone")
	_, _, _ = h.created, h.note, h.notes
}
