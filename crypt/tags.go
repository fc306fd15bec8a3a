package crypt

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/fieldcrypt/fieldcrypt/crypt/blind"
)

// tagKey is the struct tag fieldcrypt reads.
const tagKey = "crypt"

// tagKind is what a tag makes of a field.
type tagKind int

const (
	tagNone     tagKind = iota
	tagSkip             // "-"
	tagScope            // "scope"
	tagID               // "id"
	tagEncrypt          // "encrypt"
	tagBlind            // "blind=..."
	tagRecord           // "record=..." on a blank field
	tagTokens           // "prefix=...", "suffix=...", "substring=...", "range=...", "set=..."
	tagAnyScope         // "anyscope", on a field that holds records of their own
)

// tag is a parsed crypt tag.
type tag struct {
	kind       tagKind
	name       string   // name=, the name bound into associated data
	class      string   // class=
	sources    []string // blind=A+B
	transforms string   // transform=
	bits       int      // bits=
	population int64    // population=, the expected distinct values per scope
	slow       bool     // slow
	record     string   // record=
	unbound    bool     // unbound, on record=: the record binds no identity on purpose

	// Token indexes (tokens.go): the kind, from the directive, and the
	// options only they take. Numbers are checked by the planner, which
	// checks a SchemaSpec's alike.
	tokenKind      blind.TokenKind
	minLen, maxLen int    // len=MIN..MAX
	n, maxTokens   int    // n=, tokens=
	rangeType      string // type=
	rangeMin       string // min=, as text of the type
	rangeMax       string // max=
	step           int64  // step=
	scale          int    // scale=
	precision      string // precision=
}

// maxPopulation bounds population=: a trillion distinct values per scope.
const maxPopulation = 1e12

// repeatedOptionError reports an option given twice in one tag. Both
// occurrences are named, since either may be the one the author meant.
type repeatedOptionError struct {
	first, second string
}

func (e *repeatedOptionError) Error() string {
	return fmt.Sprintf("option %q is given twice (%q and %q); give it once", strings.SplitN(e.first, "=", 2)[0], e.first, e.second)
}

// parseTag parses a crypt tag value. Errors say what is wrong with the tag;
// the caller adds the struct and field.
func parseTag(s string) (tag, error) {
	var t tag
	if s == "" {
		return t, nil
	}
	if s == "-" {
		t.kind = tagSkip
		return t, nil
	}
	first, rest, _ := strings.Cut(s, ",")
	key, val, hasVal := strings.Cut(first, "=")
	switch key {
	case "scope":
		t.kind = tagScope
	case "id":
		t.kind = tagID
	case "encrypt":
		t.kind = tagEncrypt
	case "blind":
		t.kind = tagBlind
		if val == "" {
			return t, fmt.Errorf("blind needs its source fields, as blind=Email or blind=First+Last")
		}
		t.sources = strings.Split(val, "+")
		hasVal = false
	case "prefix", "suffix", "substring", "range", "set":
		t.kind = tagTokens
		t.tokenKind = blind.TokenKind(key)
		if val == "" {
			return t, fmt.Errorf("%s needs its source fields, as %s=Name", key, key)
		}
		t.sources = strings.Split(val, "+")
		hasVal = false
	case "anyscope":
		t.kind = tagAnyScope
	case "record":
		t.kind = tagRecord
		if val == "" {
			return t, fmt.Errorf("record needs a name, as record=contact")
		}
		t.record = val
		hasVal = false
	default:
		return t, fmt.Errorf("unknown directive %q (want scope, id, encrypt, blind=, prefix=, suffix=, substring=, range=, set=, record=, anyscope or -)", key)
	}
	if hasVal {
		return t, fmt.Errorf("%s takes no value", key)
	}
	seen := map[string]string{} // option → its first occurrence
	for opt := range strings.SplitSeq(rest, ",") {
		if opt == "" {
			continue
		}
		k, v, _ := strings.Cut(opt, "=")
		allowed := optionsFor[t.kind]
		if t.kind == tagTokens {
			allowed = tokenOptions[t.tokenKind]
		}
		if !slices.Contains(strings.Fields(allowed), k) {
			return t, fmt.Errorf("option %q does not apply to %s", k, key)
		}
		if first, dup := seen[k]; dup {
			return t, &repeatedOptionError{first: first, second: opt}
		}
		seen[k] = opt
		switch k {
		case "name":
			if v == "" {
				return t, fmt.Errorf("name= needs a value")
			}
			t.name = v
		case "class":
			if v == "" {
				return t, fmt.Errorf("class= needs a value")
			}
			t.class = v
		case "transform":
			t.transforms = v
		case "bits":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 256 {
				return t, fmt.Errorf("bits=%s is not a number from 1 to 256", v)
			}
			t.bits = n
		case "population":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 1 || n > maxPopulation {
				return t, fmt.Errorf("population=%s is not a whole number from 1 to %d", v, int64(maxPopulation))
			}
			t.population = n
		case "slow":
			if v != "" {
				return t, fmt.Errorf("slow takes no value")
			}
			t.slow = true
		case "unbound":
			if v != "" {
				return t, fmt.Errorf("unbound takes no value")
			}
			t.unbound = true
		default:
			if err := t.tokenOption(k, v); err != nil {
				return t, err
			}
		}
	}
	return t, nil
}

// optionsFor lists the options each directive accepts, space-delimited.
var optionsFor = map[tagKind]string{
	tagScope:    " ",
	tagID:       " name ",
	tagEncrypt:  " name class ",
	tagBlind:    " name class transform bits population slow ",
	tagRecord:   " unbound ",
	tagAnyScope: " ",
}

// tokenOptions lists the options each kind of token index accepts.
var tokenOptions = map[blind.TokenKind]string{
	blind.TokenPrefix:    " name class transform bits len ",
	blind.TokenSuffix:    " name class transform bits len ",
	blind.TokenSubstring: " name class transform bits n tokens ",
	blind.TokenRange:     " name class bits type min max step scale precision ",
	blind.TokenSet:       " name class transform bits ",
}

// tokenOption parses an option only token indexes take. It checks the
// syntax; the planner checks the values, as it checks a SchemaSpec's.
func (t *tag) tokenOption(k, v string) error {
	if v == "" {
		return fmt.Errorf("%s= needs a value", k)
	}
	positive := func() (int, error) {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return 0, fmt.Errorf("%s=%s is not a whole number of at least 1", k, v)
		}
		return n, nil
	}
	var err error
	switch k {
	case "len":
		lo, hi, ok := strings.Cut(v, "..")
		a, errA := strconv.Atoi(lo)
		b, errB := strconv.Atoi(hi)
		if !ok || errA != nil || errB != nil {
			return fmt.Errorf("len=%s is not MIN..MAX in runes, as len=3..8", v)
		}
		t.minLen, t.maxLen = a, b
	case "n":
		t.n, err = positive()
	case "tokens":
		t.maxTokens, err = positive()
	case "type":
		t.rangeType = v
	case "min":
		t.rangeMin = v
	case "max":
		t.rangeMax = v
	case "step":
		n, perr := strconv.ParseInt(v, 10, 64)
		if perr != nil || n < 1 {
			return fmt.Errorf("step=%s is not a whole number of at least 1", v)
		}
		t.step = n
	case "scale":
		t.scale, err = positive()
	case "precision":
		t.precision = v
	}
	return err
}
