package blind

import (
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"strconv"
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
// keep it: computing a value allocates nothing once warm.
//
// The fast tier keeps the subkey's HMAC-SHA-256 state after the inner and
// outer pad blocks, as crypto/hmac does, and computes each value on
// scratch hash states from a pool shared by every Indexer. A service with
// many tenants holds an Indexer per tenant and index; a pool of keyed
// states per Indexer would cost memory for each, and the garbage
// collector empties pools, so an Indexer not used since the last cycle
// would key a new HMAC (several allocations and two compressions).
type Indexer struct {
	bits   int
	size   int  // ceil(bits/8) bytes of output
	mask   byte // applied to the last output byte
	subkey []byte
	slow   *SlowParams // nil for the fast tier

	// The SHA-256 states after absorbing subkey⊕ipad and subkey⊕opad
	// (crypto/sha256's MarshalBinary form); fast tier only.
	inner, outer []byte
}

// hashState is a SHA-256 whose state can be set from a marshaled one.
type hashState interface {
	hash.Hash
	encoding.BinaryUnmarshaler
}

// indexState is the per-call scratch space, pooled across Indexers.
type indexState struct {
	inner, outer hashState
	msg          []byte // the encoded message; cleared after each use
	sum          [outputSize]byte
}

var scratch = sync.Pool{New: func() any {
	return &indexState{inner: sha256.New().(hashState), outer: sha256.New().(hashState)}
}}

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
		return ix, nil
	}
	ix.inner, ix.outer = hmacPads(ix.subkey)
	return ix, nil
}

// hmacPads returns the marshaled SHA-256 states of HMAC-SHA-256 under key
// after its inner and outer pad blocks (RFC 2104: a key longer than the
// block is hashed first, a shorter one padded with zeros). Both are in one
// allocation, side by side: an index computed for a tenant not used lately
// then reads its keyed states from adjacent memory.
func hmacPads(key []byte) (inner, outer []byte) {
	var block [sha256.BlockSize]byte
	if len(key) > sha256.BlockSize {
		sum := sha256.Sum256(key)
		copy(block[:], sum[:])
	} else {
		copy(block[:], key)
	}
	states := make([]byte, 0, 2*marshaledStateSize)
	pad := func(b byte) {
		var p [sha256.BlockSize]byte
		for i := range p {
			p[i] = block[i] ^ b
		}
		h := sha256.New()
		h.Write(p[:])
		clear(p[:])
		var err error
		states, err = h.(encoding.BinaryAppender).AppendBinary(states)
		if err != nil {
			panic("blind: crypto/sha256 cannot marshal its state: " + err.Error()) // never: it always can
		}
	}
	pad(0x36)
	n := len(states)
	pad(0x5c)
	clear(block[:])
	return states[:n:n], states[n:]
}

// marshaledStateSize is the length of a marshaled SHA-256 state, to size
// hmacPads' allocation (a different length would cost one more).
const marshaledStateSize = 108

// Bits returns the number of bits the index keeps.
func (ix *Indexer) Bits() int { return ix.bits }

// ByteLen returns the length of a value from [Indexer.Sum]: ceil(Bits/8).
func (ix *Indexer) ByteLen() int { return ix.size }

// HexLen returns how many bytes [Indexer.AppendHex] appends: 2 × ByteLen.
func (ix *Indexer) HexLen() int { return 2 * ix.size }

// Slow reports whether the indexer is of the slow (Argon2id) tier.
func (ix *Indexer) Slow() bool { return ix.slow != nil }

// String describes the indexer without its key, such as
// "blind.Indexer{bits=16 fast}".
func (ix Indexer) String() string {
	tier := "fast"
	if ix.slow != nil {
		tier = "slow"
	}
	return "blind.Indexer{bits=" + strconv.Itoa(ix.bits) + " " + tier + "}"
}

// Format writes String for every verb (%v, %+v, %#v, %x, %d...), so that
// printing an Indexer, or a pointer to one, never shows its subkey or the
// HMAC states keyed by it.
func (ix Indexer) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, ix.String()) }

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
	st := scratch.Get().(*indexState)
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
	st := scratch.Get().(*indexState)
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
		// HMAC-SHA-256: H(key⊕opad || H(key⊕ipad || msg)), from the
		// states after the pad blocks.
		if err := st.inner.UnmarshalBinary(ix.inner); err != nil {
			panic("blind: restore the HMAC inner state: " + err.Error()) // never: it was marshaled by the same package
		}
		st.inner.Write(msg)
		innerSum := st.inner.Sum(st.sum[:0])
		if err := st.outer.UnmarshalBinary(ix.outer); err != nil {
			panic("blind: restore the HMAC outer state: " + err.Error()) // never
		}
		st.outer.Write(innerSum)
		full = st.outer.Sum(st.sum[:0])
	} else {
		p := ix.slow
		full = st.sum[:copy(st.sum[:], argon2.IDKey(msg, ix.subkey, p.Time, p.MemoryKiB, p.Threads, outputSize))]
	}
	out := full[:ix.size]
	out[ix.size-1] &= ix.mask
	return out
}

// release wipes the plaintext and the keyed states from st and returns it
// to the pool.
func (ix *Indexer) release(st *indexState) {
	clear(st.msg)
	if cap(st.msg) > maxPooledMessage {
		st.msg = nil
	}
	st.inner.Reset()
	st.outer.Reset()
	clear(st.sum[:])
	scratch.Put(st)
}
