package crypt_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

// Types the planner must refuse, each with a *PlanError naming the struct
// and the field.

type badInt struct {
	Age int `crypt:"encrypt"`
}

type badMap struct {
	Attrs map[string]string `crypt:"encrypt"`
}

type planAddress struct {
	Street string `crypt:"encrypt"`
}

type badMapOfStructs struct {
	Addresses map[string]planAddress
}

type badTime struct {
	Born time.Time `crypt:"encrypt"`
}

type badBitsZero struct {
	Email    string `crypt:"encrypt"`
	EmailIdx string `crypt:"blind=Email,bits=0"`
}

type badBits300 struct {
	Email    string `crypt:"encrypt"`
	EmailIdx string `crypt:"blind=Email,bits=300"`
}

type badBitsText struct {
	Email    string `crypt:"encrypt"`
	EmailIdx string `crypt:"blind=Email,bits=many"`
}

type badTransform struct {
	Email    string `crypt:"encrypt"`
	EmailIdx string `crypt:"blind=Email,transform=lower+soundex,bits=16"`
}

type badDirective struct {
	Email string `crypt:"encrypted"`
}

type badDirectiveValue struct {
	Email string `crypt:"encrypt=yes"`
}

type badOption struct {
	ID string `crypt:"id,class=pii"`
}

type badEmptyClass struct {
	Email string `crypt:"encrypt,class="`
}

type badEmptyName struct {
	Email string `crypt:"encrypt,name="`
}

type badSlowValue struct {
	Email    string `crypt:"encrypt"`
	EmailIdx string `crypt:"blind=Email,slow=1,bits=16"`
}

type badBlindSource struct {
	Email    string `crypt:"encrypt"`
	EmailIdx string `crypt:"blind=Mail,bits=16"`
}

type badBlindNoSource struct {
	EmailIdx string `crypt:"blind=,bits=16"`
}

type badBlindUnexportedSource struct {
	email    string
	EmailIdx string `crypt:"blind=email,bits=16"`
}

type badBlindSourceType struct {
	Age    int
	AgeIdx string `crypt:"blind=Age,bits=16"`
}

type badBlindField struct {
	Email    string `crypt:"encrypt"`
	EmailIdx []byte `crypt:"blind=Email,bits=16"`
}

type badBlindClasses struct {
	Name    string `crypt:"encrypt,class=pii"`
	Notes   string `crypt:"encrypt,class=support"`
	BothIdx string `crypt:"blind=Name+Notes,bits=16"`
}

type badUnexported struct {
	email string `crypt:"encrypt"`
}

type badNode struct {
	Name string `crypt:"encrypt"`
	Next *badNode
}

type badTree struct {
	Name     string `crypt:"encrypt"`
	Children []badTree
}

type badScopeType struct {
	TenantID int `crypt:"scope"`
}

type badTwoScopes struct {
	TenantID string `crypt:"scope"`
	OrgID    string `crypt:"scope"`
}

type badIDType struct {
	ID float64 `crypt:"id"`
}

type planLine struct {
	ID   string `crypt:"id"`
	Note string `crypt:"encrypt"`
}

type badIDInSlice struct {
	Lines []planLine
}

type badRecordField struct {
	Kind struct{} `crypt:"record=contact"`
}

type badRecordEmpty struct {
	_ struct{} `crypt:"record="`
}

type badArray struct {
	Addresses [2]planAddress
}

type badSlicePointer struct {
	Addresses *[]planAddress
}

type planInner struct {
	Secret int `crypt:"encrypt"`
}

type badNested struct {
	Inner planInner
}

func TestPlanErrors(t *testing.T) {
	tests := []struct {
		name      string
		v         any
		wantType  string // the struct that holds the field
		wantField string
		wantMsg   string // a fragment of the message
	}{
		{"int with encrypt", &badInt{}, "badInt", "Age", "int"},
		{"map with encrypt", &badMap{}, "badMap", "Attrs", "map[string]string"},
		{"map of tagged structs", &badMapOfStructs{}, "badMapOfStructs", "Addresses", "map"},
		{"time.Time with encrypt", &badTime{}, "badTime", "Born", "time.Time"},
		{"bits=0", &badBitsZero{}, "badBitsZero", "EmailIdx", "bits=0"},
		{"bits=300", &badBits300{}, "badBits300", "EmailIdx", "bits=300"},
		{"bits not a number", &badBitsText{}, "badBitsText", "EmailIdx", "bits=many"},
		{"unknown transform", &badTransform{}, "badTransform", "EmailIdx", "soundex"},
		{"unknown directive", &badDirective{}, "badDirective", "Email", "encrypted"},
		{"directive with a value", &badDirectiveValue{}, "badDirectiveValue", "Email", "takes no value"},
		{"option of another directive", &badOption{}, "badOption", "ID", "class"},
		{"empty class", &badEmptyClass{}, "badEmptyClass", "Email", "class="},
		{"empty name", &badEmptyName{}, "badEmptyName", "Email", "name="},
		{"slow with a value", &badSlowValue{}, "badSlowValue", "EmailIdx", "slow"},
		{"blind source missing", &badBlindSource{}, "badBlindSource", "EmailIdx", "Mail"},
		{"blind without source", &badBlindNoSource{}, "badBlindNoSource", "EmailIdx", "source"},
		{"blind source unexported", &badBlindUnexportedSource{}, "badBlindUnexportedSource", "EmailIdx", "email"},
		{"blind source of another type", &badBlindSourceType{}, "badBlindSourceType", "AgeIdx", "int"},
		{"blind index not a string", &badBlindField{}, "badBlindField", "EmailIdx", "[]uint8"},
		{"blind sources in two classes", &badBlindClasses{}, "badBlindClasses", "BothIdx", "one class only"},
		{"unexported tagged field", &badUnexported{}, "badUnexported", "email", "unexported"},
		{"recursive through a pointer", &badNode{}, "badNode", "Next", "recursive"},
		{"recursive through a slice", &badTree{}, "badTree", "Children", "recursive"},
		{"scope not a string", &badScopeType{}, "badScopeType", "TenantID", "int"},
		{"two scopes", &badTwoScopes{}, "badTwoScopes", "OrgID", "scope"},
		{"id of float type", &badIDType{}, "badIDType", "ID", "float64"},
		{"id inside a slice element", &badIDInSlice{}, "planLine", "ID", "slice"},
		{"record= on a named field", &badRecordField{}, "badRecordField", "Kind", "record="},
		{"record= without a name", &badRecordEmpty{}, "badRecordEmpty", "_", "record"},
		{"array of tagged structs", &badArray{}, "badArray", "Addresses", "[2]"},
		{"pointer to a slice of tagged structs", &badSlicePointer{}, "badSlicePointer", "Addresses", "*[]"},
		{"bad field of a nested struct", &badNested{}, "planInner", "Secret", "int"},
		{"anonymous struct type", &struct {
			Email string `crypt:"encrypt"`
		}{}, "", "_", "record"},
	}
	e := newEnv(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertPlanRefused(t, e, tt.v, tt.wantType, tt.wantField, tt.wantType, tt.wantField, tt.wantMsg)
		})
	}
}

func TestInvalidArguments(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	var nilContact *Contact
	for _, v := range []any{nil, Contact{}, nilContact, new(int), new(*Contact), "text"} {
		if err := e.enc.Encrypt(ctx, v); !isInvalidArgument(err) {
			t.Errorf("Encrypt(%T) err = %v, want *crypt.InvalidArgumentError", v, err)
		}
		if err := e.enc.Decrypt(ctx, v); !isInvalidArgument(err) {
			t.Errorf("Decrypt(%T) err = %v, want *crypt.InvalidArgumentError", v, err)
		}
		if _, err := e.enc.BlindIndexValues(ctx, v, "EmailIdx"); !isInvalidArgument(err) {
			t.Errorf("BlindIndexValues(%T) err = %v, want *crypt.InvalidArgumentError", v, err)
		}
	}
	for _, v := range []any{nil, 42, new(int)} {
		if err := crypt.Validate(v); !isInvalidArgument(err) {
			t.Errorf("Validate(%T) err = %v, want *crypt.InvalidArgumentError", v, err)
		}
	}
}

func isInvalidArgument(err error) bool {
	var ia *crypt.InvalidArgumentError
	return errors.As(err, &ia)
}

// Plans are computed once per type: the second Validate of a type returns
// the very same error, and of a good type allocates nothing.
func TestPlanCached(t *testing.T) {
	err1 := crypt.Validate(&badTransform{})
	err2 := crypt.Validate(badTransform{})
	if err1 == nil || err1 != err2 {
		t.Errorf("Validate twice: errors %p and %p, want the same cached *PlanError", err1, err2)
	}
	c := &Contact{}
	if err := crypt.Validate(c); err != nil {
		t.Fatalf("Validate(*Contact) err = %v", err)
	}
	if allocs := testing.AllocsPerRun(100, func() { _ = crypt.Validate(c) }); allocs != 0 {
		t.Errorf("Validate(*Contact) after the first call allocates %v times, want 0 (plan cached)", allocs)
	}
}

// assertPlanRefused checks that Validate refuses v with a *crypt.PlanError
// on wantType.wantField whose message holds each of wants, and that
// Encrypt and Decrypt return it too, before touching v and without
// panicking. It returns the error for further checks.
func assertPlanRefused(t *testing.T, e *env, v any, wantType, wantField string, wants ...string) *crypt.PlanError {
	t.Helper()
	err := crypt.Validate(v)
	var pe *crypt.PlanError
	if !errors.As(err, &pe) {
		t.Fatalf("Validate(%T) err = %v, want *crypt.PlanError", v, err)
	}
	if pe.Type == nil || pe.Type.Name() != wantType {
		t.Errorf("PlanError.Type = %v, want %s", pe.Type, wantType)
	}
	if pe.Field != wantField {
		t.Errorf("PlanError.Field = %q, want %q", pe.Field, wantField)
	}
	msg := err.Error()
	for _, want := range wants {
		if !strings.Contains(msg, want) {
			t.Errorf("Validate(%T) err = %q, want it to contain %q", v, msg, want)
		}
	}
	ctx := context.Background()
	before := reflect.ValueOf(v).Elem().Interface()
	var again *crypt.PlanError
	if err := e.enc.Encrypt(ctx, v); !errors.As(err, &again) {
		t.Errorf("Encrypt(%T) err = %v, want *crypt.PlanError", v, err)
	}
	if err := e.enc.Decrypt(ctx, v); !errors.As(err, &again) {
		t.Errorf("Decrypt(%T) err = %v, want *crypt.PlanError", v, err)
	}
	assert.Equal(t, before, reflect.ValueOf(v).Elem().Interface(), "record after a refused Encrypt and Decrypt")
	return pe
}
