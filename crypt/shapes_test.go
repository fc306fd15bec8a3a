package crypt_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

// The supported struct shapes, each round-tripped through Encrypt and
// Decrypt.

type ShapeAudit struct {
	CreatedBy string `crypt:"encrypt"`
}

type ShapeMeta struct {
	Source string `crypt:"encrypt"`
}

type shapeAddress struct {
	Street string `crypt:"encrypt,class=pii"`
	City   string // not tagged: stored as it is
}

type shapeLine struct {
	SKU    string `crypt:"encrypt"`
	SKUIdx string `crypt:"blind=SKU,bits=24"`
	Qty    int
}

type shapeOrder struct {
	ShapeAudit         // embedded: CreatedBy is promoted
	*ShapeMeta         // embedded pointer: nil stays nil
	Number     int64   `crypt:"id"`
	Branch     uint16  `crypt:"id"`
	TenantID   string  `crypt:"scope"`
	Secret     *string `crypt:"encrypt"`
	NilSecret  *string `crypt:"encrypt"`
	Empty      string  `crypt:"encrypt"`
	Blob       *[]byte `crypt:"encrypt"`
	NilBlob    []byte  `crypt:"encrypt"`
	EmptyBlob  []byte  `crypt:"encrypt"`
	Billing    shapeAddress
	Shipping   *shapeAddress
	NoShipping *shapeAddress
	Lines      []shapeLine
	Refs       []*shapeLine
	When       time.Time
	Count      int
	Ignored    string `crypt:"-"`
}

func sampleOrder() *shapeOrder {
	blob := []byte{0, 1, 2, 0xfc, 0x01}
	return &shapeOrder{
		ShapeAudit: ShapeAudit{CreatedBy: "ops@acme"},
		Number:     -42,
		Branch:     7,
		TenantID:   "acme",
		Secret:     ptr("s3cret"),
		Empty:      "",
		Blob:       &blob,
		EmptyBlob:  []byte{},
		Billing:    shapeAddress{Street: "1 Main St", City: "Springfield"},
		Shipping:   &shapeAddress{Street: "Dock 4", City: "Shelbyville"},
		Lines:      []shapeLine{{SKU: "A-1", Qty: 1}, {SKU: "B-2", Qty: 2}, {SKU: "A-1", Qty: 3}},
		Refs:       []*shapeLine{{SKU: "C-3"}, nil, {SKU: "A-1"}},
		When:       time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC),
		Count:      3,
		Ignored:    "fc1:not-touched",
	}
}

func TestShapesRoundTrip(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	require.NoError(t, crypt.Validate(&shapeOrder{}))
	o := sampleOrder()
	require.NoError(t, e.enc.Encrypt(ctx, o), "Encrypt(order)")

	isText := func(s string) bool { return strings.HasPrefix(s, "fc1:") }
	isBinary := func(b []byte) bool { return len(b) > 2 && b[0] == 0xfc && b[1] == 0x01 }
	checks := []struct {
		name string
		ok   bool
	}{
		{"embedded CreatedBy encrypted", isText(o.CreatedBy)},
		{"nil embedded pointer stays nil", o.ShapeMeta == nil},
		{"*string encrypted", o.Secret != nil && isText(*o.Secret)},
		{"nil *string stays nil", o.NilSecret == nil},
		{"empty string stays empty", o.Empty == ""},
		{"*[]byte encrypted", o.Blob != nil && isBinary(*o.Blob)},
		{"nil []byte stays nil", o.NilBlob == nil},
		{"empty []byte stays empty and non-nil", o.EmptyBlob != nil && len(o.EmptyBlob) == 0},
		{"nested struct field encrypted", isText(o.Billing.Street)},
		{"nested untagged field kept", o.Billing.City == "Springfield"},
		{"pointer to struct field encrypted", isText(o.Shipping.Street)},
		{"nil pointer to struct stays nil", o.NoShipping == nil},
		{"slice elements encrypted", isText(o.Lines[0].SKU) && isText(o.Lines[1].SKU)},
		{"slice element index computed", len(o.Lines[0].SKUIdx) == 6},
		{"slice-of-pointer elements encrypted", isText(o.Refs[0].SKU) && isText(o.Refs[2].SKU)},
		{"nil slice element stays nil", o.Refs[1] == nil},
		{"equal values, equal index", o.Lines[0].SKUIdx == o.Lines[2].SKUIdx},
		{"index of another slice, another subkey", o.Lines[0].SKUIdx != o.Refs[2].SKUIdx},
		{"untagged scalars kept", o.Count == 3 && o.Lines[1].Qty == 2 && o.When.Equal(sampleOrder().When)},
		{"crypt:\"-\" kept", o.Ignored == "fc1:not-touched"},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("after Encrypt: %s: not so", c.name)
		}
	}

	require.NoError(t, e.enc.Decrypt(ctx, o), "Decrypt(order)")
	want := sampleOrder()
	for i := range want.Lines {
		want.Lines[i].SKUIdx = o.Lines[i].SKUIdx
	}
	want.Refs[0].SKUIdx, want.Refs[2].SKUIdx = o.Refs[0].SKUIdx, o.Refs[2].SKUIdx
	assert.Equal(t, want, o, "Decrypt(Encrypt(order))")
}

// Integer identity fields are bound in decimal: another number, even with
// the same digits in another type, is another record.
func TestShapesIntegerIdentity(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	a := sampleOrder()
	require.NoError(t, e.enc.Encrypt(ctx, a))
	tests := []struct {
		name   string
		number int64
		branch uint16
		want   error
	}{
		{"same identity", -42, 7, nil},
		{"other sign", 42, 7, crypt.ErrDecrypt},
		{"other branch", -42, 8, crypt.ErrDecrypt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &shapeOrder{Number: tt.number, Branch: tt.branch, TenantID: "acme", Secret: ptr(*a.Secret)}
			err := e.enc.Decrypt(ctx, b)
			if tt.want == nil {
				require.NoError(t, err)
				assert.Equal(t, "s3cret", *b.Secret)
				return
			}
			assertFieldErr(t, "Decrypt(other identity)", err, "Secret", tt.want)
		})
	}
}

// Each slice element is bound to the path "Lines[].SKU", not to its
// position, and elements carry no identity of their own.
func TestShapesSliceElementPath(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	o := sampleOrder()
	require.NoError(t, e.enc.Encrypt(ctx, o))
	// A slice value moved to a top-level field with another path fails.
	moved := &shapeOrder{Number: o.Number, Branch: o.Branch, TenantID: "acme", ShapeAudit: ShapeAudit{CreatedBy: o.Lines[0].SKU}}
	err := e.enc.Decrypt(ctx, moved)
	assertFieldErr(t, "Decrypt(slice value in CreatedBy)", err, "CreatedBy", crypt.ErrDecrypt)
	// Failing in an element leaves every element as it was.
	o.Lines[1].SKU = o.CreatedBy // same class, other path
	before := *o
	before.Lines = append([]shapeLine(nil), o.Lines...)
	err = e.enc.Decrypt(ctx, o)
	assertFieldErr(t, "Decrypt(CreatedBy in Lines[1])", err, "Lines[].SKU", crypt.ErrDecrypt)
	assert.Equal(t, before.Lines, o.Lines)
	assert.Equal(t, before.CreatedBy, o.CreatedBy)
}

// EncryptAll and DecryptAll process slices of records.
func TestEncryptAllDecryptAll(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	recs := []Contact{*secretContact("c-1"), *secretContact("c-2")}
	require.NoError(t, crypt.EncryptAll(ctx, e.enc, recs))
	assert.True(t, strings.HasPrefix(recs[1].Email, "fc1:"))
	require.NoError(t, crypt.DecryptAll(ctx, e.enc, recs))
	assert.Equal(t, secretEmail, recs[1].Email)

	ptrs := []*Contact{secretContact("c-1"), clone(e.mustEncrypt(t, secretContact("c-2")))}
	err := crypt.EncryptAll(ctx, e.enc, ptrs)
	assertFieldErr(t, "EncryptAll(second encrypted)", err, "EmailIdx", crypt.ErrAlreadyEncrypted)
	assert.Contains(t, err.Error(), "record 1")
}

// Elements of one slice share their associated data: a value moved from one
// element to another of the same slice, in the same record, still
// decrypts. docs/FORMAT.md states this limit; give elements their own
// record type (a child table with its own id) when it matters.
func TestShapesSliceElementsShareAssociatedData(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	o := sampleOrder()
	require.NoError(t, e.enc.Encrypt(ctx, o))
	o.Lines[0].SKU, o.Lines[1].SKU = o.Lines[1].SKU, o.Lines[0].SKU
	require.NoError(t, e.enc.Decrypt(ctx, o))
	assert.Equal(t, []string{"B-2", "A-1"}, []string{o.Lines[0].SKU, o.Lines[1].SKU})
}
