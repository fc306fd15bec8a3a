package crypt_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/crypt/blind"
)

// The property tests of token indexes: random records are encrypted, a
// simulated database evaluates each search's queries against every stored
// record's Tokens (blind.Query.Matches, OR over TokenSearch.Queries), and
// the candidates are decrypted and filtered with Match. Against a plaintext
// filter written here, independently of package blind, over the same
// records: no false negative, and after Match exactly the filter's rows.
// The widths are small on purpose, so that candidates hold many false
// positives for Match to drop.

type tokRec struct {
	ID       string       `crypt:"id"`
	TenantID string       `crypt:"scope"`
	Name     string       `crypt:"encrypt,class=pii"`
	NamePre  crypt.Tokens `crypt:"prefix=Name,len=2..5,bits=6,transform=lower"`
	NameSub  crypt.Tokens `crypt:"substring=Name,transform=lower,tokens=8"`
	City     *string      `crypt:"encrypt,class=pii"`
	CitySuf  crypt.Tokens `crypt:"suffix=City,len=2..4,bits=6"`
	Age      string       `crypt:"encrypt,class=pii"`
	AgeRng   crypt.Tokens `crypt:"range=Age,type=int,min=-1000,max=1000,step=7,bits=10"`
	Balance  string       `crypt:"encrypt,class=pii"`
	BalRng   crypt.Tokens `crypt:"range=Balance,type=decimal,scale=2,min=-50,max=50.00,bits=12"`
	Born     string       `crypt:"encrypt,class=pii"`
	BornRng  crypt.Tokens `crypt:"range=Born,type=date,min=1990-01-01,max=2030-12-31"`
	Seen     *string      `crypt:"encrypt,class=pii"`
	SeenRng  crypt.Tokens `crypt:"range=Seen,type=timestamp,precision=hour,min=2024-01-01T00:00:00Z,max=2024-12-31T23:59:59Z,bits=16"`
	Home     string       `crypt:"encrypt,class=pii"`
	Work     *string      `crypt:"encrypt,class=pii"`
	Emails   []tokEmail
	Reach    crypt.Tokens `crypt:"set=Home+Work+Emails[].Address,transform=lower+trim,bits=6"`
}

type tokEmail struct {
	Address string `crypt:"encrypt,class=pii"`
}

// tokTruth is what a record holds, as numbers, for the plaintext filter.
type tokTruth struct {
	age, cents, day, sec int64
	hasAge, hasSeen      bool
}

// Domains of tokRec's range indexes, as the filter sees them.
var (
	dateMin = time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)
	dateMax = time.Date(2030, 12, 31, 0, 0, 0, 0, time.UTC)
	seenMin = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	seenMax = time.Date(2024, 12, 31, 23, 59, 59, 0, time.UTC).Unix()
)

// Runes of the generated text: multi-byte ones, one that lower-cases to
// two runes (İ), case pairs, a space, digits.
var tokRunes = []string{"a", "b", "A", "B", "é", "É", "ß", "日", "İ", " ", "1", "x"}

func randText(r *rand.Rand, maxRunes int) string {
	var b strings.Builder
	for range r.IntN(maxRunes + 1) {
		b.WriteString(tokRunes[r.IntN(len(tokRunes))])
	}
	return b.String()
}

func days(t time.Time) int64 { return t.Unix() / 86400 }

func formatCents(r *rand.Rand, c int64) string {
	sign := ""
	if c < 0 {
		sign, c = "-", -c
	}
	switch r.IntN(3) { // a decimal has several spellings
	case 0:
		if c%100 == 0 {
			return sign + strconv.FormatInt(c/100, 10)
		}
	case 1:
		if c%10 == 0 {
			return fmt.Sprintf("%s%d.%d", sign, c/100, c%100/10)
		}
	}
	return fmt.Sprintf("%s%d.%02d", sign, c/100, c%100)
}

func formatDay(d int64) string { return time.Unix(d*86400, 0).UTC().Format(time.DateOnly) }

// formatSec spells Unix seconds in RFC 3339 in a random zone.
func formatSec(r *rand.Rand, s int64) string {
	zone := time.FixedZone("", (r.IntN(27)-12)*1800)
	return time.Unix(s, 0).In(zone).Format(time.RFC3339)
}

// randRecord returns a record with random values inside the domains.
func randTokRec(r *rand.Rand, id, tenant string) (*tokRec, tokTruth) {
	var tr tokTruth
	rec := &tokRec{ID: id, TenantID: tenant, Name: randText(r, 12), Home: randText(r, 4)}
	if r.IntN(5) > 0 {
		rec.City = ptr(randText(r, 7))
	}
	if r.IntN(6) > 0 {
		tr.age, tr.hasAge = r.Int64N(2001)-1000, true
		rec.Age = strconv.FormatInt(tr.age, 10)
	}
	tr.cents = r.Int64N(10001) - 5000
	rec.Balance = formatCents(r, tr.cents)
	tr.day = days(dateMin) + r.Int64N(days(dateMax)-days(dateMin)+1)
	rec.Born = formatDay(tr.day)
	if r.IntN(4) > 0 {
		tr.sec, tr.hasSeen = seenMin+r.Int64N(seenMax-seenMin+1), true
		rec.Seen = ptr(formatSec(r, tr.sec))
	}
	if r.IntN(2) == 0 {
		rec.Work = ptr(randText(r, 4))
	}
	for range r.IntN(3) {
		rec.Emails = append(rec.Emails, tokEmail{Address: randText(r, 4)})
	}
	return rec, tr
}

// tokWorld is the simulated database: what it stores, and the plaintexts
// behind it.
type tokWorld struct {
	e      *env
	stored []*tokRec // as written: encrypted, with their Tokens
	plain  []*tokRec
	truth  []tokTruth
	open   []*tokRec // stored, decrypted
}

func (w *tokWorld) write(t *testing.T, recs []*tokRec, truth []tokTruth) {
	t.Helper()
	w.writeAll(t, recs, truth)
}

func (w *tokWorld) writeAll(t *testing.T, recs []*tokRec, truth []tokTruth) {
	t.Helper()
	ctx := context.Background()
	for i, rec := range recs {
		cp, err := crypt.Encrypted(ctx, w.e.enc, rec)
		require.NoError(t, err, "Encrypted(%s)", rec.ID)
		w.stored = append(w.stored, cp)
		w.plain = append(w.plain, rec)
		w.truth = append(w.truth, truth[i])
		w.open = append(w.open, nil)
	}
}

// rewrite encrypts the records of tenant again from their plaintext, as
// the re-encryption job does: their tokens are then under the primary key.
func (w *tokWorld) rewrite(t *testing.T, tenant string) {
	t.Helper()
	for i, rec := range w.plain {
		if rec.TenantID == tenant {
			cp, err := crypt.Encrypted(context.Background(), w.e.enc, rec)
			require.NoError(t, err)
			w.stored[i], w.open[i] = cp, nil
		}
	}
}

// decrypted returns stored record i, decrypted (once).
func (w *tokWorld) decrypted(t *testing.T, i int) *tokRec {
	if w.open[i] == nil {
		c := *w.stored[i]
		c.Emails = slices.Clone(c.Emails)
		c.Work, c.City, c.Seen = clonePtr(c.Work), clonePtr(c.City), clonePtr(c.Seen)
		require.NoError(t, w.e.enc.Decrypt(context.Background(), &c))
		w.open[i] = &c
	}
	return w.open[i]
}

func clonePtr(p *string) *string {
	if p == nil {
		return nil
	}
	return ptr(*p)
}

// tokQuery is one search and the plaintext filter it must agree with.
type tokQuery struct {
	term  crypt.Term
	short bool // the transformed query is shorter than the index looks up
	want  func(rec *tokRec, tr tokTruth) bool
	empty bool // a Between with no value of the domain
}

// tokKind is one token index of tokRec and how to query it at random.
type tokKind struct {
	index   string
	tokens  func(*tokRec) crypt.Tokens
	queries func(r *rand.Rand, w *tokWorld, n int) []tokQuery
}

func lower(s string) string { return strings.ToLower(s) }

// textQueries returns queries drawn from the stored values (a piece of a
// value, cut at a random rune, with its case changed at random) and random
// text, with lengths around the index's limits.
func textQueries(r *rand.Rand, w *tokWorld, n int, value func(*tokRec) string, piece func(r *rand.Rand, runes []string, k int) []string) []string {
	var out []string
	for range n {
		var q string
		if r.IntN(4) == 0 {
			q = randText(r, 9)
		} else {
			runes := splitRunes(value(w.plain[r.IntN(len(w.plain))]))
			k := r.IntN(len(runes) + 2) // sometimes longer than the value
			q = strings.Join(piece(r, runes, min(k, len(runes))), "")
			if k > len(runes) {
				q += tokRunes[r.IntN(len(tokRunes))]
			}
		}
		if r.IntN(3) == 0 {
			q = strings.ToUpper(q)
		}
		out = append(out, q)
	}
	return out
}

func splitRunes(s string) []string {
	var out []string
	for _, c := range s {
		out = append(out, string(c))
	}
	return out
}

func tokKinds() []tokKind {
	prefixOf := func(_ *rand.Rand, rs []string, k int) []string { return rs[:k] }
	suffixOf := func(_ *rand.Rand, rs []string, k int) []string { return rs[len(rs)-k:] }
	pieceOf := func(r *rand.Rand, rs []string, k int) []string {
		start := r.IntN(len(rs) - k + 1)
		return rs[start : start+k]
	}
	text := func(index string, tokens func(*tokRec) crypt.Tokens, value func(*tokRec) (string, bool),
		term func(string) crypt.Term, piece func(*rand.Rand, []string, int) []string,
		transform func(string) string, minRunes int, match func(v, q string) bool) tokKind {
		return tokKind{index: index, tokens: tokens, queries: func(r *rand.Rand, w *tokWorld, n int) []tokQuery {
			var out []tokQuery
			for _, q := range textQueries(r, w, n, func(rec *tokRec) string { v, _ := value(rec); return v }, piece) {
				tq := transform(q)
				out = append(out, tokQuery{term: term(q), short: utf8.RuneCountInString(tq) < minRunes,
					want: func(rec *tokRec, _ tokTruth) bool {
						v, ok := value(rec)
						return ok && v != "" && match(transform(v), tq)
					}})
			}
			return out
		}}
	}
	name := func(rec *tokRec) (string, bool) { return rec.Name, true }
	city := func(rec *tokRec) (string, bool) {
		if rec.City == nil {
			return "", false
		}
		return *rec.City, true
	}
	same := func(s string) string { return s }
	between := func(index string, tokens func(*tokRec) crypt.Tokens, lo, hi int64, value func(tokTruth) (int64, bool),
		format func(r *rand.Rand, v int64) string, near func(r *rand.Rand, tr tokTruth) int64) tokKind {
		return tokKind{index: index, tokens: tokens, queries: func(r *rand.Rand, w *tokWorld, n int) []tokQuery {
			bound := func() (string, int64, bool) {
				var v int64
				switch r.IntN(8) {
				case 0:
					return "", 0, false // open
				case 1:
					v = lo + r.Int64N(3) - 1 // the domain's lower edge, and past it
				case 2:
					v = hi + r.Int64N(3) - 1
				case 3, 4:
					v = lo + r.Int64N(hi-lo+1)
				default:
					v = near(r, w.truth[r.IntN(len(w.truth))]) // a stored value, or next to one
				}
				return format(r, v), v, true
			}
			var out []tokQuery
			for range n {
				loText, loV, hasLo := bound()
				hiText, hiV, hasHi := bound()
				if !hasLo {
					loV = math.MinInt64
				}
				if !hasHi {
					hiV = math.MaxInt64
				}
				out = append(out, tokQuery{term: crypt.Between(loText, hiText),
					empty: max(loV, lo) > min(hiV, hi),
					want: func(_ *tokRec, tr tokTruth) bool {
						v, ok := value(tr)
						return ok && loV <= v && v <= hiV
					}})
			}
			return out
		}}
	}
	nearBy := func(get func(tokTruth) int64, spread int64) func(*rand.Rand, tokTruth) int64 {
		return func(r *rand.Rand, tr tokTruth) int64 { return get(tr) + r.Int64N(2*spread+1) - spread }
	}
	elements := func(rec *tokRec) []string {
		var out []string
		add := func(s string) {
			if v := strings.TrimSpace(lower(s)); v != "" {
				out = append(out, v)
			}
		}
		add(rec.Home)
		if rec.Work != nil {
			add(*rec.Work)
		}
		for _, e := range rec.Emails {
			add(e.Address)
		}
		return out
	}
	return []tokKind{
		text("NamePre", func(c *tokRec) crypt.Tokens { return c.NamePre }, name, crypt.HasPrefix, prefixOf, lower, 2, strings.HasPrefix),
		text("NameSub", func(c *tokRec) crypt.Tokens { return c.NameSub }, name, crypt.Contains, pieceOf, lower, 3, strings.Contains),
		text("CitySuf", func(c *tokRec) crypt.Tokens { return c.CitySuf }, city, crypt.HasSuffix, suffixOf, same, 2, strings.HasSuffix),
		between("AgeRng", func(c *tokRec) crypt.Tokens { return c.AgeRng }, -1000, 1000,
			func(tr tokTruth) (int64, bool) { return tr.age, tr.hasAge },
			func(_ *rand.Rand, v int64) string { return strconv.FormatInt(v, 10) },
			nearBy(func(tr tokTruth) int64 { return tr.age }, 8)),
		between("BalRng", func(c *tokRec) crypt.Tokens { return c.BalRng }, -5000, 5000,
			func(tr tokTruth) (int64, bool) { return tr.cents, true },
			formatCents,
			nearBy(func(tr tokTruth) int64 { return tr.cents }, 3)),
		between("BornRng", func(c *tokRec) crypt.Tokens { return c.BornRng }, days(dateMin), days(dateMax),
			func(tr tokTruth) (int64, bool) { return tr.day, true },
			func(_ *rand.Rand, v int64) string { return formatDay(v) },
			nearBy(func(tr tokTruth) int64 { return tr.day }, 2)),
		between("SeenRng", func(c *tokRec) crypt.Tokens { return c.SeenRng }, seenMin, seenMax,
			func(tr tokTruth) (int64, bool) { return tr.sec, tr.hasSeen },
			formatSec,
			nearBy(func(tr tokTruth) int64 { return tr.sec }, 5400)),
		{index: "Reach", tokens: func(c *tokRec) crypt.Tokens { return c.Reach }, queries: func(r *rand.Rand, w *tokWorld, n int) []tokQuery {
			var out []tokQuery
			for range n {
				var q string
				if els := elements(w.plain[r.IntN(len(w.plain))]); len(els) > 0 && r.IntN(4) > 0 {
					q = els[r.IntN(len(els))]
					if r.IntN(2) == 0 {
						q = " " + strings.ToUpper(q) + "  "
					}
				} else {
					q = randText(r, 4)
				}
				want := strings.TrimSpace(lower(q))
				out = append(out, tokQuery{term: crypt.Equals(q), short: want == "",
					want: func(rec *tokRec, _ tokTruth) bool { return slices.Contains(elements(rec), want) }})
			}
			return out
		}},
	}
}

// tokStats counts what the searches found.
type tokStats struct {
	queries, candidates, falsePositives, matches int
}

// check runs n random queries of every kind for tenant and holds the
// results to the plaintext filter. It returns the counts per index.
func (w *tokWorld) check(t *testing.T, r *rand.Rand, tenant string, n int, wantQueries int) map[string]*tokStats {
	t.Helper()
	ctx := context.Background()
	stats := map[string]*tokStats{}
	for _, k := range tokKinds() {
		st := &tokStats{}
		stats[k.index] = st
		for _, q := range k.queries(r, w, n) {
			s, err := w.e.enc.Search(ctx, &tokRec{TenantID: tenant}, k.index, q.term)
			if q.short {
				require.ErrorIs(t, err, blind.ErrQueryTooShort, "%s %v", k.index, q.term)
				continue
			}
			require.NoError(t, err, "Search(%s)", k.index)
			require.Len(t, s.Queries, wantQueries, "%s: one query per enabled index key", k.index)
			require.Equal(t, q.empty, s.Empty(), "%s: Empty()", k.index)
			st.queries++
			for i, stored := range w.stored {
				want := w.plain[i].TenantID == tenant && q.want(w.plain[i], w.truth[i])
				if !s.Candidate(k.tokens(stored)) {
					if want {
						t.Fatalf("%s: false negative: record %s/%s is not a candidate", k.index, w.plain[i].TenantID, w.plain[i].ID)
					}
					continue
				}
				st.candidates++
				got, err := s.Match(w.decrypted(t, i))
				require.NoError(t, err, "Match")
				if got != want {
					t.Fatalf("%s: Match(record %s/%s) = %v, the plaintext filter says %v", k.index, w.plain[i].TenantID, w.plain[i].ID, got, want)
				}
				if want {
					st.matches++
				} else {
					st.falsePositives++
				}
			}
		}
	}
	return stats
}

func TestTokenSearchProperties(t *testing.T) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(7731, 42))
	perPhase, perKind := 120, 250
	if raceEnabled || testing.Short() {
		perPhase, perKind = 40, 60
	}
	w := &tokWorld{e: newEnv(t)}
	batch := func(prefix, tenant string, n int) ([]*tokRec, []tokTruth) {
		var recs []*tokRec
		var truth []tokTruth
		for i := range n {
			rec, tr := randTokRec(r, fmt.Sprintf("%s-%d", prefix, i), tenant)
			recs, truth = append(recs, rec), append(truth, tr)
		}
		return recs, truth
	}
	write := func(recs []*tokRec, truth []tokTruth) { w.write(t, recs, truth) }
	report := func(phase string, stats map[string]*tokStats) {
		for index, st := range stats {
			t.Logf("%s %s: %d queries, %d candidates, %d matches, %d false positives dropped by Match",
				phase, index, st.queries, st.candidates, st.matches, st.falsePositives)
		}
		var fp int
		for _, st := range stats {
			fp += st.falsePositives
		}
		require.Positive(t, fp, "the test's widths are small so that Match has false positives to drop")
	}

	// Records of two tenants under the first index keys. globex's rows are
	// in the simulated table too: Match must drop them, whatever tokens
	// they hold.
	write(batch("a", "acme", perPhase))
	write(batch("g", "globex", perPhase/2))
	report("one key", w.check(t, r, "acme", perKind, 1))

	// An index-key rotation: a new key, promoted; records written now
	// carry tokens under it, and searches find both generations.
	id := indexID("acme", "pii")
	oldKey, err := w.e.keyring.ExistingIndexKeys(ctx, "acme", "pii")
	require.NoError(t, err)
	oldID := oldKey.PrimaryID()
	newID, err := w.e.admin.AddKey(ctx, id)
	require.NoError(t, err, "AddKey")
	require.NoError(t, w.e.admin.PromoteKey(ctx, id, newID), "PromoteKey")
	write(batch("b", "acme", perPhase))
	report("during rotation", w.check(t, r, "acme", perKind, 2))

	// The old key disabled: rows whose tokens it wrote are found again
	// once they are rewritten under the new one.
	require.NoError(t, w.e.admin.DisableKey(ctx, id, oldID), "DisableKey")
	all, err := w.e.enc.Search(ctx, &tokRec{TenantID: "acme"}, "BornRng", crypt.Between("", ""))
	require.NoError(t, err)
	for i, rec := range w.plain {
		if rec.TenantID == "acme" {
			// 64-bit tokens: a row is found only under the key that wrote it.
			wantFound := strings.HasPrefix(rec.ID, "b-")
			require.Equal(t, wantFound, all.Candidate(w.stored[i].BornRng), "record %s with the old index key disabled, before it is rewritten", rec.ID)
		}
	}
	w.rewrite(t, "acme")
	report("after rotation", w.check(t, r, "acme", perKind, 1))
	report("globex", w.check(t, r, "globex", perKind/2, 1))
}
