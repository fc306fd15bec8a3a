package blind

import (
	"crypto/hmac"
	"crypto/sha256"
	"testing"
	"unsafe"
)

// TestHMACPadsSideBySide checks hmacPads' layout: both states have the
// length its allocation is sized for (a change in crypto/sha256's format
// shows here), the outer state follows the inner one in memory, and an
// HMAC computed from them is crypto/hmac's.
func TestHMACPadsSideBySide(t *testing.T) {
	for _, keyLen := range []int{MinSubkeySize, sha256.BlockSize, sha256.BlockSize + 1} {
		key := make([]byte, keyLen)
		for i := range key {
			key[i] = byte(i*7 + keyLen)
		}
		inner, outer := hmacPads(key)
		if len(inner) != marshaledStateSize || len(outer) != marshaledStateSize {
			t.Fatalf("state lengths %d and %d, want %d", len(inner), len(outer), marshaledStateSize)
		}
		if unsafe.Pointer(unsafe.SliceData(outer)) != unsafe.Add(unsafe.Pointer(unsafe.SliceData(inner)), len(inner)) {
			t.Error("the outer state does not follow the inner one")
		}
		if cap(inner) != len(inner) {
			t.Error("appending to the inner state would overwrite the outer one")
		}
		ix := &Indexer{bits: 256, size: 32, mask: 0xff, inner: inner, outer: outer}
		st := scratch.Get().(*indexState)
		got := append([]byte(nil), ix.compute(st, []string{"ada@example.com"})...)
		ix.release(st)
		m := hmac.New(sha256.New, key)
		m.Write([]byte{0, 0, 0, 15})
		m.Write([]byte("ada@example.com"))
		if want := m.Sum(nil); string(got) != string(want) {
			t.Errorf("key of %d bytes: HMAC from the pads %x, crypto/hmac %x", keyLen, got, want)
		}
	}
}
