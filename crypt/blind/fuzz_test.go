package blind_test

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/fieldcrypt/fieldcrypt/crypt/blind"
)

// idempotent lists the specs for which applying twice equals applying once.
// (emaillocal is not: "a@b@c" → "a@b" → "a".)
var idempotent = []string{
	"lower", "upper", "trim", "nfkc", "collapse", "digits", "last4", "first3",
	"emaildomain", "collapse+trim", "nfkc+digits", "digits+last4", "lower+trim",
}

func FuzzTransforms(f *testing.F) {
	for _, s := range []string{
		"", " Alice@Example.COM ", "ＡＢＣ", "e\u0301", "İSTANBUL", "+1 (555) 010-9999",
		"٤٢ ۷ १२३", "a@b@c", "\xff\xfe", "\u00a0\u3000x\t\n", "ﬁ²①", "ǅ", "ΣΑΣ",
	} {
		f.Add("lower+trim", s)
		f.Add("nfkc+digits+last4", s)
	}
	f.Add("last65537", "x")
	f.Add("bogus+", "x")
	f.Fuzz(func(t *testing.T, spec, value string) {
		// Any spec parses or fails with a *TransformError, without panicking.
		if ts, err := blind.ParseTransforms(spec); err == nil {
			_ = blind.Apply(ts, value)
		} else if _, ok := err.(*blind.TransformError); !ok {
			t.Fatalf("ParseTransforms(%q) err = %T, want *TransformError", spec, err)
		}

		for _, spec := range idempotent {
			ts, err := blind.ParseTransforms(spec)
			if err != nil {
				t.Fatalf("ParseTransforms(%q) err = %v", spec, err)
			}
			once := blind.Apply(ts, value)
			if twice := blind.Apply(ts, once); twice != once {
				t.Errorf("%s is not idempotent on %q: %q then %q", spec, value, once, twice)
			}
		}

		one := func(spec string) string {
			ts, err := blind.ParseTransforms(spec)
			if err != nil {
				t.Fatalf("ParseTransforms(%q) err = %v", spec, err)
			}
			return blind.Apply(ts, value)
		}
		if d := one("digits"); strings.Trim(d, "0123456789") != "" {
			t.Errorf("digits(%q) = %q, want only ASCII digits", value, d)
		}
		if l := one("last4"); !strings.HasSuffix(value, l) || utf8.RuneCountInString(l) > 4 && utf8.ValidString(l) {
			t.Errorf("last4(%q) = %q, want a suffix of at most 4 runes", value, l)
		}
		if p := one("first3"); !strings.HasPrefix(value, p) || utf8.RuneCountInString(p) > 3 && utf8.ValidString(p) {
			t.Errorf("first3(%q) = %q, want a prefix of at most 3 runes", value, p)
		}
		if d := one("emaildomain"); strings.Contains(d, "@") {
			t.Errorf("emaildomain(%q) = %q, contains '@'", value, d)
		}
		if l := one("emaillocal"); !strings.HasPrefix(value, l) {
			t.Errorf("emaillocal(%q) = %q, want a prefix", value, l)
		}
		if c := one("collapse+trim"); strings.TrimFunc(c, unicode.IsSpace) != c || strings.Contains(c, "  ") {
			t.Errorf("collapse+trim(%q) = %q, has space at an end or a double space", value, c)
		}
	})
}
