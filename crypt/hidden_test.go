package crypt_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

// A field typed any (or an interface of the application's, or a
// map[string]any of custom fields) hides its value's type from the
// planner. A struct with crypt tags stored there would be written as
// plaintext, so Encrypt looks at what such fields hold.

type hdRecord struct {
	ID      string `crypt:"id"`
	Name    string `crypt:"encrypt,class=pii"`
	Meta    any
	Extra   map[string]any
	payload any
	hdPlain
	Lines []hdLine
}

type hdPlain struct { // an embedded struct without tags, walked only for its interface
	Attached any
}

type hdLine struct {
	Street string `crypt:"encrypt,class=pii"`
	Note   any
}

type hdNode struct { // a value that points back at itself
	Next *hdNode
	Val  any
}

// TestTaggedValueBehindInterfaceRefused: each hiding place is refused with
// a *PlanError naming the field and the hidden type, before any field of
// the record is written.
func TestTaggedValueBehindInterfaceRefused(t *testing.T) {
	secret := uxSecret{SSN: "078-05-1120"}
	tests := []struct {
		name      string
		set       func(r *hdRecord)
		wantType  string
		wantField string
		wantHeld  string
	}{
		{"any holding a struct", func(r *hdRecord) { r.Meta = secret }, "hdRecord", "Meta", "crypt_test.uxSecret"},
		{"any holding a pointer", func(r *hdRecord) { r.Meta = &secret }, "hdRecord", "Meta", "*crypt_test.uxSecret"},
		{"any holding a slice", func(r *hdRecord) { r.Meta = []uxSecret{secret} }, "hdRecord", "Meta", "[]crypt_test.uxSecret"},
		{"a record behind any", func(r *hdRecord) { r.Meta = &uxHolder{ID: "h", Name: "Ada"} }, "hdRecord", "Meta", "*crypt_test.uxHolder"},
		{"custom fields map", func(r *hdRecord) { r.Extra = map[string]any{"ok": "x", "bad": secret} }, "hdRecord", "Extra", "crypt_test.uxSecret"},
		{"deep in decoded JSON", func(r *hdRecord) {
			r.Extra = map[string]any{"a": []any{1.5, map[string]any{"b": &secret}}}
		}, "hdRecord", "Extra", "*crypt_test.uxSecret"},
		{"unexported field", func(r *hdRecord) { r.payload = secret }, "hdRecord", "payload", "crypt_test.uxSecret"},
		{"embedded struct without tags", func(r *hdRecord) { r.Attached = secret }, "hdRecord", "hdPlain", "crypt_test.uxSecret"},
		{"slice element", func(r *hdRecord) {
			r.Lines = []hdLine{{Street: "1 Main St"}, {Street: "2 Main St", Note: secret}}
		}, "hdLine", "Note", "crypt_test.uxSecret"},
		{"behind a cycle", func(r *hdRecord) {
			n := &hdNode{}
			n.Next = &hdNode{Next: n, Val: secret}
			r.Meta = n
		}, "hdRecord", "Meta", "crypt_test.uxSecret"},
	}
	e := newEnv(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &hdRecord{ID: "r1", Name: "Ada Lovelace", Lines: []hdLine{{Street: "1 Main St"}}}
			tt.set(r)
			before := *r
			before.Lines = append([]hdLine(nil), r.Lines...)
			err := e.enc.Encrypt(t.Context(), r)
			var pe *crypt.PlanError
			require.True(t, errors.As(err, &pe), "Encrypt err = %v, want *crypt.PlanError", err)
			assert.Equal(t, tt.wantType, pe.Type.Name())
			assert.Equal(t, tt.wantField, pe.Field)
			assert.Contains(t, err.Error(), tt.wantHeld)
			assert.Contains(t, err.Error(), "plaintext")
			assert.NotContains(t, err.Error(), secret.SSN)
			assert.True(t, reflect.DeepEqual(&before, r), "record after a refused Encrypt: nothing is written")

			_, err = e.enc.EncryptedCopy(t.Context(), r)
			assert.True(t, errors.As(err, &pe), "EncryptedCopy err = %v, want *crypt.PlanError", err)
		})
	}
}

// TestUntaggedValuesBehindInterfaceAccepted: what interface fields hold
// in practice (decoded JSON, plain structs, nothing) encrypts as before,
// and a field tagged `crypt:"-"` is left alone whatever it holds.
func TestUntaggedValuesBehindInterfaceAccepted(t *testing.T) {
	type plain struct{ Note string }
	type skipped struct {
		ID     string `crypt:"id"`
		Name   string `crypt:"encrypt,class=pii"`
		Cached any    `crypt:"-"`
	}
	e := newEnv(t)
	for name, set := range map[string]func(r *hdRecord){
		"nothing":      func(r *hdRecord) {},
		"a string":     func(r *hdRecord) { r.Meta = "note" },
		"a plain type": func(r *hdRecord) { r.Meta = &plain{Note: "n"} },
		"decoded JSON": func(r *hdRecord) {
			r.Extra = map[string]any{"score": 4.0, "tags": []any{"a", "b"}, "nested": map[string]any{"x": nil}}
		},
		"a cycle of plain values": func(r *hdRecord) {
			n := &hdNode{Val: "v"}
			n.Next = n
			r.Meta = n
		},
	} {
		t.Run(name, func(t *testing.T) {
			r := &hdRecord{ID: "r1", Name: "Ada Lovelace", Lines: []hdLine{{Street: "1 Main St", Note: "n"}}}
			set(r)
			require.NoError(t, e.enc.Encrypt(t.Context(), r))
			assert.True(t, strings.HasPrefix(r.Name, "fc"), "Name encrypted: %q", r.Name)
			require.NoError(t, e.enc.Decrypt(t.Context(), r))
			assert.Equal(t, "Ada Lovelace", r.Name)
		})
	}
	s := &skipped{ID: "s1", Name: "Ada", Cached: uxSecret{SSN: "kept"}}
	require.NoError(t, e.enc.Encrypt(t.Context(), s))
	assert.Equal(t, uxSecret{SSN: "kept"}, s.Cached, "a field tagged crypt:\"-\" is left alone")
}

type hdTree map[string]hdTree // a type that leads back to itself

type hdList struct {
	Next any
	Val  int
}

type hdOptOut struct { // only a field left alone: nothing to encrypt
	Cache uxSecret `crypt:"-"`
}

type hdRecursiveField struct {
	ID   string `crypt:"id"`
	Name string `crypt:"encrypt,class=pii"`
	Tree hdTree
}

// TestHiddenWalkEnds: values that hold themselves (a map or a slice in
// itself, a type that leads back to itself) and a long chain are walked to
// the end, without recursion, and a tagged value at the end of the chain
// is still found; a type whose only tag is crypt:"-" is no tagged type.
func TestHiddenWalkEnds(t *testing.T) {
	e := newEnv(t)
	m := map[string]any{}
	m["self"] = m
	s := []any{nil}
	s[0] = s
	var chain any = uxSecret{SSN: "078-05-1120"}
	for i := range 200_000 {
		chain = &hdList{Next: chain, Val: i}
	}
	for name, tt := range map[string]struct {
		set     func(r *hdRecord)
		refused bool
	}{
		"a map in itself":                   {func(r *hdRecord) { r.Extra = m }, false},
		"a slice in itself":                 {func(r *hdRecord) { r.Meta = s }, false},
		"a recursive type":                  {func(r *hdRecord) { r.Meta = hdTree{"a": hdTree{"b": nil}} }, false},
		"a type tagged only crypt:\"-\"":    {func(r *hdRecord) { r.Meta = hdOptOut{Cache: uxSecret{SSN: "x"}} }, false},
		"a tagged value at the end of 200k": {func(r *hdRecord) { r.Meta = chain }, true},
	} {
		t.Run(name, func(t *testing.T) {
			r := &hdRecord{ID: "r1", Name: "Ada"}
			tt.set(r)
			err := e.enc.Encrypt(t.Context(), r)
			if tt.refused {
				var pe *crypt.PlanError
				assert.True(t, errors.As(err, &pe), "Encrypt err = %v, want *crypt.PlanError", err)
				assert.ErrorIs(t, crypt.CheckHidden(r), crypt.ErrHiddenTagged)
			} else {
				assert.NoError(t, err)
				assert.NoError(t, crypt.CheckHidden(r))
			}
		})
	}
	// A field of a type that leads back to itself plans (it once
	// recursed without end).
	require.NoError(t, crypt.Validate(&hdRecursiveField{}))
}

// TestCheckHiddenOnColumnValues: what an ORM writes from a map of column
// values is looked at the same way.
func TestCheckHiddenOnColumnValues(t *testing.T) {
	assert.NoError(t, crypt.CheckHidden(map[string]any{"stage": "lead", "extra": map[string]any{"n": 1.0}}))
	assert.NoError(t, crypt.CheckHidden(&uxHolder{}), "a record's own fields are Encrypt's")
	err := crypt.CheckHidden(map[string]any{"extra": map[string]any{"s": uxSecret{SSN: "078-05-1120"}}})
	assert.ErrorIs(t, err, crypt.ErrHiddenTagged)
	assert.NotContains(t, err.Error(), "078-05-1120")
	assert.NoError(t, crypt.CheckHidden(nil))
}
