package crypt_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	"github.com/tink-crypto/tink-go/v2/keyset"
	aesgcmpb "github.com/tink-crypto/tink-go/v2/proto/aes_gcm_go_proto"
	commonpb "github.com/tink-crypto/tink-go/v2/proto/common_go_proto"
	hmacprfpb "github.com/tink-crypto/tink-go/v2/proto/hmac_prf_go_proto"
	tinkpb "github.com/tink-crypto/tink-go/v2/proto/tink_go_proto"
	xchachapb "github.com/tink-crypto/tink-go/v2/proto/xchacha20_poly1305_go_proto"
	"google.golang.org/protobuf/proto"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/kms"
)

// Fixed keysets built from known key bytes, for the golden vectors and for
// tests that need two scopes to share key material. These keys are public
// test values: never use them for real data.

// Algorithms of fixed test keysets, named as in docs/FORMAT.md.
const (
	algAESGCM   = "AES256_GCM"
	algXChaCha  = "XCHACHA20_POLY1305"
	algHMACPRF  = "HMAC_SHA256_PRF"
	typeAESGCM  = "type.googleapis.com/google.crypto.tink.AesGcmKey"
	typeXChaCha = "type.googleapis.com/google.crypto.tink.XChaCha20Poly1305Key"
	typeHMACPRF = "type.googleapis.com/google.crypto.tink.HmacPrfKey"
)

// fixedKey is one key of a fixed keyset.
type fixedKey struct {
	ID     uint32 `json:"key_id"`
	Status string `json:"status"` // "ENABLED" or "DISABLED"
	KeyHex string `json:"key_hex"`
}

// fixedKeyset is a keyset whose keys are given, not generated.
type fixedKeyset struct {
	Scope     string     `json:"scope"`
	Class     string     `json:"class"`
	Purpose   string     `json:"purpose"`
	Algorithm string     `json:"algorithm"`
	PrimaryID uint32     `json:"primary_key_id"`
	Keys      []fixedKey `json:"keys"`
}

func (f fixedKeyset) id() keyring.KeysetID {
	return keyring.KeysetID{Scope: f.Scope, Class: f.Class, Purpose: keyring.Purpose(f.Purpose)}
}

// key returns the bytes of the key with the given ID.
func (f fixedKeyset) key(id uint32) ([]byte, bool) {
	for _, k := range f.Keys {
		if k.ID == id {
			b, err := hex.DecodeString(k.KeyHex)
			return b, err == nil
		}
	}
	return nil, false
}

// proto returns the keyset as Tink's cleartext Keyset message.
func (f fixedKeyset) proto() (*tinkpb.Keyset, error) {
	ks := &tinkpb.Keyset{PrimaryKeyId: f.PrimaryID}
	for _, k := range f.Keys {
		raw, err := hex.DecodeString(k.KeyHex)
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", k.ID, err)
		}
		var (
			msg     proto.Message
			typeURL string
			prefix  = tinkpb.OutputPrefixType_TINK
		)
		switch f.Algorithm {
		case algAESGCM:
			msg, typeURL = &aesgcmpb.AesGcmKey{KeyValue: raw}, typeAESGCM
		case algXChaCha:
			msg, typeURL = &xchachapb.XChaCha20Poly1305Key{KeyValue: raw}, typeXChaCha
		case algHMACPRF:
			msg = &hmacprfpb.HmacPrfKey{Params: &hmacprfpb.HmacPrfParams{Hash: commonpb.HashType_SHA256}, KeyValue: raw}
			typeURL, prefix = typeHMACPRF, tinkpb.OutputPrefixType_RAW
		default:
			return nil, fmt.Errorf("unknown algorithm %q", f.Algorithm)
		}
		value, err := proto.Marshal(msg)
		if err != nil {
			return nil, err
		}
		status := tinkpb.KeyStatusType_ENABLED
		if k.Status == "DISABLED" {
			status = tinkpb.KeyStatusType_DISABLED
		}
		ks.Key = append(ks.Key, &tinkpb.Keyset_Key{
			KeyData:          &tinkpb.KeyData{TypeUrl: typeURL, Value: value, KeyMaterialType: tinkpb.KeyData_SYMMETRIC},
			Status:           status,
			KeyId:            k.ID,
			OutputPrefixType: prefix,
		})
	}
	return ks, nil
}

// handle returns the keyset as a Tink handle.
func (f fixedKeyset) handle() (*keyset.Handle, error) {
	ks, err := f.proto()
	if err != nil {
		return nil, err
	}
	return insecurecleartextkeyset.Read(&keyset.MemReaderWriter{Keyset: ks})
}

// tinkJSON returns the keyset in Tink's cleartext JSON format.
func (f fixedKeyset) tinkJSON() ([]byte, error) {
	h, err := f.handle()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := insecurecleartextkeyset.Write(h, keyset.NewJSONWriter(&buf)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// withPrimary returns a copy of f whose primary key is id.
func (f fixedKeyset) withPrimary(id uint32) fixedKeyset {
	f.PrimaryID = id
	return f
}

// seedStore wraps each keyset under the KEK at uri, exactly as the keyring
// does (associated data keyring.WrapAssociatedData over the state document), and stores it.
func seedStore(t testing.TB, store keyring.Store, opener *kms.Opener, uri string, sets []fixedKeyset) {
	t.Helper()
	ctx := context.Background()
	kek, err := opener.Open(ctx, uri)
	if err != nil {
		t.Fatalf("Open(%s) err = %v", uri, err)
	}
	for _, f := range sets {
		h, err := f.handle()
		if err != nil {
			t.Fatalf("keyset %v: %v", f.id(), err)
		}
		// The state document of docs/FORMAT.md section 7, authenticated
		// through the wrap's associated data.
		state := []byte(`{"format":"fieldcrypt-keyset-state-v2","version":1}`)
		var buf bytes.Buffer
		if err := h.WriteWithContext(ctx, keyset.NewBinaryWriter(&buf), kek, keyring.WrapAssociatedData(f.id(), state)); err != nil {
			t.Fatalf("wrap %v: %v", f.id(), err)
		}
		now := time.Now().UTC()
		rec := &keyring.Record{ID: f.id(), KEKURI: uri, EncryptedKeyset: buf.Bytes(), Metadata: state, Created: now, Updated: now}
		if err := store.Create(ctx, rec); err != nil {
			t.Fatalf("store.Create(%v) err = %v", f.id(), err)
		}
	}
}

// fixedEnv is an Encryptor whose keyring holds only the given fixed
// keysets (auto-creation is off), wrapped under one local KEK.
func fixedEnv(t testing.TB, sets []fixedKeyset) *env {
	t.Helper()
	e := newEnv(t)
	e.store = keyring.NewMemoryStore()
	uri := e.keks["default"]
	seedStore(t, e.store, e.opener, uri, sets)
	kr, err := keyring.New(keyring.Config{Store: e.store, Opener: e.opener, DefaultKEK: uri, DisableAutoCreate: true})
	if err != nil {
		t.Fatal(err)
	}
	e.keyring, e.enc = kr, crypt.New(kr, nil)
	return e
}

// keyBytes returns the raw key bytes of every key in a cleartext keyset.
func keyBytes(t testing.TB, ks *tinkpb.Keyset) [][]byte {
	t.Helper()
	var out [][]byte
	for _, k := range ks.GetKey() {
		var raw []byte
		switch url := k.GetKeyData().GetTypeUrl(); url {
		case typeAESGCM:
			var m aesgcmpb.AesGcmKey
			if err := proto.Unmarshal(k.GetKeyData().GetValue(), &m); err != nil {
				t.Fatal(err)
			}
			raw = m.GetKeyValue()
		case typeXChaCha:
			var m xchachapb.XChaCha20Poly1305Key
			if err := proto.Unmarshal(k.GetKeyData().GetValue(), &m); err != nil {
				t.Fatal(err)
			}
			raw = m.GetKeyValue()
		case typeHMACPRF:
			var m hmacprfpb.HmacPrfKey
			if err := proto.Unmarshal(k.GetKeyData().GetValue(), &m); err != nil {
				t.Fatal(err)
			}
			raw = m.GetKeyValue()
		default:
			t.Fatalf("unexpected key type %s", url)
		}
		out = append(out, raw, k.GetKeyData().GetValue())
	}
	return out
}

// testKeyHex returns 32 public test key bytes, in hex, derived from label:
// SHA-256("fieldcrypt public test key: " || label).
func testKeyHex(label string) string {
	sum := sha256.Sum256([]byte("fieldcrypt public test key: " + label))
	return hex.EncodeToString(sum[:])
}
