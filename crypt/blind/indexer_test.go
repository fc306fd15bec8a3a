package blind_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/crypt/blind"
)

// testSubkey is a fixed 32-byte subkey for tests that need no derivation.
var testSubkey = []byte("0123456789abcdef0123456789ABCDEF")

// testSlow are Argon2id parameters small enough for unit tests.
var testSlow = blind.SlowParams{Time: 1, MemoryKiB: 64, Threads: 1}

func mustIndexer(t testing.TB, subkey []byte, bits int, slow *blind.SlowParams) *blind.Indexer {
	t.Helper()
	ix, err := blind.NewIndexer(subkey, bits, slow)
	if err != nil {
		t.Fatalf("NewIndexer(%d bits, slow=%v) err = %v", bits, slow != nil, err)
	}
	return ix
}

func TestIndexerTruncation(t *testing.T) {
	for _, bits := range []int{1, 7, 8, 9, 12, 32, 255, 256} {
		t.Run(fmt.Sprint(bits), func(t *testing.T) {
			ix := mustIndexer(t, testSubkey, bits, nil)
			n := (bits + 7) / 8
			if ix.Bits() != bits || ix.ByteLen() != n || ix.HexLen() != 2*n || ix.Slow() {
				t.Fatalf("Bits, ByteLen, HexLen, Slow = %d, %d, %d, %v; want %d, %d, %d, false",
					ix.Bits(), ix.ByteLen(), ix.HexLen(), ix.Slow(), bits, n, 2*n)
			}
			keep := bits - 8*(n-1) // bits kept of the last byte, 1..8
			var sawHigh [8]bool    // which kept bits of the last byte were ever 1
			for i := range 64 {
				v := fmt.Sprintf("value-%d", i)
				got := ix.Sum(v)
				mac := hmac.New(sha256.New, testSubkey)
				mac.Write(append([]byte{0, 0, 0, byte(len(v))}, v...))
				full := mac.Sum(nil)
				if len(got) != n {
					t.Fatalf("len(Sum(%q)) = %d, want %d", v, len(got), n)
				}
				if !bytes.Equal(got[:n-1], full[:n-1]) {
					t.Fatalf("Sum(%q) = %x, want prefix of HMAC %x", v, got, full)
				}
				last := got[n-1]
				if last&(0xff>>keep) != 0 {
					t.Fatalf("Sum(%q) last byte %08b: low %d bits not zero", v, last, 8-keep)
				}
				if mask := byte(uint16(0xff00) >> keep); last != full[n-1]&mask {
					t.Fatalf("Sum(%q) last byte %08b, want HMAC byte %08b masked with %08b", v, last, full[n-1], mask)
				}
				for b := range keep {
					if last&(0x80>>b) != 0 {
						sawHigh[b] = true
					}
				}
				if hx := ix.AppendHex(nil, v); string(hx) != hex.EncodeToString(got) {
					t.Fatalf("AppendHex(%q) = %s, want hex of Sum %x", v, hx, got)
				}
			}
			for b := range keep {
				if !sawHigh[b] {
					t.Errorf("bit %d of the last byte was 0 in 64 values: masked too much", 7-b)
				}
			}
		})
	}
}

func TestIndexerMatchesReference(t *testing.T) {
	values := [][]string{
		{},
		{""},
		{"alice@example.com"},
		{"ab", "c"},
		{"a", "bc"},
		{"c", "ab"},
		{"", ""},
		{"John", "Smith", "1970-01-01"},
		{strings.Repeat("x", 300)},
	}
	for _, slow := range []*blind.SlowParams{nil, &testSlow} {
		for _, bits := range []int{5, 16, 32, 256} {
			ix := mustIndexer(t, testSubkey, bits, slow)
			seen := map[string]string{}
			for _, vs := range values {
				name := fmt.Sprintf("slow=%v/bits=%d/%q", slow != nil, bits, vs)
				got := ix.Sum(vs...)
				if want := referenceIndex(testSubkey, bits, slow, vs...); !bytes.Equal(got, want) {
					t.Errorf("%s: Sum = %x, want %x", name, got, want)
				}
				if bits == 256 {
					if prev, dup := seen[string(got)]; dup {
						t.Errorf("%s: Sum equals the one of %s: message encoding is ambiguous", name, prev)
					}
					seen[string(got)] = name
				}
			}
		}
	}
}

func TestIndexerTiersDiffer(t *testing.T) {
	fast := mustIndexer(t, testSubkey, 256, nil)
	slow := mustIndexer(t, testSubkey, 256, &testSlow)
	if !slow.Slow() {
		t.Fatalf("Slow() = false for an indexer with SlowParams")
	}
	if bytes.Equal(fast.Sum("x"), slow.Sum("x")) {
		t.Errorf("fast and slow tiers gave the same value")
	}
	otherKey := bytes.Repeat([]byte{7}, 32)
	if bytes.Equal(fast.Sum("x"), mustIndexer(t, otherKey, 256, nil).Sum("x")) {
		t.Errorf("two subkeys gave the same value")
	}
}

func TestIndexerAppendHexAppends(t *testing.T) {
	ix := mustIndexer(t, testSubkey, 20, nil)
	dst := []byte("prefix:")
	got := ix.AppendHex(dst, "v")
	want := "prefix:" + hex.EncodeToString(ix.Sum("v"))
	if string(got) != want {
		t.Errorf("AppendHex = %q, want %q", got, want)
	}
	if len(got)-len("prefix:") != ix.HexLen() {
		t.Errorf("AppendHex appended %d bytes, want HexLen %d", len(got)-len("prefix:"), ix.HexLen())
	}
	if strings.ToLower(string(got)) != string(got) {
		t.Errorf("AppendHex = %q, want lower-case hex", got)
	}
}

func TestIndexerCopiesSubkey(t *testing.T) {
	key := bytes.Clone(testSubkey)
	ix := mustIndexer(t, key, 256, nil)
	before := ix.Sum("v")
	key[0] ^= 0xff
	if after := ix.Sum("v"); !bytes.Equal(before, after) {
		t.Errorf("changing the caller's subkey changed the index: %x then %x", before, after)
	}
}

func TestNewIndexerErrors(t *testing.T) {
	short := testSubkey[:blind.MinSubkeySize-1]
	tests := []struct {
		name   string
		subkey []byte
		bits   int
		slow   *blind.SlowParams
		check  func(error) bool
	}{
		{"bits 0", testSubkey, 0, nil, isBitsError(0)},
		{"bits -8", testSubkey, -8, nil, isBitsError(-8)},
		{"bits 257", testSubkey, 257, nil, isBitsError(257)},
		{"nil subkey", nil, 32, nil, isSubkeyError(0)},
		{"16-byte subkey", testSubkey[:16], 32, nil, isSubkeyError(16)},
		{"31-byte subkey", short, 32, nil, isSubkeyError(31)},
		{"time 0", testSubkey, 32, &blind.SlowParams{Time: 0, MemoryKiB: 64, Threads: 1}, isSlowParamsError},
		{"threads 0", testSubkey, 32, &blind.SlowParams{Time: 1, MemoryKiB: 64, Threads: 0}, isSlowParamsError},
		{"memory below 8 KiB per thread", testSubkey, 32, &blind.SlowParams{Time: 1, MemoryKiB: 31, Threads: 4}, isSlowParamsError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ix, err := blind.NewIndexer(tt.subkey, tt.bits, tt.slow)
			if err == nil {
				t.Fatalf("NewIndexer(%s) = %v, nil; want error", tt.name, ix)
			}
			if !tt.check(err) {
				t.Errorf("NewIndexer(%s) err = %T %v, not the expected type", tt.name, err, err)
			}
			for _, secret := range []string{string(testSubkey[:16]), hex.EncodeToString(testSubkey[:8])} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("NewIndexer(%s) err = %q contains subkey bytes", tt.name, err)
				}
			}
		})
	}
	if _, err := blind.NewIndexer(bytes.Repeat([]byte{1}, 64), 32, &blind.DefaultSlowParams); err != nil {
		t.Errorf("NewIndexer(64-byte subkey, DefaultSlowParams) err = %v, want nil", err)
	}
}

func isBitsError(bits int) func(error) bool {
	return func(err error) bool {
		var e *blind.BitsError
		return errors.As(err, &e) && e.Bits == bits
	}
}

func isSubkeyError(n int) func(error) bool {
	return func(err error) bool {
		var e *blind.SubkeyError
		return errors.As(err, &e) && e.Len == n
	}
}

func isSlowParamsError(err error) bool {
	var e *blind.SlowParamsError
	return errors.As(err, &e)
}

func TestIndexerAppendHexAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items, so allocations are not representative")
	}
	ix := mustIndexer(t, testSubkey, 32, nil)
	dst := make([]byte, 0, 3*ix.HexLen())
	email, domain, phone := "alice@example.com", "example.com", "9999"
	allocs := testing.AllocsPerRun(1000, func() {
		dst = dst[:0]
		dst = ix.AppendHex(dst, email)
		dst = ix.AppendHex(dst, domain)
		dst = ix.AppendHex(dst, "John", "Smith") // a compound index
		dst = ix.AppendHex(dst, phone)
	})
	if allocs != 0 {
		t.Errorf("AppendHex allocated %v times per run, want 0", allocs)
	}
	// And it still computes the right values.
	if got, want := string(ix.AppendHex(dst[:0], email)), hex.EncodeToString(referenceIndex(testSubkey, 32, nil, email)); got != want {
		t.Errorf("AppendHex after the allocation test = %s, want %s", got, want)
	}
}

func TestIndexerConcurrent(t *testing.T) {
	for _, slow := range []*blind.SlowParams{nil, &testSlow} {
		t.Run(fmt.Sprintf("slow=%v", slow != nil), func(t *testing.T) {
			ix := mustIndexer(t, testSubkey, 24, slow)
			const values = 32
			want := make([]string, values)
			for i := range want {
				want[i] = hex.EncodeToString(referenceIndex(testSubkey, 24, slow, fmt.Sprint("v", i), "x"))
			}
			rounds := 200
			if slow != nil {
				rounds = 10
			}
			var wg sync.WaitGroup
			errs := make(chan string, 8)
			for g := range 8 {
				wg.Go(func() {
					buf := make([]byte, 0, 64)
					for r := range rounds {
						i := (g*7 + r) % values
						got := ix.AppendHex(buf[:0], fmt.Sprint("v", i), "x")
						if string(got) != want[i] {
							select {
							case errs <- fmt.Sprintf("goroutine %d: AppendHex(v%d) = %s, want %s", g, i, got, want[i]):
							default:
							}
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for e := range errs {
				t.Error(e)
			}
		})
	}
}
