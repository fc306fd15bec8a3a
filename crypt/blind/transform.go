package blind

import (
	"strconv"
	"strings"
)

// Transform is a named, pure function from string to string, applied to a
// value before it is indexed (and, identically, to a query value before it
// is looked up). The zero Transform is the identity and has the name "".
type Transform struct {
	name string
	fn   func(string) string
}

// Name returns the transform's canonical name as it appears in a spec, such
// as "lower" or "last4".
func (t Transform) Name() string { return t.name }

// String returns the transform's name.
func (t Transform) String() string { return t.name }

// maxRunes bounds N in last<N> and first<N>.
const maxRunes = 1 << 16

// builtin holds the transforms that take no argument.
var builtin = map[string]func(string) string{
	"lower":       strings.ToLower,
	"upper":       strings.ToUpper,
	"trim":        strings.TrimSpace,
	"nfkc":        nfkc,
	"collapse":    collapseSpace,
	"digits":      digitsOnly,
	"emaildomain": emailDomain,
	"emaillocal":  emailLocal,
}

// ParseTransforms parses a '+'-separated list of transform names, such as
// "nfkc+lower+trim", into transforms applied left to right. The empty spec
// means no transform. An unknown or malformed name is a [*TransformError]
// that quotes it. See the package doc for the names.
func ParseTransforms(spec string) ([]Transform, error) {
	if spec == "" {
		return nil, nil
	}
	ts := make([]Transform, 0, strings.Count(spec, "+")+1)
	for name := range strings.SplitSeq(spec, "+") {
		t, err := parseTransform(name)
		if err != nil {
			return nil, err
		}
		ts = append(ts, t)
	}
	return ts, nil
}

func parseTransform(name string) (Transform, error) {
	if fn, ok := builtin[name]; ok {
		return Transform{name: name, fn: fn}, nil
	}
	for _, prefix := range [...]string{"last", "first"} {
		arg, ok := strings.CutPrefix(name, prefix)
		if !ok || arg == "" || arg[0] < '0' || arg[0] > '9' {
			continue
		}
		n, err := strconv.Atoi(arg)
		if err != nil || arg[0] == '0' || n < 1 || n > maxRunes {
			return Transform{}, &TransformError{Name: name, Reason: "N must be a decimal number from 1 to " + strconv.Itoa(maxRunes) + " without leading zeros"}
		}
		if prefix == "last" {
			return Transform{name: name, fn: func(s string) string { return lastRunes(s, n) }}, nil
		}
		return Transform{name: name, fn: func(s string) string { return firstRunes(s, n) }}, nil
	}
	if name == "" {
		return Transform{}, &TransformError{Name: name, Reason: "empty transform name"}
	}
	return Transform{}, &TransformError{Name: name, Reason: "unknown transform"}
}

// Apply applies the transforms to s in order and returns the result.
func Apply(ts []Transform, s string) string {
	for _, t := range ts {
		if t.fn != nil {
			s = t.fn(s)
		}
	}
	return s
}

// FormatTransforms returns the spec that [ParseTransforms] parses back into
// ts (transforms that it returned): their names joined with '+'.
func FormatTransforms(ts []Transform) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.name
	}
	return strings.Join(names, "+")
}
