package crypt_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

// Ambiguous bindings are refused at plan time. A value swapped between two
// fields bound under one path would decrypt, and two indexes bound under
// one name would share a subkey, so each such type is a *PlanError that
// names the struct and both fields (or both occurrences of an option).

// Two encrypted fields with the same name=.
type ambSameName struct {
	ID   string `crypt:"id"`
	Home string `crypt:"encrypt,name=Phone"`
	Work string `crypt:"encrypt,name=Phone"`
}

type ambAddress struct {
	Street string `crypt:"encrypt"`
	ZipIdx string `crypt:"blind=Street,transform=digits,name=zip,bits=16"`
}

// A name= that spells another field's nested path.
type ambDottedName struct {
	ID      string `crypt:"id"`
	Billing ambAddress
	Note    string `crypt:"encrypt,name=Billing.Street"`
}

// A name= that spells a path inside a slice element.
type ambSliceName struct {
	ID        string `crypt:"id"`
	Addresses []ambStreet
	Note      string `crypt:"encrypt,name=Addresses[].Street"`
}

type ambStreet struct {
	Street string `crypt:"encrypt"`
}

type ambPerson struct {
	Name string `crypt:"encrypt"`
}

// An embedded struct's Name shadowed by an outer Name, both encrypted
// under the path "Name".
type ambShadowEncrypted struct {
	ID string `crypt:"id"`
	ambPerson
	Name string `crypt:"encrypt"`
}

// An embedded struct's encrypted Name shadowed by an outer plain Name: the
// code reads (and encoding/json marshals) the plaintext one.
type ambShadowPlain struct {
	ID string `crypt:"id"`
	ambPerson
	Name string
}

type ambOtherPerson struct {
	Name string
}

// Two embedded structs with a Name each at the same depth: Go and
// encoding/json select neither.
type ambShadowSameDepth struct {
	ID string `crypt:"id"`
	ambPerson
	ambOtherPerson
}

type ambRenamedPerson struct {
	Name string `crypt:"encrypt,name=PersonName"`
}

// A promoted field with its own bound name is still hidden by the outer
// Name: json would drop it.
type ambShadowRenamed struct {
	ID string `crypt:"id"`
	ambRenamedPerson
	Name string `crypt:"encrypt"`
}

type ambIndexed struct {
	Email    string `crypt:"encrypt"`
	EmailIdx string `crypt:"blind=Email,bits=16"`
}

// One embedded struct type reached two ways: its Name is ambiguous in
// ambTwoWays, so json reads neither and both would bind the path Name.
type ambWayA struct{ ambPerson }
type ambWayB struct{ ambPerson }
type ambTwoWays struct {
	ID string `crypt:"id"`
	ambWayA
	ambWayB
}

// An embedded index field shadowed by an outer one at the same path.
type ambIndexPath struct {
	ID string `crypt:"id"`
	ambIndexed
	Other    string `crypt:"encrypt"`
	EmailIdx string `crypt:"blind=Other,bits=16"`
}

// Two indexes named zip: one subkey for both.
type ambIndexName struct {
	ID       string `crypt:"id"`
	Billing  ambAddress
	Shipping ambAddress
}

// An index named like a slice element's index.
type ambIndexNameSlice struct {
	ID        string `crypt:"id"`
	Street    string `crypt:"encrypt"`
	StreetIdx string `crypt:"blind=Street,name=zip,bits=16"`
	Addresses []ambAddress
}

// An index whose name is another index's path.
type ambIndexNameIsPath struct {
	ID       string `crypt:"id"`
	Email    string `crypt:"encrypt"`
	Phone    string `crypt:"encrypt"`
	EmailIdx string `crypt:"blind=Email,name=email,bits=16"`
	PhoneIdx string `crypt:"blind=Phone,name=EmailIdx,bits=16"`
}

// Two identity fields bound under one name.
type ambIDName struct {
	ID    string `crypt:"id"`
	Key   string `crypt:"id,name=ID"`
	Email string `crypt:"encrypt"`
}

// Repeated options.
type ambRepeatClass struct {
	ID    string `crypt:"id"`
	Email string `crypt:"encrypt,class=pii,class=support"`
}

type ambRepeatName struct {
	ID    string `crypt:"id"`
	Email string `crypt:"encrypt,name=A,name=B"`
}

type ambRepeatBits struct {
	ID       string `crypt:"id"`
	Email    string `crypt:"encrypt"`
	EmailIdx string `crypt:"blind=Email,bits=16,bits=32"`
}

type ambRepeatTransform struct {
	ID       string `crypt:"id"`
	Email    string `crypt:"encrypt"`
	EmailIdx string `crypt:"blind=Email,transform=lower,transform=trim,bits=16"`
}

type ambRepeatSlow struct {
	ID       string `crypt:"id"`
	Email    string `crypt:"encrypt"`
	EmailIdx string `crypt:"blind=Email,slow,slow,bits=16"`
}

type ambRepeatUnbound struct {
	_     struct{} `crypt:"record=r,unbound,unbound"`
	Email string   `crypt:"encrypt"`
}

// No identity.
type ambNoID struct {
	TenantID string `crypt:"scope"`
	Email    string `crypt:"encrypt"`
}

type ambNoIDSlice struct {
	Addresses []ambStreet
}

// unbound, yet with an identity.
type ambUnboundWithID struct {
	_     struct{} `crypt:"record=r,unbound"`
	ID    string   `crypt:"id"`
	Email string   `crypt:"encrypt"`
}

func TestPlanRefusesAmbiguity(t *testing.T) {
	tests := []struct {
		name      string
		v         any
		wantType  string // the struct that holds the field
		wantField string
		wantOther string // the other field, or the other option occurrence
		wantMsg   string // a fragment of the message
	}{
		{"same name=", &ambSameName{}, "ambSameName", "Work", "ambSameName.Home", `"Phone"`},
		{"name= spelling a nested path", &ambDottedName{}, "ambDottedName", "Note", "ambAddress.Street", `"Billing.Street"`},
		{"name= spelling a slice element's path", &ambSliceName{}, "ambSliceName", "Note", "ambStreet.Street", `"Addresses[].Street"`},
		{"embedded field shadowed by an encrypted one", &ambShadowEncrypted{}, "ambPerson", "Name", "ambShadowEncrypted.Name", "shallower"},
		{"embedded field shadowed by a plain one", &ambShadowPlain{}, "ambPerson", "Name", "ambShadowPlain.Name", "shallower"},
		{"embedded fields at the same depth", &ambShadowSameDepth{}, "ambPerson", "Name", "ambShadowSameDepth.ambOtherPerson.Name", "ambiguous"},
		{"one embedded type reached two ways", &ambTwoWays{}, "ambPerson", "Name", "ambTwoWays.ambWayB.ambPerson.Name", "(at ambWayA.ambPerson.Name)"},
		{"renamed embedded field shadowed", &ambShadowRenamed{}, "ambRenamedPerson", "Name", "ambShadowRenamed.Name", "encoding/json"},
		{"embedded index shadowed", &ambIndexPath{}, "ambIndexed", "EmailIdx", "ambIndexPath.EmailIdx", "shallower"},
		{"two indexes named zip", &ambIndexName{}, "ambAddress", "ZipIdx", "ambAddress.ZipIdx", `at Shipping.ZipIdx: blind index named "zip", as is ambAddress.ZipIdx (at Billing.ZipIdx)`},
		{"index named like a slice element's", &ambIndexNameSlice{}, "ambIndexNameSlice", "StreetIdx", "ambAddress.ZipIdx", "(at Addresses[].ZipIdx): indexes of one class with one name derive the same subkey"},
		{"index named as another's path", &ambIndexNameIsPath{}, "ambIndexNameIsPath", "PhoneIdx", "ambIndexNameIsPath.EmailIdx", `"EmailIdx"`},
		{"two ids under one name", &ambIDName{}, "ambIDName", "Key", "ambIDName.ID", `"ID"`},
		{"class= twice", &ambRepeatClass{}, "ambRepeatClass", "Email", "class=support", "class=pii"},
		{"name= twice", &ambRepeatName{}, "ambRepeatName", "Email", "name=B", "name=A"},
		{"bits= twice", &ambRepeatBits{}, "ambRepeatBits", "EmailIdx", "bits=32", "bits=16"},
		{"transform= twice", &ambRepeatTransform{}, "ambRepeatTransform", "EmailIdx", "transform=trim", "transform=lower"},
		{"slow twice", &ambRepeatSlow{}, "ambRepeatSlow", "EmailIdx", "slow", "twice"},
		{"unbound twice", &ambRepeatUnbound{}, "ambRepeatUnbound", "_", "unbound", "twice"},
		{"no identity", &ambNoID{}, "ambNoID", "Email", "", "unbound"},
		{"no identity, fields in a slice", &ambNoIDSlice{}, "ambStreet", "Street", "", "binds no identity"},
		{"unbound with an identity", &ambUnboundWithID{}, "ambUnboundWithID", "_", "ambUnboundWithID.ID", "drop unbound"},
	}
	e := newEnv(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pe := assertPlanRefused(t, e, tt.v, tt.wantType, tt.wantField, tt.wantType+"."+tt.wantField, tt.wantOther, tt.wantMsg)
			if pe.Other != tt.wantOther {
				t.Errorf("PlanError.Other = %q, want %q", pe.Other, tt.wantOther)
			}
		})
	}
}

// Types that look alike but bind every field and index once are accepted.

type ambEmbedded struct {
	Email    string `crypt:"encrypt"`
	EmailIdx string `crypt:"blind=Email,bits=16"`
}

type ambFine struct {
	_              struct{} `crypt:"record=fine"`
	ID             string   `crypt:"id"`
	ambEmbedded             // promoted, shadowed by nothing
	Billing        ambAddressDefault
	Shipping       ambAddressDefault // same Go names, other paths
	Name           string            `crypt:"encrypt"`
	ambOtherPerson                   // its plain Name is shadowed by the encrypted one: json reads the outer one too
	Aliases        []ambStreet
}

type ambAddressDefault struct {
	Street string `crypt:"encrypt"`
	ZipIdx string `crypt:"blind=Street,transform=digits,bits=16"` // named by its path: Billing.ZipIdx, Shipping.ZipIdx
}

type ambUnbound struct {
	_        struct{} `crypt:"record=audit_line,unbound"`
	TenantID string   `crypt:"scope"`
	Text     string   `crypt:"encrypt"`
}

type ambIndexOnly struct {
	Email    string
	EmailIdx string `crypt:"blind=Email,bits=16"`
}

func TestPlanAcceptsDistinctBindings(t *testing.T) {
	for _, v := range []any{&ambFine{}, &ambUnbound{}, &ambIndexOnly{}} {
		if err := crypt.Validate(v); err != nil {
			t.Errorf("Validate(%T) err = %v, want nil", v, err)
		}
	}
}

// The opt-out works, and gives up what its documentation says: a whole
// row's values move to another row of the same scope and decrypt there.
func TestUnboundRecordRoundTrips(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	a := &ambUnbound{TenantID: "acme", Text: "first line"}
	b := &ambUnbound{TenantID: "acme", Text: "second line"}
	require.NoError(t, e.enc.Encrypt(ctx, a), "Encrypt(a)")
	require.NoError(t, e.enc.Encrypt(ctx, b), "Encrypt(b)")
	a.Text, b.Text = b.Text, a.Text
	require.NoError(t, e.enc.Decrypt(ctx, a), "Decrypt(a after swap)")
	assert.Equal(t, "second line", a.Text, "unbound rows swap whole: that is the documented cost")
}

// Before this refusal the planner accepted ambSameName, and a value copied
// from Home into Work decrypted there. Now neither Encrypt nor Decrypt runs
// on it; its twin with distinct names binds each field, and the same swap
// fails.
type ambSameNameFixed struct {
	ID   string `crypt:"id"`
	Home string `crypt:"encrypt,name=HomePhone"`
	Work string `crypt:"encrypt,name=WorkPhone"`
}

type ambShadowFixed struct {
	ID     string `crypt:"id"`
	Person ambPerson
	Name   string `crypt:"encrypt"`
}

func TestAmbiguousSwapRefused(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	var pe *crypt.PlanError

	amb := &ambSameName{ID: "r-1", Home: "+1 555 0100", Work: "+1 555 0199"}
	if err := e.enc.Encrypt(ctx, amb); !errors.As(err, &pe) {
		t.Fatalf("Encrypt(%T) err = %v, want *crypt.PlanError", amb, err)
	}
	amb.Work = "fc1:AAAA" // a value copied from the other field
	if err := e.enc.Decrypt(ctx, amb); !errors.As(err, &pe) {
		t.Fatalf("Decrypt(%T) err = %v, want *crypt.PlanError", amb, err)
	}

	fixed := &ambSameNameFixed{ID: "r-1", Home: "+1 555 0100", Work: "+1 555 0199"}
	require.NoError(t, e.enc.Encrypt(ctx, fixed))
	fixed.Work = fixed.Home
	assertFieldErr(t, "Decrypt(Home copied into Work)", e.enc.Decrypt(ctx, fixed), "WorkPhone", crypt.ErrDecrypt)

	shadow := &ambShadowEncrypted{ID: "r-1", Name: "outer"}
	shadow.ambPerson.Name = "inner"
	if err := e.enc.Encrypt(ctx, shadow); !errors.As(err, &pe) {
		t.Fatalf("Encrypt(%T) err = %v, want *crypt.PlanError", shadow, err)
	}
	named := &ambShadowFixed{ID: "r-1", Person: ambPerson{Name: "inner"}, Name: "outer"}
	require.NoError(t, e.enc.Encrypt(ctx, named))
	named.Name = named.Person.Name
	assertFieldErr(t, "Decrypt(Person.Name copied into Name)", e.enc.Decrypt(ctx, named), "Name", crypt.ErrDecrypt)
}

// The same refusals hold for a record described by a SchemaSpec: errors
// name the schema and both columns.
func TestSchemaRefusesAmbiguity(t *testing.T) {
	ids := []crypt.ColumnName{{Column: "id", Name: "ID"}}
	tests := []struct {
		name      string
		spec      crypt.SchemaSpec
		wantField string // the column at fault
		wantOther string // the other column
		wantMsg   string
	}{
		{"same field name", crypt.SchemaSpec{Record: "r", IDs: ids, Fields: []crypt.FieldSpec{
			{Column: "home", Name: "Phone"}, {Column: "work", Name: "Phone"}}}, "work", "home", `"Phone"`},
		{"a name spelling another's nested path", crypt.SchemaSpec{Record: "r", IDs: ids, Fields: []crypt.FieldSpec{
			{Column: "billing_street", Name: "Billing.Street"}, {Column: "note", Name: "Billing.Street"}}}, "note", "billing_street", `"Billing.Street"`},
		{"a name equal to another's column", crypt.SchemaSpec{Record: "r", IDs: ids, Fields: []crypt.FieldSpec{
			{Column: "email"}, {Column: "mail", Name: "email"}}}, "mail", "email", `"email"`},
		{"two indexes named zip", crypt.SchemaSpec{Record: "r", IDs: ids,
			Fields: []crypt.FieldSpec{{Column: "billing_zip"}, {Column: "shipping_zip"}},
			Indexes: []crypt.IndexSpec{
				{Column: "billing_zip_idx", Name: "zip", Sources: []string{"billing_zip"}, Bits: 16},
				{Column: "shipping_zip_idx", Name: "zip", Sources: []string{"shipping_zip"}, Bits: 16},
			}}, "shipping_zip_idx", "billing_zip_idx", "subkey"},
		{"two ids under one name", crypt.SchemaSpec{Record: "r",
			IDs:    []crypt.ColumnName{{Column: "id", Name: "ID"}, {Column: "key", Name: "ID"}},
			Fields: []crypt.FieldSpec{{Column: "email"}}}, "key", "id", `"ID"`},
		{"no identity", crypt.SchemaSpec{Record: "r", Fields: []crypt.FieldSpec{{Column: "email"}}}, "email", "", "Unbound"},
		{"unbound with an identity", crypt.SchemaSpec{Record: "r", IDs: ids, Unbound: true,
			Fields: []crypt.FieldSpec{{Column: "email"}}}, "id", "id", "drop unbound"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := crypt.NewSchema(tt.spec)
			var pe *crypt.PlanError
			if !errors.As(err, &pe) {
				t.Fatalf("NewSchema(%+v) err = %v, want *crypt.PlanError", tt.spec, err)
			}
			if pe.Schema != "r" || pe.Field != tt.wantField || pe.Other != tt.wantOther {
				t.Errorf("PlanError{Schema, Field, Other} = %q, %q, %q; want r, %q, %q", pe.Schema, pe.Field, pe.Other, tt.wantField, tt.wantOther)
			}
			msg := err.Error()
			for _, want := range []string{"schema r", "column " + tt.wantField, tt.wantOther, tt.wantMsg} {
				if !strings.Contains(msg, want) {
					t.Errorf("NewSchema() err = %q, want it to contain %q", msg, want)
				}
			}
		})
	}
	// The opt-out compiles, and an unbound row swaps whole, as documented.
	ctx := context.Background()
	e := newEnv(t)
	s, err := crypt.NewSchema(crypt.SchemaSpec{Record: "audit_line", Scope: "tenant_id", Unbound: true,
		Fields: []crypt.FieldSpec{{Column: "text"}}})
	require.NoError(t, err, "NewSchema(Unbound)")
	a, b := crypt.Row{"tenant_id": "acme", "text": "first"}, crypt.Row{"tenant_id": "acme", "text": "second"}
	require.NoError(t, e.enc.EncryptRow(ctx, s, a))
	require.NoError(t, e.enc.EncryptRow(ctx, s, b))
	a["text"] = b["text"]
	require.NoError(t, e.enc.DecryptRow(ctx, s, a))
	assert.Equal(t, "second", a["text"])
}
