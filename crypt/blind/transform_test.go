package blind_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/crypt/blind"
)

func TestApplyTransforms(t *testing.T) {
	tests := []struct {
		spec, in, want string
	}{
		{"", "  Mixed Case  ", "  Mixed Case  "},
		{"lower", "Alice@Example.COM", "alice@example.com"},
		{"lower", "ÀÉÎÕÜ ΣΑΣ", "àéîõü σασ"},
		{"lower", "İSTANBUL", "istanbul"},   // Turkish dotted capital I: language-neutral mapping
		{"lower", "IĞDIR", "iğdir"},         // plain I lower-cases to i, not dotless ı
		{"upper", "straße ıi", "STRAßE II"}, // simple case mapping: ß stays, dotless ı uppers to I
		{"trim", "\u00a0\t  bob \n\u3000", "bob"},
		{"trim", "  a  b  ", "a  b"},
		{"nfkc", "ＡＢＣ", "ABC"},
		{"nfkc", "e\u0301", "é"},    // combining acute composes
		{"nfkc", "ﬁ ① ²", "fi 1 2"}, // ligature, circled and superscript digits fold
		{"nfkc+lower", "ＡＢＣ", "abc"},
		{"collapse", "a \t\n b\u00a0\u00a0c", "a b c"},
		{"collapse", "  lead and trail  ", " lead and trail "},
		{"collapse", "nospace", "nospace"},
		{"collapse+trim", "  John \t  Smith  ", "John Smith"},
		{"digits", "+1 (555) 010-9999", "15550109999"},
		{"digits", "٤٢ ۷ १२३ ９", "4271239"}, // Arabic-Indic, Extended Arabic-Indic, Devanagari, fullwidth
		{"digits", "𝟎𝟗𝟙𝟠", "0918"},          // mathematical digits: runs of 10 back to back
		{"digits", "² Ⅻ ½", ""},             // not decimal digits
		{"nfkc+digits", "x²", "2"},
		{"digits", "no digits", ""},
		{"last4", "4111 1111 1111 1234", "1234"},
		{"last4", "123", "123"},
		{"last4", "", ""},
		{"last2", "añé", "ñé"}, // runes, not bytes
		{"digits+last4", "+1 (555) 010-9999", "9999"},
		{"first1", "Émile", "É"},
		{"first3+lower", "SMITHSON", "smi"},
		{"first10", "short", "short"},
		{"emaildomain", "Alice@Example.COM", "example.com"},
		{"emaildomain", "\"a@b\"@Example.org", "example.org"}, // after the last '@'
		{"emaildomain", "Example.COM", "example.com"},         // no '@': the whole value
		{"emaildomain", "alice@", ""},
		{"emaillocal", "Alice@Example.COM", "Alice"},
		{"emaillocal", "\"a@b\"@example.org", "\"a@b\""},
		{"emaillocal", "alice", "alice"},
		{"emaillocal+lower", "Alice@Example.COM", "alice"},
		{"trim+lower+emaildomain", "  Bob@Mail.Example.NET ", "mail.example.net"},
	}
	for _, tt := range tests {
		t.Run(tt.spec+"/"+tt.in, func(t *testing.T) {
			ts, err := blind.ParseTransforms(tt.spec)
			if err != nil {
				t.Fatalf("ParseTransforms(%q) err = %v, want nil", tt.spec, err)
			}
			if got := blind.Apply(ts, tt.in); got != tt.want {
				t.Errorf("Apply(%q, %q) = %q, want %q", tt.spec, tt.in, got, tt.want)
			}
		})
	}
}

func TestTransformsInvalidUTF8(t *testing.T) {
	const bad = "\xff"
	tests := []struct {
		spec, in, want string
	}{
		{"trim", " a" + bad + " ", "a" + bad},
		{"collapse", "a" + bad + "  b", "a" + bad + " b"},
		{"last1", "a" + bad, bad},
		{"first2", bad + "ab", bad + "a"},
		{"emaillocal", "a" + bad + "@b", "a" + bad},
		{"nfkc", "a" + bad, "a" + bad},
		{"lower", "A" + bad, "a\uFFFD"},
		{"upper", "a" + bad, "A\uFFFD"},
		{"emaildomain", "a@B" + bad, "b\uFFFD"},
		{"digits", "1" + bad + "2", "12"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			ts, err := blind.ParseTransforms(tt.spec)
			if err != nil {
				t.Fatalf("ParseTransforms(%q) err = %v, want nil", tt.spec, err)
			}
			if got := blind.Apply(ts, tt.in); got != tt.want {
				t.Errorf("Apply(%q, %q) = %q, want %q", tt.spec, tt.in, got, tt.want)
			}
		})
	}
}

func TestParseTransformsNames(t *testing.T) {
	ts, err := blind.ParseTransforms("nfkc+lower+trim+last4+first12+emaildomain")
	if err != nil {
		t.Fatalf("ParseTransforms err = %v, want nil", err)
	}
	want := []string{"nfkc", "lower", "trim", "last4", "first12", "emaildomain"}
	if len(ts) != len(want) {
		t.Fatalf("ParseTransforms gave %d transforms, want %d", len(ts), len(want))
	}
	for i, tr := range ts {
		if tr.Name() != want[i] || tr.String() != want[i] {
			t.Errorf("transform %d: Name() = %q, String() = %q, want %q", i, tr.Name(), tr.String(), want[i])
		}
	}
	if got := blind.FormatTransforms(ts); got != strings.Join(want, "+") {
		t.Errorf("FormatTransforms = %q, want %q", got, strings.Join(want, "+"))
	}
	if ts, err := blind.ParseTransforms(""); err != nil || len(ts) != 0 {
		t.Errorf(`ParseTransforms("") = %v, %v; want none, nil`, ts, err)
	}
	if got := blind.Apply([]blind.Transform{{}}, "Zero"); got != "Zero" {
		t.Errorf("Apply(zero Transform) = %q, want the identity", got)
	}
}

func TestParseTransformsErrors(t *testing.T) {
	tests := []struct {
		spec, name string
	}{
		{"lowercase", "lowercase"},
		{"lower+Trim", "Trim"},
		{"lower+", ""},
		{"+lower", ""},
		{"lower++trim", ""},
		{"lower + trim", "lower "},
		{"last0", "last0"},
		{"last04", "last04"},
		{"last-1", "last-1"},
		{"last", "last"},
		{"first", "first"},
		{"last4x", "last4x"},
		{"last65537", "last65537"},
		{"first99999999999999999999", "first99999999999999999999"},
		{"sha256", "sha256"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			ts, err := blind.ParseTransforms(tt.spec)
			if err == nil {
				t.Fatalf("ParseTransforms(%q) = %v, nil; want error", tt.spec, ts)
			}
			var te *blind.TransformError
			if !errors.As(err, &te) {
				t.Fatalf("ParseTransforms(%q) err = %T %v, want *TransformError", tt.spec, err, err)
			}
			if te.Name != tt.name {
				t.Errorf("ParseTransforms(%q) TransformError.Name = %q, want %q", tt.spec, te.Name, tt.name)
			}
			if !strings.Contains(err.Error(), `"`+tt.name+`"`) {
				t.Errorf("ParseTransforms(%q) err = %q, want it to quote %q", tt.spec, err, tt.name)
			}
		})
	}
	if _, err := blind.ParseTransforms("last65536"); err != nil {
		t.Errorf(`ParseTransforms("last65536") err = %v, want nil (the largest N)`, err)
	}
}
