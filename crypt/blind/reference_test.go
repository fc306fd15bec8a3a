package blind_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"

	"golang.org/x/crypto/argon2"

	"github.com/fieldcrypt/fieldcrypt/crypt/blind"
)

// referenceIndex computes an index value straight from the construction in
// the package doc, without the package's pooling, as an independent
// implementation would.
func referenceIndex(subkey []byte, bits int, slow *blind.SlowParams, values ...string) []byte {
	var msg []byte
	for _, v := range values {
		msg = binary.BigEndian.AppendUint32(msg, uint32(len(v)))
		msg = append(msg, v...)
	}
	var d []byte
	if slow == nil {
		mac := hmac.New(sha256.New, subkey)
		mac.Write(msg)
		d = mac.Sum(nil)
	} else {
		d = argon2.IDKey(msg, subkey, slow.Time, slow.MemoryKiB, slow.Threads, 32)
	}
	n := (bits + 7) / 8
	out := d[:n]
	if keep := bits - 8*(n-1); keep < 8 {
		out[n-1] &= byte(uint16(0xff00) >> keep)
	}
	return out
}
