package crypt

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fieldcrypt/fieldcrypt/crypt/blind"
	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// Tokens holds the tokens of one token index for one record: sorted
// ascending, each once, nil when the index's sources are empty or absent.
// [Encryptor.Encrypt] fills a Tokens field tagged with a token directive
// (prefix=, suffix=, substring=, range= or set=; see the package doc) from
// the plaintext of its sources; Decrypt leaves it alone.
//
// A Tokens value is not a column by itself. The data layer stores it
// beside the row: as rows (row key, token) of a side table indexed on
// token, or as a PostgreSQL bigint[] column with a GIN index, and answers
// an [Encryptor.Search] by evaluating its [blind.Query] values against it
// (see blind.Query for the SQL). Token bytes are specified in
// docs/FORMAT.md, "Token indexes".
type Tokens []int64

var tokensType = reflect.TypeFor[Tokens]()

// ErrRangeSyntax means a range index's source value, or a bound of a
// Between search, does not parse as the index's type (type=int, decimal,
// date or timestamp). The error names the index and field, never the text.
var ErrRangeSyntax = errors.New("crypt: value does not parse as the range index's type")

// tokenField is a token index of a plan: a Tokens field (a row's entry,
// for a Schema) computed from its sources.
type tokenField struct {
	fieldLoc   // the Tokens field (a cell, for a Schema)
	path       string
	name       string // bound into the index's subkey
	class      string
	classIdx   int // position of class in plan.indexClasses
	spec       blind.TokenSpec
	transforms []blind.Transform
	spelled    string // the transforms as declared
	sources    []tokenSource
	rng        rangeKind // range indexes: how a source's text maps to int64
	rangeMin   string    // range: the domain's bounds as declared
	rangeMax   string
}

// tokenSource is a source of a token index: a field of the struct that
// holds the index, or (set indexes) a field of each element of a slice of
// structs there, such as "Emails[].Address".
type tokenSource struct {
	fieldLoc           // the field; for an element source, the slice
	kind     fieldKind // the field's kind; for an element source, the element field's
	path     string    // as declared: "Email", "Emails[].Address"
	elem     []int     // an element source: the field's index within an element
	ptrElem  bool      // an element source in a slice of pointers
}

// rangeKind is the type of a range index: how the text of its source and
// of its bounds maps to the int64 values of blind.RangeDomain.
type rangeKind struct {
	typ       string // "int", "decimal", "date" or "timestamp"
	scale     int    // decimal: digits after the point
	precision string // timestamp: "second", "minute", "hour" or "day"
}

// rangeTypes are the type= values, and what their text is.
var rangeTypes = map[string]string{
	"int":       "a base-10 int64",
	"decimal":   "a decimal number with at most scale= digits after the point",
	"date":      "a date 2006-01-02",
	"timestamp": "an RFC 3339 timestamp",
}

// precisionSteps are the precision= values of a timestamp range index and
// the Step, in seconds, each gives.
var precisionSteps = map[string]int64{"second": 1, "minute": 60, "hour": 3600, "day": 86400}

// maxScale bounds scale=: 10^18 is the largest power of ten in an int64.
const maxScale = 18

// parse maps text of the index's type to its int64 value: an int as it
// is, a decimal scaled by 10^scale (exactly: more fractional digits than
// scale is an error, never a rounding), a date to days since 1970-01-01, a
// timestamp to Unix seconds (fractions of a second dropped).
func (r rangeKind) parse(s string) (int64, bool) {
	switch r.typ {
	case "int":
		if s == "" || s[0] == '+' {
			return 0, false
		}
		v, err := strconv.ParseInt(s, 10, 64)
		return v, err == nil
	case "decimal":
		return parseDecimal(s, r.scale)
	case "date":
		t, err := time.Parse(time.DateOnly, s)
		if err != nil || t.Format(time.DateOnly) != s {
			return 0, false
		}
		return t.Unix() / 86400, true
	case "timestamp":
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return 0, false
		}
		return t.Unix(), true
	}
	return 0, false
}

// parseDecimal parses [-]digits[.digits] with at most scale digits after
// the point into value × 10^scale.
func parseDecimal(s string, scale int) (int64, bool) {
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	whole, frac, dot := strings.Cut(s, ".")
	if whole == "" || (dot && frac == "") || len(frac) > scale {
		return 0, false
	}
	limit := uint64(math.MaxInt64)
	if neg {
		limit++
	}
	var v uint64
	digit := func(c byte) bool {
		if c < '0' || c > '9' {
			return false
		}
		d := uint64(c - '0')
		if v > (limit-d)/10 {
			return false
		}
		v = v*10 + d
		return true
	}
	for i := range len(whole) {
		if !digit(whole[i]) {
			return 0, false
		}
	}
	for i := range scale {
		c := byte('0')
		if i < len(frac) {
			c = frac[i]
		}
		if !digit(c) {
			return 0, false
		}
	}
	if neg {
		return int64(-v), true // -(1<<63) wraps to itself, as wanted
	}
	return int64(v), true
}

// tokenDecl is a token index as a front end declares it: the options of a
// tag, or the fields of a TokenIndexSpec.
type tokenDecl struct {
	dest               fieldLoc
	path, name         string
	class              string
	kind               blind.TokenKind
	transforms         string
	bits               int
	minLen, maxLen     int
	n, maxTokens       int
	rangeType          string
	rangeMin, rangeMax string
	step               int64
	scale              int
	precision          string
	sources            []tokenSource
	srcClasses         []string // each source's class; "" when not encrypted
}

// Refusals of token indexes that share a name or path with another index.
const (
	tokenNameTaken  = "token index named %q, as is %s: a search by that name would be ambiguous; give one a distinct name="
	tokenPathTaken  = "token index at the path %q, as is %s"
	tokenPathIsName = "token index at the path %q, which %s uses as its name=: a search by that name would be ambiguous"
	tokenNameIsPath = "token index named %q, which is the path of %s: a search by that name would be ambiguous"
)

// declareTokens declares a token index of g: it claims its path and name
// among every index's, settles its class from its sources, and settles
// and checks its parameters with package blind (blind.CheckTokens), so
// that tags and SchemaSpecs are held to the same rules.
func (b *planner) declareTokens(g *group, d tokenDecl, o origin) error {
	kind := d.kind
	opts, ok := tokenOptions[kind]
	if !ok {
		return b.errAt(o, "unknown token index kind %.32q; want prefix, suffix, substring, range or set", string(kind))
	}
	// Options that do not apply to the kind. (A tag's parser refuses them
	// first; this is the same rule for a SchemaSpec.)
	for _, opt := range []struct {
		name string
		set  bool
	}{
		{"transform", d.transforms != ""},
		{"len", d.minLen != 0 || d.maxLen != 0},
		{"n", d.n != 0},
		{"tokens", d.maxTokens != 0},
		{"type", d.rangeType != ""},
		{"min", d.rangeMin != ""},
		{"max", d.rangeMax != ""},
		{"step", d.step != 0},
		{"scale", d.scale != 0},
		{"precision", d.precision != ""},
	} {
		if opt.set && !strings.Contains(opts, " "+opt.name+" ") {
			return b.errAt(o, "option %s does not apply to a %s index", opt.name, kind)
		}
	}
	ts, err := blind.ParseTransforms(d.transforms)
	if err != nil {
		return b.errAt(o, "%v", err)
	}
	tf := tokenField{fieldLoc: d.dest, path: d.path, name: d.name, class: d.class,
		transforms: ts, spelled: d.transforms, sources: d.sources}
	if err := b.claimIndex(tf.path, tf.name, o, true); err != nil {
		return err
	}
	switch {
	case len(d.sources) == 0:
		return b.errAt(o, "%s index has no source", kind)
	case kind != blind.TokenSet && len(d.sources) > 1:
		return b.errAt(o, "a %s index has one source; index several fields together with set=A+B", kind)
	}
	for _, src := range d.sources {
		if src.elem != nil && kind != blind.TokenSet {
			return b.errAt(o, "source %s is a field of slice elements: only a set index takes one", src.path)
		}
		if kind == blind.TokenRange && !src.kind.isText() {
			return b.errAt(o, "range index source %s must be a string or *string (its text is parsed as type=%s)", src.path, d.rangeType)
		}
	}
	names := make([]string, len(d.sources))
	for i, src := range d.sources {
		names[i] = src.path
	}
	if tf.class, err = b.indexClass("token", d.class, d.srcClasses, names, o); err != nil {
		return err
	}
	spec := blind.TokenSpec{Kind: kind, Bits: d.bits}
	defaultBits := false
	switch kind {
	case blind.TokenPrefix, blind.TokenSuffix:
		if d.minLen == 0 && d.maxLen == 0 {
			return b.errAt(o, "%s index needs len=MIN..MAX, the lengths in runes that get a token (as len=3..8)", kind)
		}
		spec.MinLen, spec.MaxLen = d.minLen, d.maxLen
		if d.bits == 0 {
			return b.errAt(o, "%s index needs bits=N: no default width is safe for every population (blind.RecommendPrefixBits gives the widest the leakage rule allows)", kind)
		}
	case blind.TokenSet:
		if d.bits == 0 {
			return b.errAt(o, "set index needs bits=N: no default width is safe for every population (size it as a blind index of its distinct elements, with blind.Recommend)")
		}
	case blind.TokenSubstring:
		spec.N = cmp.Or(d.n, blind.DefaultGramLen)
		spec.MaxTokens = cmp.Or(d.maxTokens, blind.DefaultMaxTokens)
		if d.bits == 0 {
			defaultBits = true
			folded := blind.TokenAlphabet(ts) != blind.AlphabetMixedCase
			spec.Bits = max(1, blind.RecommendSubstringBits(spec.N, folded))
		}
	case blind.TokenRange:
		if err := b.rangeSpec(&tf, &spec, d, o); err != nil {
			return err
		}
	}
	err = blind.CheckTokens(spec, ts)
	var leak *blind.TokenLeakageError
	if defaultBits && errors.As(err, &leak) {
		// The recommended width assumes a case-folded or mixed-case
		// alphabet; digits leave fewer symbols: take the widest allowed.
		spec.Bits = leak.MaxBits
		err = blind.CheckTokens(spec, ts)
	}
	if err != nil {
		return b.errAt(o, "%s", tokenSpecMessage(err, d))
	}
	tf.spec = spec
	g.tokens = append(g.tokens, tf)
	return nil
}

// tokenSpecMessage says why package blind refused a token index's
// parameters, in the tag's terms.
func tokenSpecMessage(err error, d tokenDecl) string {
	msg := strings.TrimPrefix(err.Error(), "blind: ")
	var leak *blind.TokenLeakageError
	if errors.As(err, &leak) {
		what, fix := "n-gram", "longer n-grams (n=)"
		if leak.Kind != blind.TokenSubstring {
			what, fix = string(leak.Kind), "a longer minimum length (len=)"
		}
		return fmt.Sprintf("tokens nearly unique per %s, so a row's tokens nearly spell out its value: %s, or %s", what, msg, fix)
	}
	var se *blind.TokenSpecError
	if errors.As(err, &se) {
		opt := map[string]string{"Bits": "bits", "MinLen": "len", "MaxLen": "len", "N": "n", "MaxTokens": "tokens", "Domain": "min/max/step"}[se.Field]
		if d.kind == blind.TokenRange && se.Field == "Domain" && d.rangeType == "timestamp" {
			opt = "min/max/precision"
		}
		if opt != "" {
			return opt + "= refused: " + msg
		}
	}
	return msg
}

// rangeSpec settles the type, domain and width of a range index.
func (b *planner) rangeSpec(tf *tokenField, spec *blind.TokenSpec, d tokenDecl, o origin) error {
	if _, ok := rangeTypes[d.rangeType]; !ok {
		if d.rangeType == "" {
			return b.errAt(o, "range index needs type=int, decimal, date or timestamp")
		}
		return b.errAt(o, "type=%.32q is not int, decimal, date or timestamp", d.rangeType)
	}
	r := rangeKind{typ: d.rangeType}
	switch r.typ {
	case "decimal":
		if d.scale < 1 || d.scale > maxScale {
			return b.errAt(o, "a decimal range index needs scale=N, the digits after the point, from 1 to %d (type=int has none)", maxScale)
		}
		r.scale = d.scale
	default:
		if d.scale != 0 {
			return b.errAt(o, "option scale does not apply to type=%s", r.typ)
		}
	}
	step := cmp.Or(d.step, 1)
	if r.typ == "timestamp" {
		if d.step != 0 {
			return b.errAt(o, "option step does not apply to type=timestamp: give precision=second, minute, hour or day")
		}
		r.precision = cmp.Or(d.precision, "second")
		s, ok := precisionSteps[r.precision]
		if !ok {
			return b.errAt(o, "precision=%.32q is not second, minute, hour or day", d.precision)
		}
		step = s
	} else if d.precision != "" {
		return b.errAt(o, "option precision does not apply to type=%s", r.typ)
	}
	if d.rangeMin == "" || d.rangeMax == "" {
		return b.errAt(o, "range index needs min= and max=, the smallest and largest values it can hold, as %s", rangeTypes[r.typ])
	}
	lo, okLo := r.parse(d.rangeMin)
	hi, okHi := r.parse(d.rangeMax)
	switch {
	case !okLo:
		return b.errAt(o, "min= is not %s", rangeTypes[r.typ])
	case !okHi:
		return b.errAt(o, "max= is not %s", rangeTypes[r.typ])
	case lo > hi:
		return b.errAt(o, "min= is above max=: the domain is inverted")
	case lo == hi:
		return b.errAt(o, "min= equals max=: the domain holds one value, so the index would tell nothing apart")
	}
	spec.Domain = blind.RangeDomain{Min: lo, Max: hi, Step: step}
	if spec.Bits == 0 {
		// Range tokens are bounded by the tree, not by the width: each
		// value has one token per level, shared by the values of its
		// subtree, so equal tokens mean "in the same subtree" whatever
		// the width. Narrower tokens add false positives and hide nothing
		// the tree does not already tell.
		spec.Bits = blind.MaxTokenBits
	}
	tf.rng, tf.rangeMin, tf.rangeMax = r, d.rangeMin, d.rangeMax
	return nil
}

// claimIndex claims an index's path and name among every index's (blind
// and token): two with one name or one path would be ambiguous, and a
// name that is another index's path too (for a SchemaSpec, name and path
// are both the column, or a token index's name).
func (b *planner) claimIndex(path, name string, o origin, token bool) error {
	pathTaken, nameTaken, pathIsName, nameIsPath := indexPathTaken, indexNameTaken, indexPathIsName, indexNameIsPath
	if token {
		pathTaken, nameTaken, pathIsName, nameIsPath = tokenPathTaken, tokenNameTaken, tokenPathIsName, tokenNameIsPath
	}
	if prev, ok := b.indexPaths[path]; ok && b.tokenIndexes[prev] {
		// Refusing a blind index named like a token index: the subkeys
		// differ, but a lookup by the name would be ambiguous.
		pathTaken = tokenPathTaken
	}
	if prev, ok := b.indexNames[name]; ok && b.tokenIndexes[prev] {
		nameTaken = tokenNameTaken
	}
	if err := b.claim(b.indexPaths, path, o, pathTaken); err != nil {
		return err
	}
	if err := b.claim(b.indexNames, name, o, nameTaken); err != nil {
		return err
	}
	if token {
		b.tokenIndexes[o] = true
	}
	if !b.spec || token {
		// Indexes are found by their path or their name: neither may be
		// another index's. (A SchemaSpec's blind indexes are found by
		// column, its token indexes by name.)
		if prev, ok := b.indexNames[path]; ok && prev != o {
			return b.conflict(o, prev, pathIsName, path)
		}
		if prev, ok := b.indexPaths[name]; ok && prev != o {
			return b.conflict(o, prev, nameIsPath, name)
		}
	}
	return nil
}

// tokenIndex declares the token index tagged on field f of struct t. Its
// sources are fields of t, or fields of the elements of a slice of t
// ("Emails[].Address").
func (b *planner) tokenIndex(g *group, t reflect.Type, f reflect.StructField, tg tag, index []int, path string) error {
	d := tokenDecl{
		dest:       fieldLoc{index: append(slices.Clone(index), f.Index...)},
		path:       path + f.Name,
		name:       cmp.Or(tg.name, path+f.Name),
		class:      tg.class,
		kind:       tg.tokenKind,
		transforms: tg.transforms,
		bits:       tg.bits,
		minLen:     tg.minLen, maxLen: tg.maxLen,
		n: tg.n, maxTokens: tg.maxTokens,
		rangeType: tg.rangeType, rangeMin: tg.rangeMin, rangeMax: tg.rangeMax,
		step: tg.step, scale: tg.scale, precision: tg.precision,
	}
	self := origin{t, f.Name, d.path}
	if tg.bits > blind.MaxTokenBits {
		return b.errAt(self, "bits=%d is wider than a token's %d bits", tg.bits, blind.MaxTokenBits)
	}
	for _, src := range tg.sources {
		sliceName, elemName, isElem := strings.Cut(src, "[].")
		sf, ok := t.FieldByName(sliceName)
		if !ok || !sf.IsExported() {
			return b.errAt(self, "token index source %q is not an exported field of %v", sliceName, t)
		}
		si := append(slices.Clone(index), sf.Index...)
		if !isElem {
			kind, ok := encKind(sf.Type)
			if !ok {
				return b.errAt(self, "token index source %s must be a string, []byte, *string or *[]byte, not %v", src, sf.Type)
			}
			class := ""
			if k := slices.IndexFunc(g.fields, func(ef encField) bool { return slices.Equal(ef.index, si) }); k >= 0 {
				class = g.fields[k].class
			}
			d.sources = append(d.sources, tokenSource{fieldLoc: fieldLoc{index: si}, kind: kind, path: src})
			d.srcClasses = append(d.srcClasses, class)
			continue
		}
		et := sf.Type
		if et.Kind() != reflect.Slice {
			return b.errAt(self, "token index source %s: %s is not a slice of structs but %v", src, sliceName, sf.Type)
		}
		et = et.Elem()
		ptrElem := et.Kind() == reflect.Pointer
		if ptrElem {
			et = et.Elem()
		}
		if et.Kind() != reflect.Struct {
			return b.errAt(self, "token index source %s: %s is not a slice of structs but %v", src, sliceName, sf.Type)
		}
		ef, ok := et.FieldByName(elemName)
		if !ok || !ef.IsExported() || strings.Contains(elemName, ".") {
			return b.errAt(self, "token index source %s: %q is not an exported field of %v", src, elemName, et)
		}
		kind, ok := encKind(ef.Type)
		if !ok {
			return b.errAt(self, "token index source %s must be a string, []byte, *string or *[]byte, not %v", src, ef.Type)
		}
		k := slices.IndexFunc(g.slices, func(sl sliceField) bool { return slices.Equal(sl.index, si) })
		if k < 0 && hasCryptTags(et, nil) {
			// This record's plan does not encrypt the elements, so the
			// class of the field read is unknown here: the index would
			// take another class than its source's.
			if _, held := holdsRecords(sf.Type); held {
				return b.errAt(self, "token index source %s: %s holds records of their own (%v declares record=), encrypted in their own rows under their own plan, "+
					"so this index could not take the class of %s, and their rows' own writes would leave it stale; index %s in %v itself", src, sliceName, et, elemName, elemName, et)
			}
			return b.errAt(self, "token index source %s: %s is left alone by this record (crypt:\"-\"), but %v has crypt tags, "+
				"so this index could not take the class of %s; index a slice the record encrypts", src, sliceName, et, elemName)
		}
		class := ""
		if k >= 0 {
			elem := g.slices[k].elem
			if j := slices.IndexFunc(elem.fields, func(x encField) bool { return slices.Equal(x.index, ef.Index) }); j >= 0 {
				class = elem.fields[j].class
			}
		}
		d.sources = append(d.sources, tokenSource{fieldLoc: fieldLoc{index: si}, kind: kind, path: src, elem: ef.Index, ptrElem: ptrElem})
		d.srcClasses = append(d.srcClasses, class)
	}
	return b.declareTokens(g, d, self)
}

// tokenizers holds one blind.Tokenizer per enabled index key for one token
// index, the primary first, memoized per loaded index keyset with the
// indexers of blind indexes (indexerCache).
type tokenizers struct {
	list []*blind.Tokenizer // primary first, then by key ID
}

// tokenizersFor returns the tokenizers of tf under the keyset ik.
func (e *Encryptor) tokenizersFor(hint *memoHint, ik *keyring.IndexKeys, record string, tf *tokenField) (*tokenizers, error) {
	return memo(e.indexers, hint, ik, tf, func() (*tokenizers, error) {
		ids := ik.KeyIDs() // primary first, then ascending
		if len(ids) == 0 || ids[0] != ik.PrimaryID() {
			return nil, fmt.Errorf("index keyset has no enabled primary key")
		}
		set := &tokenizers{list: make([]*blind.Tokenizer, 0, len(ids))}
		for _, id := range ids {
			sub, err := blind.DeriveTokenSubkey(indexKey{ik, id}, record, tf.name, tf.spec.Kind)
			if err != nil {
				return nil, err
			}
			tz, err := blind.NewTokenizer(sub, tf.spec)
			clear(sub)
			if err != nil {
				return nil, err
			}
			set.list = append(set.list, tz)
		}
		return set, nil
	})
}

// sourceTexts appends to dst the text of each source of tf that holds a
// value in rv (for an element source, of each element that holds one),
// in order, as it is: []byte sources as strings that alias them (read
// only, not retained). check, when not nil, sees each value first. at is
// the source of the value check refused.
func (tf *tokenField) sourceTexts(rv reflect.Value, dst []string, check func(text bool, s string, b []byte) error) (_ []string, at string, err error) {
	add := func(src *tokenSource, s string, b []byte) error {
		text := src.kind.isText()
		if check != nil {
			if err := check(text, s, b); err != nil {
				return err
			}
		}
		if !text {
			s = bytesToString(b)
		}
		dst = append(dst, s)
		return nil
	}
	for k := range tf.sources {
		src := &tf.sources[k]
		if src.elem == nil {
			fv, ok := src.locate(rv)
			if !ok {
				continue
			}
			if s, b, present := fv.get(src.kind); present {
				if err := add(src, s, b); err != nil {
					return nil, src.path, err
				}
			}
			continue
		}
		sv, ok := fieldAt(rv, src.index)
		if !ok {
			continue
		}
		for j := range sv.Len() {
			ev := sv.Index(j)
			if src.ptrElem {
				if ev.IsNil() {
					continue
				}
				ev = ev.Elem()
			}
			fv, ok := fieldAt(ev, src.elem)
			if !ok {
				continue
			}
			if s, b, present := fieldValue(fv, src.kind); present {
				if err := add(src, s, b); err != nil {
					return nil, src.path, err
				}
			}
		}
	}
	return dst, "", nil
}

// setElements returns the elements of a set index: each source value
// after the transforms, leaving out those the transforms empty.
func (tf *tokenField) setElements(texts []string) []string {
	out := texts[:0]
	for _, s := range texts {
		if v := blind.Apply(tf.transforms, s); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// tokens computes the tokens of tf for the (plaintext) source texts with
// tz. at names the source a failure is about.
func (tf *tokenField) tokens(tz *blind.Tokenizer, texts []string) (_ Tokens, at string, err error) {
	if len(texts) == 0 {
		return nil, "", nil
	}
	var out []int64
	switch tf.spec.Kind {
	case blind.TokenRange:
		v, ok := tf.rng.parse(texts[0])
		if !ok {
			return nil, tf.sources[0].path, fmt.Errorf("%w: it is not %s", ErrRangeSyntax, rangeTypes[tf.rng.typ])
		}
		out, err = tz.AppendRangeTokens(nil, v)
		var te *blind.TokenError
		if errors.As(err, &te) && errors.Is(err, blind.ErrOutOfDomain) {
			// Said in the tag's terms: the bound as declared, not the
			// int64 it maps to.
			bound := "below min=" + tf.rangeMin
			if te.Bound == "Max" {
				bound = "above max=" + tf.rangeMax
			}
			err = fmt.Errorf("%w: %s", blind.ErrOutOfDomain, bound)
		}
		if err != nil {
			return nil, tf.sources[0].path, err
		}
	case blind.TokenSet:
		elems := tf.setElements(texts)
		if len(elems) == 0 {
			return nil, "", nil
		}
		out, err = tz.AppendSetTokens(make([]int64, 0, len(elems)), elems...)
		if err != nil {
			return nil, tf.sources[0].path, err
		}
	default:
		v := blind.Apply(tf.transforms, texts[0])
		if v == "" {
			return nil, "", nil
		}
		out, err = tz.AppendTokens(nil, v)
		if err != nil {
			return nil, tf.sources[0].path, err
		}
	}
	if len(out) == 0 {
		return nil, "", nil
	}
	return Tokens(slices.Clip(out)), "", nil
}

// tokenValue computes the tokens of tf for the record rv under the primary
// index key. A source that holds one of the scope's stored values fails
// with ErrAlreadyEncrypted, as for blind indexes.
func (o *op) tokenValue(tf *tokenField, rv reflect.Value) (Tokens, error) {
	fail := func(at string, err error) (Tokens, error) {
		if at != "" {
			err = fmt.Errorf("source %s: %w", at, err)
		}
		return nil, &FieldError{Op: "index", Record: o.p.record, Field: tf.path, Class: tf.class, Err: err}
	}
	var arr [4]string
	texts, at, err := tf.sourceTexts(rv, arr[:0], func(text bool, s string, b []byte) error {
		stored, err := o.sourceIsStored(text, s, b)
		if err == nil && stored {
			err = ErrAlreadyEncrypted
		}
		return err
	})
	if err != nil {
		return fail(at, err)
	}
	if len(texts) == 0 {
		return nil, nil
	}
	if tf.spec.Kind == blind.TokenRange {
		// Parse before the keys are looked up: a bad value fails the same
		// way whatever the keyring holds.
		if _, ok := tf.rng.parse(texts[0]); !ok {
			return fail(tf.sources[0].path, fmt.Errorf("%w: it is not %s", ErrRangeSyntax, rangeTypes[tf.rng.typ]))
		}
	}
	ik, err := o.indexKeys(tf.classIdx)
	if err != nil {
		return fail("", err)
	}
	set, err := o.e.tokenizersFor(&o.memo, ik, o.p.record, tf)
	if err != nil {
		return fail("", err)
	}
	toks, at, err := tf.tokens(set.list[0], texts)
	if err != nil {
		return fail(at, err)
	}
	return toks, nil
}

// TokenSpec returns how token index index (its name) of schema s computes
// its tokens: its settled parameters (with their defaults: a substring
// index's width, a range index's domain and step in int64 units) and its
// transforms. It uses no key; tools that inspect a table's tokens without
// keys (fieldcrypt leakage) read it.
func (s *Schema) TokenSpec(index string) (blind.TokenSpec, []blind.Transform, error) {
	tf, ok := s.plan.tokens[index]
	if !ok {
		return blind.TokenSpec{}, nil, fmt.Errorf("%w: schema %s has no token index %q", ErrUnknownIndex, s.spec.Record, index)
	}
	return tf.spec, slices.Clone(tf.transforms), nil
}

// RowTokenValues returns the tokens that token index index (its name) of
// schema s takes for row, a row of plaintext sources, under every enabled
// key of the row's scope's index keyset, the primary's first: the first is
// what [Encryptor.EncryptRow] stores, the others what rows written before
// an index-key rotation hold. The re-encryption job tells a row's stored
// tokens apart with it. It never creates a keyset (a scope without an
// index keyset gives the keyring's ErrKeysetNotFound), and a range source
// that does not parse fails as Encrypt does, naming the index and field,
// never the value.
func (e *Encryptor) RowTokenValues(ctx context.Context, s *Schema, row Row, index string) ([]Tokens, error) {
	tf, ok := s.plan.tokens[index]
	if !ok {
		return nil, fmt.Errorf("%w: schema %s has no token index %q", ErrUnknownIndex, s.spec.Record, index)
	}
	rv, err := s.load(row)
	if err != nil {
		return nil, err
	}
	o, err := e.newOp(ctx, s.plan, rv)
	if err != nil {
		return nil, err
	}
	defer o.release()
	o.reading = true
	fail := func(at string, err error) ([]Tokens, error) {
		if at != "" {
			err = fmt.Errorf("source %s: %w", at, err)
		}
		return nil, &FieldError{Op: "index", Record: s.plan.record, Field: tf.path, Class: tf.class, Err: err}
	}
	var arr [4]string
	texts, _, _ := tf.sourceTexts(rv, arr[:0], nil)
	ik, err := o.indexKeys(tf.classIdx)
	if err != nil {
		return fail("", err)
	}
	set, err := e.tokenizersFor(nil, ik, s.plan.record, tf)
	if err != nil {
		return fail("", err)
	}
	out := make([]Tokens, 0, len(set.list))
	for _, tz := range set.list {
		toks, at, err := tf.tokens(tz, texts)
		if err != nil {
			return fail(at, err)
		}
		out = append(out, toks)
	}
	return out, nil
}
