package blind_test

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/crypt/blind"
)

// transformVectorsFile freezes every transform on inputs where
// Unicode-aware implementations differ (docs/FORMAT.md section 8.1).
const transformVectorsFile = "testdata/transforms.json"

type transformVectorFile struct {
	Description []string          `json:"description"`
	Vectors     []transformVector `json:"vectors"`
}

// transformVector is one transform applied to one input; bytes are hex,
// so that invalid UTF-8 and invisible code points survive JSON.
type transformVector struct {
	Transform string `json:"transform"`
	Note      string `json:"note"`
	InputHex  string `json:"input_hex"`
	OutputHex string `json:"output_hex"`
}

// transformInputs are the inputs, each with what it probes.
var transformInputs = []struct{ note, in string }{
	{"empty", ""},
	{"Turkish dotted capital I (U+0130) and dotless i (U+0131)", "İstanbul ıI"},
	{"sharp s (U+00DF)", "Straße STRASSE"},
	{"Greek capital sigma at the end of a word", "ΟΔΟΣ Σ"},
	{"title-case digraph (U+01C5) and fi ligature (U+FB01)", "ǅ ﬁ"},
	{"next line U+0085 inside and around", "\u0085a\u0085b\u0085"},
	{"byte order mark U+FEFF around", "\ufeffx\ufeff"},
	{"no-break space, em space, ideographic space", "\u00a0 x \u2003y\u3000"},
	{"zero-width space U+200B (not white space)", "\u200bx\u200b"},
	{"tabs, newlines and runs of spaces", "\t a \r\n\n b  "},
	{"Arabic-Indic, Devanagari and fullwidth digits", "١٢٣-४५६-０７"},
	{"superscript two (No, not Nd) and Roman numeral", "x²Ⅻ9"},
	{"combining acute accent", "Montre\u0301al"},
	{"fullwidth letters", "ＡＢＣ＠ｅｘ．ｃｏｍ"},
	{"invalid UTF-8: a lone 0xFF and a truncated sequence", "ab\xffc\xe2\x82"},
	{"e-mail with two @ and mixed case", "Ann@Old@Example.COM"},
	{"e-mail without @", "Example.ORG"},
}

var transformNames = []string{"lower", "upper", "trim", "collapse", "nfkc", "digits", "last3", "first3", "emaildomain", "emaillocal"}

func TestTransformVectors(t *testing.T) {
	if *update {
		f := transformVectorFile{Description: []string{
			"Golden vectors of fieldcrypt's blind-index transforms (docs/FORMAT.md section 8.1), Unicode 15.0.0.",
			"output = the transform applied to input; both as hex of their bytes (inputs may be invalid UTF-8).",
			"Regenerate with: go test ./crypt/blind -run TestTransformVectors -update",
		}}
		for _, name := range transformNames {
			ts, err := blind.ParseTransforms(name)
			if err != nil {
				t.Fatal(err)
			}
			for _, in := range transformInputs {
				f.Vectors = append(f.Vectors, transformVector{Transform: name, Note: in.note,
					InputHex: hex.EncodeToString([]byte(in.in)), OutputHex: hex.EncodeToString([]byte(blind.Apply(ts, in.in)))})
			}
		}
		data, err := json.MarshalIndent(f, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(transformVectorsFile), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(transformVectorsFile, append(data, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(transformVectorsFile)
	if err != nil {
		t.Fatalf("reading %s: %v (run with -update to create it)", transformVectorsFile, err)
	}
	var f transformVectorFile
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("parsing %s: %v", transformVectorsFile, err)
	}
	if want := len(transformNames) * len(transformInputs); len(f.Vectors) != want {
		t.Errorf("%s has %d vectors, want %d: run with -update", transformVectorsFile, len(f.Vectors), want)
	}
	seen := map[string]bool{}
	for _, v := range f.Vectors {
		seen[v.Transform] = true
		ts, err := blind.ParseTransforms(v.Transform)
		if err != nil {
			t.Errorf("vector transform %q: %v", v.Transform, err)
			continue
		}
		in, err1 := hex.DecodeString(v.InputHex)
		want, err2 := hex.DecodeString(v.OutputHex)
		if err1 != nil || err2 != nil {
			t.Errorf("vector %s/%s: bad hex", v.Transform, v.Note)
			continue
		}
		if got := blind.Apply(ts, string(in)); got != string(want) {
			t.Errorf("%s(%q) [%s] = %q, want %q", v.Transform, in, v.Note, got, want)
		}
	}
	for _, name := range transformNames {
		if !seen[name] {
			t.Errorf("no vector for transform %s", name)
		}
	}
}
