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

// transitKEK is a KEK on one Transit key.
type transitKEK struct {
	client *api.Client
	ref    keyRef
	mode   RewrapMode
	// rewrapDropsAD is set once Transit's rewrap has been seen to lose the
	// associated data; Rewrap then decrypts and encrypts directly.
	rewrapDropsAD atomic.Bool
}

var (
	_ kms.KEK   = (*transitKEK)(nil)
	_ Rewrapper = (*transitKEK)(nil)
)

// New returns the KEK on the Transit key that keyURI names
// (hcvault://<mount>/keys/<name>), calling Vault through client. opts may be
// nil; New uses only its KEK fields (Rewrap). New does not call Vault: a
// missing key shows on the first call, as CodeNotFound.
//
// The KEK also implements [Rewrapper].
func New(client *api.Client, keyURI string, opts *Options) (kms.KEK, error) {
	ref, err := parseURI(keyURI)
	if err != nil {
		return nil, err
	}
	if client == nil {
		return nil, &kms.Error{Code: kms.CodeInvalidArgument, Op: "open", Backend: Scheme, KeyURI: keyURI,
			Err: errors.New("nil Vault client (use Dial to build one)")}
	}
	return &transitKEK{client: client, ref: ref, mode: opts.orZero().Rewrap}, nil
}

// OpenFunc returns the [kms.OpenFunc] for hcvault:// URIs. On the first Open
// it dials Vault with opts (see [Dial]); every KEK it opens then shares that
// connection, whose token renewal runs for the life of the process. A failed
// dial is not remembered: the next Open dials again. Programs that must stop
// renewal use [Dial], [Conn.Open] and [Conn.Close] instead.
func OpenFunc(opts *Options) kms.OpenFunc {
	var (
		mu   sync.Mutex
		conn *Conn
	)
	return func(ctx context.Context, uri string) (kms.KEK, error) {
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

// EncryptWithContext wraps plaintext under the Transit key, bound to
// associatedData, and returns Vault's ciphertext ("vault:v<version>:…") as
// bytes.
func (k *transitKEK) EncryptWithContext(ctx context.Context, plaintext, associatedData []byte) ([]byte, error) {
	const op = "encrypt"
	if err := ctx.Err(); err != nil {
		return nil, k.classify(ctx, op, err)
	}
	ct, err := k.encrypt(ctx, plaintext, associatedData)
	if err != nil {
		return nil, k.fail(ctx, op, err)
	}
	return ct, nil
}

// DecryptWithContext unwraps a ciphertext that EncryptWithContext returned,
// under the same associatedData. A ciphertext that is not of Transit's form
// is rejected without calling Vault.
func (k *transitKEK) DecryptWithContext(ctx context.Context, ciphertext, associatedData []byte) ([]byte, error) {
	const op = "decrypt"
	if _, ok := parseCiphertext(ciphertext); !ok {
		return nil, &kms.Error{Code: kms.CodeInvalidCiphertext, Op: op, Backend: Scheme, KeyURI: k.ref.uri(), Err: errMalformed}
	}
	if err := ctx.Err(); err != nil {
		return nil, k.classify(ctx, op, err)
	}
	pt, err := k.decrypt(ctx, ciphertext, associatedData)
	if err != nil {
		return nil, k.fail(ctx, op, err)
	}
	return pt, nil
}

// encrypt calls transit/encrypt. Its errors are raw: the caller classifies.
func (k *transitKEK) encrypt(ctx context.Context, plaintext, associatedData []byte) ([]byte, error) {
	body := map[string]any{"plaintext": base64.StdEncoding.EncodeToString(plaintext)}
	addAssociatedData(body, associatedData)
	secret, err := k.client.Logical().WriteWithContext(ctx, k.ref.path("encrypt"), body)
	if err != nil {
		return nil, err
	}
	return ciphertextField(secret)
}

// decrypt calls transit/decrypt. Its errors are raw: the caller classifies.
func (k *transitKEK) decrypt(ctx context.Context, ciphertext, associatedData []byte) ([]byte, error) {
	body := map[string]any{"ciphertext": string(ciphertext)}
	addAssociatedData(body, associatedData)
	secret, err := k.client.Logical().WriteWithContext(ctx, k.ref.path("decrypt"), body)
	if err != nil {
		return nil, err
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

// fail classifies an error of encrypt, decrypt or rewrap.
func (k *transitKEK) fail(ctx context.Context, op string, err error) error {
	var kerr *kms.Error
	if errors.As(err, &kerr) {
		return err
	}
	var rerr *responseError
	if errors.As(err, &rerr) {
		return &kms.Error{Code: kms.CodeUnknown, Op: op, Backend: Scheme, KeyURI: k.ref.uri(), Err: err}
	}
	return k.classify(ctx, op, err)
}
