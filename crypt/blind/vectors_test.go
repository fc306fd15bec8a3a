package blind_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/crypt/blind"
)

var update = flag.Bool("update", false, "regenerate testdata/vectors.json from the package")

const vectorsFile = "testdata/vectors.json"

// vectorFile is the layout of testdata/vectors.json.
type vectorFile struct {
	Description []string `json:"description"`
	Vectors     []vector `json:"vectors"`
}

// vector is one golden test vector: everything an independent
// implementation needs (PRF key, names, transforms, inputs, width, tier),
// the intermediates (subkey, transformed inputs, message) and the result.
type vector struct {
	Name        string        `json:"name"`
	PRFKeyHex   string        `json:"prf_key_hex"`
	RecordType  string        `json:"record_type"`
	IndexName   string        `json:"index_name"`
	Transforms  string        `json:"transforms"`
	Inputs      []string      `json:"inputs"`
	Bits        int           `json:"bits"`
	Tier        string        `json:"tier"`
	Argon2id    *argon2Params `json:"argon2id,omitempty"`
	SubkeyHex   string        `json:"subkey_hex"`
	Transformed []string      `json:"transformed"`
	MessageHex  string        `json:"message_hex"`
	ExpectedHex string        `json:"expected_hex"`
}

type argon2Params struct {
	Time      uint32 `json:"time"`
	MemoryKiB uint32 `json:"memory_kib"`
	Threads   uint8  `json:"threads"`
}

// The PRF keys of the vectors: 32 bytes each, as an HMAC-SHA-256 PRF key of
// the "index" keyset would be.
var (
	prfKeyA = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	prfKeyB = "a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5"
)

// vectorInputs defines the vectors; -update computes their outputs.
var vectorInputs = []vector{
	{Name: "fast email lower+trim 32 bits", PRFKeyHex: prfKeyA, RecordType: "Contact", IndexName: "email",
		Transforms: "lower+trim", Inputs: []string{"  Alice@Example.COM "}, Bits: 32, Tier: "fast"},
	{Name: "fast email domain 16 bits", PRFKeyHex: prfKeyA, RecordType: "Contact", IndexName: "email_domain",
		Transforms: "emaildomain", Inputs: []string{"Alice@Example.COM"}, Bits: 16, Tier: "fast"},
	{Name: "fast phone last four digits 9 bits", PRFKeyHex: prfKeyA, RecordType: "Contact", IndexName: "phone_last4",
		Transforms: "digits+last4", Inputs: []string{"+1 (555) 010-9999"}, Bits: 9, Tier: "fast"},
	{Name: "fast compound name 24 bits", PRFKeyHex: prfKeyA, RecordType: "Contact", IndexName: "name",
		Transforms: "lower", Inputs: []string{"John", "Smith"}, Bits: 24, Tier: "fast"},
	{Name: "fast compound name shifted 24 bits", PRFKeyHex: prfKeyA, RecordType: "Contact", IndexName: "name",
		Transforms: "lower", Inputs: []string{"Johns", "mith"}, Bits: 24, Tier: "fast"},
	{Name: "fast fullwidth nfkc+lower 1 bit", PRFKeyHex: prfKeyA, RecordType: "Contact", IndexName: "code",
		Transforms: "nfkc+lower", Inputs: []string{"ＡＢＣ"}, Bits: 1, Tier: "fast"},
	{Name: "fast empty value no transform 256 bits", PRFKeyHex: prfKeyB, RecordType: "Lead", IndexName: "note",
		Transforms: "", Inputs: []string{""}, Bits: 256, Tier: "fast"},
	{Name: "fast combining mark nfkc 255 bits", PRFKeyHex: prfKeyB, RecordType: "Lead", IndexName: "city",
		Transforms: "nfkc+collapse+trim", Inputs: []string{" Montre\u0301al \t Nord "}, Bits: 255, Tier: "fast"},
	{Name: "fast two empty values 7 bits", PRFKeyHex: prfKeyB, RecordType: "Lead", IndexName: "pair",
		Transforms: "", Inputs: []string{"", ""}, Bits: 7, Tier: "fast"},
	{Name: "fast other record type 32 bits", PRFKeyHex: prfKeyA, RecordType: "Lead", IndexName: "email",
		Transforms: "lower+trim", Inputs: []string{"  Alice@Example.COM "}, Bits: 32, Tier: "fast"},
	{Name: "slow national id 20 bits", PRFKeyHex: prfKeyA, RecordType: "Contact", IndexName: "national_id",
		Transforms: "digits", Inputs: []string{"123-45-6789"}, Bits: 20, Tier: "slow",
		Argon2id: &argon2Params{Time: 1, MemoryKiB: 64, Threads: 1}},
	{Name: "slow compound birth date 12 bits two lanes", PRFKeyHex: prfKeyB, RecordType: "Contact", IndexName: "dob",
		Transforms: "trim", Inputs: []string{"Smith", "1970-01-31"}, Bits: 12, Tier: "slow",
		Argon2id: &argon2Params{Time: 2, MemoryKiB: 256, Threads: 2}},
}

// computeVector fills in a vector's outputs with the package's own API, the
// way package crypt uses it.
func computeVector(t *testing.T, v vector) vector {
	t.Helper()
	key, err := hex.DecodeString(v.PRFKeyHex)
	if err != nil {
		t.Fatalf("%s: bad prf_key_hex: %v", v.Name, err)
	}
	subkey, err := blind.DeriveSubkey(fixedPRF(t, key), v.RecordType, v.IndexName)
	if err != nil {
		t.Fatalf("%s: DeriveSubkey err = %v", v.Name, err)
	}
	ts, err := blind.ParseTransforms(v.Transforms)
	if err != nil {
		t.Fatalf("%s: ParseTransforms err = %v", v.Name, err)
	}
	v.Transformed = make([]string, len(v.Inputs))
	var msg []byte
	for i, in := range v.Inputs {
		v.Transformed[i] = blind.Apply(ts, in)
		msg = binary.BigEndian.AppendUint32(msg, uint32(len(v.Transformed[i])))
		msg = append(msg, v.Transformed[i]...)
	}
	var slow *blind.SlowParams
	if v.Argon2id != nil {
		slow = &blind.SlowParams{Time: v.Argon2id.Time, MemoryKiB: v.Argon2id.MemoryKiB, Threads: v.Argon2id.Threads}
	}
	ix, err := blind.NewIndexer(subkey, v.Bits, slow)
	if err != nil {
		t.Fatalf("%s: NewIndexer err = %v", v.Name, err)
	}
	v.SubkeyHex = hex.EncodeToString(subkey)
	v.MessageHex = hex.EncodeToString(msg)
	v.ExpectedHex = string(ix.AppendHex(nil, v.Transformed...))
	return v
}

func TestVectors(t *testing.T) {
	if *update {
		f := vectorFile{
			Description: []string{
				"Golden vectors for fieldcrypt blind indexes, version 1 (see the package doc of crypt/blind).",
				"subkey = HMAC-SHA-256(prf_key, u32be(25) || \"fieldcrypt blind index v1\" || u32be(len(record_type)) || record_type || u32be(len(index_name)) || index_name).",
				"transformed[i] = the transforms, '+'-separated, applied left to right to inputs[i].",
				"message = u32be(len(transformed[0])) || transformed[0] || u32be(len(transformed[1])) || transformed[1] || ...",
				"tier fast: d = HMAC-SHA-256(subkey, message); tier slow: d = Argon2id(password = message, salt = subkey, time, memory_kib, threads, 32 bytes).",
				"expected = lower-case hex of the first ceil(bits/8) bytes of d, with the low 8*ceil(bits/8)-bits bits of the last byte set to 0.",
				"Regenerate with: go test ./crypt/blind -run TestVectors -update",
			},
		}
		for _, v := range vectorInputs {
			f.Vectors = append(f.Vectors, computeVector(t, v))
		}
		data, err := json.MarshalIndent(f, "", "  ")
		if err != nil {
			t.Fatalf("json.MarshalIndent err = %v", err)
		}
		if err := os.MkdirAll(filepath.Dir(vectorsFile), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(vectorsFile, append(data, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %d vectors to %s", len(f.Vectors), vectorsFile)
	}

	data, err := os.ReadFile(vectorsFile)
	if err != nil {
		t.Fatalf("reading %s: %v (run with -update to create it)", vectorsFile, err)
	}
	var f vectorFile
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("parsing %s: %v", vectorsFile, err)
	}
	if len(f.Vectors) != len(vectorInputs) {
		t.Errorf("%s has %d vectors, the table %d: run with -update", vectorsFile, len(f.Vectors), len(vectorInputs))
	}
	tiers := map[string]int{}
	for i, want := range f.Vectors {
		t.Run(want.Name, func(t *testing.T) {
			tiers[want.Tier]++
			if i < len(vectorInputs) && !sameInputs(vectorInputs[i], want) {
				t.Errorf("inputs differ from the table's vector %q: run with -update", vectorInputs[i].Name)
			}
			// 1. The package, as package crypt uses it.
			got := computeVector(t, want)
			if got.SubkeyHex != want.SubkeyHex {
				t.Errorf("subkey = %s, want %s", got.SubkeyHex, want.SubkeyHex)
			}
			if !slices.Equal(got.Transformed, want.Transformed) {
				t.Errorf("transformed = %q, want %q", got.Transformed, want.Transformed)
			}
			if got.MessageHex != want.MessageHex {
				t.Errorf("message = %s, want %s", got.MessageHex, want.MessageHex)
			}
			if got.ExpectedHex != want.ExpectedHex {
				t.Errorf("index value = %s, want %s", got.ExpectedHex, want.ExpectedHex)
			}
			// 2. An independent computation from the file's own fields:
			// plain crypto/hmac instead of Tink's PRF, the reference index.
			checkVectorIndependently(t, want)
		})
	}
	if tiers["fast"] == 0 || tiers["slow"] == 0 {
		t.Errorf("vectors cover tiers %v, want both fast and slow", tiers)
	}
}

func sameInputs(a, b vector) bool {
	return a.Name == b.Name && a.PRFKeyHex == b.PRFKeyHex && a.RecordType == b.RecordType &&
		a.IndexName == b.IndexName && a.Transforms == b.Transforms && slices.Equal(a.Inputs, b.Inputs) &&
		a.Bits == b.Bits && a.Tier == b.Tier && (a.Argon2id == nil) == (b.Argon2id == nil) &&
		(a.Argon2id == nil || *a.Argon2id == *b.Argon2id)
}

func checkVectorIndependently(t *testing.T, v vector) {
	t.Helper()
	key, _ := hex.DecodeString(v.PRFKeyHex)
	var input []byte
	for _, part := range []string{"fieldcrypt blind index v1", v.RecordType, v.IndexName} {
		input = binary.BigEndian.AppendUint32(input, uint32(len(part)))
		input = append(input, part...)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write(input)
	subkey := mac.Sum(nil)
	if hex.EncodeToString(subkey) != v.SubkeyHex {
		t.Errorf("independent subkey = %x, file says %s", subkey, v.SubkeyHex)
	}
	msg, _ := hex.DecodeString(v.MessageHex)
	var fromTransformed []byte
	for _, s := range v.Transformed {
		fromTransformed = binary.BigEndian.AppendUint32(fromTransformed, uint32(len(s)))
		fromTransformed = append(fromTransformed, s...)
	}
	if !bytes.Equal(msg, fromTransformed) {
		t.Errorf("message_hex does not encode transformed")
	}
	var slow *blind.SlowParams
	switch v.Tier {
	case "fast":
		if v.Argon2id != nil {
			t.Errorf("fast vector has Argon2id parameters")
		}
	case "slow":
		if v.Argon2id == nil {
			t.Fatalf("slow vector has no Argon2id parameters")
		}
		slow = &blind.SlowParams{Time: v.Argon2id.Time, MemoryKiB: v.Argon2id.MemoryKiB, Threads: v.Argon2id.Threads}
	default:
		t.Fatalf("tier = %q, want fast or slow", v.Tier)
	}
	if got := hex.EncodeToString(referenceIndex(subkey, v.Bits, slow, v.Transformed...)); got != v.ExpectedHex {
		t.Errorf("independent index value = %s, file says %s", got, v.ExpectedHex)
	}
	if len(v.ExpectedHex) != 2*((v.Bits+7)/8) {
		t.Errorf("expected_hex has %d characters, want %d for %d bits", len(v.ExpectedHex), 2*((v.Bits+7)/8), v.Bits)
	}
}
