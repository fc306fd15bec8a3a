package crypt_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"google.golang.org/protobuf/proto"

	"github.com/fieldcrypt/fieldcrypt/crypt/blind"
)

// Golden vectors for the stored value format, version 1 (docs/FORMAT.md).
// testdata/vectors.json holds fixed test keysets, records, the associated
// data of every field, the stored values and the blind-index values. The
// tests below decrypt every vector through the public API and, separately,
// with only crypto/aes, crypto/cipher and x/crypto/chacha20poly1305 given
// the raw key bytes, as an independent implementation would.
//
// Regenerate with: go test ./crypt -run TestVectors -update
// (ciphertexts change on every run: nonces are random).

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
	}
	vf := readVectors(t)
	require.NotEmpty(t, vf.Records)

	t.Run("keysets", func(t *testing.T) { checkVectorKeysets(t, vf) })
	t.Run("public API", func(t *testing.T) { checkVectorsPublicAPI(t, vf) })
	t.Run("associated data", func(t *testing.T) { checkVectorsAAD(t, vf) })
	t.Run("independent decryption", func(t *testing.T) { checkVectorsIndependent(t, vf) })
	t.Run("independent blind indexes", func(t *testing.T) { checkVectorIndexesIndependent(t, vf) })
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
