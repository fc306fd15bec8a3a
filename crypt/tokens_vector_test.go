package crypt_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

// The test vector of docs/FORMAT.md, "Token indexes": the test reads it
// from the document, recomputes every message, subkey and token from the
// construction with crypto/hmac alone, and checks that Encrypt (under a
// keyring holding the vector's key) stores the same Tokens.

// TokenVector is the vector's record.
type TokenVector struct {
	_        struct{}     `crypt:"record=token_vector"`
	ID       string       `crypt:"id"`
	TenantID string       `crypt:"scope"`
	Name     string       `crypt:"encrypt,class=pii"`
	NamePre  crypt.Tokens `crypt:"prefix=Name,len=3..4,bits=12,transform=lower"`
	NameSub  crypt.Tokens `crypt:"substring=Name,transform=lower"`
	Born     string       `crypt:"encrypt,class=pii"`
	BornRng  crypt.Tokens `crypt:"range=Born,type=date,min=2024-01-01,max=2024-01-10"`
	Home     string       `crypt:"encrypt,class=pii"`
	Work     string       `crypt:"encrypt,class=pii"`
	Phones   crypt.Tokens `crypt:"set=Home+Work,transform=digits,bits=12,name=phones"`
}

type tokenVectorDoc struct {
	Scope       string `json:"scope"`
	RecordType  string `json:"record_type"`
	IndexKeyID  uint32 `json:"index_key_id"`
	IndexKeyHex string `json:"index_key_hex"`
	Indexes     []struct {
		Field    string   `json:"go_field"`
		Name     string   `json:"index_name"`
		Kind     string   `json:"kind"`
		Tag      string   `json:"tag"`
		Sources  []string `json:"sources"` // plaintexts, before the transforms
		Inputs   []string `json:"inputs"`  // after them (range: the int64 in decimal)
		Subkey   string   `json:"subkey_hex"`
		Messages []string `json:"messages_hex"`
		Tokens   []int64  `json:"tokens"`
	} `json:"indexes"`
}

const tokenVectorMarker = "<!-- token index vector: checked by TestTokenVector -->"

func readTokenVector(t *testing.T) tokenVectorDoc {
	t.Helper()
	doc, err := os.ReadFile("../docs/FORMAT.md")
	require.NoError(t, err)
	_, rest, ok := bytes.Cut(doc, []byte(tokenVectorMarker))
	require.True(t, ok, "docs/FORMAT.md has no token index vector")
	_, rest, ok = bytes.Cut(rest, []byte("```json\n"))
	require.True(t, ok)
	block, _, ok := bytes.Cut(rest, []byte("```"))
	require.True(t, ok)
	var v tokenVectorDoc
	dec := json.NewDecoder(bytes.NewReader(block))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&v), "the vector's JSON")
	return v
}

// refToken is token(m) of the construction: the first 8 bytes of
// HMAC-SHA-256(subkey, m), big-endian, with the low 64 - bits bits zeroed,
// read as an int64.
func refTokenOf(subkey, msg []byte, bits int) int64 {
	mac := hmac.New(sha256.New, subkey)
	mac.Write(msg)
	u := binary.BigEndian.Uint64(mac.Sum(nil)[:8])
	return int64(u >> (64 - bits) << (64 - bits))
}

func refLP(parts ...string) []byte {
	var b []byte
	for _, p := range parts {
		b = binary.BigEndian.AppendUint32(b, uint32(len(p)))
		b = append(b, p...)
	}
	return b
}

func tagged(tag byte, param uint32, payload []byte) string {
	m := append([]byte{tag}, binary.BigEndian.AppendUint32(nil, param)...)
	return hex.EncodeToString(append(m, payload...))
}

func TestTokenVector(t *testing.T) {
	v := readTokenVector(t)
	key, err := hex.DecodeString(v.IndexKeyHex)
	require.NoError(t, err)
	require.Equal(t, testKeyHex("token vector acme/pii/index"), v.IndexKeyHex, "the vector's key is a public test key")
	rec := &TokenVector{ID: "tv-1", TenantID: v.Scope}

	for _, ix := range v.Indexes {
		t.Run(ix.Name, func(t *testing.T) {
			// The subkey, from the index key.
			mac := hmac.New(sha256.New, key)
			mac.Write(refLP("fieldcrypt token index v1", v.RecordType, ix.Name, ix.Kind))
			subkey := mac.Sum(nil)
			require.Equal(t, ix.Subkey, hex.EncodeToString(subkey), "subkey")

			// The messages, from the transformed inputs (the vector's are
			// ASCII, so runes are bytes).
			var msgs []string
			bits := 0
			switch ix.Kind {
			case "prefix":
				in := ix.Inputs[0]
				for l := 3; l <= min(4, len(in)); l++ {
					msgs = append(msgs, tagged('P', uint32(l), []byte(in[:l])))
				}
				bits = 12
			case "substring":
				in := ix.Inputs[0]
				seen := map[string]bool{}
				for i := 0; i+3 <= len(in); i++ {
					if g := in[i : i+3]; !seen[g] {
						seen[g] = true
						msgs = append(msgs, tagged('G', 3, []byte(g)))
					}
				}
				bits = 13 // RecommendSubstringBits(3, case folded)
			case "set":
				seen := map[string]bool{}
				for _, e := range ix.Inputs {
					if !seen[e] {
						seen[e] = true
						msgs = append(msgs, tagged('E', uint32(len(e)), []byte(e)))
					}
				}
				bits = 12
			case "range":
				// Days since 1970-01-01; domain 2024-01-01..2024-01-10,
				// Step 1: offsets 0..9, B = 4 levels.
				day, err := time.Parse(time.DateOnly, ix.Sources[0])
				require.NoError(t, err)
				lo, _ := time.Parse(time.DateOnly, "2024-01-01")
				o := uint64(day.Unix()/86400 - lo.Unix()/86400)
				require.Equal(t, []string{strconv.FormatInt(day.Unix()/86400, 10)}, ix.Inputs)
				for l := 1; l <= 4; l++ {
					msgs = append(msgs, tagged('R', uint32(l), binary.BigEndian.AppendUint64(nil, o>>(4-l))))
				}
				bits = 64
			}
			require.Equal(t, ix.Messages, msgs, "messages")
			var toks []int64
			for _, m := range msgs {
				b, _ := hex.DecodeString(m)
				toks = append(toks, refTokenOf(subkey, b, bits))
			}
			slices.Sort(toks)
			require.Equal(t, ix.Tokens, slices.Compact(toks), "tokens")

			switch ix.Field {
			case "NamePre", "NameSub":
				rec.Name = ix.Sources[0]
			case "BornRng":
				rec.Born = ix.Sources[0]
			case "Phones":
				rec.Home, rec.Work = ix.Sources[0], ix.Sources[1]
			}
		})
	}

	// Encrypt, under a keyring holding the vector's index key, stores
	// those Tokens.
	e := fixedEnv(t, []fixedKeyset{
		{Scope: v.Scope, Class: "pii", Purpose: "data", Algorithm: algAESGCM, PrimaryID: 1,
			Keys: []fixedKey{{ID: 1, Status: "ENABLED", KeyHex: testKeyHex("token vector acme/pii/data")}}},
		{Scope: v.Scope, Class: "pii", Purpose: "index", Algorithm: algHMACPRF, PrimaryID: v.IndexKeyID,
			Keys: []fixedKey{{ID: v.IndexKeyID, Status: "ENABLED", KeyHex: v.IndexKeyHex}}},
	})
	require.NoError(t, e.enc.Encrypt(context.Background(), rec))
	got := map[string]crypt.Tokens{"NamePre": rec.NamePre, "NameSub": rec.NameSub, "BornRng": rec.BornRng, "Phones": rec.Phones}
	for _, ix := range v.Indexes {
		require.Equal(t, crypt.Tokens(ix.Tokens), got[ix.Field], "Encrypt's %s", ix.Field)
		require.True(t, strings.Contains(tagOf(t, ix.Field), ix.Tag), "the vector's tag of %s is the struct's", ix.Field)
		for _, in := range ix.Inputs {
			require.True(t, utf8.ValidString(in) && isASCII(in), "the vector's inputs are ASCII")
		}
	}
}

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func tagOf(t *testing.T, field string) string {
	t.Helper()
	f, ok := reflect.TypeFor[TokenVector]().FieldByName(field)
	require.True(t, ok)
	return f.Tag.Get("crypt")
}
