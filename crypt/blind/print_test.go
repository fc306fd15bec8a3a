package blind_test

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/crypt/blind"
)

// TestKeyedValuesPrintNoKey: an Indexer and a Tokenizer hold their subkey
// and the HMAC states keyed by it, from which every index value and token
// can be computed. Printed with any verb, as a pointer or as a value (a
// debug log, a %+v of what a data layer holds), they show what they are
// and never those bytes.
func TestKeyedValuesPrintNoKey(t *testing.T) {
	subkey := bytes.Repeat([]byte{0xAB}, 32)
	fast, err := blind.NewIndexer(subkey, 16, nil)
	if err != nil {
		t.Fatal(err)
	}
	slow, err := blind.NewIndexer(subkey, 16, &blind.SlowParams{Time: 1, MemoryKiB: 8, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	tz, err := blind.NewTokenizer(subkey, blind.TokenSpec{Kind: blind.TokenSet, Bits: 16})
	if err != nil {
		t.Fatal(err)
	}
	// The subkey in the forms fmt writes bytes in, and the prefix of a
	// marshaled SHA-256 state ("sha\x03", which %v writes as 115 104 97 3).
	leaks := []string{"171 171", "0xab", "abab", "ABAB", "\xab\xab", "115 104 97 3", "sha\x03", `sha\x03`, "736861"}
	for _, tt := range []struct {
		name string
		v    any
		want string
	}{
		{"*Indexer", fast, "blind.Indexer{bits=16 fast}"},
		{"Indexer", *fast, "blind.Indexer{bits=16 fast}"},
		{"slow *Indexer", slow, "blind.Indexer{bits=16 slow}"},
		{"*Tokenizer", tz, "blind.Tokenizer{set bits=16}"},
		{"Tokenizer", *tz, "blind.Tokenizer{set bits=16}"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%o"} {
				text := fmt.Sprintf(verb, tt.v)
				for _, leak := range leaks {
					if strings.Contains(text, leak) {
						t.Errorf("Sprintf(%q, %s) = %.80q..., which holds the keyed bytes (%q)", verb, tt.name, text, leak)
					}
				}
				if strings.Contains(text, hex.EncodeToString(subkey[:4])) {
					t.Errorf("Sprintf(%q, %s) holds the subkey in hex", verb, tt.name)
				}
			}
			if got := fmt.Sprint(tt.v); got != tt.want {
				t.Errorf("Sprint(%s) = %.80q, want %q", tt.name, got, tt.want)
			}
		})
	}
}
