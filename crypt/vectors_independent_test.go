package crypt_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"golang.org/x/crypto/argon2"
	"strings"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"
)

// An independent reader of the stored format, written from docs/FORMAT.md
// alone: it uses neither package crypt nor Tink, only the standard library
// and x/crypto/chacha20poly1305, given the raw key bytes of the vectors.

// lp is the length prefix of FORMAT.md: u32be(len(s)) || s.
func lp(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// fieldAAD is the associated data of one field (FORMAT.md, "Associated
// data").
func fieldAAD(scope, recordType string, ids []vectorID, path string) []byte {
	b := lp(nil, "fieldcrypt field v1")
	b = lp(b, scope)
	b = lp(b, recordType)
	b = binary.BigEndian.AppendUint32(b, uint32(len(ids)))
	for _, id := range ids {
		b = lp(b, id.Name)
		b = lp(b, id.Value)
	}
	return lp(b, path)
}

// parseStoredText returns the Tink ciphertext of a text value.
func parseStoredText(s string) ([]byte, error) {
	body, ok := strings.CutPrefix(s, "fc1:")
	if !ok {
		return nil, errors.New("no fc1: prefix")
	}
	if strings.ContainsAny(body, "\r\n=") {
		return nil, errors.New("line break or padding in base64")
	}
	ct, err := base64.RawURLEncoding.Strict().DecodeString(body)
	if err != nil {
		return nil, err
	}
	return ct, nil
}

// parseStoredBinary returns the Tink ciphertext of a binary value.
func parseStoredBinary(b []byte) ([]byte, error) {
	if len(b) < 2 || b[0] != 0xfc || b[1] != 0x01 {
		return nil, errors.New("no fc 01 prefix")
	}
	return b[2:], nil
}

type tinkParts struct {
	keyID             uint32
	nonce, body, tag  []byte
	ciphertextWithTag []byte
}

// splitTinkCiphertext splits 01 || u32be(key_id) || nonce || ciphertext || tag.
func splitTinkCiphertext(alg string, ct []byte) (tinkParts, error) {
	nonceLen := map[string]int{algAESGCM: 12, algXChaCha: 24}[alg]
	const tagLen = 16
	if nonceLen == 0 {
		return tinkParts{}, fmt.Errorf("unknown algorithm %q", alg)
	}
	if len(ct) < 5+nonceLen+tagLen || ct[0] != 0x01 {
		return tinkParts{}, errors.New("not a Tink ciphertext with a TINK prefix")
	}
	rest := ct[5+nonceLen:]
	return tinkParts{
		keyID:             binary.BigEndian.Uint32(ct[1:5]),
		nonce:             ct[5 : 5+nonceLen],
		body:              rest[:len(rest)-tagLen],
		tag:               rest[len(rest)-tagLen:],
		ciphertextWithTag: rest,
	}, nil
}

// openAEAD decrypts the AEAD output of a Tink ciphertext.
func openAEAD(alg string, key []byte, p tinkParts, aad []byte) ([]byte, error) {
	var a cipher.AEAD
	switch alg {
	case algAESGCM:
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, err
		}
		if a, err = cipher.NewGCM(block); err != nil {
			return nil, err
		}
	case algXChaCha:
		var err error
		if a, err = chacha20poly1305.NewX(key); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("unknown algorithm %q", alg)
	}
	return a.Open(nil, p.nonce, p.ciphertextWithTag, aad)
}

// blindSubkey is the subkey of one index under one raw HMAC-SHA-256 PRF key.
func blindSubkey(prfKey []byte, recordType, indexName string) []byte {
	m := hmac.New(sha256.New, prfKey)
	m.Write(lp(lp(lp(nil, "fieldcrypt blind index v1"), recordType), indexName))
	return m.Sum(nil)
}

// blindValue is the hex index value of the transformed inputs.
func blindValue(subkey []byte, bits int, inputs []string) string {
	var msg []byte
	for _, in := range inputs {
		msg = lp(msg, in)
	}
	m := hmac.New(sha256.New, subkey)
	m.Write(msg)
	n := (bits + 7) / 8
	out := m.Sum(nil)[:n]
	out[n-1] &= byte(0xff << ((8 - bits%8) % 8))
	return hex.EncodeToString(out)
}

// independentIndexValue is the value of index ix under subkey, computed
// from the vector's own fields.
func independentIndexValue(t *testing.T, ix vectorIndex, subkey []byte) string {
	t.Helper()
	inputs := make([]string, len(ix.Inputs))
	for i, in := range ix.Inputs {
		inputs[i] = transformIndependently(t, ix.Transforms, in)
	}
	if ix.Argon2id != nil {
		return slowBlindValue(subkey, ix.Bits, *ix.Argon2id, inputs)
	}
	return blindValue(subkey, ix.Bits, inputs)
}

// slowBlindValue is blindValue for the Argon2id tier.
func slowBlindValue(subkey []byte, bits int, p vectorArgon2id, inputs []string) string {
	var msg []byte
	for _, in := range inputs {
		msg = lp(msg, in)
	}
	out := argon2.IDKey(msg, subkey, p.Time, p.MemoryKiB, p.Threads, 32)
	n := (bits + 7) / 8
	out = out[:n]
	out[n-1] &= byte(0xff << ((8 - bits%8) % 8))
	return hex.EncodeToString(out)
}

// transformIndependently applies the transforms the vectors use.
func transformIndependently(t *testing.T, spec, s string) string {
	t.Helper()
	for name := range strings.SplitSeq(spec, "+") {
		switch name {
		case "":
		case "lower":
			s = strings.ToLower(s)
		case "trim":
			s = strings.TrimSpace(s)
		case "digits": // the vectors' inputs are ASCII
			s = strings.Map(func(r rune) rune {
				if r >= '0' && r <= '9' {
					return r
				}
				return -1
			}, s)
		default:
			t.Fatalf("transform %q: not implemented by the independent reader", name)
		}
	}
	return s
}

// storedCiphertext returns the Tink ciphertext of a vector field.
func storedCiphertext(f vectorField) ([]byte, error) {
	if f.Form == "text" {
		return parseStoredText(f.Stored)
	}
	b, err := hex.DecodeString(f.StoredHex)
	if err != nil {
		return nil, err
	}
	return parseStoredBinary(b)
}

func (f vectorField) plaintext() []byte {
	if f.Form == "text" {
		return []byte(f.Plaintext)
	}
	b, _ := hex.DecodeString(f.PlaintextHex)
	return b
}

func checkVectorsAAD(t *testing.T, vf *vectorFile) {
	for _, r := range vf.Records {
		for _, f := range r.Fields {
			got := hex.EncodeToString(fieldAAD(r.Scope, r.RecordType, r.IDs, f.Path))
			if got != f.AADHex {
				t.Errorf("%s %s: independent AAD = %s, vector aad_hex = %s", r.Name, f.Path, got, f.AADHex)
			}
		}
	}
	// One vector spelled out byte by byte, as FORMAT.md shows it.
	want := "00000013" + hex.EncodeToString([]byte("fieldcrypt field v1")) +
		"00000004" + hex.EncodeToString([]byte("acme")) +
		"00000007" + hex.EncodeToString([]byte("contact")) +
		"00000001" +
		"00000002" + hex.EncodeToString([]byte("ID")) +
		"00000003" + hex.EncodeToString([]byte("c-1")) +
		"00000005" + hex.EncodeToString([]byte("Email"))
	if got := vf.Records[0].Fields[1].AADHex; got != want {
		t.Errorf("AAD of contact c-1 Email = %s, want %s", got, want)
	}
}

func checkVectorsIndependent(t *testing.T, vf *vectorFile) {
	type sealed struct {
		name string
		alg  string
		key  []byte
		p    tinkParts
		aad  []byte
	}
	var all []sealed
	for _, r := range vf.Records {
		for _, f := range r.Fields {
			name := r.Name + " " + f.Path
			ks, ok := vf.keyset(r.Scope, f.Class, "data")
			if !ok {
				t.Fatalf("%s: no keyset %s/%s/data", name, r.Scope, f.Class)
			}
			key, ok := ks.key(f.KeyID)
			if !ok {
				t.Fatalf("%s: key %d not in keyset", name, f.KeyID)
			}
			ct, err := storedCiphertext(f)
			if err != nil {
				t.Fatalf("%s: parse stored value: %v", name, err)
			}
			if hex.EncodeToString(ct) != f.TinkCiphertextHex {
				t.Errorf("%s: stored value holds %x, want tink_ciphertext_hex %s", name, ct, f.TinkCiphertextHex)
			}
			p, err := splitTinkCiphertext(f.Algorithm, ct)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if p.keyID != f.KeyID || hex.EncodeToString(p.nonce) != f.NonceHex || hex.EncodeToString(p.tag) != f.TagHex {
				t.Errorf("%s: key ID %d, nonce %x, tag %x do not match the vector", name, p.keyID, p.nonce, p.tag)
			}
			aad := fieldAAD(r.Scope, r.RecordType, r.IDs, f.Path)
			pt, err := openAEAD(f.Algorithm, key, p, aad)
			if err != nil {
				t.Errorf("%s: independent %s decryption failed: %v", name, f.Algorithm, err)
				continue
			}
			if !bytes.Equal(pt, f.plaintext()) {
				t.Errorf("%s: independent decryption = %q, want %q", name, pt, f.plaintext())
			}
			if f.Form == "text" && fmt.Sprintf("fc1:%s", base64.RawURLEncoding.EncodeToString(ct)) != f.Stored {
				t.Errorf("%s: text encoding is not canonical", name)
			}

			// Changing any one input of the associated data breaks it.
			mutations := map[string][]byte{
				"scope":       fieldAAD(r.Scope+"x", r.RecordType, r.IDs, f.Path),
				"record type": fieldAAD(r.Scope, r.RecordType+"x", r.IDs, f.Path),
				"path":        fieldAAD(r.Scope, r.RecordType, r.IDs, f.Path+"x"),
				"no ids":      fieldAAD(r.Scope, r.RecordType, nil, f.Path),
				"label":       bytes.Replace(aad, []byte("field v1"), []byte("field v2"), 1),
			}
			for i := range r.IDs {
				ids := append([]vectorID(nil), r.IDs...)
				ids[i].Value += "0"
				mutations[fmt.Sprintf("id %d value", i)] = fieldAAD(r.Scope, r.RecordType, ids, f.Path)
				ids[i] = r.IDs[i]
				ids[i].Name += "x"
				mutations[fmt.Sprintf("id %d name", i)] = fieldAAD(r.Scope, r.RecordType, ids, f.Path)
			}
			for what, bad := range mutations {
				if _, err := openAEAD(f.Algorithm, key, p, bad); err == nil {
					t.Errorf("%s: decrypted with the associated data's %s changed, want failure", name, what)
				}
			}
			all = append(all, sealed{name, f.Algorithm, key, p, aad})
		}
	}
	// No ciphertext decrypts under another field's associated data, even
	// where two tenants share key bytes.
	for _, a := range all {
		for _, b := range all {
			if a.name == b.name || a.alg != b.alg || !bytes.Equal(a.key, b.key) {
				continue
			}
			if _, err := openAEAD(a.alg, a.key, a.p, b.aad); err == nil {
				t.Errorf("%s decrypted under the associated data of %s", a.name, b.name)
			}
		}
	}
}

func checkVectorIndexesIndependent(t *testing.T, vf *vectorFile) {
	for _, r := range vf.Records {
		for _, ix := range r.Indexes {
			name := r.Name + " " + ix.GoField
			ks, ok := vf.keyset(r.Scope, ix.Class, "index")
			if !ok {
				t.Fatalf("%s: no keyset %s/%s/index", name, r.Scope, ix.Class)
			}
			if len(ix.Values) == 0 || ix.Values[0].KeyID != ks.PrimaryID || ix.Stored != ix.Values[0].Value {
				t.Errorf("%s: stored index %s is not the primary key's value", name, ix.Stored)
			}
			for _, v := range ix.Values {
				key, ok := ks.key(v.KeyID)
				if !ok {
					t.Fatalf("%s: index key %d not in keyset", name, v.KeyID)
				}
				sub := blindSubkey(key, r.RecordType, ix.IndexName)
				if hex.EncodeToString(sub) != v.SubkeyHex {
					t.Errorf("%s key %d: independent subkey %x, vector %s", name, v.KeyID, sub, v.SubkeyHex)
				}
				if got := independentIndexValue(t, ix, sub); got != v.Value {
					t.Errorf("%s key %d: independent index value %s, vector %s", name, v.KeyID, got, v.Value)
				}
			}
		}
	}
}
