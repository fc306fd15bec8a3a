package vault

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/vault/api"

	"github.com/fieldcrypt/fieldcrypt/kms"
)

// transit is the [kms.Driver] on one Transit key.
type transit struct {
	client *api.Client
	ref    keyRef
	mode   RewrapMode
	// rewrapDropsAD is set once Transit's rewrap has been seen to lose the
	// associated data; Rewrap then decrypts and encrypts directly.
	rewrapDropsAD atomic.Bool
}

var (
	_ kms.Driver    = (*transit)(nil)
	_ kms.Rewrapper = (*transit)(nil)
)

// New returns the KEK on the Transit key that keyURI names
// (hcvault://<mount>/keys/<name>), calling Vault through client, which the
// caller keeps: closing the Keeper leaves it alone. opts may be nil; New
// uses only its KEK fields (Rewrap). New does not call Vault: a missing key
// shows on the first call, as CodeNotFound.
//
// The Keeper can rewrap ([kms.Keeper.Rewrap]); see [RewrapMode].
func New(client *api.Client, keyURI string, opts *Options) (*kms.Keeper, error) {
	ref, err := parseURI(keyURI)
	if err != nil {
		return nil, err
	}
	if client == nil {
		return nil, &kms.Error{Code: kms.CodeInvalidArgument, Op: "open", Backend: Scheme, KeyURI: keyURI,
			Err: errors.New("nil Vault client (use Dial to build one)")}
	}
	return kms.NewKeeper(ref.uri(), &transit{client: client, ref: ref, mode: opts.orZero().Rewrap}), nil
}

// OpenFunc returns the [kms.OpenFunc] for hcvault:// URIs. On the first Open
// it dials Vault with opts (see [Dial]); every KEK it opens then shares that
// connection, whose token renewal runs for the life of the process, so
// closing a KEK leaves the connection open. A failed dial is not remembered:
// the next Open dials again. Programs that must stop renewal use [Dial],
// [Conn.Open] and [Conn.Close] instead.
func OpenFunc(opts *Options) kms.OpenFunc {
	var (
		mu   sync.Mutex
		conn *Conn
	)
	return func(ctx context.Context, uri string) (*kms.Keeper, error) {
		if _, err := parseURI(uri); err != nil {
			return nil, err
		}
		mu.Lock()
		defer mu.Unlock()
		if conn == nil {
			c, err := Dial(ctx, opts)
			if err != nil {
				return nil, err
			}
			conn = c
		}
		return conn.Open(uri)
	}
}

// Encrypt wraps plaintext under the Transit key, bound to associatedData,
// and returns Vault's ciphertext ("vault:v<version>:…") as bytes.
func (k *transit) Encrypt(ctx context.Context, plaintext, associatedData []byte) ([]byte, error) {
	return k.encrypt(ctx, plaintext, associatedData)
}

// Decrypt unwraps a ciphertext that Encrypt returned, under the same
// associatedData. A ciphertext that is not of Transit's form is rejected
// without calling Vault.
func (k *transit) Decrypt(ctx context.Context, ciphertext, associatedData []byte) ([]byte, error) {
	if _, ok := parseCiphertext(ciphertext); !ok {
		return nil, &kms.Error{Code: kms.CodeInvalidCiphertext, Err: errMalformed}
	}
	return k.decrypt(ctx, ciphertext, associatedData)
}

// Close does nothing: the API client is the caller's, or the [Conn]'s.
func (k *transit) Close() error { return nil }

// encrypt calls transit/encrypt. Its errors are raw, for ErrorCode.
func (k *transit) encrypt(ctx context.Context, plaintext, associatedData []byte) ([]byte, error) {
	body := map[string]any{"plaintext": base64.StdEncoding.EncodeToString(plaintext)}
	addAssociatedData(body, associatedData)
	secret, err := k.client.Logical().WriteWithContext(ctx, k.ref.path("encrypt"), body)
	if err != nil {
		return nil, cause(err)
	}
	return ciphertextField(secret)
}

// decrypt calls transit/decrypt. Its errors are raw, for ErrorCode.
func (k *transit) decrypt(ctx context.Context, ciphertext, associatedData []byte) ([]byte, error) {
	body := map[string]any{"ciphertext": string(ciphertext)}
	addAssociatedData(body, associatedData)
	secret, err := k.client.Logical().WriteWithContext(ctx, k.ref.path("decrypt"), body)
	if err != nil {
		return nil, cause(err)
	}
	s, err := stringField(secret, "plaintext")
	if err != nil {
		return nil, err
	}
	pt, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, &responseError{msg: "field \"plaintext\" is not base64"}
	}
	return pt, nil
}

// addAssociatedData sets Transit's associated_data field (base64), which
// AEAD key types (aes128-gcm96, aes256-gcm96, chacha20-poly1305) authenticate.
// Empty associated data is left out, as Transit treats "" as none.
func addAssociatedData(body map[string]any, associatedData []byte) {
	if len(associatedData) > 0 {
		body["associated_data"] = base64.StdEncoding.EncodeToString(associatedData)
	}
}

// responseError is a Vault answer of the wrong shape: no data, a missing or
// mistyped field, a malformed value. It never quotes the value.
type responseError struct{ msg string }

func (e *responseError) Error() string { return "unexpected Vault response: " + e.msg }

func stringField(secret *api.Secret, field string) (string, error) {
	if secret == nil || secret.Data == nil {
		return "", &responseError{msg: "no data"}
	}
	raw, ok := secret.Data[field]
	if !ok || raw == nil {
		return "", &responseError{msg: fmt.Sprintf("no field %q", field)}
	}
	s, ok := raw.(string)
	if !ok {
		return "", &responseError{msg: fmt.Sprintf("field %q is a %T, want a string", field, raw)}
	}
	return s, nil
}

func ciphertextField(secret *api.Secret) ([]byte, error) {
	s, err := stringField(secret, "ciphertext")
	if err != nil {
		return nil, err
	}
	if _, ok := parseCiphertext([]byte(s)); !ok {
		return nil, &responseError{msg: "field \"ciphertext\" is not a Transit ciphertext"}
	}
	return []byte(s), nil
}
