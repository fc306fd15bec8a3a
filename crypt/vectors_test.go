package crypt_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"google.golang.org/protobuf/proto"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/crypt/blind"
	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/local"
)

// Golden vectors for the stored value format, version 1 (docs/FORMAT.md).
// testdata/vectors.json holds fixed test keysets, records, the associated
// data of every field, the stored values and the blind-index values. The
// tests below decrypt every vector through the public API and, separately,
// with only crypto/aes, crypto/cipher and x/crypto/chacha20poly1305 given
// the raw key bytes, as an independent implementation would.
// testdata/keystatus.json adds wrapped keysets with a disabled and a
// destroyed key, and values under them with the outcome each must have
// (see writeKeyStatusVectors).
//
// Regenerate with: go test ./crypt -run TestVectors -update
// (ciphertexts change on every run: nonces are random). It rewrites both
// files; keep the one you did not mean to change (git checkout), since
// docs/FORMAT.md quotes bytes of vectors.json.

var update = flag.Bool("update", false, "regenerate testdata/vectors.json through the public API")

const vectorsFile = "testdata/vectors.json"

// VectorContact is the record type of most vectors.
type VectorContact struct {
	_        struct{} `crypt:"record=contact"`
	ID       string   `crypt:"id"`
	TenantID string   `crypt:"scope"`
	Name     string   `crypt:"encrypt,class=pii"`
	Email    string   `crypt:"encrypt,class=pii"`
	EmailIdx string   `crypt:"blind=Email,transform=lower+trim,bits=32"`
	Phone    *string  `crypt:"encrypt,class=pii"`
	Notes    []byte   `crypt:"encrypt,class=support"`
}

// VectorInvoice has no scope field (the default scope), a composite
// identity with an integer, an XChaCha20-Poly1305 class, a field bound
// under another name and a nested struct.
type VectorInvoice struct {
	Number  int64  `crypt:"id,name=number"`
	Region  string `crypt:"id"`
	Amount  string `crypt:"encrypt,class=financial,name=amount"`
	Memo    []byte `crypt:"encrypt"`
	Billing VectorAddress
}

// VectorAddress is nested in VectorInvoice: its field's path is
// "Billing.Street".
type VectorAddress struct {
	Street string `crypt:"encrypt,class=pii"`
}

// VectorLead shows the index shapes: a compound index, a slow (Argon2id)
// index, an index with a name= option, one in a nested struct and one in
// the elements of a slice.
type VectorLead struct {
	_         struct{} `crypt:"record=lead"`
	ID        string   `crypt:"id"`
	TenantID  string   `crypt:"scope"`
	First     string   `crypt:"encrypt,class=pii"`
	Last      string   `crypt:"encrypt,class=pii"`
	NameIdx   string   `crypt:"blind=First+Last,transform=lower,bits=24"`
	FirstIdx  string   `crypt:"blind=First,transform=lower+trim,bits=16,name=first_name"`
	SSN       string   `crypt:"encrypt,class=pii"`
	SSNIdx    string   `crypt:"blind=SSN,transform=digits,bits=20,slow"`
	Home      VectorLeadAddress
	Visits    []VectorVisit
	CreatedBy string
}

// VectorLeadAddress is nested in VectorLead: its index's path is
// "Home.ZipIdx".
type VectorLeadAddress struct {
	Zip    string `crypt:"encrypt,class=pii"`
	ZipIdx string `crypt:"blind=Zip,transform=trim,bits=12"`
}

// VectorVisit is an element of VectorLead.Visits: its fields' paths are
// "Visits[].Place" and "Visits[].PlaceIdx".
type VectorVisit struct {
	Place    string `crypt:"encrypt,class=pii"`
	PlaceIdx string `crypt:"blind=Place,transform=lower,bits=8"`
}

var vectorTypes = map[string]reflect.Type{
	"VectorContact": reflect.TypeFor[VectorContact](),
	"VectorInvoice": reflect.TypeFor[VectorInvoice](),
	"VectorLead":    reflect.TypeFor[VectorLead](),
}

// vectorFile is the layout of testdata/vectors.json; docs/FORMAT.md
// describes it.
type vectorFile struct {
	Description []string       `json:"description"`
	Keysets     []vectorKeyset `json:"keysets"`
	Records     []vectorRecord `json:"records"`
}

type vectorKeyset struct {
	fixedKeyset
	// TinkKeyset is the same keyset in Tink's cleartext JSON format.
	TinkKeyset json.RawMessage `json:"tink_cleartext_keyset"`
}

type vectorRecord struct {
	Name       string        `json:"name"`
	GoType     string        `json:"go_type"`
	RecordType string        `json:"record_type"`
	Scope      string        `json:"scope"`
	ScopeField string        `json:"scope_field,omitempty"` // empty: no scope field, scope "default"
	IDs        []vectorID    `json:"ids"`
	Fields     []vectorField `json:"fields"`
	Indexes    []vectorIndex `json:"indexes,omitempty"`
}

type vectorID struct {
	GoField string `json:"go_field"`
	Name    string `json:"name"`  // as bound into associated data
	Value   string `json:"value"` // canonical text: integers in decimal
}

type vectorField struct {
	GoField           string `json:"go_field"`
	Path              string `json:"path"` // as bound into associated data
	Class             string `json:"class"`
	Form              string `json:"form"` // "text" or "binary"
	Algorithm         string `json:"algorithm"`
	KeyID             uint32 `json:"key_id"`
	Plaintext         string `json:"plaintext,omitempty"`     // text form: the UTF-8 string
	PlaintextHex      string `json:"plaintext_hex,omitempty"` // binary form
	AADHex            string `json:"aad_hex"`
	Stored            string `json:"stored,omitempty"`     // text form: the column value
	StoredHex         string `json:"stored_hex,omitempty"` // binary form: the column bytes
	TinkCiphertextHex string `json:"tink_ciphertext_hex"`
	NonceHex          string `json:"nonce_hex"`
	TagHex            string `json:"tag_hex"`
	// Outcome is what a reader must do with the value (testdata/keystatus.json):
	// "decrypts", or the error it fails with ("ErrKeyDisabled",
	// "ErrKeyDestroyed", "ErrKeyNotFound"). Absent means "decrypts".
	Outcome string `json:"outcome,omitempty"`
}

type vectorIndex struct {
	GoField    string             `json:"go_field"`
	IndexName  string             `json:"index_name"` // bound into the subkey
	Class      string             `json:"class"`
	Sources    []string           `json:"sources"` // Go fields
	Inputs     []string           `json:"inputs"`  // the source plaintexts, before transforms
	Transforms string             `json:"transforms"`
	Bits       int                `json:"bits"`
	Argon2id   *vectorArgon2id    `json:"argon2id,omitempty"` // set for a slow index
	Stored     string             `json:"stored"`             // what Encrypt wrote: the primary key's value
	Values     []vectorIndexValue `json:"values"`             // one per enabled index key, primary first
	// Set in testdata/keystatus.json, where a stored index value may have
	// been written by a key that was primary then: that key, its status
	// now ("ENABLED", "DISABLED" or "DESTROYED"), and whether a query
	// (Values) still matches the stored value.
	StoredKeyID      uint32 `json:"stored_key_id,omitempty"`
	StoredKeyStatus  string `json:"stored_key_status,omitempty"`
	QueryFindsStored *bool  `json:"query_finds_stored,omitempty"`
}

// vectorArgon2id are the parameters of a slow index: Argon2id version 0x13.
type vectorArgon2id struct {
	Time      uint32 `json:"time"`
	MemoryKiB uint32 `json:"memory_kib"`
	Threads   uint8  `json:"threads"`
}

type vectorIndexValue struct {
	KeyID     uint32 `json:"key_id"`
	SubkeyHex string `json:"subkey_hex"`
	Value     string `json:"value"`
}

// Key IDs of the vector keysets.
const (
	vkPIIOld      = 0x2a3b4c5d
	vkPII         = 0x6e7f8091
	vkPIIIndex    = 0x1d2e3f40
	vkPIIIndexNew = 0x51627384
	vkSupport     = 0x13579bdf
	vkGlobexIndex = 0x7a6b5c4d
	vkFinancial   = 0x0f1e2d3c
	vkDefault     = 0x44556677
	vkDefaultPII  = 0x38291a0b
)

// vectorKeysets are the fixed keysets of the vectors. globex/pii/data holds
// the same key bytes and IDs as acme/pii/data on purpose: its vector shows
// that the associated data alone separates tenants. Real keysets never
// share keys.
func vectorKeysets() []fixedKeyset {
	k := func(id uint32, label string) fixedKey {
		return fixedKey{ID: id, Status: "ENABLED", KeyHex: testKeyHex("vectors " + label)}
	}
	acmePII := []fixedKey{k(vkPIIOld, "acme/pii/data old"), k(vkPII, "acme/pii/data")}
	return []fixedKeyset{
		{Scope: "acme", Class: "pii", Purpose: "data", Algorithm: algAESGCM, PrimaryID: vkPII, Keys: acmePII},
		{Scope: "acme", Class: "pii", Purpose: "index", Algorithm: algHMACPRF, PrimaryID: vkPIIIndex,
			Keys: []fixedKey{k(vkPIIIndex, "acme/pii/index"), k(vkPIIIndexNew, "acme/pii/index new")}},
		{Scope: "acme", Class: "support", Purpose: "data", Algorithm: algAESGCM, PrimaryID: vkSupport,
			Keys: []fixedKey{k(vkSupport, "acme/support/data")}},
		{Scope: "globex", Class: "pii", Purpose: "data", Algorithm: algAESGCM, PrimaryID: vkPII, Keys: acmePII},
		{Scope: "globex", Class: "pii", Purpose: "index", Algorithm: algHMACPRF, PrimaryID: vkGlobexIndex,
			Keys: []fixedKey{k(vkGlobexIndex, "globex/pii/index")}},
		{Scope: "default", Class: "financial", Purpose: "data", Algorithm: algXChaCha, PrimaryID: vkFinancial,
			Keys: []fixedKey{k(vkFinancial, "default/financial/data")}},
		{Scope: "default", Class: "default", Purpose: "data", Algorithm: algAESGCM, PrimaryID: vkDefault,
			Keys: []fixedKey{k(vkDefault, "default/default/data")}},
		{Scope: "default", Class: "pii", Purpose: "data", Algorithm: algAESGCM, PrimaryID: vkDefaultPII,
			Keys: []fixedKey{k(vkDefaultPII, "default/pii/data")}},
	}
}

// vectorSpec is one record to generate: a plaintext record, the keys to
// encrypt under, and which fields and indexes to describe.
type vectorSpec struct {
	name    string
	record  any               // a pointer to a plaintext record
	primary map[string]uint32 // "scope/class/purpose" → the primary key to encrypt under
	fields  []specField
	indexes []specIndex
}

type specField struct{ goField, path, class string }

type specIndex struct {
	goField, name, class, transforms string
	sources                          []string // Go field paths of the sources
	bits                             int
	slow                             bool
}

var contactEmailIdx = specIndex{goField: "EmailIdx", name: "EmailIdx", class: "pii", transforms: "lower+trim", sources: []string{"Email"}, bits: 32}

func vectorSpecs() []vectorSpec {
	allBytes := make([]byte, 256)
	for i := range allBytes {
		allBytes[i] = byte(i)
	}
	return []vectorSpec{
		{
			name: "contact under the primary keys",
			record: &VectorContact{ID: "c-1", TenantID: "acme", Name: "Ada Lovelace", Email: " Ada@Example.com",
				Phone: ptr("+44 20 7946 0018"), Notes: []byte("asked about invoice 42\x00\xfc\x01")},
			fields:  []specField{{"Name", "Name", "pii"}, {"Email", "Email", "pii"}, {"Phone", "Phone", "pii"}, {"Notes", "Notes", "support"}},
			indexes: []specIndex{contactEmailIdx},
		},
		{
			name:    "contact under the previous (non-primary) pii key; 256-byte binary note",
			record:  &VectorContact{ID: "c-2", TenantID: "acme", Name: "Grace Hopper", Email: "grace@example.com", Notes: allBytes},
			primary: map[string]uint32{"acme/pii/data": vkPIIOld},
			fields:  []specField{{"Name", "Name", "pii"}, {"Email", "Email", "pii"}, {"Notes", "Notes", "support"}},
			indexes: []specIndex{contactEmailIdx},
		},
		{
			name:    "contact c-1 in tenant globex, whose pii data keyset shares acme's key bytes",
			record:  &VectorContact{ID: "c-1", TenantID: "globex", Name: "Ada Lovelace", Email: " Ada@Example.com"},
			fields:  []specField{{"Name", "Name", "pii"}, {"Email", "Email", "pii"}},
			indexes: []specIndex{contactEmailIdx},
		},
		{
			name: "invoice in the default scope: integer id, XChaCha20-Poly1305, renamed and nested fields",
			record: &VectorInvoice{Number: 1000042, Region: "eu-west", Amount: "1234.50 EUR", Memo: []byte("net 30"),
				Billing: VectorAddress{Street: "Königstraße 5, München"}},
			fields: []specField{{"Amount", "amount", "financial"}, {"Memo", "Memo", "default"}, {"Billing.Street", "Billing.Street", "pii"}},
		},
		{
			name:   "invoice with a negative number and an empty id",
			record: &VectorInvoice{Number: -7, Region: "", Amount: "0.00"},
			fields: []specField{{"Amount", "amount", "financial"}},
		},
		{
			name: "lead: compound, slow, name=, nested and slice-element indexes",
			record: &VectorLead{ID: "l-7", TenantID: "acme", First: "Grace ", Last: "HOPPER", SSN: "078-05-1120",
				Home:   VectorLeadAddress{Zip: " 10001 "},
				Visits: []VectorVisit{{Place: "Arlington"}, {Place: "NEW YORK"}}},
			fields: []specField{{"First", "First", "pii"}, {"Last", "Last", "pii"}, {"SSN", "SSN", "pii"},
				{"Home.Zip", "Home.Zip", "pii"}, {"Visits[0].Place", "Visits[].Place", "pii"}, {"Visits[1].Place", "Visits[].Place", "pii"}},
			indexes: []specIndex{
				{goField: "NameIdx", name: "NameIdx", class: "pii", transforms: "lower", sources: []string{"First", "Last"}, bits: 24},
				{goField: "FirstIdx", name: "first_name", class: "pii", transforms: "lower+trim", sources: []string{"First"}, bits: 16},
				{goField: "SSNIdx", name: "SSNIdx", class: "pii", transforms: "digits", sources: []string{"SSN"}, bits: 20, slow: true},
				{goField: "Home.ZipIdx", name: "Home.ZipIdx", class: "pii", transforms: "trim", sources: []string{"Home.Zip"}, bits: 12},
				{goField: "Visits[0].PlaceIdx", name: "Visits[].PlaceIdx", class: "pii", transforms: "lower", sources: []string{"Visits[0].Place"}, bits: 8},
				{goField: "Visits[1].PlaceIdx", name: "Visits[].PlaceIdx", class: "pii", transforms: "lower", sources: []string{"Visits[1].Place"}, bits: 8},
			},
		},
	}
}

func TestVectors(t *testing.T) {
	if *update {
		writeVectors(t)
		writeKeyStatusVectors(t)
	}
	vf := readVectors(t)
	require.NotEmpty(t, vf.Records)
	kf := readKeyStatusVectors(t)
	require.NotEmpty(t, kf.Records)

	t.Run("keysets", func(t *testing.T) {
		checkVectorKeysets(t, vf)
		t.Run("key status", func(t *testing.T) { checkKeyStatusKEK(t, kf) })
	})
	t.Run("public API", func(t *testing.T) {
		checkVectorsPublicAPI(t, vf)
		t.Run("key status", func(t *testing.T) { checkKeyStatusPublicAPI(t, kf) })
	})
	t.Run("associated data", func(t *testing.T) {
		checkVectorsAAD(t, vf)
		for _, r := range kf.Records {
			for _, f := range r.Fields {
				if got := hex.EncodeToString(fieldAAD(r.Scope, r.RecordType, r.IDs, f.Path)); got != f.AADHex {
					t.Errorf("%s %s: independent AAD = %s, vector aad_hex = %s", r.Name, f.Path, got, f.AADHex)
				}
			}
		}
	})
	t.Run("independent decryption", func(t *testing.T) {
		checkVectorsIndependent(t, vf)
		t.Run("key status", func(t *testing.T) { checkKeyStatusIndependent(t, kf) })
	})
	t.Run("independent blind indexes", func(t *testing.T) {
		checkVectorIndexesIndependent(t, vf)
		t.Run("key status", func(t *testing.T) { checkKeyStatusIndexesIndependent(t, kf) })
	})
}

func readVectors(t *testing.T) *vectorFile {
	t.Helper()
	data, err := os.ReadFile(vectorsFile)
	require.NoError(t, err, "read %s (regenerate with -update)", vectorsFile)
	var vf vectorFile
	require.NoError(t, json.Unmarshal(data, &vf), "parse %s", vectorsFile)
	return &vf
}

func (vf *vectorFile) fixedKeysets() []fixedKeyset {
	out := make([]fixedKeyset, len(vf.Keysets))
	for i, k := range vf.Keysets {
		out[i] = k.fixedKeyset
	}
	return out
}

func (vf *vectorFile) keyset(scope, class, purpose string) (fixedKeyset, bool) {
	for _, k := range vf.Keysets {
		if k.Scope == scope && k.Class == class && k.Purpose == purpose {
			return k.fixedKeyset, true
		}
	}
	return fixedKeyset{}, false
}

// checkVectorKeysets checks that each keyset's Tink JSON holds the listed
// keys.
func checkVectorKeysets(t *testing.T, vf *vectorFile) {
	for _, k := range vf.Keysets {
		want, err := k.proto()
		require.NoError(t, err)
		got, err := keyset.NewJSONReader(strings.NewReader(string(k.TinkKeyset))).Read()
		require.NoError(t, err, "parse tink_cleartext_keyset of %v", k.id())
		if !proto.Equal(want, got) {
			t.Errorf("keyset %v: tink_cleartext_keyset does not match keys", k.id())
		}
	}
}

// checkVectorsPublicAPI decrypts every vector with crypt.Decrypt through a
// keyring holding the vector keysets, and recomputes the blind indexes.
func checkVectorsPublicAPI(t *testing.T, vf *vectorFile) {
	ctx := context.Background()
	e := fixedEnv(t, vf.fixedKeysets())
	for _, r := range vf.Records {
		t.Run(r.Name, func(t *testing.T) {
			rec := r.storedRecord(t)
			require.NoError(t, e.enc.Decrypt(ctx, rec.Interface()), "Decrypt(%s)", r.Name)
			for _, f := range r.Fields {
				got := fieldByPath(rec.Elem(), f.GoField)
				if f.Form == "text" {
					assert.Equal(t, f.Plaintext, textOf(got), "decrypted %s", f.GoField)
				} else {
					assert.Equal(t, f.PlaintextHex, hex.EncodeToString(bytesOf(got)), "decrypted %s", f.GoField)
				}
			}
			for _, ix := range r.Indexes {
				if inSlice(ix.GoField) {
					continue // not queryable; Encrypt's stored value is checked below
				}
				q := r.queryRecord(t, ix)
				vals, err := e.enc.BlindIndexValues(ctx, q.Interface(), ix.GoField)
				require.NoError(t, err, "BlindIndexValues(%s)", ix.GoField)
				var want []string
				for _, v := range ix.Values {
					want = append(want, v.Value)
				}
				assert.Equal(t, want, vals, "BlindIndexValues(%s)", ix.GoField)
			}
			// Encrypting the plaintext again gives other ciphertexts (new
			// nonces) but the same index values.
			if len(r.Indexes) > 0 {
				again := r.plaintextRecord(t)
				require.NoError(t, e.enc.Encrypt(ctx, again.Interface()))
				for _, ix := range r.Indexes {
					assert.Equal(t, ix.Stored, fieldByPath(again.Elem(), ix.GoField).String(), "index %s after Encrypt", ix.GoField)
				}
			}
		})
	}
}

// storedRecord builds the record of r as read from the database.
func (r vectorRecord) storedRecord(t *testing.T) reflect.Value {
	t.Helper()
	rv := r.newRecord(t)
	for _, f := range r.Fields {
		if f.Form == "text" {
			setText(t, fieldByPath(rv.Elem(), f.GoField), f.Stored)
		} else {
			b, err := hex.DecodeString(f.StoredHex)
			require.NoError(t, err)
			setBytes(t, fieldByPath(rv.Elem(), f.GoField), b)
		}
	}
	for _, ix := range r.Indexes {
		fieldByPath(rv.Elem(), ix.GoField).SetString(ix.Stored)
	}
	return rv
}

// plaintextRecord builds the record of r before encryption.
func (r vectorRecord) plaintextRecord(t *testing.T) reflect.Value {
	t.Helper()
	rv := r.newRecord(t)
	for _, f := range r.Fields {
		if f.Form == "text" {
			setText(t, fieldByPath(rv.Elem(), f.GoField), f.Plaintext)
		} else {
			b, err := hex.DecodeString(f.PlaintextHex)
			require.NoError(t, err)
			setBytes(t, fieldByPath(rv.Elem(), f.GoField), b)
		}
	}
	return rv
}

// queryRecord builds a query for index ix: the scope and its sources only.
func (r vectorRecord) queryRecord(t *testing.T, ix vectorIndex) reflect.Value {
	t.Helper()
	typ, ok := vectorTypes[r.GoType]
	require.True(t, ok, "unknown go_type %q", r.GoType)
	rv := reflect.New(typ)
	if r.ScopeField != "" {
		fieldByPath(rv.Elem(), r.ScopeField).SetString(r.Scope)
	}
	for i, src := range ix.Sources {
		setText(t, fieldByPath(rv.Elem(), src), ix.Inputs[i])
	}
	return rv
}

// newRecord returns a new record of r's type with its scope and identity.
func (r vectorRecord) newRecord(t *testing.T) reflect.Value {
	t.Helper()
	typ, ok := vectorTypes[r.GoType]
	require.True(t, ok, "unknown go_type %q", r.GoType)
	rv := reflect.New(typ)
	if r.ScopeField != "" {
		fieldByPath(rv.Elem(), r.ScopeField).SetString(r.Scope)
	}
	for _, id := range r.IDs {
		f := fieldByPath(rv.Elem(), id.GoField)
		switch f.Kind() {
		case reflect.String:
			f.SetString(id.Value)
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			n, err := strconv.ParseInt(id.Value, 10, 64)
			require.NoError(t, err)
			f.SetInt(n)
		default:
			n, err := strconv.ParseUint(id.Value, 10, 64)
			require.NoError(t, err)
			f.SetUint(n)
		}
	}
	return rv
}

// fieldByPath follows a dotted Go field path through nested structs and
// slice elements ("Visits[1].Place"), allocating pointers and growing
// slices on the way.
func fieldByPath(v reflect.Value, path string) reflect.Value {
	for name := range strings.SplitSeq(path, ".") {
		if v.Kind() == reflect.Pointer {
			if v.IsNil() {
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		name, idx, isElem := strings.Cut(name, "[")
		v = v.FieldByName(name)
		if isElem {
			i, err := strconv.Atoi(strings.TrimSuffix(idx, "]"))
			if err != nil {
				panic("bad vector path " + path)
			}
			for v.Len() <= i {
				v.Set(reflect.Append(v, reflect.Zero(v.Type().Elem())))
			}
			v = v.Index(i)
		}
	}
	return v
}

// copyRecord returns a copy of the record p points to whose slice fields
// have arrays of their own, so that encrypting the copy in place leaves the
// plaintext record as it was.
func copyRecord(p reflect.Value) reflect.Value {
	c := reflect.New(p.Elem().Type())
	c.Elem().Set(p.Elem())
	for i := range c.Elem().NumField() {
		f := c.Elem().Field(i)
		if f.Kind() == reflect.Slice && !f.IsNil() && f.CanSet() {
			dup := reflect.MakeSlice(f.Type(), f.Len(), f.Len())
			reflect.Copy(dup, f)
			f.Set(dup)
		}
	}
	return c
}

// inSlice reports whether a Go field path goes through a slice element.
func inSlice(path string) bool { return strings.Contains(path, "[") }

func setText(t *testing.T, f reflect.Value, s string) {
	t.Helper()
	switch f.Kind() {
	case reflect.String:
		f.SetString(s)
	case reflect.Pointer:
		f.Set(reflect.ValueOf(&s))
	default:
		t.Fatalf("field of type %v is not a text field", f.Type())
	}
}

func setBytes(t *testing.T, f reflect.Value, b []byte) {
	t.Helper()
	switch {
	case f.Kind() == reflect.Slice:
		f.SetBytes(b)
	case f.Kind() == reflect.Pointer:
		f.Set(reflect.ValueOf(&b))
	default:
		t.Fatalf("field of type %v is not a binary field", f.Type())
	}
}

func textOf(f reflect.Value) string {
	if f.Kind() == reflect.Pointer {
		if f.IsNil() {
			return ""
		}
		f = f.Elem()
	}
	return f.String()
}

func bytesOf(f reflect.Value) []byte {
	if f.Kind() == reflect.Pointer {
		if f.IsNil() {
			return nil
		}
		f = f.Elem()
	}
	return f.Bytes()
}

// writeVectors regenerates testdata/vectors.json through the public API:
// each record is encrypted by crypt.Encrypt under the vector keysets, and
// its index values come from crypt.BlindIndexValues. The associated data
// and the decomposition of each ciphertext are filled in with the
// independent code of vectors_independent_test.go, and checked by
// decrypting with it.
func writeVectors(t *testing.T) {
	ctx := context.Background()
	sets := vectorKeysets()
	vf := &vectorFile{Description: vectorDescription}
	for _, s := range sets {
		js, err := s.tinkJSON()
		require.NoError(t, err)
		vf.Keysets = append(vf.Keysets, vectorKeyset{fixedKeyset: s, TinkKeyset: json.RawMessage(js)})
	}
	for _, spec := range vectorSpecs() {
		encSets := slices.Clone(sets)
		for i, s := range encSets {
			if p, ok := spec.primary[s.id().String()]; ok {
				encSets[i] = s.withPrimary(p)
			}
		}
		e := fixedEnv(t, encSets)
		plain := reflect.ValueOf(spec.record)
		stored := copyRecord(plain)
		require.NoError(t, e.enc.Encrypt(ctx, stored.Interface()), "Encrypt(%s)", spec.name)

		r := vectorRecord{Name: spec.name, GoType: plain.Elem().Type().Name()}
		describeRecord(t, &r, plain.Elem())
		for _, sf := range spec.fields {
			ks, ok := vf.keyset(r.Scope, sf.class, "data")
			require.True(t, ok, "no keyset %s/%s/data", r.Scope, sf.class)
			f := vectorField{GoField: sf.goField, Path: sf.path, Class: sf.class, Algorithm: ks.Algorithm}
			pv, sv := fieldByPath(plain.Elem(), sf.goField), fieldByPath(stored.Elem(), sf.goField)
			var tinkCT []byte
			switch pv.Kind() {
			case reflect.String, reflect.Pointer:
				f.Form, f.Plaintext, f.Stored = "text", textOf(pv), textOf(sv)
				ct, err := parseStoredText(f.Stored)
				require.NoError(t, err)
				tinkCT = ct
			default:
				f.Form, f.PlaintextHex, f.StoredHex = "binary", hex.EncodeToString(bytesOf(pv)), hex.EncodeToString(bytesOf(sv))
				ct, err := parseStoredBinary(bytesOf(sv))
				require.NoError(t, err)
				tinkCT = ct
			}
			f.AADHex = hex.EncodeToString(fieldAAD(r.Scope, r.RecordType, r.IDs, sf.path))
			parts, err := splitTinkCiphertext(ks.Algorithm, tinkCT)
			require.NoError(t, err)
			f.KeyID, f.TinkCiphertextHex = parts.keyID, hex.EncodeToString(tinkCT)
			f.NonceHex, f.TagHex = hex.EncodeToString(parts.nonce), hex.EncodeToString(parts.tag)
			r.Fields = append(r.Fields, f)
		}
		for _, si := range spec.indexes {
			ix := vectorIndex{GoField: si.goField, IndexName: si.name, Class: si.class, Sources: si.sources,
				Transforms: si.transforms, Bits: si.bits, Stored: fieldByPath(stored.Elem(), si.goField).String()}
			if si.slow {
				p := blind.DefaultSlowParams
				ix.Argon2id = &vectorArgon2id{Time: p.Time, MemoryKiB: p.MemoryKiB, Threads: p.Threads}
			}
			for _, src := range si.sources {
				ix.Inputs = append(ix.Inputs, textOf(fieldByPath(plain.Elem(), src)))
			}
			ks, ok := vf.keyset(r.Scope, si.class, "index")
			require.True(t, ok)
			ids := indexKeyOrder(ks)
			var vals []string
			if inSlice(si.goField) {
				// BlindIndexValues queries no index inside a slice: the
				// values come from the independent code, and the stored
				// value Encrypt wrote must be the primary key's.
				for _, id := range ids {
					key, _ := ks.key(id)
					vals = append(vals, independentIndexValue(t, ix, blindSubkey(key, r.RecordType, si.name)))
				}
				require.Equal(t, vals[0], ix.Stored, "Encrypt's %s against the independent code", si.goField)
			} else {
				q := reflect.New(plain.Elem().Type())
				q.Elem().Set(plain.Elem())
				var err error
				vals, err = e.enc.BlindIndexValues(ctx, q.Interface(), si.goField)
				require.NoError(t, err)
			}
			require.Len(t, vals, len(ids), "one index value per enabled key")
			for i, id := range ids {
				key, _ := ks.key(id)
				ix.Values = append(ix.Values, vectorIndexValue{KeyID: id,
					SubkeyHex: hex.EncodeToString(blindSubkey(key, r.RecordType, si.name)), Value: vals[i]})
			}
			r.Indexes = append(r.Indexes, ix)
		}
		vf.Records = append(vf.Records, r)
	}
	data, err := json.MarshalIndent(vf, "", "  ")
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll("testdata", 0o755))
	require.NoError(t, os.WriteFile(vectorsFile, append(data, '\n'), 0o644))
	t.Logf("wrote %s: %d keysets, %d records", vectorsFile, len(vf.Keysets), len(vf.Records))
}

// describeRecord fills in the record type, scope and identity of r from the
// plan's rules, as docs/FORMAT.md states them.
func describeRecord(t *testing.T, r *vectorRecord, v reflect.Value) {
	t.Helper()
	typ := v.Type()
	r.RecordType, r.Scope = typ.Name(), "default"
	for i := range typ.NumField() {
		f := typ.Field(i)
		tag := f.Tag.Get("crypt")
		directive, opts, _ := strings.Cut(tag, ",")
		switch {
		case strings.HasPrefix(directive, "record="):
			r.RecordType = strings.TrimPrefix(directive, "record=")
		case directive == "scope":
			r.ScopeField, r.Scope = f.Name, v.Field(i).String()
		case directive == "id":
			name := f.Name
			if n, ok := strings.CutPrefix(opts, "name="); ok {
				name = n
			}
			var val string
			switch fv := v.Field(i); fv.Kind() {
			case reflect.String:
				val = fv.String()
			case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
				val = strconv.FormatInt(fv.Int(), 10)
			default:
				val = strconv.FormatUint(fv.Uint(), 10)
			}
			r.IDs = append(r.IDs, vectorID{GoField: f.Name, Name: name, Value: val})
		}
	}
}

// indexKeyOrder returns the enabled keys of an index keyset in the order
// BlindIndexValues returns their values: the primary first, then by ID.
func indexKeyOrder(ks fixedKeyset) []uint32 {
	var ids []uint32
	for _, k := range ks.Keys {
		if k.Status == "ENABLED" && k.ID != ks.PrimaryID {
			ids = append(ids, k.ID)
		}
	}
	slices.Sort(ids)
	return append([]uint32{ks.PrimaryID}, ids...)
}

var vectorDescription = []string{
	"Golden vectors for fieldcrypt's stored value format, version 1 (docs/FORMAT.md).",
	"THE KEYS BELOW ARE PUBLIC TEST KEYS. Never use them for real data.",
	"keysets: Tink keysets, one per (scope, class, purpose), with each key's raw bytes (key_hex) and the keyset in Tink's cleartext JSON format.",
	"records[].fields[]: aad_hex = lp(\"fieldcrypt field v1\") || lp(scope) || lp(record_type) || u32be(len(ids)) || lp(id.name) || lp(id.value) ... || lp(path), where lp(x) = u32be(len(x)) || x.",
	"text form: stored = \"fc1:\" || base64url-without-padding(tink_ciphertext); binary form: stored_hex = fc 01 || tink_ciphertext.",
	"tink_ciphertext = 01 || u32be(key_id) || nonce || ciphertext || tag; AES256_GCM: 12-byte nonce, XCHACHA20_POLY1305: 24-byte nonce; 16-byte tag; associated data = aad bytes.",
	"records[].indexes[]: subkey = HMAC-SHA-256(index key, lp(\"fieldcrypt blind index v1\") || lp(record_type) || lp(index_name)); value = hex of the first ceil(bits/8) bytes of HMAC-SHA-256(subkey, lp(transformed input 1) || ...), low bits masked (see crypt/blind).",
	"A slow index (argon2id set) uses Argon2id version 0x13 instead of HMAC-SHA-256: d = Argon2id(password = lp(transformed input 1) || ..., salt = subkey, time, memory_kib, threads, 32 bytes). go_field paths with [i] are slice elements; their index_name and path use [].",
	"Regenerate with: go test ./crypt -run TestVectors -update (nonces are random: every ciphertext changes).",
}

func (r vectorRecord) String() string { return fmt.Sprintf("%s (%s)", r.Name, r.GoType) }

// Key status vectors: testdata/keystatus.json holds a tenant whose keysets,
// wrapped under the committed local test KEK (keyring/testdata/keysets.json)
// with their authenticated state documents, each hold a primary key, a
// DISABLED key and the ID of a DESTROYED key, and records whose values were
// written while those keys were primary. Each field states what a reader
// must do with it (docs/FORMAT.md sections 6, 7.6 and 8.3).

const keyStatusFile = "testdata/keystatus.json"

// keyStatusVectors is the layout of testdata/keystatus.json.
type keyStatusVectors struct {
	Description []string        `json:"description"`
	KEK         keyStatusKEK    `json:"kek"`
	Keysets     []wrappedKeyset `json:"keysets"`
	Records     []vectorRecord  `json:"records"`
}

// keyStatusKEK is a local:// development KEK: a Tink JSON keyset holding
// one AES-256-GCM key with a TINK prefix. It is the KEK of
// keyring/testdata/keysets.json.
type keyStatusKEK struct {
	TinkJSON json.RawMessage `json:"tink_json"`
	KeyID    uint32          `json:"key_id"`
	KeyHex   string          `json:"key_hex"`
}

// wrappedKeyset is a stored keyset (docs/FORMAT.md section 7) with what it
// unwraps to.
type wrappedKeyset struct {
	fixedKeyset                 // what the wrapped keyset holds: its primary and keys, with statuses
	State              string   `json:"state"` // the state document, byte for byte
	WrapADHex          string   `json:"wrap_associated_data_hex"`
	EncryptedKeysetHex string   `json:"encrypted_keyset_hex"`
	Destroyed          []uint32 `json:"destroyed"` // the state document's destroyed IDs
	// AbsentKeys are keys the records' values name that the wrapped keyset
	// does not hold, with the bytes they had: public test keys, given only
	// so that a test can show the refused values are genuine ciphertexts.
	// A reader never has them.
	AbsentKeys []absentKey `json:"absent_keys"`
}

type absentKey struct {
	KeyID  uint32 `json:"key_id"`
	Why    string `json:"why"` // "destroyed" or "never in this keyset"
	KeyHex string `json:"key_hex"`
}

// Key IDs of the key status vectors (scope "initech", class "pii").
const (
	vkKSPrimary        = 0x0a1b2c3d
	vkKSDisabled       = 0x4e5f6071
	vkKSDestroyed      = 0x7d8e9fa0
	vkKSForeign        = 0x5a5b5c5d // never in the keyset
	vkKSIndexPrimary   = 0x3c4d5e6f
	vkKSIndexDisabled  = 0x6a7b8c9d
	vkKSIndexDestroyed = 0x2b3c4d5e
	vkKEK              = 0x0fc0fc01 // the KEK of keyring/testdata/keysets.json
)

// Outcomes of a stored value, named after package crypt's sentinels.
const (
	outcomeDecrypts  = "decrypts"
	outcomeDisabled  = "ErrKeyDisabled"
	outcomeDestroyed = "ErrKeyDestroyed"
	outcomeNotFound  = "ErrKeyNotFound"
)

var outcomeErrors = map[string]error{
	outcomeDisabled:  crypt.ErrKeyDisabled,
	outcomeDestroyed: crypt.ErrKeyDestroyed,
	outcomeNotFound:  crypt.ErrKeyNotFound,
}

// keyStatusKeysets are the keysets before any key was disabled or
// destroyed: the data keyset also holds the foreign key, which only encrypts
// the record under a key the stored keyset never had.
func keyStatusKeysets() (data, index fixedKeyset, foreign fixedKey) {
	k := func(id uint32, label string) fixedKey {
		return fixedKey{ID: id, Status: "ENABLED", KeyHex: testKeyHex("key status " + label)}
	}
	data = fixedKeyset{Scope: "initech", Class: "pii", Purpose: "data", Algorithm: algAESGCM, PrimaryID: vkKSPrimary,
		Keys: []fixedKey{k(vkKSPrimary, "initech/pii/data primary"), k(vkKSDisabled, "initech/pii/data disabled"),
			k(vkKSDestroyed, "initech/pii/data destroyed")}}
	index = fixedKeyset{Scope: "initech", Class: "pii", Purpose: "index", Algorithm: algHMACPRF, PrimaryID: vkKSIndexPrimary,
		Keys: []fixedKey{k(vkKSIndexPrimary, "initech/pii/index primary"), k(vkKSIndexDisabled, "initech/pii/index disabled"),
			k(vkKSIndexDestroyed, "initech/pii/index destroyed")}}
	return data, index, k(vkKSForeign, "initech/pii/data foreign")
}

// keyStatusSpecs are the records: each was encrypted while dataKey and
// indexKey were the primaries (indexKey 0: no index described).
var keyStatusSpecs = []struct {
	name              string
	record            *VectorContact
	dataKey, indexKey uint32
	outcome           string
}{
	{"written under the primary keys: decrypts, and a query finds it",
		&VectorContact{ID: "c-10", TenantID: "initech", Name: "Peter Gibbons", Email: "Peter@Initech.example", Phone: ptr("+1 555 0100 0010")},
		vkKSPrimary, vkKSIndexPrimary, outcomeDecrypts},
	{"written while the now-disabled keys were primary: refused with ErrKeyDisabled, and a query does not find it",
		&VectorContact{ID: "c-11", TenantID: "initech", Name: "Samir Nagheenanajar", Email: "samir@initech.example", Phone: ptr("+1 555 0100 0011")},
		vkKSDisabled, vkKSIndexDisabled, outcomeDisabled},
	{"written while the now-destroyed keys were primary: refused with ErrKeyDestroyed, and a query does not find it",
		&VectorContact{ID: "c-12", TenantID: "initech", Name: "Milton Waddams", Email: "milton@initech.example", Phone: ptr("+1 555 0100 0012")},
		vkKSDestroyed, vkKSIndexDestroyed, outcomeDestroyed},
	{"written under a key the keyset never had: refused with ErrKeyNotFound",
		&VectorContact{ID: "c-13", TenantID: "initech", Name: "Bill Lumbergh", Email: "bill@initech.example"},
		vkKSForeign, 0, outcomeNotFound},
}

// keyStatusStates are the state documents the keysets are seeded with,
// before the keyring disables and destroys keys: version 3 (created, two
// keys added), with the keys' creation times.
var keyStatusStates = map[string]string{
	"data": `{"format":"fieldcrypt-keyset-state-v2","version":3,"created":{"` + itoa(vkKSPrimary) + `":"2026-03-01T00:00:00Z","` +
		itoa(vkKSDisabled) + `":"2026-02-01T00:00:00Z","` + itoa(vkKSDestroyed) + `":"2026-01-01T00:00:00Z"}}`,
	"index": `{"format":"fieldcrypt-keyset-state-v2","version":3,"created":{"` + itoa(vkKSIndexPrimary) + `":"2026-03-01T00:00:00Z","` +
		itoa(vkKSIndexDisabled) + `":"2026-02-01T00:00:00Z","` + itoa(vkKSIndexDestroyed) + `":"2026-01-01T00:00:00Z"}}`,
}

func itoa(v uint32) string { return strconv.FormatUint(uint64(v), 10) }

// keyStatusKEKFile returns the test KEK as Tink JSON and the local:// URI
// of a key file holding it.
func keyStatusKEKFile(t *testing.T) (keyStatusKEK, string) {
	t.Helper()
	kekSet := fixedKeyset{Algorithm: algAESGCM, PrimaryID: vkKEK,
		Keys: []fixedKey{{ID: vkKEK, Status: "ENABLED", KeyHex: testKeyHex("local KEK")}}}
	js, err := kekSet.tinkJSON()
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "kek.json")
	require.NoError(t, os.WriteFile(path, js, 0o600))
	return keyStatusKEK{TinkJSON: json.RawMessage(bytes.TrimSpace(js)), KeyID: vkKEK, KeyHex: kekSet.Keys[0].KeyHex}, local.URI(path)
}

// writeKeyStatusVectors regenerates testdata/keystatus.json through the
// public API. Each record is encrypted by crypt.Encrypt while its keys are
// primary. The keysets are then stored under the test KEK, and the keyring
// itself disables and destroys the keys, as `fieldcrypt keys disable` and
// `keys destroy` do: the stored records and their state documents are the
// keyring's own. The index values a query computes come from
// crypt.BlindIndexValues against those stored keysets.
func writeKeyStatusVectors(t *testing.T) {
	ctx := context.Background()
	data, index, foreign := keyStatusKeysets()
	withForeign := data
	withForeign.Keys = append(slices.Clone(data.Keys), foreign)

	// The stored keysets: seeded, then changed by the keyring.
	kek, uri := keyStatusKEKFile(t)
	opener := kms.NewOpener()
	opener.Register(local.Scheme, local.OpenFunc(nil))
	store := keyring.NewMemoryStore()
	for _, s := range []fixedKeyset{data, index} {
		seedWithState(t, store, opener, uri, s, keyStatusStates[s.Purpose])
	}
	kr, err := keyring.New(keyring.Config{Store: store, Opener: opener, KEKs: map[string]string{"pii": uri}, DisableAutoCreate: true})
	require.NoError(t, err)
	defer kr.Close()
	m := keyring.NewManager(kr)
	for _, s := range []struct {
		id                  keyring.KeysetID
		disabled, destroyed uint32
	}{{data.id(), vkKSDisabled, vkKSDestroyed}, {index.id(), vkKSIndexDisabled, vkKSIndexDestroyed}} {
		// The runbook's order: disable the oldest key, destroy it, then
		// disable the next.
		require.NoError(t, m.DisableKey(ctx, s.id, s.destroyed))
		require.NoError(t, m.DestroyKey(ctx, s.id, s.destroyed))
		require.NoError(t, m.DisableKey(ctx, s.id, s.disabled))
	}
	kf := &keyStatusVectors{Description: keyStatusDescription, KEK: kek}
	for _, s := range []fixedKeyset{data, index} {
		rec, err := store.Get(ctx, s.id())
		require.NoError(t, err)
		w := wrappedKeyset{fixedKeyset: s, State: string(rec.Metadata),
			WrapADHex:          hex.EncodeToString(keyring.WrapAssociatedData(s.id(), rec.Metadata)),
			EncryptedKeysetHex: hex.EncodeToString(rec.EncryptedKeyset)}
		w.Keys = nil
		for _, k := range s.Keys {
			switch k.ID {
			case vkKSDestroyed, vkKSIndexDestroyed:
				w.Destroyed = append(w.Destroyed, k.ID)
				w.AbsentKeys = append(w.AbsentKeys, absentKey{KeyID: k.ID, Why: "destroyed", KeyHex: k.KeyHex})
				continue
			case vkKSDisabled, vkKSIndexDisabled:
				k.Status = "DISABLED"
			}
			w.Keys = append(w.Keys, k)
		}
		if s.Purpose == "data" {
			w.AbsentKeys = append(w.AbsentKeys, absentKey{KeyID: foreign.ID, Why: "never in this keyset", KeyHex: foreign.KeyHex})
		}
		kf.Keysets = append(kf.Keysets, w)
	}

	query := crypt.New(kr, nil)
	for _, spec := range keyStatusSpecs {
		encIndex := index
		if spec.indexKey != 0 {
			encIndex = index.withPrimary(spec.indexKey)
		}
		e := fixedEnv(t, []fixedKeyset{withForeign.withPrimary(spec.dataKey), encIndex})
		plain := reflect.ValueOf(spec.record)
		stored := copyRecord(plain)
		require.NoError(t, e.enc.Encrypt(ctx, stored.Interface()), "Encrypt(%s)", spec.name)

		r := vectorRecord{Name: spec.name, GoType: plain.Elem().Type().Name()}
		describeRecord(t, &r, plain.Elem())
		for _, goField := range []string{"Name", "Email", "Phone"} {
			pv, sv := fieldByPath(plain.Elem(), goField), fieldByPath(stored.Elem(), goField)
			if textOf(pv) == "" {
				continue
			}
			f := vectorField{GoField: goField, Path: goField, Class: "pii", Form: "text", Algorithm: algAESGCM,
				Plaintext: textOf(pv), Stored: textOf(sv), Outcome: spec.outcome,
				AADHex: hex.EncodeToString(fieldAAD(r.Scope, r.RecordType, r.IDs, goField))}
			ct, err := parseStoredText(f.Stored)
			require.NoError(t, err)
			parts, err := splitTinkCiphertext(algAESGCM, ct)
			require.NoError(t, err)
			require.Equal(t, spec.dataKey, parts.keyID)
			f.KeyID, f.TinkCiphertextHex = parts.keyID, hex.EncodeToString(ct)
			f.NonceHex, f.TagHex = hex.EncodeToString(parts.nonce), hex.EncodeToString(parts.tag)
			r.Fields = append(r.Fields, f)
		}
		if spec.indexKey != 0 {
			ix := vectorIndex{GoField: "EmailIdx", IndexName: "EmailIdx", Class: "pii", Sources: []string{"Email"},
				Inputs: []string{spec.record.Email}, Transforms: contactEmailIdx.transforms, Bits: contactEmailIdx.bits,
				Stored: fieldByPath(stored.Elem(), "EmailIdx").String(), StoredKeyID: spec.indexKey}
			q := reflect.New(plain.Elem().Type())
			q.Elem().Set(plain.Elem())
			vals, err := query.BlindIndexValues(ctx, q.Interface(), "EmailIdx")
			require.NoError(t, err)
			var w wrappedKeyset
			for _, k := range kf.Keysets {
				if k.Purpose == "index" {
					w = k
				}
			}
			ids := indexKeyOrder(w.fixedKeyset)
			require.Len(t, vals, len(ids), "one query value per enabled index key")
			for i, id := range ids {
				key, _ := w.key(id)
				ix.Values = append(ix.Values, vectorIndexValue{KeyID: id,
					SubkeyHex: hex.EncodeToString(blindSubkey(key, r.RecordType, ix.IndexName)), Value: vals[i]})
			}
			ix.StoredKeyStatus = map[uint32]string{vkKSIndexPrimary: "ENABLED", vkKSIndexDisabled: "DISABLED", vkKSIndexDestroyed: "DESTROYED"}[spec.indexKey]
			found := slices.Contains(vals, ix.Stored)
			ix.QueryFindsStored = &found
			r.Indexes = append(r.Indexes, ix)
		}
		kf.Records = append(kf.Records, r)
	}
	out, err := json.MarshalIndent(kf, "", "  ")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(keyStatusFile, append(out, '\n'), 0o644))
	t.Logf("wrote %s: %d keysets, %d records", keyStatusFile, len(kf.Keysets), len(kf.Records))
}

// seedWithState wraps f under the KEK at uri with the given state document,
// as the keyring does, and stores it.
func seedWithState(t *testing.T, store keyring.Store, opener *kms.Opener, uri string, f fixedKeyset, state string) {
	t.Helper()
	ctx := context.Background()
	kek, err := opener.Open(ctx, uri)
	require.NoError(t, err)
	h, err := f.handle()
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, h.WriteWithContext(ctx, keyset.NewBinaryWriter(&buf), kek, keyring.WrapAssociatedData(f.id(), []byte(state))))
	now := time.Now().UTC()
	require.NoError(t, store.Create(ctx, &keyring.Record{ID: f.id(), KEKURI: uri, EncryptedKeyset: buf.Bytes(), Metadata: []byte(state), Created: now, Updated: now}))
}

func readKeyStatusVectors(t *testing.T) *keyStatusVectors {
	t.Helper()
	data, err := os.ReadFile(keyStatusFile)
	require.NoError(t, err, "read %s (regenerate with -update)", keyStatusFile)
	var kf keyStatusVectors
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&kf), "parse %s", keyStatusFile)
	return &kf
}

func (kf *keyStatusVectors) keyset(scope, class, purpose string) (wrappedKeyset, bool) {
	for _, k := range kf.Keysets {
		if k.Scope == scope && k.Class == class && k.Purpose == purpose {
			return k, true
		}
	}
	return wrappedKeyset{}, false
}

// checkKeyStatusKEK checks that the vectors' KEK is the committed local test
// KEK of keyring/testdata/keysets.json.
func checkKeyStatusKEK(t *testing.T, kf *keyStatusVectors) {
	data, err := os.ReadFile(filepath.Join("..", "keyring", "testdata", "keysets.json"))
	require.NoError(t, err)
	var other struct {
		KEK keyStatusKEK `json:"kek"`
	}
	require.NoError(t, json.Unmarshal(data, &other))
	assert.Equal(t, other.KEK.KeyID, kf.KEK.KeyID, "KEK key ID")
	assert.Equal(t, other.KEK.KeyHex, kf.KEK.KeyHex, "KEK key bytes")
	assert.JSONEq(t, string(other.KEK.TinkJSON), string(kf.KEK.TinkJSON), "KEK key file")
}

// checkKeyStatusPublicAPI loads the wrapped keysets into a keyring through a
// store, with the KEK as a local:// key file, and checks that the library
// reports each key's status and gives each value its stated outcome.
func checkKeyStatusPublicAPI(t *testing.T, kf *keyStatusVectors) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kek.json")
	require.NoError(t, os.WriteFile(path, kf.KEK.TinkJSON, 0o600))
	uri := local.URI(path)
	opener := kms.NewOpener()
	opener.Register(local.Scheme, local.OpenFunc(nil))
	store := keyring.NewMemoryStore()
	for _, w := range kf.Keysets {
		raw, err := hex.DecodeString(w.EncryptedKeysetHex)
		require.NoError(t, err)
		require.NoError(t, store.Create(ctx, &keyring.Record{ID: w.id(), KEKURI: uri, EncryptedKeyset: raw, Metadata: []byte(w.State)}))
	}
	kr, err := keyring.New(keyring.Config{Store: store, Opener: opener, KEKs: map[string]string{"pii": uri}, DisableAutoCreate: true})
	require.NoError(t, err)
	defer kr.Close()
	enc := crypt.New(kr, nil)

	for _, w := range kf.Keysets {
		t.Run("keys of "+w.id().String(), func(t *testing.T) {
			infos, err := keyring.NewManager(kr).Keys(ctx, w.id())
			require.NoError(t, err)
			want := map[uint32]keyring.KeyStatus{}
			for _, k := range w.Keys {
				want[k.ID] = map[string]keyring.KeyStatus{"ENABLED": keyring.KeyEnabled, "DISABLED": keyring.KeyDisabled}[k.Status]
			}
			for _, id := range w.Destroyed {
				want[id] = keyring.KeyDestroyed
			}
			got := map[uint32]keyring.KeyStatus{}
			for _, ki := range infos {
				got[ki.ID] = ki.Status
				assert.Equal(t, ki.ID == w.PrimaryID, ki.Primary, "key %d primary", ki.ID)
			}
			assert.Equal(t, want, got)
		})
	}

	for _, r := range kf.Records {
		t.Run(r.Name, func(t *testing.T) {
			require.NotEmpty(t, r.Fields)
			outcome := r.Fields[0].Outcome
			for _, f := range r.Fields {
				require.Equal(t, outcome, f.Outcome, "one outcome per record: a record decrypts all or nothing")
				info, err := crypt.InspectText(f.Stored)
				require.NoError(t, err)
				assert.Equal(t, f.KeyID, info.KeyID, "InspectText(%s)", f.GoField)
			}
			rec := r.storedRecord(t)
			err := enc.Decrypt(ctx, rec.Interface())
			if outcome == outcomeDecrypts {
				require.NoError(t, err, "Decrypt(%s)", r.Name)
				for _, f := range r.Fields {
					assert.Equal(t, f.Plaintext, textOf(fieldByPath(rec.Elem(), f.GoField)), "decrypted %s", f.GoField)
				}
			} else {
				want, ok := outcomeErrors[outcome]
				require.True(t, ok, "unknown outcome %q", outcome)
				require.ErrorIs(t, err, want, "Decrypt(%s)", r.Name)
				for other, e := range outcomeErrors {
					if other != outcome {
						assert.NotErrorIs(t, err, e)
					}
				}
				assert.NotErrorIs(t, err, crypt.ErrDecrypt)
				var fe *crypt.FieldError
				require.ErrorAs(t, err, &fe)
				assert.Equal(t, r.Fields[0].KeyID, fe.KeyID, "FieldError.KeyID")
				for _, f := range r.Fields {
					assert.Equal(t, f.Stored, textOf(fieldByPath(rec.Elem(), f.GoField)), "%s changed by a failed Decrypt", f.GoField)
				}
			}
			for _, ix := range r.Indexes {
				vals, err := enc.BlindIndexValues(ctx, r.queryRecord(t, ix).Interface(), ix.GoField)
				require.NoError(t, err)
				var want []string
				for _, v := range ix.Values {
					want = append(want, v.Value)
				}
				assert.Equal(t, want, vals, "BlindIndexValues(%s): one value per enabled index key", ix.GoField)
				require.NotNil(t, ix.QueryFindsStored)
				assert.Equal(t, *ix.QueryFindsStored, slices.Contains(vals, ix.Stored), "a query finds the stored %s", ix.GoField)
				// Writing the record again indexes it under the primary.
				again := r.plaintextRecord(t)
				require.NoError(t, enc.Encrypt(ctx, again.Interface()))
				assert.Equal(t, ix.Values[0].Value, fieldByPath(again.Elem(), ix.GoField).String(), "index %s after Encrypt", ix.GoField)
			}
		})
	}

	// The destroyed IDs are authenticated: a store writer who drops one
	// from the state document (to make a destroyed key look like one that
	// never existed) makes the keyset fail to unwrap.
	t.Run("forged state", func(t *testing.T) {
		w, ok := kf.keyset("initech", "pii", "data")
		require.True(t, ok)
		raw, _ := hex.DecodeString(w.EncryptedKeysetHex)
		forged := strings.Replace(w.State, fmt.Sprintf(`,"destroyed":[%d]`, vkKSDestroyed), "", 1)
		require.NotEqual(t, w.State, forged)
		s2 := keyring.NewMemoryStore()
		require.NoError(t, s2.Create(ctx, &keyring.Record{ID: w.id(), KEKURI: uri, EncryptedKeyset: raw, Metadata: []byte(forged)}))
		kr2, err := keyring.New(keyring.Config{Store: s2, Opener: opener, KEKs: map[string]string{"pii": uri}, DisableAutoCreate: true})
		require.NoError(t, err)
		defer kr2.Close()
		for _, r := range kf.Records {
			if r.Fields[0].Outcome != outcomeDestroyed {
				continue
			}
			err := crypt.New(kr2, nil).Decrypt(ctx, r.storedRecord(t).Interface())
			assert.ErrorIs(t, err, keyring.ErrIntegrity)
			assert.NotErrorIs(t, err, crypt.ErrKeyNotFound)
		}
	})
}

var keyStatusDescription = []string{
	"Key status vectors for fieldcrypt's stored value format, version 1 (docs/FORMAT.md sections 6, 7.6, 8.3 and 9).",
	"THE KEYS BELOW ARE PUBLIC TEST KEYS. Never use them for real data.",
	"kek: the local:// development KEK of keyring/testdata/keysets.json (a Tink JSON key file); KEK-Encrypt(pt, ad) = 01 || u32be(key_id) || nonce(12) || AES-256-GCM(key, nonce, pt, ad).",
	"keysets[]: stored keysets of tenant initech. encrypted_keyset_hex is a Tink EncryptedKeyset message whose field 2 is KEK-Encrypt(serialized Tink Keyset, wrap_associated_data); wrap_associated_data = lp(\"fieldcrypt keyset v2\") || lp(scope) || lp(class) || lp(purpose) || lp(state).",
	"keysets[].keys and primary_key_id are what the Keyset message holds (status ENABLED or DISABLED); destroyed are the state document's destroyed IDs, whose keys the Keyset no longer holds.",
	"keysets[].absent_keys: the bytes of keys a value names that the keyset does not hold (destroyed, or never in it). A reader never has them; they are here only to show the refused values are genuine ciphertexts.",
	"records[].fields[].outcome: what a reader must do: decrypts (the key is ENABLED), ErrKeyDisabled (in the Keyset, DISABLED), ErrKeyDestroyed (not in the Keyset, listed in destroyed), ErrKeyNotFound (in neither).",
	"records[].indexes[]: values are the query values, one per ENABLED index key (primary first, then by key ID); stored was written when stored_key_id was primary; query_finds_stored says whether a query matches it.",
	"Regenerate with: go test ./crypt -run TestVectors -update (nonces are random: every ciphertext changes).",
}
