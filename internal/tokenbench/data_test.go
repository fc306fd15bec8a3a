package tokenbench

import (
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The generated contacts' shapes.
const (
	surnameCount   = 4000
	firstNameCount = 400
	domainCount    = 200
	// zipfS and zipfV shape the surname distribution: rank k (from 0) is
	// drawn with weight (zipfV+k)^-zipfS. The most common surname is 0.7%
	// of the contacts, the ten most common 6%, as in the United States;
	// with a few thousand names instead of a real population's long tail,
	// the rarest still has about 50 contacts per million.
	zipfS, zipfV = 1.01, 30
	// longEmailOneIn is how rare an address with a long local part is
	// (role and mailing-list style, 70 characters or more): more than
	// maxTrigrams distinct trigrams, it overflows the substring index.
	longEmailOneIn = 10000
)

// epoch is day 0 of the created dates; dayCount days follow it, to
// 2025-12-31.
var epoch = time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)

const dayCount = 1826

// dayRange is the days from..to, inclusive, as offsets from epoch.
type dayRange struct{ from, to int }

// months are the 60 calendar months of the five years.
func months() []dayRange {
	var ms []dayRange
	for m := epoch; m.Year() <= 2025; m = m.AddDate(0, 1, 0) {
		from := int(m.Sub(epoch).Hours() / 24)
		to := int(m.AddDate(0, 1, -1).Sub(epoch).Hours() / 24)
		ms = append(ms, dayRange{from, to})
	}
	return ms
}

// contact is one generated row with its tokens in the three indexes.
type contact struct {
	id       int64
	lastName string
	email    string
	day      int // created, as days since epoch

	prefixTokens []int64
	emailTokens  []int64
	dayTokens    []int64
}

// created is the contact's creation date.
func (c *contact) created() time.Time { return epoch.AddDate(0, 0, c.day) }

// population draws contacts: its name and domain lists are made once from
// the seed, so that every run of the benchmark has the same data.
type population struct {
	r          *rand.Rand
	zipf       *rand.Zipf
	surnames   []string
	firstNames []string
	domains    []string
}

func newPopulation(seed uint64) *population {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	p := &population{r: r}
	p.surnames = distinctWords(surnameCount, func() string {
		return capitalize(word(r, 1+r.IntN(2)) + surnameEndings[r.IntN(len(surnameEndings))])
	})
	p.firstNames = distinctWords(firstNameCount, func() string { return capitalize(word(r, 1+r.IntN(2))) })
	p.domains = distinctWords(domainCount, func() string {
		return word(r, 1+r.IntN(2)) + topLevelDomains[r.IntN(len(topLevelDomains))]
	})
	p.zipf = rand.NewZipf(r, zipfS, zipfV, surnameCount-1)
	return p
}

// contacts draws n contacts with ids from firstID on, and computes their
// tokens on every core.
func (p *population) contacts(firstID int64, n int, k subkeys) []contact {
	cs := make([]contact, n)
	for i := range cs {
		cs[i] = p.contact(firstID + int64(i))
	}
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			tk := newTokenizer(k)
			for i := w; i < n; i += workers {
				c := &cs[i]
				c.prefixTokens = tk.prefixTokens(c.lastName)
				c.emailTokens = tk.emailTokens(c.email)
				c.dayTokens = tk.dayTokens(c.day)
			}
		})
	}
	wg.Wait()
	return cs
}

// contact draws one contact: a Zipf-distributed surname, an address
// first.last plus up to four digits at one of the domains, and a creation
// day uniform over the five years.
func (p *population) contact(id int64) contact {
	r := p.r
	last := p.surnames[p.zipf.Uint64()]
	first := p.firstNames[r.IntN(len(p.firstNames))]
	local := strings.ToLower(first + "." + last)
	switch r.IntN(4) {
	case 1:
		local += strconv.Itoa(r.IntN(100))
	case 2:
		local += strconv.Itoa(1950 + r.IntN(60))
	}
	if r.IntN(longEmailOneIn) == 0 {
		for len(local) < 70 {
			local += "." + word(r, 3)
		}
	}
	return contact{
		id:       id,
		lastName: last,
		email:    local + "@" + p.domains[r.IntN(len(p.domains))],
		day:      r.IntN(dayCount),
	}
}

// Pieces of pronounceable words.
var (
	onsets          = []string{"b", "br", "c", "ch", "d", "dr", "f", "g", "gr", "h", "j", "k", "kl", "l", "m", "n", "p", "pr", "r", "s", "sh", "st", "t", "th", "tr", "v", "w", "z"}
	vowels          = []string{"a", "e", "i", "o", "u", "a", "e", "o", "ai", "ea", "ou", "y"}
	codas           = []string{"", "", "", "n", "r", "l", "s", "t", "m", "nd", "rt", "ck", "ll"}
	surnameEndings  = []string{"", "", "", "son", "er", "man", "ley", "ton", "ez", "ski", "ford", "well", "berg", "ini"}
	topLevelDomains = []string{".com", ".com", ".com", ".net", ".org", ".io", ".de", ".fr", ".co.uk", ".nl"}
)

// word is a lowercase pronounceable word of the given number of syllables.
func word(r *rand.Rand, syllables int) string {
	var b strings.Builder
	for range syllables {
		b.WriteString(onsets[r.IntN(len(onsets))])
		b.WriteString(vowels[r.IntN(len(vowels))])
		b.WriteString(codas[r.IntN(len(codas))])
	}
	return b.String()
}

// distinctWords calls next until it has returned n distinct words of at
// least four letters, and returns them in the order they came.
func distinctWords(n int, next func() string) []string {
	seen := make(map[string]bool, n)
	words := make([]string, 0, n)
	for len(words) < n {
		w := next()
		if len(w) < 4 || seen[w] {
			continue
		}
		seen[w] = true
		words = append(words, w)
	}
	return words
}

func capitalize(s string) string { return strings.ToUpper(s[:1]) + s[1:] }
