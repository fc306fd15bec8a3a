package vault_test

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/vault/api"

	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/vault"
)

// pathLog records the operation (encrypt, decrypt, rewrap) of every request
// a client sends.
type pathLog struct {
	mu  sync.Mutex
	ops []string
}

func (l *pathLog) record(r *api.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(parts) >= 2 {
		l.ops = append(l.ops, parts[len(parts)-2])
	}
}

func (l *pathLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.ops
	l.ops = nil
	return out
}

func TestRewrap(t *testing.T) {
	root := rootClient(t)
	pt := []byte("serialized keyset")
	ad := []byte("fieldcrypt keyset v1|tenant-a|pii|data")
	for _, tc := range []struct {
		name string
		mode vault.RewrapMode
		ad   []byte
		// The requests the first and the second Rewrap send.
		wantFirst, wantSecond []string
	}{
		{"auto, no associated data", vault.RewrapAuto, nil,
			[]string{"rewrap"}, []string{"rewrap"}},
		// Vault's rewrap ignores associated_data: the first call finds out
		// and falls back, the second goes straight to decrypt and encrypt.
		{"auto, associated data", vault.RewrapAuto, ad,
			[]string{"rewrap", "decrypt", "encrypt"}, []string{"decrypt", "encrypt"}},
		{"decrypt-encrypt, no associated data", vault.RewrapDecryptEncrypt, nil,
			[]string{"decrypt", "encrypt"}, []string{"decrypt", "encrypt"}},
		{"decrypt-encrypt, associated data", vault.RewrapDecryptEncrypt, ad,
			[]string{"decrypt", "encrypt"}, []string{"decrypt", "encrypt"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			uri := newKey(t, root, "transit")
			log := &pathLog{}
			kek, err := vault.New(root.WithRequestCallbacks(log.record), uri, &vault.Options{Rewrap: tc.mode})
			if err != nil {
				t.Fatalf("New() err = %v", err)
			}
			rw := kek
			ct1, err := kek.EncryptWithContext(ctx, pt, tc.ad)
			if err != nil {
				t.Fatalf("EncryptWithContext() err = %v", err)
			}
			ct2, err := kek.EncryptWithContext(ctx, pt, tc.ad)
			if err != nil {
				t.Fatalf("EncryptWithContext() err = %v", err)
			}
			rotate(t, root, uri)
			log.take()

			for i, step := range []struct {
				ct   []byte
				want []string
			}{{ct1, tc.wantFirst}, {ct2, tc.wantSecond}} {
				if v, err := vault.KeyVersion(step.ct); err != nil || v != 1 {
					t.Fatalf("KeyVersion(before rewrap) = %d, %v; want 1, nil", v, err)
				}
				log.take()
				out, err := rw.Rewrap(ctx, step.ct, tc.ad)
				if err != nil {
					t.Fatalf("Rewrap() #%d err = %v", i+1, err)
				}
				if got := log.take(); !slices.Equal(got, step.want) {
					t.Errorf("Rewrap() #%d sent %v, want %v", i+1, got, step.want)
				}
				if v, err := vault.KeyVersion(out); err != nil || v != 2 {
					t.Errorf("KeyVersion(after rewrap) = %d, %v; want 2, nil", v, err)
				}
				got, err := kek.DecryptWithContext(ctx, out, tc.ad)
				if err != nil || !bytes.Equal(got, pt) {
					t.Errorf("DecryptWithContext(rewrapped) = %q, %v; want %q, nil", got, err, pt)
				}
				// The rewrapped ciphertext is still bound to its associated data.
				if _, err := kek.DecryptWithContext(ctx, out, []byte("other")); kms.CodeOf(err) != kms.CodeInvalidCiphertext {
					t.Errorf("DecryptWithContext(rewrapped, other associated data) err = %v, want invalid ciphertext", err)
				}
			}
		})
	}
}

func TestRewrapRejects(t *testing.T) {
	root := rootClient(t)
	ctx := context.Background()
	uri := newKey(t, root, "transit")
	kek, err := vault.New(root, uri, nil)
	if err != nil {
		t.Fatal(err)
	}
	ad := []byte("tenant-a")
	ct, err := kek.EncryptWithContext(ctx, []byte("keyset"), ad)
	if err != nil {
		t.Fatal(err)
	}
	rotate(t, root, uri)
	rw := kek
	for _, tc := range []struct {
		name string
		ct   []byte
		ad   []byte
	}{
		{"wrong associated data", ct, []byte("tenant-b")},
		{"missing associated data", ct, nil},
		{"garbage", []byte("garbage"), ad},
		{"empty", nil, ad},
		{"tampered", append(bytes.Clone(ct[:len(ct)-4]), "AAA="...), ad},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := rw.Rewrap(ctx, tc.ct, tc.ad)
			if err == nil {
				t.Fatalf("Rewrap(%s) = %q, nil; want error", tc.name, out)
			}
			if code := kms.CodeOf(err); code != kms.CodeInvalidCiphertext {
				t.Errorf("Rewrap(%s) code = %v, want invalid ciphertext (err = %v)", tc.name, code, err)
			}
		})
	}
}

// Raising min_decryption_version retires the versions below it: their
// ciphertexts no longer decrypt, rewrapped ones do.
func TestMinDecryptionVersion(t *testing.T) {
	root := rootClient(t)
	ctx := context.Background()
	uri := newKey(t, root, "transit")
	kek, err := vault.New(root, uri, nil)
	if err != nil {
		t.Fatal(err)
	}
	ad := []byte("tenant-a")
	old, err := kek.EncryptWithContext(ctx, []byte("keyset"), ad)
	if err != nil {
		t.Fatal(err)
	}
	rotate(t, root, uri)
	rewrapped, err := kek.Rewrap(ctx, old, ad)
	if err != nil {
		t.Fatalf("Rewrap() err = %v", err)
	}
	mount, name, _ := vault.ParseURI(uri)
	if _, err := root.Logical().WriteWithContext(ctx, mount+"/keys/"+name+"/config", map[string]any{"min_decryption_version": 2}); err != nil {
		t.Fatalf("setting min_decryption_version: %v", err)
	}
	if _, err := kek.DecryptWithContext(ctx, old, ad); kms.CodeOf(err) != kms.CodeNotFound {
		t.Errorf("DecryptWithContext(v1 ciphertext, min_decryption_version 2) err = %v, want not found", err)
	}
	if _, err := kek.DecryptWithContext(ctx, rewrapped, ad); err != nil {
		t.Errorf("DecryptWithContext(rewrapped) err = %v", err)
	}
}
