package crypt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strings"

	"github.com/fieldcrypt/fieldcrypt/crypt/blind"
	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// ErrWrongTerm means a search's [Term] does not apply to the kind of the
// token index searched: HasPrefix needs a prefix index, HasSuffix a suffix
// index, Contains a substring index, Between a range index and Equals a
// set index.
var ErrWrongTerm = errors.New("crypt: search term does not apply to the token index's kind")

type termOp uint8

const (
	termPrefix termOp = iota + 1
	termSuffix
	termContains
	termBetween
	termEquals
)

var termNames = [...]string{termPrefix: "HasPrefix", termSuffix: "HasSuffix", termContains: "Contains", termBetween: "Between", termEquals: "Equals"}

// termKinds is the kind of token index each term searches.
var termKinds = [...]blind.TokenKind{termPrefix: blind.TokenPrefix, termSuffix: blind.TokenSuffix,
	termContains: blind.TokenSubstring, termBetween: blind.TokenRange, termEquals: blind.TokenSet}

// A Term is what a search looks for: build one with [HasPrefix],
// [HasSuffix], [Contains], [Between] or [Equals]. It holds the query's
// text, which its String and GoString methods leave out.
type Term struct {
	op     termOp
	q      string
	lo, hi string
}

// HasPrefix searches a prefix index for values that start with q. Both
// the value and q go through the index's transforms first.
func HasPrefix(q string) Term { return Term{op: termPrefix, q: q} }

// HasSuffix searches a suffix index for values that end with q, after the
// index's transforms.
func HasSuffix(q string) Term { return Term{op: termSuffix, q: q} }

// Contains searches a substring index for values that contain q, after the
// index's transforms.
func Contains(q string) Term { return Term{op: termContains, q: q} }

// Between searches a range index for values v with lo <= v <= hi. The
// bounds are text of the index's type (as min= and max=), and "" leaves
// that end open. A bound outside the index's domain is clamped to it; an
// interval that holds no value of the domain (lo above hi, say) gives a
// search that matches nothing (see [TokenSearch.Empty]). Values and bounds
// compare as the index stores them (docs/FORMAT.md): a timestamp in whole
// seconds, its fraction dropped, so "2026-03-01T00:00:00.1Z" is within
// Between("2026-03-01T00:00:00.5Z", ""); compare the decrypted values
// yourself where fractions of a second matter.
func Between(lo, hi string) Term { return Term{op: termBetween, lo: lo, hi: hi} }

// Equals searches a set index for records with an element equal to v,
// after the index's transforms.
func Equals(v string) Term { return Term{op: termEquals, q: v} }

// String names the term's kind, never its text: "HasPrefix(…)".
func (t Term) String() string {
	if int(t.op) >= len(termNames) || t.op == 0 {
		return "Term{}"
	}
	return termNames[t.op] + "(…)"
}

// GoString is String, so that %#v prints no query either.
func (t Term) GoString() string { return "crypt." + t.String() }

// Format writes String for every verb but %#v, which writes GoString: no
// verb (%d and %x included) prints the query.
func (t Term) Format(f fmt.State, verb rune) { writeFormat(f, verb, t.String(), t.GoString()) }

// writeFormat writes s, or for %#v goString, to f.
func writeFormat(f fmt.State, verb rune, s, goString string) {
	if verb == 'v' && f.Flag('#') {
		s = goString
	}
	_, _ = io.WriteString(f, s)
}

// SearchError reports a search that cannot be made as asked: a term of
// the wrong kind for the index ([ErrWrongTerm]), a query shorter than the
// index can look up (a *blind.TokenError wrapping
// [blind.ErrQueryTooShort]), or a bound that does not parse
// ([ErrRangeSyntax]). It names the record type, index and term, never the
// query's text.
type SearchError struct {
	Record string          // the record type
	Index  string          // the token index's path (a Schema's: its name)
	Kind   blind.TokenKind // the index's kind
	Term   string          // "HasPrefix", "HasSuffix", "Contains", "Between" or "Equals"
	Err    error
}

func (e *SearchError) Error() string {
	return "crypt: search " + e.Record + "." + e.Index + " (" + string(e.Kind) + " index) with " + e.Term + ": " +
		strings.TrimPrefix(strings.TrimPrefix(e.Err.Error(), "crypt: "), "blind: ")
}

func (e *SearchError) Unwrap() error { return e.Err }

// TokenSearch is a search of one token index for one scope: the queries a
// data layer runs, and the filter that drops the false positives they find
// once the rows are decrypted.
//
// A row is a candidate when one of Queries matches its stored [Tokens]
// (blind.Query.Matches, or the SQL in blind.Query's doc): Queries holds the
// query under every enabled index key, primary first, so rows written
// before and after an index-key rotation are both found. Candidates
// include rows that do not satisfy the term (tokens are truncated, range
// buckets are whole, long values overflow): decrypt them and keep those
// [TokenSearch.Match] accepts.
type TokenSearch struct {
	Index string          // the index's path (struct) or name (Schema)
	Kind  blind.TokenKind // the index's kind
	// Bits is the width of the index's tokens (blind.TokenSpec.Bits). A
	// data layer may use it to shape its lookup: tokens of 48 bits or
	// more are, in practice, the scope's own.
	Bits    int
	Queries []blind.Query // one per enabled index key, primary first

	plan   *plan
	schema *Schema // set by SearchRow
	tf     *tokenField
	scope  string
	term   termOp
	q      string // the query after the index's transforms
	lo, hi int64  // Between's bounds, open ends at the int64 limits
}

// Empty reports whether the search can match no row: every query is
// empty, as for a Between whose interval holds no value of the domain. A
// data layer may skip the lookup then.
func (s *TokenSearch) Empty() bool {
	for _, q := range s.Queries {
		if !q.Empty() {
			return false
		}
	}
	return true
}

// Candidate reports whether a row holding tokens is a candidate: whether
// one of the Queries matches them. It is the in-memory form of the data
// layer's lookup.
func (s *TokenSearch) Candidate(tokens Tokens) bool {
	for _, q := range s.Queries {
		if q.Matches(tokens) {
			return true
		}
	}
	return false
}

// String describes the search without its query or its tokens: the
// index, its kind and the number of queries. It, GoString and Format have
// value receivers, so that a TokenSearch prints alike as a pointer and as
// a value (copied into a struct that is logged).
func (s TokenSearch) String() string {
	return fmt.Sprintf("TokenSearch{%s %s index, %s, %d queries}", s.Index, s.Kind, Term{op: s.term}, len(s.Queries))
}

// GoString is String, so that %#v prints no query either.
func (s TokenSearch) GoString() string { return s.String() }

// Format writes String for every verb: no verb (%d and %x included)
// prints the query or the tokens.
func (s TokenSearch) Format(f fmt.State, verb rune) { writeFormat(f, verb, s.String(), s.GoString()) }

// Search returns the search for t in the token index named index of the
// record type of probe: a pointer to the record type with its scope field
// set (its other fields are not read). index is the Tokens field's Go path
// (such as "NamePrefix") or its name= option.
//
// The query text goes through the index's transforms, as the stored
// values did, and the queries are computed under every enabled key of the
// scope's index keyset. A search is a read: it never creates a keyset, and
// for a scope with no index keyset it returns a search that matches
// nothing ([TokenSearch.Empty]), as [Encryptor.BlindIndexValues] returns no
// values: no stored row of that scope holds a token. For a shredded scope it
// fails with the keyring's error (keyring.ErrScopeShredded) in a
// *FieldError. A term of another kind than the index's, a query
// shorter than the index can look up, or a bound that does not parse is a
// [*SearchError].
func (e *Encryptor) Search(ctx context.Context, probe any, index string, t Term) (*TokenSearch, error) {
	p, rv, err := e.record(probe)
	if err != nil {
		return nil, err
	}
	tf, ok := p.tokens[index]
	if !ok {
		return nil, fmt.Errorf("%w: %s has no token index %q", ErrUnknownIndex, p.typ, index)
	}
	return e.search(ctx, p, rv, tf, t)
}

// SearchRow is Search for a record described by schema s: row holds the
// scope column, and index is the token index's name.
func (e *Encryptor) SearchRow(ctx context.Context, s *Schema, row Row, index string, t Term) (*TokenSearch, error) {
	tf, ok := s.plan.tokens[index]
	if !ok {
		return nil, fmt.Errorf("%w: schema %s has no token index %q", ErrUnknownIndex, s.spec.Record, index)
	}
	v, err := s.load(row)
	if err != nil {
		return nil, err
	}
	ts, err := e.search(ctx, s.plan, v, tf, t)
	if err != nil {
		return nil, err
	}
	ts.schema = s
	return ts, nil
}

func (e *Encryptor) search(ctx context.Context, p *plan, rv reflect.Value, tf *tokenField, t Term) (*TokenSearch, error) {
	s := &TokenSearch{Index: tf.path, Kind: tf.spec.Kind, Bits: tf.spec.Bits, plan: p, tf: tf, term: t.op}
	refuse := func(err error) (*TokenSearch, error) {
		name := "Term{}"
		if t.op != 0 && int(t.op) < len(termNames) {
			name = termNames[t.op]
		}
		return nil, &SearchError{Record: p.record, Index: tf.path, Kind: tf.spec.Kind, Term: name, Err: err}
	}
	if t.op == 0 || int(t.op) >= len(termKinds) {
		return refuse(fmt.Errorf("%w: the zero Term; build one with HasPrefix, HasSuffix, Contains, Between or Equals", ErrWrongTerm))
	}
	if termKinds[t.op] != tf.spec.Kind {
		want := ""
		for op, k := range termKinds {
			if k == tf.spec.Kind {
				want = termNames[op]
			}
		}
		return refuse(fmt.Errorf("%w: a %s index takes %s", ErrWrongTerm, tf.spec.Kind, want))
	}
	switch t.op {
	case termBetween:
		s.lo, s.hi = math.MinInt64, math.MaxInt64
		var ok bool
		if t.lo != "" {
			if s.lo, ok = tf.rng.parse(t.lo); !ok {
				return refuse(fmt.Errorf("lower bound: %w: it is not %s", ErrRangeSyntax, rangeTypes[tf.rng.typ]))
			}
		}
		if t.hi != "" {
			if s.hi, ok = tf.rng.parse(t.hi); !ok {
				return refuse(fmt.Errorf("upper bound: %w: it is not %s", ErrRangeSyntax, rangeTypes[tf.rng.typ]))
			}
		}
	case termEquals:
		s.q = blind.Apply(tf.transforms, t.q)
		if s.q == "" {
			// No element is empty: the transforms leave such elements out.
			return refuse(&blind.TokenError{Op: "EqualQuery", Kind: blind.TokenSet, Err: blind.ErrQueryTooShort, Limit: 1})
		}
	default:
		s.q = blind.Apply(tf.transforms, t.q)
	}
	o, err := e.newOp(ctx, p, rv)
	if err != nil {
		return nil, err
	}
	defer o.release()
	o.reading = true // a search creates no keyset
	s.scope = o.scope
	fail := func(err error) (*TokenSearch, error) {
		return nil, &FieldError{Op: "search", Record: p.record, Field: tf.path, Class: tf.class, Err: err}
	}
	ik, err := o.indexKeys(tf.classIdx)
	if errors.Is(err, keyring.ErrKeysetNotFound) {
		// The scope has no index keyset, so no stored row holds a token:
		// the search matches nothing, as a blind-index lookup does. The
		// term is checked all the same (a query too short for the index
		// fails whatever the scope), under a key that is never used.
		tz, err := blind.NewTokenizer(make([]byte, 32), tf.spec)
		if err != nil {
			return fail(err)
		}
		if _, err := s.query(tz, t.op); err != nil {
			return refuse(err)
		}
		return s, nil
	}
	if err != nil {
		return fail(err)
	}
	set, err := e.tokenizersFor(nil, ik, p.record, tf)
	if err != nil {
		return fail(err)
	}
	s.Queries = make([]blind.Query, 0, len(set.list))
	for _, tz := range set.list {
		q, err := s.query(tz, t.op)
		if err != nil {
			return refuse(err)
		}
		s.Queries = append(s.Queries, q)
	}
	return s, nil
}

// query is the search's query under one tokenizer of its index.
func (s *TokenSearch) query(tz *blind.Tokenizer, op termOp) (blind.Query, error) {
	switch op {
	case termPrefix:
		return tz.PrefixQuery(s.q)
	case termSuffix:
		return tz.SuffixQuery(s.q)
	case termContains:
		return tz.SubstringQuery(s.q)
	case termEquals:
		return tz.EqualQuery(s.q)
	default: // termBetween; search checked the term
		return tz.RangeQuery(s.lo, s.hi)
	}
}

// Match reports whether record, a decrypted record of the probe's type (a
// struct or a pointer to one), satisfies the search: it is of the probe's
// scope (compared byte for byte), and its source values, through the
// index's transforms, satisfy the term by package blind's definitions
// (blind.MatchPrefix, MatchSuffix, MatchSubstring, MatchSet, MatchRange).
// A record whose sources hold no value never matches. A range source that
// does not parse as the index's type is a *FieldError wrapping
// [ErrRangeSyntax]. No keys are used.
func (s *TokenSearch) Match(record any) (bool, error) {
	if s.schema != nil {
		return false, fmt.Errorf("%w: the search is of schema %s; use MatchRow", ErrTypeMismatch, s.schema.spec.Record)
	}
	rv := structValue(record)
	if !rv.IsValid() {
		return false, &InvalidArgumentError{Type: reflect.TypeOf(record)}
	}
	if rv.Type() != s.plan.typ {
		return false, fmt.Errorf("%w: record is %v, want the probe's type %v", ErrTypeMismatch, rv.Type(), s.plan.typ)
	}
	return s.match(rv)
}

// MatchRow is Match for a decrypted row of the schema SearchRow searched.
func (s *TokenSearch) MatchRow(row Row) (bool, error) {
	if s.schema == nil {
		return false, fmt.Errorf("%w: the search is of %v; use Match", ErrTypeMismatch, s.plan.typ)
	}
	v, err := s.schema.load(row)
	if err != nil {
		return false, err
	}
	return s.match(v)
}

func (s *TokenSearch) match(rv reflect.Value) (bool, error) {
	if scope, err := s.plan.scopeOf(rv); err != nil || scope != s.scope {
		return false, nil // another tenant's record, whatever it holds
	}
	tf := s.tf
	var arr [4]string
	texts, _, _ := tf.sourceTexts(rv, arr[:0], nil)
	if len(texts) == 0 {
		return false, nil
	}
	switch tf.spec.Kind {
	case blind.TokenPrefix:
		return blind.MatchPrefix(blind.Apply(tf.transforms, texts[0]), s.q), nil
	case blind.TokenSuffix:
		return blind.MatchSuffix(blind.Apply(tf.transforms, texts[0]), s.q), nil
	case blind.TokenSubstring:
		return blind.MatchSubstring(blind.Apply(tf.transforms, texts[0]), s.q), nil
	case blind.TokenSet:
		return blind.MatchSet(tf.setElements(texts), s.q), nil
	case blind.TokenRange:
		v, ok := tf.rng.parse(texts[0])
		if !ok {
			return false, &FieldError{Op: "match", Record: s.plan.record, Field: tf.path, Class: tf.class,
				Err: fmt.Errorf("source %s: %w: it is not %s", tf.sources[0].path, ErrRangeSyntax, rangeTypes[tf.rng.typ])}
		}
		return blind.MatchRange(v, s.lo, s.hi), nil
	}
	return false, nil
}
