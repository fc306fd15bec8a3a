package blind_test

import (
	"encoding/hex"
	"fmt"

	prfsubtle "github.com/tink-crypto/tink-go/v2/prf/subtle"

	"github.com/fieldcrypt/fieldcrypt/crypt/blind"
)

func ExampleTokenizer_SubstringQuery() {
	// In fieldcrypt the PRF is the primary key of the scope's "index"
	// keyset; here it is a fixed key, the one of testdata/tokens.json.
	key, _ := hex.DecodeString("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
	p, _ := prfsubtle.NewHMACPRF("SHA256", key)

	// The widest substring index that the leakage rule allows for
	// case-folded trigrams.
	bits := blind.RecommendSubstringBits(3, true)
	subkey, err := blind.DeriveTokenSubkey(p, "Contact", "email_sub", blind.TokenSubstring)
	if err != nil {
		fmt.Println(err)
		return
	}
	tk, err := blind.NewTokenizer(subkey, blind.TokenSpec{Kind: blind.TokenSubstring, Bits: bits})
	if err != nil {
		fmt.Println(err)
		return
	}

	// Writing: each row stores its tokens beside its ciphertext.
	rows := []string{"alice@example.com", "bob@example.org", "carol@sample.net"}
	stored := make([][]int64, len(rows))
	for i, email := range rows {
		stored[i], _ = tk.AppendTokens(nil, email)
	}

	// Querying: the database returns the candidates, the caller decrypts
	// them and keeps the matches.
	q, _ := tk.SubstringQuery("example")
	for i, email := range rows {
		if q.Matches(stored[i]) {
			fmt.Printf("%s: candidate, match %v\n", email, blind.MatchSubstring(email, "example"))
		}
	}
	_, err = tk.SubstringQuery("ex")
	fmt.Println(err)
	fmt.Println(blind.CheckSubstring(3, 16, true) != nil)
	// Output:
	// alice@example.com: candidate, match true
	// bob@example.org: candidate, match true
	// blind: substring token index: SubstringQuery: query shorter than the minimum of 3 runes
	// true
}

func ExampleTokenizer_RangeQuery() {
	subkey := []byte("0123456789abcdef0123456789ABCDEF") // from DeriveTokenSubkey
	// Dates as days since 1970-01-01, from 2020-01-01 for five years.
	tk, err := blind.NewTokenizer(subkey, blind.TokenSpec{Kind: blind.TokenRange, Bits: 20,
		Domain: blind.RangeDomain{Min: 18262, Max: 18262 + 1826, Step: 1}})
	if err != nil {
		fmt.Println(err)
		return
	}
	tokens, _ := tk.AppendRangeTokens(nil, 18300) // 2020-02-08
	fmt.Println("levels:", tk.Levels(), "tokens:", len(tokens))

	// February 2020: offsets 31..59 of the domain, covered by the offset
	// 31 and the blocks 32..47, 48..55 and 56..59.
	q, _ := tk.RangeQuery(18293, 18321)
	fmt.Println("cover:", tk.RangeCover(18293, 18321))
	fmt.Println(q.Matches(tokens), len(q.Any))

	_, err = tk.AppendRangeTokens(nil, 0)
	fmt.Println(err)
	// Output:
	// levels: 11 tokens: 11
	// cover: [{11 31} {7 2} {8 6} {9 14}]
	// true 4
	// blind: range token index: AppendRangeTokens: value below the domain's Min 18262
}
