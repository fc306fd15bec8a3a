package blind

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"sync"

	"golang.org/x/crypto/argon2"
)

// MaxBits is the widest index: the whole 256-bit HMAC-SHA-256 or Argon2id
// output.
const MaxBits = 256

// MaxValueLen is the longest value, in bytes, that the message encoding can
// carry: its length must fit the 32-bit prefix.
const MaxValueLen = 1<<32 - 1

const maxValueLen = uint64(MaxValueLen)

// outputSize is the length of the untruncated index value in bytes, for both
// tiers.
const outputSize = 32

// maxPooledMessage bounds the message buffer an idle state keeps, so that
// one huge value does not pin its memory in the pool.
const maxPooledMessage = 64 << 10

// SlowParams are the Argon2id parameters of the slow tier: passes over
// memory, memory in KiB, and lanes.
type SlowParams struct {
	Time      uint32 // passes over memory; at least 1
	MemoryKiB uint32 // memory in KiB; at least 8 × Threads
	Threads   uint8  // degree of parallelism; at least 1
}

// DefaultSlowParams are the OWASP Password Storage Cheat Sheet's minimum for
// Argon2id: 19 MiB of memory, 2 passes, 1 lane. On a current server core one
// index value costs roughly 20-40 ms and 19 MiB of memory, so an attacker
// who holds the index keyset still pays that per guess. Size the memory
// budget for concurrent writers: each call holds MemoryKiB while it runs.
var DefaultSlowParams = SlowParams{Time: 2, MemoryKiB: 19 * 1024, Threads: 1}

func (p SlowParams) validate() error {
	switch {
	case p.Time < 1:
		return &SlowParamsError{Params: p, Reason: "time must be at least 1"}
	case p.Threads < 1:
		return &SlowParamsError{Params: p, Reason: "threads must be at least 1"}
	case p.MemoryKiB < 8*uint32(p.Threads):
		return &SlowParamsError{Params: p, Reason: "memory must be at least 8 KiB per thread"}
	}
	return nil
}

// Indexer computes the values of one blind index under one subkey. It is
// safe for concurrent use. Build one per (index, key) with [NewIndexer] and
// keep it: the fast tier pools keyed HMAC states, so that computing a value
// allocates nothing once warm.
type Indexer struct {
	bits   int
	size   int  // ceil(bits/8) bytes of output
	mask   byte // applied to the last output byte
	subkey []byte
	slow   *SlowParams // nil for the fast tier
	states sync.Pool   // of *indexState
}

// indexState is the per-call scratch space, pooled.
type indexState struct {
	mac hash.Hash // keyed HMAC-SHA-256; nil in the slow tier
	msg []byte    // the encoded message; cleared after each use
	sum [outputSize]byte
}

// NewIndexer returns an Indexer that keeps bits bits (1..[MaxBits]) of each
// index value, keyed by subkey (at least [MinSubkeySize] bytes, normally from
// [DeriveSubkey]; it is copied). With slow nil it is the fast tier,
// HMAC-SHA-256; otherwise the slow tier, Argon2id with *slow. Errors are a
// [*BitsError], [*SubkeyError] or [*SlowParamsError].
func NewIndexer(subkey []byte, bits int, slow *SlowParams) (*Indexer, error) {
	if bits < 1 || bits > MaxBits {
		return nil, &BitsError{Bits: bits}
	}
	if len(subkey) < MinSubkeySize {
		return nil, &SubkeyError{Len: len(subkey)}
	}
	ix := &Indexer{
		bits:   bits,
		size:   (bits + 7) / 8,
		mask:   byte(0xff << ((8 - bits%8) % 8)),
		subkey: append([]byte(nil), subkey...),
	}
	if slow != nil {
		if err := slow.validate(); err != nil {
			return nil, err
		}
		p := *slow
		ix.slow = &p
	}
	ix.states.New = ix.newState
	return ix, nil
}

func (ix *Indexer) newState() any {
	st := &indexState{}
	if ix.slow == nil {
		st.mac = hmac.New(sha256.New, ix.subkey)
	}
	return st
}

// Bits returns the number of bits the index keeps.
func (ix *Indexer) Bits() int { return ix.bits }

// ByteLen returns the length of a value from [Indexer.Sum]: ceil(Bits/8).
func (ix *Indexer) ByteLen() int { return ix.size }

// HexLen returns how many bytes [Indexer.AppendHex] appends: 2 × ByteLen.
func (ix *Indexer) HexLen() int { return 2 * ix.size }

// Slow reports whether the indexer is of the slow (Argon2id) tier.
func (ix *Indexer) Slow() bool { return ix.slow != nil }

// AppendHex appends the index value of the (already transformed) values to
// dst as lower-case hex of ceil(Bits/8) bytes and returns the extended
// slice. The message is u32be(len(v1)) || v1 || u32be(len(v2)) || v2 ...;
// the fast tier computes HMAC-SHA-256(subkey, message), the slow tier
// argon2.IDKey(message, subkey, Time, MemoryKiB, Threads, 32); the first
// ceil(Bits/8) bytes are kept, with the low 8×ceil(Bits/8)−Bits bits of the
// last one set to 0.
//
// In the fast tier AppendHex allocates nothing when dst has room for
// [Indexer.HexLen] more bytes. If a value is longer than [MaxValueLen] it
// has no encoding, and dst is returned unchanged.
func (ix *Indexer) AppendHex(dst []byte, values ...string) []byte {
	st := ix.states.Get().(*indexState)
	if out := ix.compute(st, values); out != nil {
		dst = hex.AppendEncode(dst, out)
	}
	ix.release(st)
	return dst
}

// Sum returns the index value of the values as raw bytes, ceil(Bits/8) of
// them: the bytes that [Indexer.AppendHex] hex-encodes. It returns nil if a
// value is longer than [MaxValueLen].
func (ix *Indexer) Sum(values ...string) []byte {
	st := ix.states.Get().(*indexState)
	var sum []byte
	if out := ix.compute(st, values); out != nil {
		sum = append(make([]byte, 0, len(out)), out...)
	}
	ix.release(st)
	return sum
}

// compute encodes the values into st.msg and returns the truncated index
// value, which aliases st.sum, or nil if a value cannot be encoded.
func (ix *Indexer) compute(st *indexState, values []string) []byte {
	for _, v := range values {
		if uint64(len(v)) > maxValueLen {
			return nil
		}
	}
	msg := st.msg[:0]
	for _, v := range values {
		msg = binary.BigEndian.AppendUint32(msg, uint32(len(v)))
		msg = append(msg, v...)
	}
	st.msg = msg
	var full []byte
	if ix.slow == nil {
		st.mac.Reset()
		st.mac.Write(msg)
		full = st.mac.Sum(st.sum[:0])
	} else {
		p := ix.slow
		full = st.sum[:copy(st.sum[:], argon2.IDKey(msg, ix.subkey, p.Time, p.MemoryKiB, p.Threads, outputSize))]
	}
	out := full[:ix.size]
	out[ix.size-1] &= ix.mask
	return out
}

// release wipes the plaintext from st and returns it to the pool.
func (ix *Indexer) release(st *indexState) {
	clear(st.msg)
	if cap(st.msg) > maxPooledMessage {
		st.msg = nil
	}
	ix.states.Put(st)
}
