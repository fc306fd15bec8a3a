package crypt_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

// Token indexes are refused at plan time, as blind indexes are, for every
// configuration that is ambiguous or that package blind refuses: each
// refusal is a *PlanError naming the struct and field (and for a conflict
// the other field).

type tkEmail struct {
	Address string `crypt:"encrypt,class=pii"`
}

// A well-formed record with every kind of token index.
type tkFine struct {
	ID      string       `crypt:"id"`
	Tenant  string       `crypt:"scope"`
	Name    string       `crypt:"encrypt,class=pii"`
	NamePre crypt.Tokens `crypt:"prefix=Name,len=3..8,bits=12,transform=lower"`
	NameSuf crypt.Tokens `crypt:"suffix=Name,len=2..6,bits=8,name=name_suffix"`
	NameSub crypt.Tokens `crypt:"substring=Name,transform=lower+trim"`
	Amount  string       `crypt:"encrypt,class=pii"`
	AmtRng  crypt.Tokens `crypt:"range=Amount,type=decimal,scale=2,min=-1000,max=1000.00,step=50"`
	Home    string       `crypt:"encrypt,class=pii"`
	Work    *string      `crypt:"encrypt,class=pii"`
	Emails  []tkEmail
	Reach   crypt.Tokens `crypt:"set=Home+Work+Emails[].Address,transform=lower,bits=24"`
	Skipped crypt.Tokens `crypt:"-"`
}

type tkNested struct {
	Zip    string       `crypt:"encrypt"`
	ZipPre crypt.Tokens `crypt:"prefix=Zip,len=2..5,bits=4,transform=digits"`
}

type tkFineNested struct {
	ID      string `crypt:"id"`
	Billing tkNested
	Ship    *tkNested
}

func TestTokenPlanAccepts(t *testing.T) {
	for _, v := range []any{&tkFine{}, &tkFineNested{}} {
		require.NoError(t, crypt.Validate(v), "Validate(%T)", v)
	}
}

type tkUntagged struct {
	ID   string `crypt:"id"`
	Name string `crypt:"encrypt"`
	Toks crypt.Tokens
}
type tkOnString struct {
	ID   string `crypt:"id"`
	Name string `crypt:"encrypt"`
	Pre  string `crypt:"prefix=Name,len=3..5,bits=8"`
}
type tkBlindOnTokens struct {
	ID   string       `crypt:"id"`
	Name string       `crypt:"encrypt"`
	Idx  crypt.Tokens `crypt:"blind=Name,bits=8"`
}
type tkInSliceElem struct {
	Name string       `crypt:"encrypt"`
	Pre  crypt.Tokens `crypt:"prefix=Name,len=3..5,bits=8"`
}
type tkInSlice struct {
	ID    string `crypt:"id"`
	Items []tkInSliceElem
}
type tkNoBits struct {
	ID   string       `crypt:"id"`
	Name string       `crypt:"encrypt"`
	Pre  crypt.Tokens `crypt:"prefix=Name,len=3..5"`
}
type tkNoLen struct {
	ID   string       `crypt:"id"`
	Name string       `crypt:"encrypt"`
	Suf  crypt.Tokens `crypt:"suffix=Name,bits=8"`
}
type tkLenZero struct {
	ID   string       `crypt:"id"`
	Name string       `crypt:"encrypt"`
	Pre  crypt.Tokens `crypt:"prefix=Name,len=0..5,bits=8"`
}
type tkLenInverted struct {
	ID   string       `crypt:"id"`
	Name string       `crypt:"encrypt"`
	Pre  crypt.Tokens `crypt:"prefix=Name,len=6..3,bits=8"`
}
type tkLenLong struct {
	ID   string       `crypt:"id"`
	Name string       `crypt:"encrypt"`
	Pre  crypt.Tokens `crypt:"prefix=Name,len=3..65,bits=8"`
}
type tkLenSyntax struct {
	ID   string       `crypt:"id"`
	Name string       `crypt:"encrypt"`
	Pre  crypt.Tokens `crypt:"prefix=Name,len=3,bits=8"`
}
type tkBitsWide struct {
	ID   string       `crypt:"id"`
	Name string       `crypt:"encrypt"`
	Set  crypt.Tokens `crypt:"set=Name,bits=65"`
}
type tkPrefixLeaks struct {
	ID   string       `crypt:"id"`
	Name string       `crypt:"encrypt"`
	Pre  crypt.Tokens `crypt:"prefix=Name,len=2..5,bits=12,transform=lower"`
}
type tkSubstringLeaks struct {
	ID   string       `crypt:"id"`
	Name string       `crypt:"encrypt"`
	Sub  crypt.Tokens `crypt:"substring=Name,bits=20,transform=lower"`
}
type tkSubstringN struct {
	ID   string       `crypt:"id"`
	Name string       `crypt:"encrypt"`
	Sub  crypt.Tokens `crypt:"substring=Name,n=9"`
}
type tkSubstringTokens struct {
	ID   string       `crypt:"id"`
	Name string       `crypt:"encrypt"`
	Sub  crypt.Tokens `crypt:"substring=Name,tokens=2000"`
}
type tkOptPrefixN struct {
	ID   string       `crypt:"id"`
	Name string       `crypt:"encrypt"`
	Pre  crypt.Tokens `crypt:"prefix=Name,len=3..5,bits=8,n=3"`
}
type tkOptRangeTransform struct {
	ID  string       `crypt:"id"`
	Age string       `crypt:"encrypt"`
	Rng crypt.Tokens `crypt:"range=Age,type=int,min=0,max=150,transform=trim"`
}
type tkOptSetLen struct {
	ID   string       `crypt:"id"`
	Name string       `crypt:"encrypt"`
	Set  crypt.Tokens `crypt:"set=Name,bits=8,len=1..2"`
}
type tkOptSubType struct {
	ID   string       `crypt:"id"`
	Name string       `crypt:"encrypt"`
	Sub  crypt.Tokens `crypt:"substring=Name,type=int"`
}
type tkOptPopulation struct {
	ID   string       `crypt:"id"`
	Name string       `crypt:"encrypt"`
	Set  crypt.Tokens `crypt:"set=Name,population=1000"`
}
type tkRepeatLen struct {
	ID   string       `crypt:"id"`
	Name string       `crypt:"encrypt"`
	Pre  crypt.Tokens `crypt:"prefix=Name,len=3..5,bits=8,len=2..4"`
}
type tkRepeatMin struct {
	ID  string       `crypt:"id"`
	Age string       `crypt:"encrypt"`
	Rng crypt.Tokens `crypt:"range=Age,type=int,min=0,max=150,min=1"`
}
type tkRangeNoType struct {
	ID  string       `crypt:"id"`
	Age string       `crypt:"encrypt"`
	Rng crypt.Tokens `crypt:"range=Age,min=0,max=150"`
}
type tkRangeBadType struct {
	ID  string       `crypt:"id"`
	Age string       `crypt:"encrypt"`
	Rng crypt.Tokens `crypt:"range=Age,type=float,min=0,max=150"`
}
type tkRangeNoMax struct {
	ID  string       `crypt:"id"`
	Age string       `crypt:"encrypt"`
	Rng crypt.Tokens `crypt:"range=Age,type=int,min=0"`
}
type tkRangeBadMin struct {
	ID  string       `crypt:"id"`
	Age string       `crypt:"encrypt"`
	Rng crypt.Tokens `crypt:"range=Age,type=date,min=1990-13-01,max=2030-01-01"`
}
type tkRangeInverted struct {
	ID  string       `crypt:"id"`
	Age string       `crypt:"encrypt"`
	Rng crypt.Tokens `crypt:"range=Age,type=int,min=150,max=0"`
}
type tkRangeEmpty struct {
	ID  string       `crypt:"id"`
	Age string       `crypt:"encrypt"`
	Rng crypt.Tokens `crypt:"range=Age,type=timestamp,min=2024-01-01T00:00:00Z,max=2024-01-01T01:00:00+01:00"`
}
type tkRangeNoScale struct {
	ID  string       `crypt:"id"`
	Amt string       `crypt:"encrypt"`
	Rng crypt.Tokens `crypt:"range=Amt,type=decimal,min=0,max=150"`
}
type tkRangeScaleOnInt struct {
	ID  string       `crypt:"id"`
	Amt string       `crypt:"encrypt"`
	Rng crypt.Tokens `crypt:"range=Amt,type=int,scale=2,min=0,max=150"`
}
type tkRangeDecimalMin struct {
	ID  string       `crypt:"id"`
	Amt string       `crypt:"encrypt"`
	Rng crypt.Tokens `crypt:"range=Amt,type=decimal,scale=2,min=0.125,max=150"`
}
type tkRangePrecisionOnDate struct {
	ID  string       `crypt:"id"`
	Day string       `crypt:"encrypt"`
	Rng crypt.Tokens `crypt:"range=Day,type=date,precision=day,min=1990-01-01,max=2030-01-01"`
}
type tkRangeStepOnTimestamp struct {
	ID  string       `crypt:"id"`
	At  string       `crypt:"encrypt"`
	Rng crypt.Tokens `crypt:"range=At,type=timestamp,step=60,min=2024-01-01T00:00:00Z,max=2025-01-01T00:00:00Z"`
}
type tkRangeBadPrecision struct {
	ID  string       `crypt:"id"`
	At  string       `crypt:"encrypt"`
	Rng crypt.Tokens `crypt:"range=At,type=timestamp,precision=week,min=2024-01-01T00:00:00Z,max=2025-01-01T00:00:00Z"`
}
type tkRangeLevels struct {
	ID  string       `crypt:"id"`
	N   string       `crypt:"encrypt"`
	Rng crypt.Tokens `crypt:"range=N,type=int,min=-9223372036854775808,max=9223372036854775807"`
}
type tkRangeBytes struct {
	ID  string       `crypt:"id"`
	N   []byte       `crypt:"encrypt"`
	Rng crypt.Tokens `crypt:"range=N,type=int,min=0,max=9"`
}
type tkRangeTwoSources struct {
	ID  string       `crypt:"id"`
	A   string       `crypt:"encrypt"`
	B   string       `crypt:"encrypt"`
	Rng crypt.Tokens `crypt:"range=A+B,type=int,min=0,max=9"`
}
type tkSetNoBits struct {
	ID   string       `crypt:"id"`
	Home string       `crypt:"encrypt"`
	Work string       `crypt:"encrypt"`
	Set  crypt.Tokens `crypt:"set=Home+Work"`
}
type tkSourceMissing struct {
	ID  string       `crypt:"id"`
	Set crypt.Tokens `crypt:"set=Nope,bits=8"`
}
type tkSourceType struct {
	ID  string       `crypt:"id"`
	N   int          `crypt:"-"`
	Set crypt.Tokens `crypt:"set=N,bits=8"`
}
type tkElemOnPrefix struct {
	ID     string `crypt:"id"`
	Emails []tkEmail
	Pre    crypt.Tokens `crypt:"prefix=Emails[].Address,len=3..5,bits=8"`
}
type tkElemMissing struct {
	ID     string `crypt:"id"`
	Emails []tkEmail
	Set    crypt.Tokens `crypt:"set=Emails[].Nope,bits=8"`
}
type tkElemNotSlice struct {
	ID    string `crypt:"id"`
	Email tkEmail
	Set   crypt.Tokens `crypt:"set=Email[].Address,bits=8"`
}
type tkTwoTokenNames struct {
	ID   string       `crypt:"id"`
	Name string       `crypt:"encrypt"`
	A    crypt.Tokens `crypt:"set=Name,bits=8,name=n"`
	B    crypt.Tokens `crypt:"prefix=Name,len=3..5,bits=8,name=n"`
}
type tkNameIsBlindName struct {
	ID      string       `crypt:"id"`
	Name    string       `crypt:"encrypt"`
	NameIdx string       `crypt:"blind=Name,bits=8,name=n"`
	Pre     crypt.Tokens `crypt:"prefix=Name,len=3..5,bits=8,name=n"`
}
type tkNameIsBlindPath struct {
	ID      string       `crypt:"id"`
	Name    string       `crypt:"encrypt"`
	NameIdx string       `crypt:"blind=Name,bits=8"`
	Pre     crypt.Tokens `crypt:"prefix=Name,len=3..5,bits=8,name=NameIdx"`
}
type tkPathIsBlindName struct {
	ID      string       `crypt:"id"`
	Name    string       `crypt:"encrypt"`
	NameIdx string       `crypt:"blind=Name,bits=8,name=Pre"`
	Pre     crypt.Tokens `crypt:"prefix=Name,len=3..5,bits=8"`
}
type tkPathIsBlindName2 struct {
	ID      string       `crypt:"id"`
	Name    string       `crypt:"encrypt"`
	NameIdx string       `crypt:"blind=Name,bits=8,name=Pre"`
	Pre     crypt.Tokens `crypt:"prefix=Name,len=3..5,bits=8,name=name_prefix"`
}
type tkBlindNamedLikeToken struct {
	ID     string `crypt:"id"`
	Nested tkNested
	Zip    string `crypt:"encrypt"`
	ZipIdx string `crypt:"blind=Zip,bits=8,name=Nested.ZipPre"`
}
type tkClasses struct {
	ID   string       `crypt:"id"`
	Home string       `crypt:"encrypt,class=pii"`
	Work string       `crypt:"encrypt,class=support"`
	Set  crypt.Tokens `crypt:"set=Home+Work,bits=8"`
}
type tkBadTransform struct {
	ID   string       `crypt:"id"`
	Name string       `crypt:"encrypt"`
	Set  crypt.Tokens `crypt:"set=Name,bits=8,transform=shout"`
}
type tkNoSource struct {
	ID  string       `crypt:"id"`
	Set crypt.Tokens `crypt:"set=,bits=8"`
}

func TestTokenPlanRefuses(t *testing.T) {
	tests := []struct {
		name      string
		v         any
		wantType  string
		wantField string
		wantOther string
		wantMsg   string
	}{
		{"Tokens field without a directive", &tkUntagged{}, "tkUntagged", "Toks", "", "needs a token directive"},
		{"token directive on a string", &tkOnString{}, "tkOnString", "Pre", "", "must be a crypt.Tokens"},
		{"blind directive on Tokens", &tkBlindOnTokens{}, "tkBlindOnTokens", "Idx", "", "must be a string"},
		{"token index in a slice element", &tkInSlice{}, "tkInSliceElem", "Pre", "", "inside a slice element"},
		{"prefix without bits", &tkNoBits{}, "tkNoBits", "Pre", "", "needs bits=N"},
		{"suffix without len", &tkNoLen{}, "tkNoLen", "Suf", "", "needs len=MIN..MAX"},
		{"len from 0", &tkLenZero{}, "tkLenZero", "Pre", "", "len= refused"},
		{"len inverted", &tkLenInverted{}, "tkLenInverted", "Pre", "", "len= refused"},
		{"len past 64", &tkLenLong{}, "tkLenLong", "Pre", "", "len= refused"},
		{"len without ..", &tkLenSyntax{}, "tkLenSyntax", "Pre", "", "MIN..MAX"},
		{"bits past 64", &tkBitsWide{}, "tkBitsWide", "Set", "", "wider than a token's 64 bits"},
		{"prefix tokens nearly unique", &tkPrefixLeaks{}, "tkPrefixLeaks", "Pre", "", "nearly unique per prefix"},
		{"substring tokens nearly unique", &tkSubstringLeaks{}, "tkSubstringLeaks", "Sub", "", "nearly unique per n-gram"},
		{"substring n past 8", &tkSubstringN{}, "tkSubstringN", "Sub", "", "n= refused"},
		{"substring tokens past 1024", &tkSubstringTokens{}, "tkSubstringTokens", "Sub", "", "tokens= refused"},
		{"n= on a prefix index", &tkOptPrefixN{}, "tkOptPrefixN", "Pre", "", `option "n" does not apply to prefix`},
		{"transform= on a range index", &tkOptRangeTransform{}, "tkOptRangeTransform", "Rng", "", `option "transform" does not apply to range`},
		{"len= on a set index", &tkOptSetLen{}, "tkOptSetLen", "Set", "", `option "len" does not apply to set`},
		{"type= on a substring index", &tkOptSubType{}, "tkOptSubType", "Sub", "", `option "type" does not apply to substring`},
		{"population= on a set index", &tkOptPopulation{}, "tkOptPopulation", "Set", "", `option "population" does not apply to set`},
		{"len= twice", &tkRepeatLen{}, "tkRepeatLen", "Pre", "len=2..4", "given twice"},
		{"min= twice", &tkRepeatMin{}, "tkRepeatMin", "Rng", "min=1", "given twice"},
		{"range without type", &tkRangeNoType{}, "tkRangeNoType", "Rng", "", "needs type="},
		{"range of an unknown type", &tkRangeBadType{}, "tkRangeBadType", "Rng", "", "is not int, decimal, date or timestamp"},
		{"range without max", &tkRangeNoMax{}, "tkRangeNoMax", "Rng", "", "needs min= and max="},
		{"range min not a date", &tkRangeBadMin{}, "tkRangeBadMin", "Rng", "", "min= is not a date"},
		{"range inverted", &tkRangeInverted{}, "tkRangeInverted", "Rng", "", "inverted"},
		{"range of one value", &tkRangeEmpty{}, "tkRangeEmpty", "Rng", "", "holds one value"},
		{"decimal without scale", &tkRangeNoScale{}, "tkRangeNoScale", "Rng", "", "needs scale=N"},
		{"scale on an int", &tkRangeScaleOnInt{}, "tkRangeScaleOnInt", "Rng", "", "scale does not apply to type=int"},
		{"decimal min finer than scale", &tkRangeDecimalMin{}, "tkRangeDecimalMin", "Rng", "", "min= is not a decimal"},
		{"precision on a date", &tkRangePrecisionOnDate{}, "tkRangePrecisionOnDate", "Rng", "", "precision does not apply to type=date"},
		{"step on a timestamp", &tkRangeStepOnTimestamp{}, "tkRangeStepOnTimestamp", "Rng", "", "step does not apply to type=timestamp"},
		{"unknown precision", &tkRangeBadPrecision{}, "tkRangeBadPrecision", "Rng", "", "is not second, minute, hour or day"},
		{"range of 64 levels", &tkRangeLevels{}, "tkRangeLevels", "Rng", "", "64 levels"},
		{"range over []byte", &tkRangeBytes{}, "tkRangeBytes", "Rng", "", "must be a string or *string"},
		{"range over two fields", &tkRangeTwoSources{}, "tkRangeTwoSources", "Rng", "", "has one source"},
		{"set without bits", &tkSetNoBits{}, "tkSetNoBits", "Set", "", "needs bits=N"},
		{"source not a field", &tkSourceMissing{}, "tkSourceMissing", "Set", "", `"Nope" is not an exported field`},
		{"source of another type", &tkSourceType{}, "tkSourceType", "Set", "", "must be a string"},
		{"element source on a prefix index", &tkElemOnPrefix{}, "tkElemOnPrefix", "Pre", "", "only a set index takes one"},
		{"element source not a field", &tkElemMissing{}, "tkElemMissing", "Set", "", `"Nope" is not an exported field`},
		{"element source not in a slice", &tkElemNotSlice{}, "tkElemNotSlice", "Set", "", "not a slice of structs"},
		{"two token indexes named alike", &tkTwoTokenNames{}, "tkTwoTokenNames", "B", "tkTwoTokenNames.A", `token index named "n"`},
		{"token index named like a blind index", &tkNameIsBlindName{}, "tkNameIsBlindName", "Pre", "tkNameIsBlindName.NameIdx", `token index named "n"`},
		{"token index named as a blind index's path", &tkNameIsBlindPath{}, "tkNameIsBlindPath", "Pre", "tkNameIsBlindPath.NameIdx", `"NameIdx"`},
		{"token index at a blind index's name", &tkPathIsBlindName{}, "tkPathIsBlindName", "Pre", "tkPathIsBlindName.NameIdx", `token index named "Pre"`},
		{"token index at a blind index's name, named otherwise", &tkPathIsBlindName2{}, "tkPathIsBlindName2", "Pre", "tkPathIsBlindName2.NameIdx", "uses as its name="},
		{"blind index named as a token index's path", &tkBlindNamedLikeToken{}, "tkBlindNamedLikeToken", "ZipIdx", "tkNested.ZipPre", `"Nested.ZipPre"`},
		{"sources of two classes", &tkClasses{}, "tkClasses", "Set", "", "one class only"},
		{"unknown transform", &tkBadTransform{}, "tkBadTransform", "Set", "", "shout"},
		{"no source", &tkNoSource{}, "tkNoSource", "Set", "", "needs its source fields"},
	}
	e := newEnv(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pe := assertPlanRefused(t, e, tt.v, tt.wantType, tt.wantField, tt.wantType+"."+tt.wantField, tt.wantMsg)
			assert.Equal(t, tt.wantOther, pe.Other, "PlanError.Other")
			// Search and SchemaOf refuse the type too.
			_, err := e.enc.Search(t.Context(), tt.v, "x", crypt.Equals("x"))
			var again *crypt.PlanError
			assert.ErrorAs(t, err, &again, "Search")
			_, err = crypt.SchemaOf(tt.v)
			assert.ErrorAs(t, err, &again, "SchemaOf")
		})
	}
}

// The same refusals for a SchemaSpec: errors name the schema and the
// token index (by its name, which is its key in a row).
func TestTokenSchemaRefuses(t *testing.T) {
	ids := []crypt.ColumnName{{Column: "id"}}
	fields := []crypt.FieldSpec{{Column: "name", Class: "pii"}, {Column: "home", Class: "pii"}, {Column: "work", Class: "support"}, {Column: "age"}}
	spec := func(tokens ...crypt.TokenIndexSpec) crypt.SchemaSpec {
		return crypt.SchemaSpec{Record: "r", IDs: ids, Fields: fields, Tokens: tokens,
			Indexes: []crypt.IndexSpec{{Column: "name_idx", Name: "nidx", Sources: []string{"name"}, Bits: 8}}}
	}
	pre := func(name string) crypt.TokenIndexSpec {
		return crypt.TokenIndexSpec{Name: name, Kind: "prefix", Sources: []string{"name"}, MinLen: 3, MaxLen: 5, Bits: 8}
	}
	rng := crypt.TokenIndexSpec{Name: "age_rng", Kind: "range", Sources: []string{"age"}, Type: "int", Min: "0", Max: "150"}
	with := func(ts crypt.TokenIndexSpec, f func(*crypt.TokenIndexSpec)) crypt.TokenIndexSpec {
		f(&ts)
		return ts
	}
	tests := []struct {
		name      string
		spec      crypt.SchemaSpec
		wantField string
		wantOther string
		wantMsg   string
	}{
		{"unknown kind", spec(with(pre("p"), func(s *crypt.TokenIndexSpec) { s.Kind = "fuzzy" })), "p", "", "unknown token index kind"},
		{"N on a prefix index", spec(with(pre("p"), func(s *crypt.TokenIndexSpec) { s.N = 3 })), "p", "", "option n does not apply to a prefix index"},
		{"transforms on a range index", spec(with(rng, func(s *crypt.TokenIndexSpec) { s.Transforms = "trim" })), "age_rng", "", "option transform does not apply to a range index"},
		{"prefix without bits", spec(with(pre("p"), func(s *crypt.TokenIndexSpec) { s.Bits = 0 })), "p", "", "needs bits=N"},
		{"negative bits", spec(with(pre("p"), func(s *crypt.TokenIndexSpec) { s.Bits = -1 })), "p", "", "bits= refused"},
		{"prefix leaks", spec(with(pre("p"), func(s *crypt.TokenIndexSpec) { s.Bits = 20 })), "p", "", "nearly unique per prefix"},
		{"len inverted", spec(with(pre("p"), func(s *crypt.TokenIndexSpec) { s.MinLen = 6 })), "p", "", "len= refused"},
		{"range inverted", spec(with(rng, func(s *crypt.TokenIndexSpec) { s.Min, s.Max = "150", "0" })), "age_rng", "", "inverted"},
		{"range negative step", spec(with(rng, func(s *crypt.TokenIndexSpec) { s.Step = -5 })), "age_rng", "", "min/max/step= refused"},
		{"range scale on int", spec(with(rng, func(s *crypt.TokenIndexSpec) { s.Scale = 2 })), "age_rng", "", "scale does not apply"},
		{"two sources for a substring", spec(crypt.TokenIndexSpec{Name: "s", Kind: "substring", Sources: []string{"name", "home"}}), "s", "", "has one source"},
		{"no source", spec(crypt.TokenIndexSpec{Name: "s", Kind: "set", Bits: 8}), "s", "", "has no source"},
		{"source not encrypted", spec(crypt.TokenIndexSpec{Name: "s", Kind: "set", Bits: 8, Sources: []string{"id"}}), "s", "", `"id" is not an encrypted column`},
		{"sources of two classes", spec(crypt.TokenIndexSpec{Name: "s", Kind: "set", Bits: 8, Sources: []string{"home", "work"}}), "s", "", "one class only"},
		{"two token indexes named alike", spec(pre("p"), pre("p")), "p", "p", "as is another token index"},
		{"token index named like a column", spec(pre("name")), "name", "name", "as is a column"},
		{"token index named like a blind index", spec(pre("nidx")), "nidx", "name_idx", `token index named "nidx"`},
		{"token index named as a blind index's column", spec(pre("name_idx")), "name_idx", "name_idx", "as is a column"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := crypt.NewSchema(tt.spec)
			var pe *crypt.PlanError
			require.ErrorAs(t, err, &pe, "NewSchema")
			assert.Equal(t, "r", pe.Schema, "PlanError.Schema")
			assert.Equal(t, tt.wantField, pe.Field, "PlanError.Field")
			assert.Equal(t, tt.wantOther, pe.Other, "PlanError.Other")
			for _, want := range []string{"schema r", "column " + tt.wantField, tt.wantMsg} {
				assert.Contains(t, err.Error(), want)
			}
		})
	}
	_, err := crypt.NewSchema(spec(crypt.TokenIndexSpec{Kind: "set", Bits: 8, Sources: []string{"name"}}))
	assert.ErrorContains(t, err, "token index with no name")
}

// A PlanError's text names no value of a record: Validate never sees one,
// but a tag's min=/max= are configuration and may appear.
func TestTokenPlanErrorsNameNoValue(t *testing.T) {
	err := crypt.Validate(&tkRangeBadMin{ID: "x", Age: secretName})
	require.Error(t, err)
	assert.False(t, strings.Contains(err.Error(), secretName))
	var pe *crypt.PlanError
	assert.True(t, errors.As(err, &pe))
}
