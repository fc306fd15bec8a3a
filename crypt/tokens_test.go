package crypt_test

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/crypt/blind"
	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// Member is the record of the package doc's token-index example.
type Member struct {
	ID         string       `crypt:"id"`
	TenantID   string       `crypt:"scope"`
	Name       string       `crypt:"encrypt,class=pii"`
	NamePrefix crypt.Tokens `crypt:"prefix=Name,len=3..8,bits=12,transform=lower+trim"`
	Born       string       `crypt:"encrypt,class=pii"`
	BornRange  crypt.Tokens `crypt:"range=Born,type=date,min=1800-01-01,max=2100-12-31"`
	Balance    *string      `crypt:"encrypt,class=pii"`
	Balances   crypt.Tokens `crypt:"range=Balance,type=decimal,scale=2,min=-10000,max=10000,step=100,name=balance"`
	Home       string       `crypt:"encrypt,class=pii"`
	Work       *string      `crypt:"encrypt,class=pii"`
	Phones     crypt.Tokens `crypt:"set=Home+Work,transform=digits,bits=16"`
}

func sampleMember() *Member {
	return &Member{ID: "m-1", TenantID: "acme", Name: "Ada Lovelace", Born: "1815-12-10", Balance: ptr("12.50"),
		Home: "+44 20 7946 0018", Work: ptr("+44 20 7946 0018")}
}

// cloneMember returns a deep copy of m, Tokens included.
func cloneMember(m *Member) *Member {
	c := *m
	c.Balance, c.Work = clonePtr(m.Balance), clonePtr(m.Work)
	c.NamePrefix, c.BornRange = slices.Clone(m.NamePrefix), slices.Clone(m.BornRange)
	c.Balances, c.Phones = slices.Clone(m.Balances), slices.Clone(m.Phones)
	return &c
}

func TestTokensEncryptDecrypt(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	m := sampleMember()
	require.NoError(t, e.enc.Encrypt(ctx, m))
	for name, toks := range map[string]crypt.Tokens{"NamePrefix": m.NamePrefix, "BornRange": m.BornRange, "balance": m.Balances, "Phones": m.Phones} {
		require.NotEmpty(t, toks, name)
		assert.True(t, slices.IsSorted(toks), "%s sorted", name)
		assert.Equal(t, len(toks), len(slices.Compact(slices.Clone(toks))), "%s without repeats", name)
	}
	assert.Len(t, m.NamePrefix, 6, `"ada lovelace": prefixes of 3 to 8 runes`)
	assert.Len(t, m.Phones, 1, "equal home and work numbers: one element")

	// Decrypt leaves every Tokens field alone.
	before := cloneMember(m)
	require.NoError(t, e.enc.Decrypt(ctx, m))
	assert.Equal(t, "Ada Lovelace", m.Name)
	assert.Equal(t, before.NamePrefix, m.NamePrefix)
	assert.Equal(t, before.BornRange, m.BornRange)
	assert.Equal(t, before.Balances, m.Balances)
	assert.Equal(t, before.Phones, m.Phones)

	// Encrypting again replaces the Tokens with the same ones.
	again := sampleMember()
	again.NamePrefix = crypt.Tokens{1, 2, 3}
	require.NoError(t, e.enc.Encrypt(ctx, again))
	assert.Equal(t, before.NamePrefix, again.NamePrefix)

	// Sources with no value give nil Tokens, not an empty slice.
	empty := &Member{ID: "m-2", TenantID: "acme", Home: "no digits", NamePrefix: crypt.Tokens{9}}
	require.NoError(t, e.enc.Encrypt(ctx, empty))
	assert.Nil(t, empty.NamePrefix, "empty Name")
	assert.Nil(t, empty.BornRange, "empty Born")
	assert.Nil(t, empty.Balances, "nil Balance")
	assert.Nil(t, empty.Phones, "no element after the digits transform")
	short := &Member{ID: "m-3", TenantID: "acme", Name: "Al"}
	require.NoError(t, e.enc.Encrypt(ctx, short))
	assert.Nil(t, short.NamePrefix, "a value shorter than len='s minimum has no tokens")
}

func TestTokensEncryptedCopy(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	m := sampleMember()
	m.NamePrefix = crypt.Tokens{7, 8, 9} // the caller's, from an earlier write
	orig := cloneMember(m)
	cp, err := crypt.Encrypted(ctx, e.enc, m)
	require.NoError(t, err)
	assert.Equal(t, orig, m, "EncryptedCopy leaves the caller's record, Tokens included, as it was")
	assert.NotEqual(t, crypt.Tokens{7, 8, 9}, cp.NamePrefix)
	direct := sampleMember()
	require.NoError(t, e.enc.Encrypt(ctx, direct))
	assert.Equal(t, direct.NamePrefix, cp.NamePrefix, "the copy's tokens are Encrypt's")
	assert.Equal(t, direct.Phones, cp.Phones)
}

func TestTokensAllOrNothing(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tests := []struct {
		name   string
		set    func(*Member, string)
		value  string
		field  string // the index
		source string
		want   error
	}{
		{"date that does not parse", func(m *Member, v string) { m.Born = v }, secretName, "BornRange", "Born", crypt.ErrRangeSyntax},
		{"date not in the form 2006-01-02", func(m *Member, v string) { m.Born = v }, "1815-12-1", "BornRange", "Born", crypt.ErrRangeSyntax},
		{"date below min", func(m *Member, v string) { m.Born = v }, "1715-12-10", "BornRange", "Born", blind.ErrOutOfDomain},
		{"date above max", func(m *Member, v string) { m.Born = v }, "2215-12-10", "BornRange", "Born", blind.ErrOutOfDomain},
		{"decimal finer than scale", func(m *Member, v string) { m.Balance = &v }, "12.505", "Balances", "Balance", crypt.ErrRangeSyntax},
		{"decimal with a plus sign", func(m *Member, v string) { m.Balance = &v }, "+12.50", "Balances", "Balance", crypt.ErrRangeSyntax},
		{"decimal past int64", func(m *Member, v string) { m.Balance = &v }, "92233720368547758.08", "Balances", "Balance", crypt.ErrRangeSyntax},
		{"decimal above max", func(m *Member, v string) { m.Balance = &v }, "10000.01", "Balances", "Balance", blind.ErrOutOfDomain},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := sampleMember()
			m.Phones = crypt.Tokens{1}
			tt.set(m, tt.value)
			before := cloneMember(m)
			err := e.enc.Encrypt(ctx, m)
			var fe *crypt.FieldError
			require.ErrorAs(t, err, &fe)
			assert.ErrorIs(t, err, tt.want)
			assert.Equal(t, "index", fe.Op)
			assert.Equal(t, "Member", fe.Record)
			assert.Equal(t, tt.field, fe.Field, "the index")
			assert.Contains(t, err.Error(), "source "+tt.source)
			assert.Equal(t, before, m, "a failed Encrypt changes no field")
			assertNoSecrets(t, err, []byte(tt.value))
		})
	}
}

func TestTokensSourceAlreadyEncrypted(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	m := sampleMember()
	require.NoError(t, e.enc.Encrypt(ctx, m))
	before := cloneMember(m)
	err := e.enc.Encrypt(ctx, m)
	var fe *crypt.FieldError
	require.ErrorAs(t, err, &fe)
	assert.ErrorIs(t, err, crypt.ErrAlreadyEncrypted)
	assert.Equal(t, "NamePrefix", fe.Field, "the first token index refuses its ciphertext source")
	assert.Equal(t, before, m)
}

// rangeTypes is a record with a range index of each type, for the parsing
// rules.
type rangeTypes struct {
	ID      string       `crypt:"id"`
	N       string       `crypt:"encrypt"`
	NRng    crypt.Tokens `crypt:"range=N,type=int,min=-5,max=5"`
	D       string       `crypt:"encrypt"`
	DRng    crypt.Tokens `crypt:"range=D,type=decimal,scale=3,min=-1.5,max=1.5"`
	Day     string       `crypt:"encrypt"`
	DayRng  crypt.Tokens `crypt:"range=Day,type=date,min=1969-12-30,max=1970-01-02"`
	At      string       `crypt:"encrypt"`
	AtRng   crypt.Tokens `crypt:"range=At,type=timestamp,precision=minute,min=2024-01-01T00:00:00Z,max=2024-01-01T02:00:00Z"`
	Unfixed string       `crypt:"-"`
}

func TestTokensRangeParsing(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tests := []struct {
		index, value string
		ok           bool
		lo, hi       string // a Between that holds exactly the value
	}{
		{"NRng", "-5", true, "-5", "-5"},
		{"NRng", "05", true, "5", "5"},
		{"NRng", "+1", false, "", ""},
		{"NRng", "1.0", false, "", ""},
		{"NRng", " 1", false, "", ""},
		{"NRng", "1_000", false, "", ""},
		{"DRng", "1.5", true, "1.500", "1.5"},
		{"DRng", "-0.001", true, "-0.001", "-0.001"},
		{"DRng", "-1", true, "-1.000", "-1"},
		{"DRng", "0.0001", false, "", ""},
		{"DRng", "1.", false, "", ""},
		{"DRng", ".5", false, "", ""},
		{"DRng", "1e0", false, "", ""},
		{"DRng", "", true, "", ""}, // empty: no tokens, no error
		{"DayRng", "1969-12-31", true, "1969-12-31", "1969-12-31"},
		{"DayRng", "1970-01-01", true, "1970-01-01", "1970-01-01"},
		{"DayRng", "1970-1-01", false, "", ""},
		{"DayRng", "1970-02-30", false, "", ""},
		{"AtRng", "2024-01-01T01:30:59+01:00", true, "2024-01-01T00:30:59Z", "2024-01-01T00:30:59Z"},
		{"AtRng", "2024-01-01T00:30:59.999Z", true, "2024-01-01T00:30:59Z", "2024-01-01T00:30:59Z"},
		{"AtRng", "2024-01-01 00:30:59Z", false, "", ""},
		{"AtRng", "2024-01-01T00:30:59", false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.index+" "+tt.value, func(t *testing.T) {
			r := &rangeTypes{ID: "r-1"}
			switch tt.index {
			case "NRng":
				r.N = tt.value
			case "DRng":
				r.D = tt.value
			case "DayRng":
				r.Day = tt.value
			case "AtRng":
				r.At = tt.value
			}
			plain := *r
			err := e.enc.Encrypt(ctx, r)
			if !tt.ok {
				require.ErrorIs(t, err, crypt.ErrRangeSyntax)
				assertNoSecrets(t, err, []byte(tt.value))
				return
			}
			require.NoError(t, err)
			if tt.value == "" {
				return
			}
			toks := map[string]crypt.Tokens{"NRng": r.NRng, "DRng": r.DRng, "DayRng": r.DayRng, "AtRng": r.AtRng}[tt.index]
			s, err := e.enc.Search(ctx, &rangeTypes{}, tt.index, crypt.Between(tt.lo, tt.hi))
			require.NoError(t, err)
			assert.True(t, s.Candidate(toks), "a Between holding the value finds it")
			ok, err := s.Match(&plain)
			require.NoError(t, err)
			assert.True(t, ok, "Match(value) for Between(%s, %s)", tt.lo, tt.hi)
		})
	}
}

func TestSearchErrors(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	require.NoError(t, e.enc.Encrypt(ctx, sampleMember())) // creates acme's keysets
	probe := &Member{TenantID: "acme"}
	const query = "zebulon-q7731"
	tests := []struct {
		name  string
		probe any
		index string
		term  crypt.Term
		want  error
		term2 string // the term named in a *SearchError
	}{
		{"a term of another kind", probe, "NamePrefix", crypt.Contains(query), crypt.ErrWrongTerm, "Contains"},
		{"Equals on a range", probe, "BornRange", crypt.Equals(query), crypt.ErrWrongTerm, "Equals"},
		{"the zero Term", probe, "Phones", crypt.Term{}, crypt.ErrWrongTerm, "Term{}"},
		{"a prefix too short", probe, "NamePrefix", crypt.HasPrefix("Ze "), blind.ErrQueryTooShort, "HasPrefix"},
		{"an element emptied by the transforms", probe, "Phones", crypt.Equals(query[:7]), blind.ErrQueryTooShort, "Equals"},
		{"a lower bound that does not parse", probe, "BornRange", crypt.Between(query, ""), crypt.ErrRangeSyntax, "Between"},
		{"an upper bound finer than scale", probe, "balance", crypt.Between("", "1.001"), crypt.ErrRangeSyntax, "Between"},
		{"an unknown index", probe, "Nope", crypt.HasPrefix(query), crypt.ErrUnknownIndex, ""},
		{"a blind index's name", &Contact{TenantID: "acme"}, "EmailIdx", crypt.Equals(query), crypt.ErrUnknownIndex, ""},
		{"a prefix too short, in a scope with no keysets", &Member{TenantID: "nobody"}, "NamePrefix", crypt.HasPrefix("Ze "), blind.ErrQueryTooShort, "HasPrefix"},
		{"no scope", &Member{}, "NamePrefix", crypt.HasPrefix(query), crypt.ErrMissingScope, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := e.enc.Search(ctx, tt.probe, tt.index, tt.term)
			require.ErrorIs(t, err, tt.want)
			assert.Nil(t, s)
			if tt.term2 != "" {
				var se *crypt.SearchError
				require.ErrorAs(t, err, &se)
				assert.Equal(t, "Member", se.Record)
				assert.Equal(t, strings.Replace(tt.index, "balance", "Balances", 1), se.Index, "the index's path")
				assert.Equal(t, tt.term2, se.Term)
			}
			assertNoSecrets(t, err, []byte(query), []byte("Ze "))
		})
	}
	_, err := e.admin.Shred(ctx, "acme")
	require.NoError(t, err)
	_, err = e.enc.Search(ctx, probe, "NamePrefix", crypt.HasPrefix(query))
	assert.ErrorIs(t, err, keyring.ErrScopeShredded)
	var fe *crypt.FieldError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "NamePrefix", fe.Field)
}

// A search is a read: it never creates a keyset. In a scope that has no
// index keyset no row holds a token, so the search matches nothing, as a
// blind-index lookup there does.
func TestSearchCreatesNoKeyset(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	s, err := e.enc.Search(ctx, &Member{TenantID: "ghost"}, "Phones", crypt.Equals("555"))
	require.NoError(t, err)
	assert.True(t, s.Empty(), "a search in a scope without index keys matches nothing")
	assert.False(t, s.Candidate(crypt.Tokens{1, 2, 3}))
	_, err = e.store.Get(ctx, indexID("ghost", "pii"))
	assert.ErrorIs(t, err, keyring.ErrKeysetNotFound, "no index keyset was created")
}

func TestSearchEmptyRange(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	m := sampleMember()
	require.NoError(t, e.enc.Encrypt(ctx, m))
	for _, term := range []crypt.Term{
		crypt.Between("2000-01-02", "2000-01-01"), // inverted
		crypt.Between("2101-01-01", ""),           // past max
		crypt.Between("", "1799-12-31"),           // before min
	} {
		s, err := e.enc.Search(ctx, &Member{TenantID: "acme"}, "BornRange", term)
		require.NoError(t, err)
		assert.True(t, s.Empty(), "Empty()")
		require.Len(t, s.Queries, 1)
		assert.True(t, s.Queries[0].Empty())
		assert.False(t, s.Candidate(m.BornRange))
		plain := sampleMember()
		ok, err := s.Match(plain)
		require.NoError(t, err)
		assert.False(t, ok)
	}
	s, err := e.enc.Search(ctx, &Member{TenantID: "acme"}, "BornRange", crypt.Between("", ""))
	require.NoError(t, err)
	assert.False(t, s.Empty())
	assert.True(t, s.Candidate(m.BornRange), "an open Between finds every value")
}

func TestMatchScopeTypeAndTransforms(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	require.NoError(t, e.enc.Encrypt(ctx, sampleMember()))
	s, err := e.enc.Search(ctx, &Member{TenantID: "acme"}, "NamePrefix", crypt.HasPrefix("  ADA LOV"))
	require.NoError(t, err)
	ok, err := s.Match(sampleMember())
	require.NoError(t, err)
	assert.True(t, ok, "the query goes through lower+trim as the value does")

	other := sampleMember()
	other.TenantID = "globex"
	ok, err = s.Match(other)
	require.NoError(t, err)
	assert.False(t, ok, "another tenant's record never matches")

	ok, err = s.Match(*sampleMember()) // a struct value is fine too
	require.NoError(t, err)
	assert.True(t, ok)

	_, err = s.Match(sampleContact())
	assert.ErrorIs(t, err, crypt.ErrTypeMismatch)
	_, err = s.MatchRow(crypt.Row{})
	assert.ErrorIs(t, err, crypt.ErrTypeMismatch)
	_, err = s.Match(nil)
	var ia *crypt.InvalidArgumentError
	assert.ErrorAs(t, err, &ia)

	// A range source that does not parse is an error naming the index.
	s, err = e.enc.Search(ctx, &Member{TenantID: "acme"}, "BornRange", crypt.Between("", ""))
	require.NoError(t, err)
	bad := sampleMember()
	bad.Born = secretName
	ok, err = s.Match(bad)
	assert.False(t, ok)
	require.ErrorIs(t, err, crypt.ErrRangeSyntax)
	assert.Contains(t, err.Error(), "Member.BornRange")
	assertNoSecrets(t, err, []byte(secretName))
}

// Neither a TokenSearch nor a Term prints its query, nor a TokenSearch its
// tokens, with any verb, as a pointer or as a value (a TokenSearch copied
// into a struct that is logged).
func TestSearchPrintsNoQuery(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	require.NoError(t, e.enc.Encrypt(ctx, sampleMember()))
	term := crypt.HasPrefix(secretName)
	s, err := e.enc.Search(ctx, &Member{TenantID: "acme"}, "NamePrefix", term)
	require.NoError(t, err)
	require.NotEmpty(t, s.Queries)
	for _, v := range []any{s, *s, term} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
			text := fmt.Sprintf(verb, v)
			assert.NotContains(t, strings.ToLower(text), strings.ToLower(secretName)[:8], "Sprintf(%q, %T)", verb, v)
			assert.NotContains(t, text, hex.EncodeToString([]byte(strings.ToLower(secretName)[:8])), "Sprintf(%q, %T)", verb, v)
			for _, q := range s.Queries {
				for _, tok := range q.Any {
					assert.NotContains(t, text, strconv.FormatInt(tok, 10), "Sprintf(%q, %T) holds a token", verb, v)
					assert.NotContains(t, text, strconv.FormatInt(tok, 16), "Sprintf(%q, %T) holds a token", verb, v)
				}
			}
		}
	}
	assert.Contains(t, s.String(), "NamePrefix")
	assert.Equal(t, s.String(), fmt.Sprint(*s))
}

// No error of Encrypt, Search or Match holds a plaintext or a query: each
// failure path is fed a distinctive one.
func TestTokenErrorsHoldNoSecret(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	require.NoError(t, e.enc.Encrypt(ctx, sampleMember()))
	var errs []error
	add := func(_ any, err error) {
		require.Error(t, err)
		errs = append(errs, err)
	}
	bad := sampleMember()
	bad.Born, bad.Balance = secretName, ptr(secretPhone)
	errs = append(errs, e.enc.Encrypt(ctx, bad))
	bad = sampleMember()
	bad.Balance = ptr("7731.12345")
	errs = append(errs, e.enc.Encrypt(ctx, bad))
	probe := &Member{TenantID: "acme"}
	add(e.enc.Search(ctx, probe, "NamePrefix", crypt.Contains(secretName)))
	add(e.enc.Search(ctx, probe, "NamePrefix", crypt.HasPrefix("Zq")))
	add(e.enc.Search(ctx, probe, "BornRange", crypt.Between(secretName, secretEmail)))
	add(e.enc.Search(ctx, probe, "balance", crypt.Between("", secretPhone)))
	add(e.enc.Search(ctx, probe, "Phones", crypt.Equals("Quartermaine-Zebulon")))
	add(e.enc.Search(ctx, &Member{TenantID: "nobody"}, "NamePrefix", crypt.HasPrefix(secretName[:2])))
	s, err := e.enc.Search(ctx, probe, "BornRange", crypt.Between("", ""))
	require.NoError(t, err)
	bad = sampleMember()
	bad.Born = secretEmail
	add(s.Match(bad))
	for _, err := range errs {
		require.Error(t, err)
		assertNoSecrets(t, err, append(plaintextSecrets(), []byte("Zq"), []byte("7731.12345"), []byte("Quartermaine-Zebulon"))...)
	}
	assert.True(t, errors.Is(errs[0], crypt.ErrRangeSyntax))
}

// TokensRow is a record with token indexes a SchemaSpec can describe: its
// sources are encrypted columns of the row.
type TokensRow struct {
	ID       string       `crypt:"id"`
	TenantID string       `crypt:"scope"`
	Name     string       `crypt:"encrypt,class=pii"`
	NamePre  crypt.Tokens `crypt:"prefix=Name,len=2..6,bits=8,transform=lower"`
	NameSuf  crypt.Tokens `crypt:"suffix=Name,len=3..5,bits=10,name=name_suffix"`
	NameSub  crypt.Tokens `crypt:"substring=Name,transform=lower,n=4,tokens=20"`
	Age      *string      `crypt:"encrypt,class=pii"`
	AgeRng   crypt.Tokens `crypt:"range=Age,type=int,min=0,max=150,step=5,bits=20"`
	Paid     string       `crypt:"encrypt,class=pii"`
	PaidRng  crypt.Tokens `crypt:"range=Paid,type=decimal,scale=2,min=0,max=999.99"`
	Born     string       `crypt:"encrypt,class=pii"`
	BornRng  crypt.Tokens `crypt:"range=Born,type=date,min=1800-01-01,max=2100-01-01,step=7"`
	Seen     string       `crypt:"encrypt,class=pii"`
	SeenRng  crypt.Tokens `crypt:"range=Seen,type=timestamp,precision=day,min=2020-01-01T00:00:00Z,max=2030-01-01T00:00:00Z"`
	Home     string       `crypt:"encrypt,class=pii"`
	Work     string       `crypt:"encrypt,class=pii"`
	Phones   crypt.Tokens `crypt:"set=Home+Work,transform=digits+last8,bits=18"`
	NameIdx  string       `crypt:"blind=Name,transform=lower,bits=16"`
}

func TestTokensSchemaOfSameTokens(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	spec, err := crypt.SchemaOf(&TokensRow{})
	require.NoError(t, err)
	require.Len(t, spec.Tokens, 8)
	assert.Equal(t, crypt.TokenIndexSpec{Name: "NameSub", Kind: blind.TokenSubstring, Sources: []string{"name"}, Transforms: "lower",
		Bits: blind.RecommendSubstringBits(4, true), N: 4, MaxTokens: 20, Class: "pii"}, spec.Tokens[2])
	assert.Equal(t, crypt.TokenIndexSpec{Name: "SeenRng", Kind: blind.TokenRange, Sources: []string{"seen"}, Bits: 64,
		Type: "timestamp", Min: "2020-01-01T00:00:00Z", Max: "2030-01-01T00:00:00Z", Precision: "day", Class: "pii"}, spec.Tokens[6])
	s, err := crypt.NewSchema(spec)
	require.NoError(t, err, "NewSchema(SchemaOf)")

	for i, rec := range []*TokensRow{
		{ID: "t-1", TenantID: "acme", Name: "Ada Lovelace", Age: ptr("36"), Paid: "12.5", Born: "1815-12-10",
			Seen: "2024-05-06T07:08:09+02:00", Home: "+44 20 7946 0018", Work: "(555) 010-9999"},
		{ID: "t-2", TenantID: "acme", Name: "Ünïcødé 日本語 ß", Paid: "0", Born: "2100-01-01", Seen: "2029-12-31T23:59:59Z", Home: "1"},
		{ID: "t-3", TenantID: "globex"},
	} {
		want := *rec
		require.NoError(t, e.enc.Encrypt(ctx, &want))
		row := crypt.Row{"id": rec.ID, "tenant_id": rec.TenantID, "name": rec.Name, "paid": rec.Paid, "born": rec.Born,
			"seen": rec.Seen, "home": rec.Home, "work": rec.Work, "age": nil}
		if rec.Age != nil {
			row["age"] = *rec.Age
		}
		require.NoError(t, e.enc.EncryptRow(ctx, s, row))
		for name, toks := range map[string]crypt.Tokens{"NamePre": want.NamePre, "name_suffix": want.NameSuf, "NameSub": want.NameSub,
			"AgeRng": want.AgeRng, "PaidRng": want.PaidRng, "BornRng": want.BornRng, "SeenRng": want.SeenRng, "Phones": want.Phones} {
			got, ok := row[name].(crypt.Tokens)
			require.True(t, ok, "record %d: row[%q] is %T, want crypt.Tokens", i, name, row[name])
			assert.Equal(t, toks, got, "record %d: %s from the struct and from its schema", i, name)
		}
		assert.Equal(t, want.NameIdx, row["name_idx"])

		// DecryptRow leaves the tokens alone.
		toks := row["NamePre"]
		require.NoError(t, e.enc.DecryptRow(ctx, s, row))
		assert.Equal(t, toks, row["NamePre"])
		assert.Equal(t, rec.Name, row["name"])

		// The row form of a search agrees with the struct form.
		if rec.Name != "" {
			rs, err := e.enc.SearchRow(ctx, s, crypt.Row{"tenant_id": rec.TenantID}, "NamePre", crypt.HasPrefix(rec.Name[:3]))
			require.NoError(t, err)
			ss, err := e.enc.Search(ctx, &TokensRow{TenantID: rec.TenantID}, "NamePre", crypt.HasPrefix(rec.Name[:3]))
			require.NoError(t, err)
			assert.Equal(t, ss.Queries, rs.Queries)
			assert.True(t, rs.Candidate(row["NamePre"].(crypt.Tokens)))
			ok, err := rs.MatchRow(row)
			require.NoError(t, err)
			assert.True(t, ok, "MatchRow")
			_, err = rs.Match(rec)
			assert.ErrorIs(t, err, crypt.ErrTypeMismatch)
		}
	}
	_, err = e.enc.SearchRow(ctx, s, crypt.Row{"tenant_id": "acme"}, "name_idx", crypt.Equals("x"))
	assert.ErrorIs(t, err, crypt.ErrUnknownIndex)
}

// RowTokenValues gives the tokens EncryptRow stores first, then those
// under the older enabled keys after an index-key rotation; TokenSpec
// gives the index's settled parameters, with no key.
func TestRowTokenValues(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	spec, err := crypt.SchemaOf(&TokensRow{})
	require.NoError(t, err)
	s, err := crypt.NewSchema(spec)
	require.NoError(t, err)
	plain := func() crypt.Row {
		return crypt.Row{"id": "t-1", "tenant_id": "acme", "name": "Ada Lovelace", "paid": "12.5", "born": "1815-12-10",
			"seen": "2024-05-06T07:08:09+02:00", "home": "+44 20 7946 0018", "work": "(555) 010-9999", "age": nil}
	}
	_, err = e.enc.RowTokenValues(ctx, s, plain(), "NamePre")
	require.ErrorIs(t, err, keyring.ErrKeysetNotFound, "a scope without index keys: nothing is created")

	old := plain()
	require.NoError(t, e.enc.EncryptRow(ctx, s, old))
	got, err := e.enc.RowTokenValues(ctx, s, plain(), "NamePre")
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, old["NamePre"], got[0])

	id := indexID("acme", "pii")
	newID, err := e.admin.AddKey(ctx, id)
	require.NoError(t, err)
	require.NoError(t, e.admin.PromoteKey(ctx, id, newID))
	cur := plain()
	require.NoError(t, e.enc.EncryptRow(ctx, s, cur))
	for _, name := range []string{"NamePre", "NameSub", "SeenRng", "Phones"} {
		got, err := e.enc.RowTokenValues(ctx, s, plain(), name)
		require.NoError(t, err, name)
		require.Len(t, got, 2, "%s: one per enabled key", name)
		assert.Equal(t, cur[name], got[0], "%s: the primary's first, as EncryptRow", name)
		assert.Equal(t, old[name], got[1], "%s: then the older key's", name)
		assert.NotEqual(t, got[0], got[1], name)
	}

	bad := plain()
	bad["born"] = "zebulon-q7731"
	_, err = e.enc.RowTokenValues(ctx, s, bad, "BornRng")
	require.ErrorIs(t, err, crypt.ErrRangeSyntax)
	assertNoSecrets(t, err, []byte("zebulon-q7731"))
	_, err = e.enc.RowTokenValues(ctx, s, plain(), "name_idx")
	assert.ErrorIs(t, err, crypt.ErrUnknownIndex)

	ts, tr, err := s.TokenSpec("NameSub")
	require.NoError(t, err)
	assert.Equal(t, blind.TokenSubstring, ts.Kind)
	assert.Equal(t, blind.RecommendSubstringBits(4, true), ts.Bits, "the default width, settled")
	assert.Equal(t, "lower", blind.FormatTransforms(tr))
	_, _, err = s.TokenSpec("nope")
	assert.ErrorIs(t, err, crypt.ErrUnknownIndex)
}

// SchemaOf refuses a token index it cannot describe by columns.
type tkElemSchema struct {
	ID     string `crypt:"id"`
	Emails []struct{ Address string }
	Set    crypt.Tokens `crypt:"set=Emails[].Address,bits=8"`
}

type tkPlainSource struct {
	ID   string       `crypt:"id"`
	Name string       `crypt:"-"`
	Pre  crypt.Tokens `crypt:"prefix=Name,len=3..5,bits=8"`
}

func TestTokensSchemaOfRefuses(t *testing.T) {
	for _, tt := range []struct {
		v    any
		want string
	}{
		{&tkElemSchema{}, "a field of slice elements"},
		{&tkPlainSource{}, "which is not encrypted"},
	} {
		require.NoError(t, crypt.Validate(tt.v))
		_, err := crypt.SchemaOf(tt.v)
		var pe *crypt.PlanError
		require.ErrorAs(t, err, &pe, "SchemaOf(%T)", tt.v)
		assert.Contains(t, err.Error(), tt.want)
	}
}

// Token indexes in a nested struct are found by their path; a set index
// reads the elements of a slice of pointers too.
type tkNestedHolder struct {
	ID      string `crypt:"id"`
	Tenant  string `crypt:"scope"`
	Billing tkNested
	Ship    *tkNested
	Emails  []*tkEmail
	Mails   crypt.Tokens `crypt:"set=Emails[].Address,transform=lower,bits=16"`
}

func TestTokensNestedAndElements(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	h := &tkNestedHolder{ID: "h-1", Tenant: "acme", Billing: tkNested{Zip: "SW1A 1AA 90210"},
		Emails: []*tkEmail{{Address: "Ada@Example.org"}, nil, {Address: "ada@example.org"}, {Address: "b@c.d"}}}
	plain := *h
	plain.Emails = []*tkEmail{{Address: "Ada@Example.org"}, nil, {Address: "ada@example.org"}, {Address: "b@c.d"}}
	require.NoError(t, e.enc.Encrypt(ctx, h))
	assert.NotEmpty(t, h.Billing.ZipPre)
	assert.Nil(t, h.Ship, "a nil nested struct stays nil")
	assert.Len(t, h.Mails, 2, "two distinct elements after lower")

	s, err := e.enc.Search(ctx, &tkNestedHolder{Tenant: "acme"}, "Billing.ZipPre", crypt.HasPrefix("1-1 9"))
	require.NoError(t, err)
	assert.True(t, s.Candidate(h.Billing.ZipPre))
	ok, err := s.Match(&plain)
	require.NoError(t, err)
	assert.True(t, ok, `"1-1 9" is "119" after digits, a prefix of "1190210"`)

	s, err = e.enc.Search(ctx, &tkNestedHolder{Tenant: "acme"}, "Mails", crypt.Equals("B@C.D"))
	require.NoError(t, err)
	assert.True(t, s.Candidate(h.Mails))
	ok, err = s.Match(&plain)
	require.NoError(t, err)
	assert.True(t, ok)
	ok, err = s.Match(&tkNestedHolder{Tenant: "acme", Emails: []*tkEmail{nil, {Address: "x@y.z"}}})
	require.NoError(t, err)
	assert.False(t, ok)
}
