package vault_test

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/vault"
)

// payload is a base64 payload of the shortest valid length (nonce and tag).
var payload = base64.StdEncoding.EncodeToString(make([]byte, 28))

func TestKeyVersion(t *testing.T) {
	for _, tc := range []struct {
		ct   string
		want int
	}{
		{"vault:v1:" + payload, 1},
		{"vault:v3:" + payload, 3},
		{"vault:v1234:" + payload, 1234},
	} {
		t.Run(tc.ct, func(t *testing.T) {
			got, err := vault.KeyVersion([]byte(tc.ct))
			if err != nil || got != tc.want {
				t.Errorf("KeyVersion(%q) = %d, %v; want %d, nil", tc.ct, got, err, tc.want)
			}
		})
	}
}

func TestKeyVersionRejects(t *testing.T) {
	short := base64.StdEncoding.EncodeToString(make([]byte, 27))
	for _, ct := range []string{
		"",
		"vault",
		"vault:v1",
		"vault:v1:",
		"vault:v:" + payload,
		"vault:v0:" + payload,
		"vault:v01:" + payload,
		"vault:v-1:" + payload,
		"vault:v+1:" + payload,
		"vault:vx:" + payload,
		"vault:v99999999999:" + payload,
		"vault:v1:" + short,
		"vault:v1:" + payload[:len(payload)-1],
		"vault:v1:" + strings.TrimRight(payload, "="),
		"vault:v1:" + payload + "\n",
		"vault:v1:" + strings.ReplaceAll(payload, "A", "-"),
		"wault:v1:" + payload,
		"VAULT:V1:" + payload,
	} {
		t.Run(ct, func(t *testing.T) {
			v, err := vault.KeyVersion([]byte(ct))
			if err == nil {
				t.Fatalf("KeyVersion(%q) = %d, nil; want error", ct, v)
			}
			if code := kms.CodeOf(err); code != kms.CodeInvalidCiphertext {
				t.Errorf("KeyVersion(%q) code = %v, want invalid ciphertext", ct, code)
			}
		})
	}
}

func FuzzKeyVersion(f *testing.F) {
	f.Add([]byte("vault:v1:" + payload))
	f.Add([]byte("vault:v12:" + payload))
	f.Add([]byte("vault:v1:AAAA"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, ct []byte) {
		v, err := vault.KeyVersion(ct)
		if err != nil {
			if kms.CodeOf(err) != kms.CodeInvalidCiphertext {
				t.Fatalf("KeyVersion() code = %v, want invalid ciphertext", kms.CodeOf(err))
			}
			return
		}
		prefix := fmt.Sprintf("vault:v%d:", v)
		if v < 1 || !strings.HasPrefix(string(ct), prefix) {
			t.Fatalf("KeyVersion(%q) = %d, which its prefix does not say", ct, v)
		}
		raw, err := base64.StdEncoding.DecodeString(string(ct[len(prefix):]))
		if err != nil || len(raw) < 28 {
			t.Fatalf("KeyVersion(%q) accepted a payload that is not 28+ bytes of base64", ct)
		}
	})
}

func ExampleKeyVersion() {
	v, err := vault.KeyVersion([]byte("vault:v2:" + payload))
	fmt.Println(v, err)
	// Output: 2 <nil>
}
