package crypt_test

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tink-crypto/tink-go/v2/tink"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/crypt/blind"
	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// BenchContact is the benchmark record: 10 fields (6 encrypted, 3 blind
// indexes, 1 identity) plus its scope.
type BenchContact struct {
	_         struct{} `crypt:"record=contact"`
	ID        string   `crypt:"id"`
	TenantID  string   `crypt:"scope"`
	FirstName string   `crypt:"encrypt,class=pii"`
	LastName  string   `crypt:"encrypt,class=pii"`
	Email     string   `crypt:"encrypt,class=pii"`
	Phone     string   `crypt:"encrypt,class=pii"`
	Address   string   `crypt:"encrypt,class=pii"`
	Notes     []byte   `crypt:"encrypt,class=support"`
	EmailIdx  string   `crypt:"blind=Email,transform=lower+trim,bits=32"`
	PhoneIdx  string   `crypt:"blind=Phone,transform=digits+last4,bits=16"`
	NameIdx   string   `crypt:"blind=FirstName+LastName,transform=lower,bits=24"`
}

func benchPlain() BenchContact {
	return BenchContact{
		ID:        "4f1c2a9e-5b7d-4c1e-9a3f-2d8e6b0c7a15",
		TenantID:  "acme",
		FirstName: "Ada",
		LastName:  "Lovelace",
		Email:     "Ada.Lovelace@Example.com",
		Phone:     "+44 20 7946 0018",
		Address:   "12 St James's Square, London SW1Y 4JH",
		Notes:     []byte("called about invoice 2024-0042; prefers e-mail"),
	}
}

// byHand does what Encrypt and Decrypt do for a BenchContact, written out
// directly: the same Tink AEAD calls (through the keyring's data handles,
// whose Encrypt is Tink's plus the nonce-budget counter any service needs),
// the same associated data, the same blind.Indexer calls with subkeys
// derived once, the same base64 and hex encodings, and no reflection.
type byHand struct {
	pii, support                tink.AEAD // *keyring.DataKeys
	emailIx, phoneIx, nameIx    *blind.Indexer
	lowerTrim, digitsL4, lowerT []blind.Transform

	aad, pt, ct, hex []byte
}

func newByHand(b testing.TB, kr *keyring.Keyring) *byHand {
	ctx := context.Background()
	pii, err := kr.DataKeys(ctx, "acme", "pii")
	require.NoError(b, err)
	support, err := kr.DataKeys(ctx, "acme", "support")
	require.NoError(b, err)
	ik, err := kr.IndexKeys(ctx, "acme", "pii")
	require.NoError(b, err)
	indexer := func(name string, bits int) *blind.Indexer {
		sub, err := blind.DeriveSubkey(primaryPRF{ik}, "contact", name)
		require.NoError(b, err)
		ix, err := blind.NewIndexer(sub, bits, nil)
		require.NoError(b, err)
		return ix
	}
	transforms := func(spec string) []blind.Transform {
		ts, err := blind.ParseTransforms(spec)
		require.NoError(b, err)
		return ts
	}
	return &byHand{
		pii: pii, support: support,
		emailIx: indexer("EmailIdx", 32), phoneIx: indexer("PhoneIdx", 16), nameIx: indexer("NameIdx", 24),
		lowerTrim: transforms("lower+trim"), digitsL4: transforms("digits+last4"), lowerT: transforms("lower"),
	}
}

// primaryPRF is the primary key of an index keyset, as the PRF that
// blind.DeriveSubkey takes.
type primaryPRF struct{ ik *keyring.IndexKeys }

func (p primaryPRF) ComputePRF(input []byte, outputLength uint32) ([]byte, error) {
	return p.ik.Compute(p.ik.PrimaryID(), input, int(outputLength))
}

func lpAppend(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// recordAAD builds the per-record prefix of the associated data.
func (h *byHand) recordAAD(c *BenchContact) int {
	b := lpAppend(h.aad[:0], "fieldcrypt field v1")
	b = lpAppend(b, c.TenantID)
	b = lpAppend(b, "contact")
	b = binary.BigEndian.AppendUint32(b, 1)
	b = lpAppend(b, "ID")
	b = lpAppend(b, c.ID)
	h.aad = b
	return len(b)
}

func (h *byHand) fieldAAD(prefix int, path string) []byte {
	h.aad = lpAppend(h.aad[:prefix], path)
	return h.aad
}

// unsafeString returns b as a string without copying, as package crypt does
// for buffers it has just filled.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

func (h *byHand) index(ix *blind.Indexer, values ...string) string {
	h.hex = ix.AppendHex(h.hex[:0], values...)
	return string(h.hex)
}

func (h *byHand) sealText(a tink.AEAD, s string, aad []byte) (string, error) {
	h.pt = append(h.pt[:0], s...)
	ct, err := a.Encrypt(h.pt, aad)
	if err != nil {
		return "", err
	}
	buf := make([]byte, 4+base64.RawURLEncoding.EncodedLen(len(ct)))
	copy(buf, "fc1:")
	base64.RawURLEncoding.Encode(buf[4:], ct)
	return unsafeString(buf), nil
}

func (h *byHand) encrypt(c *BenchContact) error {
	c.EmailIdx = h.index(h.emailIx, blind.Apply(h.lowerTrim, c.Email))
	c.PhoneIdx = h.index(h.phoneIx, blind.Apply(h.digitsL4, c.Phone))
	c.NameIdx = h.index(h.nameIx, blind.Apply(h.lowerT, c.FirstName), blind.Apply(h.lowerT, c.LastName))
	p := h.recordAAD(c)
	for _, f := range []struct {
		path string
		v    *string
	}{{"FirstName", &c.FirstName}, {"LastName", &c.LastName}, {"Email", &c.Email}, {"Phone", &c.Phone}, {"Address", &c.Address}} {
		s, err := h.sealText(h.pii, *f.v, h.fieldAAD(p, f.path))
		if err != nil {
			return err
		}
		*f.v = s
	}
	ct, err := h.support.Encrypt(c.Notes, h.fieldAAD(p, "Notes"))
	if err != nil {
		return err
	}
	notes := make([]byte, 2+len(ct))
	notes[0], notes[1] = 0xfc, 0x01
	copy(notes[2:], ct)
	c.Notes = notes
	return nil
}

var errByHand = errors.New("by hand: not a fieldcrypt value")

func (h *byHand) openText(a tink.AEAD, s string, aad []byte) (string, error) {
	if len(s) < 4 || s[:4] != "fc1:" {
		return "", errByHand
	}
	n := base64.RawURLEncoding.DecodedLen(len(s) - 4)
	if cap(h.ct) < n {
		h.ct = make([]byte, n)
	}
	m, err := base64.RawURLEncoding.Decode(h.ct[:n], unsafe.Slice(unsafe.StringData(s[4:]), len(s)-4))
	if err != nil {
		return "", err
	}
	pt, err := a.Decrypt(h.ct[:m], aad)
	if err != nil {
		return "", err
	}
	return unsafeString(pt), nil
}

func (h *byHand) decrypt(c *BenchContact) error {
	p := h.recordAAD(c)
	fields := [...]struct {
		path string
		v    *string
	}{{"FirstName", &c.FirstName}, {"LastName", &c.LastName}, {"Email", &c.Email}, {"Phone", &c.Phone}, {"Address", &c.Address}}
	var out [len(fields)]string
	for i, f := range fields {
		s, err := h.openText(h.pii, *f.v, h.fieldAAD(p, f.path))
		if err != nil {
			return err
		}
		out[i] = s
	}
	if len(c.Notes) < 2 || c.Notes[0] != 0xfc || c.Notes[1] != 0x01 {
		return errByHand
	}
	notes, err := h.support.Decrypt(c.Notes[2:], h.fieldAAD(p, "Notes"))
	if err != nil {
		return err
	}
	for i, f := range fields {
		*f.v = out[i]
	}
	c.Notes = notes
	return nil
}

// TestByHandMatchesEncryptor checks that the hand-written code of the
// benchmarks does the same work: its records decrypt with the Encryptor and
// the other way round, with the same index values.
func TestByHandMatchesEncryptor(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	lib := benchPlain()
	require.NoError(t, e.enc.Encrypt(ctx, &lib))
	h := newByHand(t, e.keyring)
	hand := benchPlain()
	require.NoError(t, h.encrypt(&hand))
	assert.Equal(t, []string{lib.EmailIdx, lib.PhoneIdx, lib.NameIdx}, []string{hand.EmailIdx, hand.PhoneIdx, hand.NameIdx})

	require.NoError(t, e.enc.Decrypt(ctx, &hand), "Decrypt(encrypted by hand)")
	require.NoError(t, h.decrypt(&lib), "decrypt by hand (encrypted by Encrypt)")
	want := benchPlain()
	want.EmailIdx, want.PhoneIdx, want.NameIdx = lib.EmailIdx, lib.PhoneIdx, lib.NameIdx
	assert.Equal(t, want, hand)
	assert.Equal(t, want, lib)
}

type benchEnv struct {
	enc     *crypt.Encryptor
	kr      *keyring.Keyring
	h       *byHand
	careful *careful
	plain   BenchContact
	stored  BenchContact
}

func newBenchEnv(b testing.TB) *benchEnv {
	e := newEnv(b)
	be := &benchEnv{enc: e.enc, kr: e.keyring, plain: benchPlain()}
	be.stored = benchPlain()
	if err := e.enc.Encrypt(context.Background(), &be.stored); err != nil { // warm-up
		b.Fatal(err)
	}
	be.h = newByHand(b, e.keyring)
	be.careful = newCareful(b, e.keyring)
	return be
}

func (be *benchEnv) run(b *testing.B, src *BenchContact, op func(*BenchContact) error) {
	c := new(BenchContact)
	before := be.kr.Stats().KMSCalls
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		*c = *src
		if err := op(c); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(be.kr.Stats().KMSCalls-before)/float64(b.N), "kms-calls/op")
}

func BenchmarkEncrypt(b *testing.B) {
	be := newBenchEnv(b)
	ctx := context.Background()
	be.run(b, &be.plain, func(c *BenchContact) error { return be.enc.Encrypt(ctx, c) })
}

func BenchmarkEncryptByHand(b *testing.B) {
	be := newBenchEnv(b)
	be.run(b, &be.plain, be.h.encrypt)
}

func BenchmarkDecrypt(b *testing.B) {
	be := newBenchEnv(b)
	ctx := context.Background()
	be.run(b, &be.stored, func(c *BenchContact) error { return be.enc.Decrypt(ctx, c) })
}

func BenchmarkDecryptByHand(b *testing.B) {
	be := newBenchEnv(b)
	be.run(b, &be.stored, be.h.decrypt)
}

// pairedBatch is how many operations each side runs between clock reads
// in the paired benchmarks.
const pairedBatch = 64

// runPaired alternates batches of the Encryptor's operation and the
// hand-written one and reports both costs and their ratio. On a shared,
// loaded machine the ratio is steadier than that of two separate
// benchmarks, since both sides see the same load.
func (be *benchEnv) runPaired(b *testing.B, src *BenchContact, lib, hand func(*BenchContact) error) {
	c := new(BenchContact)
	var libNS, handNS int64
	batch := func(op func(*BenchContact) error) int64 {
		start := time.Now()
		for range pairedBatch {
			*c = *src
			if err := op(c); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start).Nanoseconds()
	}
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		libNS += batch(lib)
		handNS += batch(hand)
		n += pairedBatch
	}
	b.ReportMetric(float64(libNS)/float64(n), "fieldcrypt-ns/op")
	b.ReportMetric(float64(handNS)/float64(n), "by-hand-ns/op")
	b.ReportMetric(float64(libNS)/float64(handNS), "ratio")
}

func BenchmarkEncryptPaired(b *testing.B) {
	be := newBenchEnv(b)
	ctx := context.Background()
	be.runPaired(b, &be.plain, func(c *BenchContact) error { return be.enc.Encrypt(ctx, c) }, be.h.encrypt)
}

func BenchmarkDecryptPaired(b *testing.B) {
	be := newBenchEnv(b)
	ctx := context.Background()
	be.runPaired(b, &be.stored, func(c *BenchContact) error { return be.enc.Decrypt(ctx, c) }, be.h.decrypt)
}
