package crypt_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

// fuzzRecordType builds a record type whose fields A, B, C and Tok carry the
// given crypt tags, beside an id, a scope and a record name.
func fuzzRecordType(tagA, tagB, tagC, tagTok string) reflect.Type {
	tag := func(s string) reflect.StructTag { return reflect.StructTag("crypt:" + strconv.Quote(s)) }
	str := reflect.TypeFor[string]()
	return reflect.StructOf([]reflect.StructField{
		{Name: "ID", Type: str, Tag: tag("id")},
		{Name: "TenantID", Type: str, Tag: tag("scope")},
		{Name: "A", Type: str, Tag: tag(tagA)},
		{Name: "B", Type: reflect.TypeFor[*string](), Tag: tag(tagB)},
		{Name: "C", Type: str, Tag: tag(tagC)},
		{Name: "Tok", Type: reflect.TypeFor[crypt.Tokens](), Tag: tag(tagTok)},
		{Name: "_", PkgPath: "fuzz", Type: reflect.TypeFor[struct{}](), Tag: tag("record=fuzzrec")},
	})
}

// FuzzStructTags plans records whose tags are arbitrary: Validate and
// SchemaOf never panic and refuse a bad tag with a *PlanError naming the
// field; a record type they accept encrypts and decrypts back to its
// values, and its SchemaOf compiles.
func FuzzStructTags(f *testing.F) {
	f.Add("encrypt,class=pii", "encrypt", "blind=A,bits=16", "prefix=A,len=3..8,bits=8", "Ada@Example.com", "x")
	f.Add("encrypt,class=support", "encrypt,class=support", "blind=A+B,transform=lower+trim,population=1000", "set=A+B,bits=8", "a", "b")
	f.Add("encrypt", "encrypt", "", "substring=A,transform=lower,n=3,tokens=16,bits=12", "Lovelace", "")
	f.Add("encrypt", "encrypt", "blind=B,slow,bits=8", "range=A,type=int,min=0,max=1000,step=10", "42", "y")
	f.Add("encrypt", "-", "", "range=A,type=date,min=1900-01-01,max=2030-12-31,step=1", "1815-12-10", "")
	f.Add("encrypt", "", "", "range=A,type=decimal,min=0,max=100,scale=2,step=1", "12.34", "")
	f.Add("encrypt,name=Mail", "encrypt", "blind=Mail,bits=16", "suffix=A,len=2..4,bits=8", "x", "y")
	f.Add("scope", "encrypt", "blind=Nope,bits=16", "", "", "")
	f.Add("id", "encrypt,class=nope", "blind=A,bits=300", "prefix=A", "", "")
	f.Add("blind=B,bits=8", "encrypt", "blind=A,bits=8", "set=C,bits=8", "", "")
	f.Add("record=x", "encrypt", "encrypt,name=A", "", "", "")
	fields := []string{"ID", "TenantID", "A", "B", "C", "Tok", "_"}
	e := newEnv(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, tagA, tagB, tagC, tagTok, a, b string) {
		typ := fuzzRecordType(tagA, tagB, tagC, tagTok)
		checkErr := func(what string, err error) {
			var pe *crypt.PlanError
			if !errors.As(err, &pe) {
				t.Fatalf("%s(%v) err = %T %v, want a *PlanError", what, typ, err, err)
			}
			if !slices.Contains(fields, pe.Field) || !strings.Contains(err.Error(), "."+pe.Field+":") {
				t.Fatalf("%s(%v) err = %q names no field of the record (Field %q)", what, typ, err, pe.Field)
			}
		}
		v := reflect.New(typ)
		if err := crypt.Validate(v.Interface()); err != nil {
			checkErr("Validate", err)
			if _, err2 := crypt.SchemaOf(v.Interface()); err2 == nil {
				t.Fatalf("Validate(%v) err = %v, but SchemaOf accepts it", typ, err)
			}
			return
		}
		if spec, err := crypt.SchemaOf(v.Interface()); err != nil {
			checkErr("SchemaOf", err)
		} else if _, err := crypt.NewSchema(spec); err != nil {
			t.Fatalf("SchemaOf(%v) = %+v, which NewSchema refuses: %v", typ, spec, err)
		}

		rec := v.Elem()
		rec.Field(0).SetString("r-1")
		rec.Field(1).SetString("acme")
		rec.Field(2).SetString(a)
		rec.Field(3).Set(reflect.ValueOf(&b))
		rec.Field(4).SetString(b)
		want := [3]string{a, b, b}
		if err := e.enc.Encrypt(ctx, v.Interface()); err != nil {
			return // unknown classes, range values outside their domain
		}
		if err := e.enc.Decrypt(ctx, v.Interface()); err != nil {
			t.Fatalf("Decrypt(Encrypt(%v)) err = %v", typ, err)
		}
		got := [3]string{rec.Field(2).String(), *rec.Field(3).Interface().(*string), rec.Field(4).String()}
		for i, tg := range []string{tagA, tagB, tagC} {
			// A blind index keeps what Encrypt set; every other
			// field is back as it was.
			directive, _, _ := strings.Cut(tg, ",")
			directive, _, _ = strings.Cut(directive, "=")
			if directive != "blind" && got[i] != want[i] {
				t.Fatalf("Decrypt(Encrypt(%v)) = %q, want %q", typ, got, want)
			}
		}
	})
}
