package keyring_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	"github.com/tink-crypto/tink-go/v2/keyset"
	aesgcmpb "github.com/tink-crypto/tink-go/v2/proto/aes_gcm_go_proto"
	commonpb "github.com/tink-crypto/tink-go/v2/proto/common_go_proto"
	hmacprfpb "github.com/tink-crypto/tink-go/v2/proto/hmac_prf_go_proto"
	tinkpb "github.com/tink-crypto/tink-go/v2/proto/tink_go_proto"
	"google.golang.org/protobuf/proto"

	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/local"
)

var updateKeysets = flag.Bool("update", false, "regenerate testdata/keysets.json")

// keysetVectorsFile holds wrapped keysets with their development KEK: the
// vectors of docs/FORMAT.md section 7. THEIR KEYS ARE PUBLIC TEST KEYS.
const keysetVectorsFile = "testdata/keysets.json"

type keysetVectorFile struct {
	Description []string       `json:"description"`
	KEK         vectorKEK      `json:"kek"`
	Records     []keysetVector `json:"records"`
}

// vectorKEK is a local:// development KEK: a Tink JSON keyset holding one
// AES-256-GCM key with a TINK prefix.
type vectorKEK struct {
	TinkJSON json.RawMessage `json:"tink_json"`
	KeyID    uint32          `json:"key_id"`
	KeyHex   string          `json:"key_hex"`
}

type keysetVector struct {
	Name               string      `json:"name"`
	Scope              string      `json:"scope"`
	Class              string      `json:"class"`
	Purpose            string      `json:"purpose"`
	State              string      `json:"state"`
	WrapADHex          string      `json:"wrap_associated_data_hex"`
	EncryptedKeysetHex string      `json:"encrypted_keyset_hex"`
	Tombstone          bool        `json:"tombstone"`
	PrimaryKeyID       uint32      `json:"primary_key_id,omitempty"`
	Keys               []vectorKey `json:"keys,omitempty"`
	Destroyed          []uint32    `json:"destroyed,omitempty"`
}

type vectorKey struct {
	KeyID   uint32 `json:"key_id"`
	Status  string `json:"status"` // ENABLED or DISABLED
	TypeURL string `json:"type_url"`
	KeyHex  string `json:"key_hex"`
}

const (
	typeAESGCM  = "type.googleapis.com/google.crypto.tink.AesGcmKey"
	typeHMACPRF = "type.googleapis.com/google.crypto.tink.HmacPrfKey"
)

// testKey is a public test key: SHA-256 of a label.
func testKey(label string) string {
	sum := sha256.Sum256([]byte("fieldcrypt public test key: " + label))
	return hex.EncodeToString(sum[:])
}

// keysetVectorInputs are the vectors; -update wraps them.
var keysetVectorInputs = []keysetVector{
	{
		Name:  "data keyset: primary, an older enabled key, a disabled key, a destroyed ID",
		Scope: "acme", Class: "pii", Purpose: "data", PrimaryKeyID: 0x22222222,
		State: `{"format":"fieldcrypt-keyset-state-v2","version":5,"created":{"286331153":"2026-01-01T00:00:00Z","572662306":"2026-02-01T00:00:00Z","858993459":"2026-03-01T00:00:00Z","1145324612":"2025-06-01T00:00:00Z"},"destroyed":[1145324612]}`,
		Keys: []vectorKey{
			{KeyID: 0x11111111, Status: "ENABLED", TypeURL: typeAESGCM, KeyHex: testKey("acme/pii/data 1")},
			{KeyID: 0x22222222, Status: "ENABLED", TypeURL: typeAESGCM, KeyHex: testKey("acme/pii/data 2")},
			{KeyID: 0x33333333, Status: "DISABLED", TypeURL: typeAESGCM, KeyHex: testKey("acme/pii/data 3")},
		},
		Destroyed: []uint32{0x44444444},
	},
	{
		Name:  "index keyset: two enabled HMAC-SHA-256 PRF keys",
		Scope: "acme", Class: "pii", Purpose: "index", PrimaryKeyID: 0x55555555,
		State: `{"format":"fieldcrypt-keyset-state-v2","version":2,"created":{"1431655765":"2026-01-01T00:00:00Z","1717986918":"2026-04-01T00:00:00Z"}}`,
		Keys: []vectorKey{
			{KeyID: 0x55555555, Status: "ENABLED", TypeURL: typeHMACPRF, KeyHex: testKey("acme/pii/index 1")},
			{KeyID: 0x66666666, Status: "ENABLED", TypeURL: typeHMACPRF, KeyHex: testKey("acme/pii/index 2")},
		},
	},
	{
		Name:  "tombstone of a shredded tenant",
		Scope: "gone", Class: "pii", Purpose: "data", Tombstone: true,
		State: `{"format":"fieldcrypt-keyset-state-v2","version":3,"shredded_at":"2026-05-01T00:00:00Z"}`,
	},
}

// vectorKeysetProto builds the cleartext Tink Keyset of a vector.
func vectorKeysetProto(t *testing.T, v keysetVector) *tinkpb.Keyset {
	t.Helper()
	ks := &tinkpb.Keyset{PrimaryKeyId: v.PrimaryKeyID}
	for _, k := range v.Keys {
		raw, err := hex.DecodeString(k.KeyHex)
		if err != nil {
			t.Fatal(err)
		}
		var msg proto.Message
		prefix := tinkpb.OutputPrefixType_TINK
		switch k.TypeURL {
		case typeAESGCM:
			msg = &aesgcmpb.AesGcmKey{KeyValue: raw}
		case typeHMACPRF:
			msg = &hmacprfpb.HmacPrfKey{Params: &hmacprfpb.HmacPrfParams{Hash: commonpb.HashType_SHA256}, KeyValue: raw}
			prefix = tinkpb.OutputPrefixType_RAW
		}
		value, err := proto.Marshal(msg)
		if err != nil {
			t.Fatal(err)
		}
		status := tinkpb.KeyStatusType_ENABLED
		if k.Status == "DISABLED" {
			status = tinkpb.KeyStatusType_DISABLED
		}
		ks.Key = append(ks.Key, &tinkpb.Keyset_Key{
			KeyData: &tinkpb.KeyData{TypeUrl: k.TypeURL, Value: value, KeyMaterialType: tinkpb.KeyData_SYMMETRIC},
			Status:  status, KeyId: k.KeyID, OutputPrefixType: prefix,
		})
	}
	return ks
}

// vectorKEKKeyset is the development KEK of the vectors.
func vectorKEKKeyset(t *testing.T) (*keyset.Handle, vectorKEK) {
	t.Helper()
	kekHex := testKey("local KEK")
	raw, _ := hex.DecodeString(kekHex)
	value, err := proto.Marshal(&aesgcmpb.AesGcmKey{KeyValue: raw})
	if err != nil {
		t.Fatal(err)
	}
	const kekID = 0x0fc0fc01
	ks := &tinkpb.Keyset{PrimaryKeyId: kekID, Key: []*tinkpb.Keyset_Key{{
		KeyData: &tinkpb.KeyData{TypeUrl: typeAESGCM, Value: value, KeyMaterialType: tinkpb.KeyData_SYMMETRIC},
		Status:  tinkpb.KeyStatusType_ENABLED, KeyId: kekID, OutputPrefixType: tinkpb.OutputPrefixType_TINK,
	}}}
	h, err := insecurecleartextkeyset.Read(&keyset.MemReaderWriter{Keyset: ks})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := insecurecleartextkeyset.Write(h, keyset.NewJSONWriter(&buf)); err != nil {
		t.Fatal(err)
	}
	return h, vectorKEK{TinkJSON: json.RawMessage(bytes.TrimSpace(buf.Bytes())), KeyID: kekID, KeyHex: kekHex}
}

func writeKeysetVectors(t *testing.T) {
	t.Helper()
	kekHandle, kek := vectorKEKKeyset(t)
	kekAEAD, err := aead.New(kekHandle)
	if err != nil {
		t.Fatal(err)
	}
	f := keysetVectorFile{
		Description: []string{
			"Wrapped keysets of fieldcrypt (docs/FORMAT.md section 7) with their development KEK. THE KEYS ARE PUBLIC TEST KEYS.",
			"kek: a local:// key file (tink_json) holding one AES-256-GCM key; KEK-Encrypt(pt, ad) = 0x01 || u32be(key_id) || nonce(12) || AES-256-GCM(key, nonce, pt, ad).",
			"wrap_associated_data = lp(\"fieldcrypt keyset v2\") || lp(scope) || lp(class) || lp(purpose) || lp(state), lp(x) = u32be(len(x)) || x.",
			"encrypted_keyset: a Tink EncryptedKeyset message (field 2 encrypted_keyset, field 3 keyset_info) whose encrypted_keyset is KEK-Encrypt(serialized Tink Keyset, wrap_associated_data).",
			"A tombstone's encrypted_keyset is KEK-Encrypt(\"fieldcrypt tombstone v2\", wrap_associated_data) and it holds no keys.",
			"Regenerate with: go test ./keyring -run TestKeysetVectors -update (the nonces are random: a regenerated file differs, and must still pass).",
		},
		KEK: kek,
	}
	for _, v := range keysetVectorInputs {
		ad := keyring.WrapAssociatedData(keyring.KeysetID{Scope: v.Scope, Class: v.Class, Purpose: keyring.Purpose(v.Purpose)}, []byte(v.State))
		pt := []byte("fieldcrypt tombstone v2")
		var eks tinkpb.EncryptedKeyset
		if !v.Tombstone {
			ks := vectorKeysetProto(t, v)
			if pt, err = proto.Marshal(ks); err != nil {
				t.Fatal(err)
			}
			h, err := insecurecleartextkeyset.Read(&keyset.MemReaderWriter{Keyset: ks})
			if err != nil {
				t.Fatal(err)
			}
			eks.KeysetInfo = h.KeysetInfo()
		}
		if eks.EncryptedKeyset, err = kekAEAD.Encrypt(pt, ad); err != nil {
			t.Fatal(err)
		}
		out, err := proto.Marshal(&eks)
		if err != nil {
			t.Fatal(err)
		}
		v.WrapADHex, v.EncryptedKeysetHex = hex.EncodeToString(ad), hex.EncodeToString(out)
		f.Records = append(f.Records, v)
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(keysetVectorsFile), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keysetVectorsFile, append(data, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestKeysetVectors checks the wrapped keysets of testdata/keysets.json
// twice: independently (the associated data rebuilt by hand, AES-256-GCM
// from crypto/aes, the Tink messages parsed as protobuf) and through a
// keyring over a store that holds them, with the KEK as a local:// file.
func TestKeysetVectors(t *testing.T) {
	if *updateKeysets {
		writeKeysetVectors(t)
	}
	data, err := os.ReadFile(keysetVectorsFile)
	if err != nil {
		t.Fatalf("reading %s: %v (run with -update)", keysetVectorsFile, err)
	}
	var f keysetVectorFile
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Records) != len(keysetVectorInputs) {
		t.Fatalf("%s has %d records, the table %d: run with -update", keysetVectorsFile, len(f.Records), len(keysetVectorInputs))
	}
	kekKey, _ := hex.DecodeString(f.KEK.KeyHex)
	block, err := aes.NewCipher(kekKey)
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}

	// The keyring's view: the KEK as a local key file, the records in a store.
	dir := t.TempDir()
	kekPath := filepath.Join(dir, "kek.json")
	if err := os.WriteFile(kekPath, f.KEK.TinkJSON, 0o600); err != nil {
		t.Fatal(err)
	}
	store := keyring.NewMemoryStore()
	opener := kms.NewOpener()
	opener.Register(local.Scheme, local.OpenFunc(nil))

	for i, v := range f.Records {
		t.Run(v.Name, func(t *testing.T) {
			in := keysetVectorInputs[i]
			if v.Scope != in.Scope || v.Class != in.Class || v.Purpose != in.Purpose || v.State != in.State || !slices.Equal(v.Keys, in.Keys) {
				t.Fatalf("record differs from the table: run with -update")
			}
			ad := specAD(v.Scope, v.Class, v.Purpose, []byte(v.State))
			if hex.EncodeToString(ad) != v.WrapADHex {
				t.Errorf("wrap_associated_data_hex does not match the spec's construction")
			}
			raw, _ := hex.DecodeString(v.EncryptedKeysetHex)
			var eks tinkpb.EncryptedKeyset
			if err := proto.Unmarshal(raw, &eks); err != nil {
				t.Fatal(err)
			}
			ct := eks.GetEncryptedKeyset()
			if len(ct) < 5+12+16 || ct[0] != 0x01 || binary.BigEndian.Uint32(ct[1:5]) != f.KEK.KeyID {
				t.Fatalf("encrypted_keyset does not start with the KEK's Tink prefix")
			}
			pt, err := gcm.Open(nil, ct[5:17], ct[17:], ad)
			if err != nil {
				t.Fatalf("independent AES-256-GCM decryption: %v", err)
			}
			if v.Tombstone {
				if string(pt) != "fieldcrypt tombstone v2" {
					t.Errorf("tombstone decrypts to %q", pt)
				}
			} else {
				var ks tinkpb.Keyset
				if err := proto.Unmarshal(pt, &ks); err != nil {
					t.Fatal(err)
				}
				if ks.GetPrimaryKeyId() != v.PrimaryKeyID || len(ks.GetKey()) != len(v.Keys) {
					t.Fatalf("keyset primary %d with %d keys, want %d with %d", ks.GetPrimaryKeyId(), len(ks.GetKey()), v.PrimaryKeyID, len(v.Keys))
				}
				for j, k := range ks.GetKey() {
					want := v.Keys[j]
					var value interface{ GetKeyValue() []byte }
					switch k.GetKeyData().GetTypeUrl() {
					case typeAESGCM:
						value = new(aesgcmpb.AesGcmKey)
					case typeHMACPRF:
						value = new(hmacprfpb.HmacPrfKey)
					}
					if value == nil || proto.Unmarshal(k.GetKeyData().GetValue(), value.(proto.Message)) != nil {
						t.Fatalf("key %d: type %s does not parse", k.GetKeyId(), k.GetKeyData().GetTypeUrl())
					}
					if k.GetKeyId() != want.KeyID || k.GetStatus().String() != want.Status || hex.EncodeToString(value.GetKeyValue()) != want.KeyHex {
						t.Errorf("key %d: id %d status %s, want %d %s with the vector's bytes", j, k.GetKeyId(), k.GetStatus(), want.KeyID, want.Status)
					}
				}
			}

			// Through a keyring.
			id := keyring.KeysetID{Scope: v.Scope, Class: v.Class, Purpose: keyring.Purpose(v.Purpose)}
			if err := store.Create(context.Background(), &keyring.Record{ID: id, KEKURI: local.URI(kekPath), EncryptedKeyset: raw, Metadata: []byte(v.State)}); err != nil {
				t.Fatal(err)
			}
			kr, err := keyring.New(keyring.Config{Store: store, Opener: opener, KEKs: map[string]string{v.Class: local.URI(kekPath)}, DisableAutoCreate: true})
			if err != nil {
				t.Fatal(err)
			}
			defer kr.Close()
			ctx := context.Background()
			switch {
			case v.Tombstone:
				if _, err := kr.ExistingDataKeys(ctx, v.Scope, v.Class); !errors.Is(err, keyring.ErrScopeShredded) {
					t.Errorf("tombstone: DataKeys err = %v, want ErrScopeShredded", err)
				}
			case v.Purpose == "data":
				dk, err := kr.ExistingDataKeys(ctx, v.Scope, v.Class)
				if err != nil {
					t.Fatal(err)
				}
				if dk.PrimaryID() != v.PrimaryKeyID {
					t.Errorf("primary = %d, want %d", dk.PrimaryID(), v.PrimaryKeyID)
				}
				for _, k := range v.Keys {
					want := keyring.KeyEnabled
					if k.Status == "DISABLED" {
						want = keyring.KeyDisabled
					}
					if got := dk.Status(k.KeyID); got != want {
						t.Errorf("key %d status %v, want %v", k.KeyID, got, want)
					}
				}
				for _, d := range v.Destroyed {
					if got := dk.Status(d); got != keyring.KeyDestroyed {
						t.Errorf("destroyed key %d status %v", d, got)
					}
				}
			default:
				ik, err := kr.ExistingIndexKeys(ctx, v.Scope, v.Class)
				if err != nil {
					t.Fatal(err)
				}
				if ik.PrimaryID() != v.PrimaryKeyID || len(ik.KeyIDs()) != len(v.Keys) {
					t.Errorf("index keyset primary %d with %d keys, want %d with %d", ik.PrimaryID(), len(ik.KeyIDs()), v.PrimaryKeyID, len(v.Keys))
				}
			}
		})
	}
}
