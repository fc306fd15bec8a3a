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
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/chacha20poly1305"
)

// An independent reader of the stored format, written from docs/FORMAT.md
// alone: it uses neither package crypt nor Tink, only the standard library
// and x/crypto (chacha20poly1305, argon2), given the raw key bytes of the
// vectors or, for the key status vectors, the wrapped keysets and the KEK's
// key file.

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

// The key status vectors (testdata/keystatus.json), read from
// docs/FORMAT.md alone: the KEK from its Tink JSON key file, the stored
// keysets unwrapped with crypto/aes and parsed as protobuf by hand, the
// state document with encoding/json, and each value's outcome decided by
// the rules of section 7.6.

// protoField is one field of a protobuf message in the binary wire format.
type protoField struct {
	num    uint64
	varint uint64 // wire type 0
	bytes  []byte // wire type 2
}

// parseProto splits a protobuf message into its fields, in order. Fields of
// wire types 1 and 5 (fixed64, fixed32) are skipped; groups are refused.
func parseProto(b []byte) ([]protoField, error) {
	var out []protoField
	for len(b) > 0 {
		tag, n := binary.Uvarint(b)
		if n <= 0 {
			return nil, errors.New("bad field tag")
		}
		b = b[n:]
		f := protoField{num: tag >> 3}
		if f.num == 0 {
			return nil, errors.New("field number 0")
		}
		switch tag & 7 {
		case 0:
			if f.varint, n = binary.Uvarint(b); n <= 0 {
				return nil, errors.New("bad varint")
			}
			b = b[n:]
		case 1, 5:
			size := map[uint64]int{1: 8, 5: 4}[tag&7]
			if len(b) < size {
				return nil, errors.New("truncated fixed-size field")
			}
			b = b[size:]
			continue
		case 2:
			l, n := binary.Uvarint(b)
			if n <= 0 || l > uint64(len(b)-n) {
				return nil, errors.New("bad length")
			}
			f.bytes, b = b[n:n+int(l)], b[n+int(l):]
		default:
			return nil, fmt.Errorf("wire type %d", tag&7)
		}
		out = append(out, f)
	}
	return out, nil
}

// Tink's KeyStatusType values (FORMAT.md section 7.5).
const (
	tinkEnabled  = 1
	tinkDisabled = 2
)

// unwrappedKey is one key of a Tink Keyset message.
type unwrappedKey struct {
	id      uint32
	status  uint64
	typeURL string
	prefix  uint64
	raw     []byte // the key message's key_value (field 3)
}

// unwrappedKeyset is a stored keyset after the KEK authenticated it: the
// Keyset message's primary and keys, and the state document's destroyed IDs.
type unwrappedKeyset struct {
	primary   uint32
	keys      []unwrappedKey
	destroyed []uint32
}

func (u unwrappedKeyset) lookup(id uint32) (unwrappedKey, bool) {
	for _, k := range u.keys {
		if k.id == id {
			return k, true
		}
	}
	return unwrappedKey{}, false
}

// keyValue returns the key_value (field 3) of a serialized AesGcmKey,
// XChaCha20Poly1305Key or HmacPrfKey message.
func keyValue(msg []byte) ([]byte, error) {
	fields, err := parseProto(msg)
	if err != nil {
		return nil, err
	}
	var v []byte
	for _, f := range fields {
		if f.num == 3 {
			v = f.bytes
		}
	}
	if len(v) != 32 {
		return nil, fmt.Errorf("key_value of %d bytes, want 32", len(v))
	}
	return v, nil
}

// parseKeyset parses a serialized Tink Keyset message.
func parseKeyset(b []byte) (unwrappedKeyset, error) {
	var u unwrappedKeyset
	fields, err := parseProto(b)
	if err != nil {
		return u, err
	}
	for _, f := range fields {
		switch f.num {
		case 1:
			u.primary = uint32(f.varint)
		case 2:
			kf, err := parseProto(f.bytes)
			if err != nil {
				return u, err
			}
			var k unwrappedKey
			var keyData []byte
			for _, g := range kf {
				switch g.num {
				case 1:
					keyData = g.bytes
				case 2:
					k.status = g.varint
				case 3:
					k.id = uint32(g.varint)
				case 4:
					k.prefix = g.varint
				}
			}
			df, err := parseProto(keyData)
			if err != nil {
				return u, err
			}
			for _, g := range df {
				switch g.num {
				case 1:
					k.typeURL = string(g.bytes)
				case 2:
					if k.raw, err = keyValue(g.bytes); err != nil {
						return u, fmt.Errorf("key %d: %w", k.id, err)
					}
				}
			}
			u.keys = append(u.keys, k)
		}
	}
	return u, nil
}

// kekFromTinkJSON reads the KEK of a local:// key file: a Tink JSON keyset
// holding AES-256-GCM keys. It returns the primary key's ID and bytes.
func kekFromTinkJSON(js []byte) (uint32, []byte, error) {
	var doc struct {
		PrimaryKeyID uint32 `json:"primaryKeyId"`
		Key          []struct {
			KeyData struct {
				TypeURL string `json:"typeUrl"`
				Value   []byte `json:"value"` // base64, which encoding/json decodes
			} `json:"keyData"`
			Status           string `json:"status"`
			KeyID            uint32 `json:"keyId"`
			OutputPrefixType string `json:"outputPrefixType"`
		} `json:"key"`
	}
	if err := json.Unmarshal(js, &doc); err != nil {
		return 0, nil, err
	}
	for _, k := range doc.Key {
		if k.KeyID == doc.PrimaryKeyID && k.Status == "ENABLED" && k.OutputPrefixType == "TINK" &&
			k.KeyData.TypeURL == "type.googleapis.com/google.crypto.tink.AesGcmKey" {
			raw, err := keyValue(k.KeyData.Value)
			return k.KeyID, raw, err
		}
	}
	return 0, nil, errors.New("no enabled AES-GCM primary key with a TINK prefix")
}

// wrapAD is the associated data of a wrapped keyset (FORMAT.md section 7.2).
func wrapAD(scope, class, purpose, state string) []byte {
	return lp(lp(lp(lp(lp(nil, "fieldcrypt keyset v2"), scope), class), purpose), state)
}

// unwrapKeyset authenticates and parses a stored keyset: EncryptedKeyset
// field 2 is KEK-Encrypt(Keyset, wrapAD), whose associated data includes
// the state document; the destroyed IDs are read from that document.
func unwrapKeyset(kekID uint32, kek []byte, w wrappedKeyset, state string) (unwrappedKeyset, error) {
	raw, err := hex.DecodeString(w.EncryptedKeysetHex)
	if err != nil {
		return unwrappedKeyset{}, err
	}
	fields, err := parseProto(raw)
	if err != nil {
		return unwrappedKeyset{}, err
	}
	var ct []byte
	for _, f := range fields {
		if f.num == 2 {
			ct = f.bytes
		}
	}
	if len(ct) < 5+12+16 || ct[0] != 0x01 || binary.BigEndian.Uint32(ct[1:5]) != kekID {
		return unwrappedKeyset{}, errors.New("encrypted_keyset is not a ciphertext of the KEK")
	}
	block, err := aes.NewCipher(kek)
	if err != nil {
		return unwrappedKeyset{}, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return unwrappedKeyset{}, err
	}
	pt, err := gcm.Open(nil, ct[5:17], ct[17:], wrapAD(w.Scope, w.Class, w.Purpose, state))
	if err != nil {
		return unwrappedKeyset{}, fmt.Errorf("the KEK does not authenticate the keyset with this state: %w", err)
	}
	u, err := parseKeyset(pt)
	if err != nil {
		return u, err
	}
	// The state document is authentic now; its fields are in section 7.1.
	var doc struct {
		Format    string            `json:"format"`
		Version   uint64            `json:"version"`
		Created   map[string]string `json:"created"`
		Destroyed []uint32          `json:"destroyed"`
	}
	dec := json.NewDecoder(strings.NewReader(state))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return u, err
	}
	if doc.Format != "fieldcrypt-keyset-state-v2" || doc.Version == 0 {
		return u, fmt.Errorf("state format %q version %d", doc.Format, doc.Version)
	}
	u.destroyed = doc.Destroyed
	return u, nil
}

// outcomeOf is the rule of FORMAT.md section 7.6 for a value whose Tink
// prefix names keyID: its key decrypts only if the Keyset holds it ENABLED.
func outcomeOf(u unwrappedKeyset, keyID uint32) string {
	if k, ok := u.lookup(keyID); ok {
		if k.status == tinkEnabled {
			return "decrypts"
		}
		return "ErrKeyDisabled"
	}
	if slices.Contains(u.destroyed, keyID) {
		return "ErrKeyDestroyed"
	}
	return "ErrKeyNotFound"
}

func statusName(s uint64) string {
	return map[uint64]string{tinkEnabled: "ENABLED", tinkDisabled: "DISABLED"}[s]
}

// unwrapKeyStatusKeysets unwraps every keyset of kf from the file's fields
// alone and checks it against what the vector says it holds.
func unwrapKeyStatusKeysets(t *testing.T, kf *keyStatusVectors) map[string]unwrappedKeyset {
	t.Helper()
	kekID, kek, err := kekFromTinkJSON(kf.KEK.TinkJSON)
	if err != nil {
		t.Fatalf("KEK key file: %v", err)
	}
	if kekID != kf.KEK.KeyID || hex.EncodeToString(kek) != kf.KEK.KeyHex {
		t.Errorf("KEK key file holds key %d %x, the vector says %d %s", kekID, kek, kf.KEK.KeyID, kf.KEK.KeyHex)
	}
	out := map[string]unwrappedKeyset{}
	for _, w := range kf.Keysets {
		name := w.Scope + "/" + w.Class + "/" + w.Purpose
		if got := hex.EncodeToString(wrapAD(w.Scope, w.Class, w.Purpose, w.State)); got != w.WrapADHex {
			t.Errorf("%s: wrap associated data %s, vector %s", name, got, w.WrapADHex)
		}
		u, err := unwrapKeyset(kekID, kek, w, w.State)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		wantPrefix := uint64(1) // TINK
		if w.Purpose == "index" {
			wantPrefix = 3 // RAW
		}
		if u.primary != w.PrimaryID || len(u.keys) != len(w.Keys) {
			t.Errorf("%s: primary %d with %d keys, vector %d with %d", name, u.primary, len(u.keys), w.PrimaryID, len(w.Keys))
		}
		for _, want := range w.Keys {
			k, ok := u.lookup(want.ID)
			if !ok || statusName(k.status) != want.Status || hex.EncodeToString(k.raw) != want.KeyHex || k.prefix != wantPrefix {
				t.Errorf("%s: key %d is %+v, vector %+v", name, want.ID, k, want)
			}
		}
		if k, _ := u.lookup(u.primary); k.status != tinkEnabled {
			t.Errorf("%s: the primary key is not ENABLED", name)
		}
		if !slices.Equal(u.destroyed, w.Destroyed) {
			t.Errorf("%s: state destroys %v, vector %v", name, u.destroyed, w.Destroyed)
		}
		for _, id := range u.destroyed {
			if _, ok := u.lookup(id); ok {
				t.Errorf("%s: destroyed key %d is still in the Keyset", name, id)
			}
		}
		// The state is authenticated: a destroyed ID dropped from it, or
		// its version changed, and the keyset no longer unwraps.
		for _, id := range u.destroyed {
			forged := strings.Replace(w.State, fmt.Sprintf(`,"destroyed":[%d]`, id), "", 1)
			if forged == w.State {
				t.Fatalf("%s: no destroyed list to forge in %s", name, w.State)
			}
			if _, err := unwrapKeyset(kekID, kek, w, forged); err == nil {
				t.Errorf("%s: unwrapped with destroyed key %d removed from the state", name, id)
			}
		}
		if _, err := unwrapKeyset(kekID, kek, w, strings.Replace(w.State, `"version":`, `"version":1`, 1)); err == nil {
			t.Errorf("%s: unwrapped with its state version changed", name)
		}
		out[name] = u
	}
	return out
}

// absentKeyBytes returns the former bytes of a key the keyset lacks.
func (w wrappedKeyset) absentKeyBytes(id uint32) ([]byte, bool) {
	for _, k := range w.AbsentKeys {
		if k.KeyID == id {
			b, err := hex.DecodeString(k.KeyHex)
			return b, err == nil
		}
	}
	return nil, false
}

func checkKeyStatusIndependent(t *testing.T, kf *keyStatusVectors) {
	sets := unwrapKeyStatusKeysets(t, kf)
	seen := map[string]bool{}
	for _, r := range kf.Records {
		for _, f := range r.Fields {
			name := r.Name + " " + f.Path
			u, ok := sets[r.Scope+"/"+f.Class+"/data"]
			w, _ := kf.keyset(r.Scope, f.Class, "data")
			if !ok {
				t.Fatalf("%s: no keyset %s/%s/data", name, r.Scope, f.Class)
			}
			ct, err := storedCiphertext(f)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			p, err := splitTinkCiphertext(f.Algorithm, ct)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if p.keyID != f.KeyID || hex.EncodeToString(ct) != f.TinkCiphertextHex {
				t.Errorf("%s: stored value names key %d, vector %d", name, p.keyID, f.KeyID)
			}
			aad := fieldAAD(r.Scope, r.RecordType, r.IDs, f.Path)
			if hex.EncodeToString(aad) != f.AADHex {
				t.Errorf("%s: associated data does not match aad_hex", name)
			}
			outcome := outcomeOf(u, p.keyID)
			seen[outcome] = true
			if outcome != f.Outcome {
				t.Errorf("%s: the rules give %s, the vector says %s", name, outcome, f.Outcome)
			}
			// The key bytes, wherever they are: the keyset (enabled or
			// disabled) or, for a test only, absent_keys.
			var key []byte
			if k, ok := u.lookup(p.keyID); ok {
				key = k.raw
			} else if key, ok = w.absentKeyBytes(p.keyID); !ok {
				t.Fatalf("%s: no bytes for key %d", name, p.keyID)
			}
			pt, err := openAEAD(f.Algorithm, key, p, aad)
			if err != nil || !bytes.Equal(pt, f.plaintext()) {
				t.Errorf("%s: the value is not a genuine ciphertext of its plaintext under key %d: %q, %v", name, p.keyID, pt, err)
			}
		}
	}
	for _, o := range []string{"decrypts", "ErrKeyDisabled", "ErrKeyDestroyed", "ErrKeyNotFound"} {
		if !seen[o] {
			t.Errorf("no vector has outcome %s", o)
		}
	}
}

// checkKeyStatusIndexesIndependent recomputes the query values of each
// index from the unwrapped index keyset: one per ENABLED key, the primary
// first, then by ascending key ID, a value equal to an earlier one left out
// (FORMAT.md section 8.3).
func checkKeyStatusIndexesIndependent(t *testing.T, kf *keyStatusVectors) {
	sets := unwrapKeyStatusKeysets(t, kf)
	for _, r := range kf.Records {
		for _, ix := range r.Indexes {
			name := r.Name + " " + ix.GoField
			u, ok := sets[r.Scope+"/"+ix.Class+"/index"]
			w, _ := kf.keyset(r.Scope, ix.Class, "index")
			if !ok {
				t.Fatalf("%s: no keyset %s/%s/index", name, r.Scope, ix.Class)
			}
			var ids []uint32
			for _, k := range u.keys {
				if k.status == tinkEnabled && k.id != u.primary {
					ids = append(ids, k.id)
				}
			}
			slices.Sort(ids)
			ids = append([]uint32{u.primary}, ids...)
			var got []vectorIndexValue
			for _, id := range ids {
				k, _ := u.lookup(id)
				sub := blindSubkey(k.raw, r.RecordType, ix.IndexName)
				v := independentIndexValue(t, ix, sub)
				if !slices.ContainsFunc(got, func(x vectorIndexValue) bool { return x.Value == v }) {
					got = append(got, vectorIndexValue{KeyID: id, SubkeyHex: hex.EncodeToString(sub), Value: v})
				}
			}
			if !slices.Equal(got, ix.Values) {
				t.Errorf("%s: independent query values %+v, vector %+v", name, got, ix.Values)
			}
			// The stored value was written under stored_key_id.
			status := "DESTROYED"
			var key []byte
			if k, ok := u.lookup(ix.StoredKeyID); ok {
				status, key = statusName(k.status), k.raw
			} else if !slices.Contains(u.destroyed, ix.StoredKeyID) {
				t.Fatalf("%s: stored key %d neither in the keyset nor destroyed", name, ix.StoredKeyID)
			} else if key, ok = w.absentKeyBytes(ix.StoredKeyID); !ok {
				t.Fatalf("%s: no bytes for destroyed key %d", name, ix.StoredKeyID)
			}
			if status != ix.StoredKeyStatus {
				t.Errorf("%s: stored key %d is %s, vector %s", name, ix.StoredKeyID, status, ix.StoredKeyStatus)
			}
			if v := independentIndexValue(t, ix, blindSubkey(key, r.RecordType, ix.IndexName)); v != ix.Stored {
				t.Errorf("%s: value under key %d is %s, stored %s", name, ix.StoredKeyID, v, ix.Stored)
			}
			found := slices.ContainsFunc(got, func(x vectorIndexValue) bool { return x.Value == ix.Stored })
			if ix.QueryFindsStored == nil {
				t.Fatalf("%s: no query_finds_stored", name)
			}
			if *ix.QueryFindsStored != found || found != (status == "ENABLED") {
				t.Errorf("%s: a query finds the stored value: %v; vector %v; key status %s", name, found, *ix.QueryFindsStored, status)
			}
		}
	}
}
