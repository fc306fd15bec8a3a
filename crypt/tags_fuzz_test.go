package crypt

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// tagSeeds are crypt tags as the docs and tests write them, and broken
// variants of them.
var tagSeeds = []string{
	"", "-", "scope", "id", "id,name=ID", "encrypt", "encrypt,class=pii", "encrypt,name=Mail,class=support",
	"blind=Email,bits=16", "blind=First+Last,transform=lower+trim,population=100000", "blind=Email,slow,bits=8",
	"prefix=Email,len=3..12,bits=12,class=support", "suffix=Phone,len=4..4,bits=10",
	"substring=Name,transform=lower,n=3,tokens=64", "range=Born,type=date,min=1900-01-01,max=2030-12-31",
	"range=Age,type=int,min=0,max=150,step=5", "range=Amount,type=decimal,min=0,max=1000,scale=2,step=1",
	"range=At,type=timestamp,min=2000-01-01T00:00:00Z,max=2100-01-01T00:00:00Z,precision=hour",
	"set=Home+Work,bits=8,class=pii", "set=Emails[].Address,bits=10", "record=contact", "record=contact,unbound",
	// Broken.
	"blind", "blind=", "encrypt=x", "scope,name=x", "bits=5", "blind=A,bits=0", "blind=A,bits=257",
	"blind=A,bits=x", "blind=A,population=1e12", "blind=A,population=-1", "blind=A,slow=yes",
	"blind=A,bits=8,bits=9", "encrypt,,class=", "prefix=A,len=3", "prefix=A,len=..", "prefix=A,len=a..b",
	"substring=A,n=0", "range=A,step=-1", "record=", "record=x,unbound=1", ",", "encrypt,class=a,name=",
	"\x00", "encrypt,\xff=1",
}

// formatTag writes t back as a crypt tag: the directive first, then every
// option that is set, in a fixed order.
func formatTag(t tag) string {
	var parts []string
	switch t.kind {
	case tagNone:
		return ""
	case tagSkip:
		return "-"
	case tagScope:
		parts = append(parts, "scope")
	case tagID:
		parts = append(parts, "id")
	case tagEncrypt:
		parts = append(parts, "encrypt")
	case tagBlind:
		parts = append(parts, "blind="+strings.Join(t.sources, "+"))
	case tagTokens:
		parts = append(parts, string(t.tokenKind)+"="+strings.Join(t.sources, "+"))
	case tagRecord:
		parts = append(parts, "record="+t.record)
	}
	opt := func(set bool, s string) {
		if set {
			parts = append(parts, s)
		}
	}
	opt(t.name != "", "name="+t.name)
	opt(t.class != "", "class="+t.class)
	opt(t.transforms != "", "transform="+t.transforms)
	opt(t.bits != 0, "bits="+strconv.Itoa(t.bits))
	opt(t.population != 0, "population="+strconv.FormatInt(t.population, 10))
	opt(t.slow, "slow")
	opt(t.unbound, "unbound")
	opt(t.minLen != 0 || t.maxLen != 0, "len="+strconv.Itoa(t.minLen)+".."+strconv.Itoa(t.maxLen))
	opt(t.n != 0, "n="+strconv.Itoa(t.n))
	opt(t.maxTokens != 0, "tokens="+strconv.Itoa(t.maxTokens))
	opt(t.rangeType != "", "type="+t.rangeType)
	opt(t.rangeMin != "", "min="+t.rangeMin)
	opt(t.rangeMax != "", "max="+t.rangeMax)
	opt(t.step != 0, "step="+strconv.FormatInt(t.step, 10))
	opt(t.scale != 0, "scale="+strconv.Itoa(t.scale))
	opt(t.precision != "", "precision="+t.precision)
	return strings.Join(parts, ",")
}

// FuzzParseTag feeds arbitrary tag values to parseTag: it never panics; a
// tag it accepts, written back in canonical form, parses to the same tag;
// and a tag it refuses is refused with an error naming the directive or
// option at fault.
func FuzzParseTag(f *testing.F) {
	for _, s := range tagSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tg, err := parseTag(s)
		if err != nil {
			// The keys the tag holds, its directive and its options, as
			// written or quoted (%q).
			msg := err.Error()
			named := false
			for part := range strings.SplitSeq(s, ",") {
				k, _, _ := strings.Cut(part, "=")
				if k != "" && (strings.Contains(msg, k) || strings.Contains(msg, strconv.Quote(k))) {
					named = true
					break
				}
			}
			if !named && strings.Trim(s, ",") != "" && !strings.HasPrefix(s, ",") && !strings.HasPrefix(s, "=") {
				t.Fatalf("parseTag(%q) err = %q names neither the directive nor an option of the tag", s, msg)
			}
			return
		}
		if s != "" && s != "-" && tg.kind == tagNone {
			t.Fatalf("parseTag(%q) accepted a tag with no directive", s)
		}
		canon := formatTag(tg)
		again, err := parseTag(canon)
		if err != nil {
			t.Fatalf("parseTag(%q) = %+v, but its canonical form %q is refused: %v", s, tg, canon, err)
		}
		if !reflect.DeepEqual(tg, again) {
			t.Fatalf("parseTag(%q) = %+v, but its canonical form %q parses to %+v", s, tg, canon, again)
		}
	})
}
