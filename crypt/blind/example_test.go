package blind_test

import (
	"encoding/hex"
	"fmt"

	prfsubtle "github.com/tink-crypto/tink-go/v2/prf/subtle"

	"github.com/fieldcrypt/fieldcrypt/crypt/blind"
)

func ExampleParseTransforms() {
	ts, err := blind.ParseTransforms("digits+last4")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(blind.Apply(ts, "+1 (555) 010-9999"))

	ts, _ = blind.ParseTransforms("nfkc+lower+trim")
	fmt.Println(blind.Apply(ts, "  ＡＢＣ@Example.COM "))

	_, err = blind.ParseTransforms("lower+soundex")
	fmt.Println(err)
	// Output:
	// 9999
	// abc@example.com
	// blind: transform "soundex": unknown transform
}

func ExampleRecommend() {
	p := blind.Recommend(50000) // about 50,000 distinct e-mail domains
	fmt.Printf("use %d bits (safe range %d..%d), about %.0f values per index value\n",
		p.Bits, p.MinBits, p.MaxBits, p.Coincidences)

	c := blind.Check(32, 50000)
	fmt.Println(len(c.Warnings), "warning:", c.Warnings[0])
	// Output:
	// use 11 bits (safe range 8..14), about 24 values per index value
	// 1 warning: 32 bits over about 50000 distinct values leave about 1.16e-05 values per index value (fewer than 2): the index nearly identifies values and shows their frequencies; use at most 14 bits
}

func ExampleIndexer_AppendHex() {
	// In fieldcrypt the PRF is the primary key of the scope's "index"
	// keyset; here it is a fixed key, the one of testdata/vectors.json.
	key, _ := hex.DecodeString("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
	p, _ := prfsubtle.NewHMACPRF("SHA256", key)

	subkey, err := blind.DeriveSubkey(p, "Contact", "email")
	if err != nil {
		fmt.Println(err)
		return
	}
	ix, err := blind.NewIndexer(subkey, 32, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	ts, _ := blind.ParseTransforms("lower+trim")
	buf := make([]byte, 0, ix.HexLen())
	fmt.Println(string(ix.AppendHex(buf, blind.Apply(ts, "  Alice@Example.COM "))))
	fmt.Println(string(ix.AppendHex(buf, blind.Apply(ts, "alice@example.com"))))
	// Output:
	// 36471b8d
	// 36471b8d
}
