package main

import (
	"cmp"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/crypt/blind"
)

// TestIndexWidths checks Contact's blind-index tags against the plans in
// indexes.go: the widths blind.Recommend gives for the planned populations,
// and the transforms the lookups compare with.
func TestIndexWidths(t *testing.T) {
	tests := []struct {
		field      string
		population float64
		bits       int
		transforms string
	}{
		{"EmailIdx", plannedContactsPerTenant, emailIndexBits, emailTransforms},
		{"PhoneLast4Idx", phoneLast4Values, phoneLast4IndexBits, phoneLast4Transforms},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			plan := blind.Recommend(tt.population)
			if plan.Bits != tt.bits || len(plan.Warnings) != 0 {
				t.Errorf("blind.Recommend(%v) = %+v, want %d bits and no warning", tt.population, plan, tt.bits)
			}
			f, ok := reflect.TypeFor[Contact]().FieldByName(tt.field)
			if !ok {
				t.Fatalf("Contact has no field %s", tt.field)
			}
			opts := map[string]string{}
			for _, part := range strings.Split(f.Tag.Get("crypt"), ",") {
				k, v, _ := strings.Cut(part, "=")
				opts[k] = v
			}
			if got, err := strconv.Atoi(opts["bits"]); err != nil || got != tt.bits {
				t.Errorf("Contact.%s tag bits=%q, want %d", tt.field, opts["bits"], tt.bits)
			}
			if opts["transform"] != tt.transforms {
				t.Errorf("Contact.%s tag transform=%q, want %q", tt.field, opts["transform"], tt.transforms)
			}
		})
	}
}

// TestSearchIndexesAreClassPII: every search index of Contact, blind or
// token, is computed under the index keys of searchClass, which is what
// requireIndexKeys checks a role holds before any search.
func TestSearchIndexesAreClassPII(t *testing.T) {
	spec, err := crypt.SchemaOf(&Contact{})
	if err != nil {
		t.Fatal(err)
	}
	classOf := map[string]string{}
	for _, f := range spec.Fields {
		classOf[f.Column] = f.DataClass()
	}
	for _, ix := range spec.Indexes {
		if got := spec.IndexClass(ix); got != searchClass {
			t.Errorf("index %s is class %s, want %s", ix.Column, got, searchClass)
		}
	}
	for _, tk := range spec.Tokens {
		if got := cmp.Or(tk.Class, classOf[tk.Sources[0]]); got != searchClass {
			t.Errorf("token index %s is class %s, want %s", tk.Name, got, searchClass)
		}
	}
	if len(spec.Indexes) == 0 || len(spec.Tokens) == 0 {
		t.Errorf("SchemaOf(Contact) has %d blind and %d token indexes, want some of each", len(spec.Indexes), len(spec.Tokens))
	}
}
