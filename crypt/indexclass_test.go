package crypt_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

// An index whose class= differs from the class of an encrypted source
// would be computed under another class's index keyset: a process holding
// only that class's KEK (support) could then test guesses of the source
// (pii) and read prefixes of it from its tokens.
type icBlindDowngrade struct {
	ID       string `crypt:"id"`
	TenantID string `crypt:"scope"`
	Email    string `crypt:"encrypt,class=pii"`
	EmailIdx string `crypt:"blind=Email,class=support,bits=32"`
}

type icBlindDefault struct { // class=default is a class like any other
	ID       string `crypt:"id"`
	Email    string `crypt:"encrypt,class=pii"`
	EmailIdx string `crypt:"blind=Email,class=default,bits=16"`
}

type icBlindUpgrade struct { // the other way round: pii index of a support field
	ID       string `crypt:"id"`
	Notes    string `crypt:"encrypt,class=support"`
	NotesIdx string `crypt:"blind=Notes,class=pii,bits=16"`
}

type icCompound struct { // a plaintext source and a pii source, index in support
	ID      string `crypt:"id"`
	City    string
	Name    string `crypt:"encrypt,class=pii"`
	BothIdx string `crypt:"blind=City+Name,class=support,bits=16"`
}

type icTwoClassesNamed struct { // sources of two classes, class= naming one
	ID      string `crypt:"id"`
	Name    string `crypt:"encrypt,class=pii"`
	Notes   string `crypt:"encrypt,class=support"`
	BothIdx string `crypt:"blind=Name+Notes,class=pii,bits=16"`
}

type icNested struct {
	ID   string `crypt:"id"`
	Home icHome
}

type icHome struct {
	Street    string `crypt:"encrypt,class=pii"`
	StreetIdx string `crypt:"blind=Street,class=support,bits=16"`
}

type icPrefix struct {
	ID       string       `crypt:"id"`
	TenantID string       `crypt:"scope"`
	Email    string       `crypt:"encrypt,class=pii"`
	EmailPre crypt.Tokens `crypt:"prefix=Email,len=3..12,bits=12,class=support"`
}

type icSubstring struct {
	ID   string       `crypt:"id"`
	Name string       `crypt:"encrypt,class=pii"`
	Sub  crypt.Tokens `crypt:"substring=Name,transform=lower,class=support"`
}

type icRange struct {
	ID   string       `crypt:"id"`
	Born string       `crypt:"encrypt,class=pii"`
	Rng  crypt.Tokens `crypt:"range=Born,type=date,min=1900-01-01,max=2030-12-31,class=support"`
}

type icSetElems struct { // the pii source is a field of slice elements
	ID     string `crypt:"id"`
	Work   string // plaintext
	Emails []icEmail
	Reach  crypt.Tokens `crypt:"set=Work+Emails[].Address,bits=10,class=support"`
}

type icEmail struct {
	Address string `crypt:"encrypt,class=pii"`
}

type icSetTwoClassesNamed struct {
	ID   string       `crypt:"id"`
	Home string       `crypt:"encrypt,class=pii"`
	Work string       `crypt:"encrypt,class=support"`
	Set  crypt.Tokens `crypt:"set=Home+Work,bits=8,class=support"`
}

// TestIndexClassMustBeSourceClass: the planner refuses an index of a class
// other than one of its encrypted sources', blind or token, whatever the
// direction, before any value is touched.
func TestIndexClassMustBeSourceClass(t *testing.T) {
	tests := []struct {
		name      string
		v         any
		wantType  string
		wantField string
		wantMsg   string
	}{
		{"blind index of a pii field in support", &icBlindDowngrade{}, "icBlindDowngrade", "EmailIdx", `class "support" over Email, of class "pii"`},
		{"blind index of a pii field in default", &icBlindDefault{}, "icBlindDefault", "EmailIdx", `class "default" over Email, of class "pii"`},
		{"blind index of a support field in pii", &icBlindUpgrade{}, "icBlindUpgrade", "NotesIdx", `class "pii" over Notes, of class "support"`},
		{"compound with a plaintext source", &icCompound{}, "icCompound", "BothIdx", `over Name, of class "pii"`},
		{"compound of two classes, class= naming one", &icTwoClassesNamed{}, "icTwoClassesNamed", "BothIdx", `over Notes, of class "support"`},
		{"blind index in a nested struct", &icNested{}, "icHome", "StreetIdx", `over Street, of class "pii"`},
		{"prefix index", &icPrefix{}, "icPrefix", "EmailPre", `token index of class "support" over Email`},
		{"substring index", &icSubstring{}, "icSubstring", "Sub", `over Name, of class "pii"`},
		{"range index", &icRange{}, "icRange", "Rng", `over Born, of class "pii"`},
		{"set index over slice elements", &icSetElems{}, "icSetElems", "Reach", `over Emails[].Address, of class "pii"`},
		{"set index of two classes, class= naming one", &icSetTwoClassesNamed{}, "icSetTwoClassesNamed", "Set", `over Home, of class "pii"`},
	}
	e := newEnv(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertPlanRefused(t, e, tt.v, tt.wantType, tt.wantField, tt.wantMsg)
			_, err := crypt.SchemaOf(tt.v)
			var pe *crypt.PlanError
			assert.ErrorAs(t, err, &pe, "SchemaOf")
		})
	}
}

// TestIndexClassDowngradeRefusedAtRuntime: the reviewer's attack. With the
// index refused, a support-only process can neither compute the pii
// field's index values nor search its tokens.
func TestIndexClassDowngradeRefusedAtRuntime(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	support := crypt.New(e.newKeyring(t, map[string]string{"support": e.keks["support"]}), nil)
	guess := &icBlindDowngrade{ID: "p1", TenantID: "acme", Email: "zed@corp.example"}
	_, err := support.BlindIndexValues(ctx, guess, "EmailIdx")
	var pe *crypt.PlanError
	assert.ErrorAs(t, err, &pe, "BlindIndexValues of a pii field under the support class")
	_, err = support.Search(ctx, &icPrefix{TenantID: "acme"}, "EmailPre", crypt.HasPrefix("zed"))
	assert.ErrorAs(t, err, &pe, "Search of a pii field's prefixes under the support class")
}

// TestIndexClassAccepted: class= naming the sources' own class, an index
// over plaintext fields in any class, and plaintext sources beside
// encrypted ones of the index's class all plan.
func TestIndexClassAccepted(t *testing.T) {
	type sameClass struct {
		ID       string       `crypt:"id"`
		Email    string       `crypt:"encrypt,class=pii"`
		EmailIdx string       `crypt:"blind=Email,class=pii,bits=16"`
		EmailPre crypt.Tokens `crypt:"prefix=Email,len=3..8,bits=8,class=pii"`
	}
	type plaintextSources struct {
		ID      string `crypt:"id"`
		City    string
		Secret  string       `crypt:"encrypt"`
		CityIdx string       `crypt:"blind=City,class=support,bits=16"`
		CitySet crypt.Tokens `crypt:"set=City,bits=8,class=pii"`
	}
	type mixedPlainAndPII struct {
		ID    string `crypt:"id"`
		Home  string `crypt:"encrypt,class=pii"`
		Work  string
		Reach crypt.Tokens `crypt:"set=Home+Work,bits=10,class=pii"`
		Both  string       `crypt:"blind=Home+Work,bits=16"`
	}
	for _, v := range []any{&sameClass{}, &plaintextSources{}, &mixedPlainAndPII{}} {
		assert.NoError(t, crypt.Validate(v), "Validate(%T)", v)
	}
}

// TestSchemaIndexClassMustBeSourceClass: a SchemaSpec is held to the same
// rule, for blind indexes (IndexSpec.Class) and token indexes
// (TokenIndexSpec.Class).
func TestSchemaIndexClassMustBeSourceClass(t *testing.T) {
	ids := []crypt.ColumnName{{Column: "id"}}
	fields := []crypt.FieldSpec{{Column: "email", Class: "pii"}, {Column: "notes", Class: "support"}, {Column: "memo"}}
	tests := []struct {
		name      string
		spec      crypt.SchemaSpec
		wantField string
		wantMsg   string
	}{
		{"blind index in another class", crypt.SchemaSpec{Record: "r", IDs: ids, Fields: fields,
			Indexes: []crypt.IndexSpec{{Column: "email_idx", Sources: []string{"email"}, Bits: 16, Class: "support"}}},
			"email_idx", `class "support" over email, of class "pii"`},
		{"blind index of a default-class column in pii", crypt.SchemaSpec{Record: "r", IDs: ids, Fields: fields,
			Indexes: []crypt.IndexSpec{{Column: "memo_idx", Sources: []string{"memo"}, Bits: 16, Class: "pii"}}},
			"memo_idx", `class "pii" over memo, of class "default"`},
		{"blind index of two classes", crypt.SchemaSpec{Record: "r", IDs: ids, Fields: fields,
			Indexes: []crypt.IndexSpec{{Column: "both_idx", Sources: []string{"email", "notes"}, Bits: 16, Class: "pii"}}},
			"both_idx", `over notes, of class "support"`},
		{"prefix index in another class", crypt.SchemaSpec{Record: "r", IDs: ids, Fields: fields,
			Tokens: []crypt.TokenIndexSpec{{Name: "email_pre", Kind: "prefix", Sources: []string{"email"}, MinLen: 3, MaxLen: 8, Bits: 8, Class: "support"}}},
			"email_pre", `token index of class "support" over email, of class "pii"`},
		{"set index of two classes", crypt.SchemaSpec{Record: "r", IDs: ids, Fields: fields,
			Tokens: []crypt.TokenIndexSpec{{Name: "reach", Kind: "set", Sources: []string{"email", "notes"}, Bits: 8, Class: "support"}}},
			"reach", `over email, of class "pii"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := crypt.NewSchema(tt.spec)
			var pe *crypt.PlanError
			require.ErrorAs(t, err, &pe, "NewSchema")
			assert.Equal(t, "r", pe.Schema, "PlanError.Schema")
			assert.Equal(t, tt.wantField, pe.Field, "PlanError.Field")
			assert.Contains(t, err.Error(), tt.wantMsg)
		})
	}
	// The sources' own class, stated or not, compiles.
	_, err := crypt.NewSchema(crypt.SchemaSpec{Record: "r", IDs: ids, Fields: fields,
		Indexes: []crypt.IndexSpec{{Column: "email_idx", Sources: []string{"email"}, Bits: 16, Class: "pii"}, {Column: "notes_idx", Sources: []string{"notes"}, Bits: 16}},
		Tokens:  []crypt.TokenIndexSpec{{Name: "email_pre", Kind: "prefix", Sources: []string{"email"}, MinLen: 3, MaxLen: 8, Bits: 8, Class: "pii"}}})
	assert.NoError(t, err)
}

// icHeldEmail is a record of its own, in its own row: its Address is
// encrypted under pii, by its own plan.
type icHeldEmail struct {
	_        struct{} `crypt:"record=ic_held_email"`
	ID       string   `crypt:"id"`
	TenantID string   `crypt:"scope"`
	Address  string   `crypt:"encrypt,class=pii"`
}

// icSetHeld indexes the addresses of the records it holds. Its own plan
// does not encrypt them, so their class was not seen: the index took the
// default class.
type icSetHeld struct {
	_        struct{} `crypt:"record=ic_set_held"`
	ID       string   `crypt:"id"`
	TenantID string   `crypt:"scope"`
	Emails   []icHeldEmail
	Reach    crypt.Tokens `crypt:"set=Emails[].Address,bits=10"`
}

// icSetSkipped indexes the elements of a slice the record leaves alone
// (crypt:"-"), whose Address is tagged pii.
type icSetSkipped struct {
	ID     string       `crypt:"id"`
	Emails []icEmail    `crypt:"-"`
	Reach  crypt.Tokens `crypt:"set=Emails[].Address,bits=10"`
}

// TestTokenIndexOverHeldRecordsRefused: the attack. A set index over a
// field of held records (set=Emails[].Address, where Emails holds records
// of their own) was planned in the default class, since the holder's plan
// does not encrypt those fields and so never saw their class: a
// support-only process, without the pii KEK, could compute the tokens of
// any guessed pii address and test every row's. Such an index is refused
// at plan time, as is one over a slice the record leaves alone whose
// elements are tagged.
func TestTokenIndexOverHeldRecordsRefused(t *testing.T) {
	e := newEnv(t)
	assertPlanRefused(t, e, &icSetHeld{}, "icSetHeld", "Reach", "Emails holds records of their own")
	assertPlanRefused(t, e, &icSetSkipped{}, "icSetSkipped", "Reach", "Emails is left alone")

	ctx := context.Background()
	support := crypt.New(e.newKeyring(t, map[string]string{"support": e.keks["support"], "default": e.keks["default"]}), nil)
	_, err := support.Search(ctx, &icSetHeld{TenantID: "acme"}, "Reach", crypt.Equals("zed@corp.example"))
	var pe *crypt.PlanError
	assert.ErrorAs(t, err, &pe, "Search of held pii addresses by a process without the pii KEK")
}
