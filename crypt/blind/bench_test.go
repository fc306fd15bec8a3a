package blind_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/crypt/blind"
)

// The benchmark record's three indexes: e-mail, e-mail domain, last four of
// the phone number, each with its own subkey.
var benchValues = [3]string{"alice@example.com", "example.com", "9999"}

func benchSubkeys() [3][]byte {
	var keys [3][]byte
	for i := range keys {
		keys[i] = append([]byte(nil), testSubkey...)
		keys[i][0] = byte(i)
	}
	return keys
}

// BenchmarkIndexerAppendHex computes the three index values of one record
// with pooled, keyed HMAC states.
func BenchmarkIndexerAppendHex(b *testing.B) {
	keys := benchSubkeys()
	var ixs [3]*blind.Indexer
	for i := range ixs {
		ixs[i] = mustIndexer(b, keys[i], 32, nil)
	}
	dst := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		dst = dst[:0]
		for i, ix := range ixs {
			dst = ix.AppendHex(dst, benchValues[i])
		}
	}
}

// BenchmarkHMACByHand is the baseline: the same three values computed the
// obvious way, with hmac.New, Write and Sum per value.
func BenchmarkHMACByHand(b *testing.B) {
	keys := benchSubkeys()
	dst := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		dst = dst[:0]
		for i, v := range benchValues {
			mac := hmac.New(sha256.New, keys[i])
			var prefix [4]byte
			binary.BigEndian.PutUint32(prefix[:], uint32(len(v)))
			mac.Write(prefix[:])
			mac.Write([]byte(v))
			dst = hex.AppendEncode(dst, mac.Sum(nil)[:4])
		}
	}
}

// BenchmarkIndexerAppendHexParallel shows that the pool scales across
// goroutines.
func BenchmarkIndexerAppendHexParallel(b *testing.B) {
	ix := mustIndexer(b, testSubkey, 32, nil)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		dst := make([]byte, 0, 16)
		for pb.Next() {
			dst = ix.AppendHex(dst[:0], benchValues[0])
		}
	})
}

// BenchmarkIndexerSlowDefault is the cost of one slow-tier value with
// DefaultSlowParams.
func BenchmarkIndexerSlowDefault(b *testing.B) {
	ix := mustIndexer(b, testSubkey, 20, &blind.DefaultSlowParams)
	dst := make([]byte, 0, 16)
	b.ReportAllocs()
	for b.Loop() {
		dst = ix.AppendHex(dst[:0], "1970-01-31")
	}
}
