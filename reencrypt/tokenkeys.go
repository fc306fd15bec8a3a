package reencrypt

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/crypt/blind"
	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// tokenCalc computes the tokens of one token index of a table under each
// enabled key of an index keyset, primary first, from a row's plaintext
// sources. crypt.EncryptRow computes them under the primary key only; a
// row whose stored tokens differ from those is stale when they are under
// an older enabled key (the job rewrites it) and damaged or computed
// otherwise than the configuration says when under none (it is left
// alone), as for blind indexes. It follows package crypt's settlement of
// a TokenIndexSpec; the examiner checks every result under the primary
// key against EncryptRow's, so a disagreement stops the run instead of
// being taken for stale or damaged rows.
type tokenCalc struct {
	record  string
	name    string
	sources []string
	spec    blind.TokenSpec
	ts      []blind.Transform
	rng     rangeText // range indexes
}

// rangeText is how a range index's source text maps to int64.
type rangeText struct {
	typ   string // int, decimal, date or timestamp
	scale int
}

// newTokenCalc settles tk as package crypt does. The table has passed
// Validate, so crypt accepted it.
func newTokenCalc(record string, tk crypt.TokenIndexSpec) (*tokenCalc, error) {
	ts, err := blind.ParseTransforms(tk.Transforms)
	if err != nil {
		return nil, err
	}
	c := &tokenCalc{record: record, name: tk.Name, sources: tk.Sources, ts: ts}
	spec := blind.TokenSpec{Kind: tk.Kind, Bits: tk.Bits}
	switch tk.Kind {
	case blind.TokenPrefix, blind.TokenSuffix:
		spec.MinLen, spec.MaxLen = tk.MinLen, tk.MaxLen
	case blind.TokenSubstring:
		spec.N = cmp.Or(tk.N, blind.DefaultGramLen)
		spec.MaxTokens = cmp.Or(tk.MaxTokens, blind.DefaultMaxTokens)
		if spec.Bits == 0 {
			spec.Bits = max(1, blind.RecommendSubstringBits(spec.N, blind.TokenAlphabet(ts) != blind.AlphabetMixedCase))
			var leak *blind.TokenLeakageError
			if err := blind.CheckTokens(spec, ts); errors.As(err, &leak) {
				spec.Bits = leak.MaxBits
			}
		}
	case blind.TokenRange:
		c.rng = rangeText{typ: tk.Type, scale: tk.Scale}
		step := cmp.Or(tk.Step, 1)
		if tk.Type == "timestamp" {
			step = map[string]int64{"": 1, "second": 1, "minute": 60, "hour": 3600, "day": 86400}[tk.Precision]
		}
		lo, okLo := c.rng.parse(tk.Min)
		hi, okHi := c.rng.parse(tk.Max)
		if !okLo || !okHi || step < 1 {
			return nil, fmt.Errorf("range index %s: min, max or precision do not parse as type %s", tk.Name, tk.Type)
		}
		spec.Domain = blind.RangeDomain{Min: lo, Max: hi, Step: step}
		spec.Bits = cmp.Or(spec.Bits, blind.MaxTokenBits)
	}
	c.spec = spec
	return c, nil
}

// parse maps text of the range index's type to its int64 value, as
// package crypt does: an int as it is, a decimal times 10^scale (exactly),
// a date to days since 1970-01-01, a timestamp to Unix seconds.
func (r rangeText) parse(s string) (int64, bool) {
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
// the point into value × 10^scale, refusing what an int64 cannot hold.
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
		return int64(-v), true
	}
	return int64(v), true
}

// texts returns the plaintext source values of row that hold a value, in
// source order.
func (c *tokenCalc) texts(row crypt.Row) []string {
	var out []string
	for _, src := range c.sources {
		switch v := row[src].(type) {
		case string:
			out = append(out, v)
		case []byte:
			out = append(out, string(v))
		}
	}
	return out
}

// keyPRF is one enabled key of an index keyset, as a PRF.
type keyPRF struct {
	ik *keyring.IndexKeys
	id uint32
}

func (k keyPRF) ComputePRF(input []byte, n uint32) ([]byte, error) {
	return k.ik.Compute(k.id, input, int(n))
}

// tokenizers returns a Tokenizer per enabled key of ik, primary first.
func (c *tokenCalc) tokenizers(ik *keyring.IndexKeys) ([]*blind.Tokenizer, error) {
	var out []*blind.Tokenizer
	for _, id := range ik.KeyIDs() {
		sub, err := blind.DeriveTokenSubkey(keyPRF{ik, id}, c.record, c.name, c.spec.Kind)
		if err != nil {
			return nil, err
		}
		tz, err := blind.NewTokenizer(sub, c.spec)
		clear(sub)
		if err != nil {
			return nil, err
		}
		out = append(out, tz)
	}
	return out, nil
}

// tokens computes the tokens of the plaintext source texts with tz, nil
// when they give none.
func (c *tokenCalc) tokens(tz *blind.Tokenizer, texts []string) (crypt.Tokens, error) {
	if len(texts) == 0 {
		return nil, nil
	}
	var out []int64
	var err error
	switch c.spec.Kind {
	case blind.TokenRange:
		v, ok := c.rng.parse(texts[0])
		if !ok {
			return nil, fmt.Errorf("%w: it is not of type %s", crypt.ErrRangeSyntax, c.rng.typ)
		}
		out, err = tz.AppendRangeTokens(nil, v)
	case blind.TokenSet:
		var elems []string
		for _, s := range texts {
			if v := blind.Apply(c.ts, s); v != "" {
				elems = append(elems, v)
			}
		}
		if len(elems) == 0 {
			return nil, nil
		}
		out, err = tz.AppendSetTokens(nil, elems...)
	default:
		v := blind.Apply(c.ts, texts[0])
		if v == "" {
			return nil, nil
		}
		out, err = tz.AppendTokens(nil, v)
	}
	if err != nil || len(out) == 0 {
		return nil, err
	}
	return crypt.Tokens(slices.Clip(out)), nil
}

// under returns the tokens of row (plaintext) under each enabled key of
// ik, primary first.
func (c *tokenCalc) under(ik *keyring.IndexKeys, row crypt.Row) ([]crypt.Tokens, error) {
	tzs, err := c.tokenizers(ik)
	if err != nil {
		return nil, err
	}
	texts := c.texts(row)
	out := make([]crypt.Tokens, 0, len(tzs))
	for _, tz := range tzs {
		toks, err := c.tokens(tz, texts)
		if err != nil {
			return nil, err
		}
		out = append(out, toks)
	}
	return out, nil
}

// tokenValue converts a token read from a side table to an int64: drivers
// return BIGINT as int64, or (MySQL's text protocol) as decimal digits.
func tokenValue(v any) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case []byte:
		return strconv.ParseInt(string(x), 10, 64)
	case string:
		return strconv.ParseInt(x, 10, 64)
	}
	return 0, fmt.Errorf("token holds a %T; want a BIGINT", v)
}

// tokensUnder looks up the index keyset of (scope, class) for a token
// index, without creating it.
func (x *examiner) tokensUnder(ctx context.Context, j int, scope string, plain crypt.Row) ([]crypt.Tokens, error) {
	ik, err := x.enc.Keys().ExistingIndexKeys(ctx, scope, x.l.tok[j].class)
	if err != nil {
		return nil, err
	}
	return x.calcs[j].under(ik, plain)
}
