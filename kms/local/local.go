// Package local is the development-only KEK backend: a key-encryption key
// kept in a cleartext Tink keyset file on the local disk.
//
// It exists so that the examples and tests run on a laptop with no key-
// management service. It offers none of a real KMS's protection: anyone who
// can read the key file can unwrap every keyset. Use Vault Transit, Google
// Cloud KMS or AWS KMS in production (packages kms/vault, kms/gcpkms and
// kms/awskms).
//
// As a guard, opening a local KEK fails with [ErrProduction] when the
// environment variable FIELDCRYPT_ENV is "production" (or "prod"), and fails
// when the key file can be read by other users.
//
// # URI
//
//	local://<path>          a relative path, such as local://dev/kek.json
//	local:///<path>         an absolute path
//
// # Key file
//
// The file is a Tink keyset in Tink's JSON format holding AES-256-GCM keys,
// written with mode 0600 by [CreateInsecureKeyFile]. Ciphertexts are Tink
// AEAD ciphertexts: any Tink implementation can unwrap them with the file.
package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/tink"

	"github.com/fieldcrypt/fieldcrypt/kms"
)

// Scheme is the URI scheme of this backend.
const Scheme = "local"

// EnvVar names the environment variable that marks a production process. When
// it is "production" or "prod", this backend refuses to open.
const EnvVar = "FIELDCRYPT_ENV"

// ErrProduction is returned when a local KEK is opened in a process that
// FIELDCRYPT_ENV marks as production.
var ErrProduction = errors.New("kms/local: refusing to use a local development KEK: " + EnvVar + " marks this process as production")

// ErrInsecureKeyFile is returned when the key file is readable or writable by
// users other than its owner.
var ErrInsecureKeyFile = errors.New("kms/local: key file is accessible to other users (want mode 0600)")

// Options configures the local backend. The zero value is ready to use.
type Options struct {
	// Getenv reads the environment; nil means os.Getenv. Tests set it.
	Getenv func(string) string
}

func (o *Options) getenv(k string) string {
	if o == nil || o.Getenv == nil {
		return os.Getenv(k)
	}
	return o.Getenv(k)
}

// OpenFunc returns the [kms.OpenFunc] for local:// URIs. opts may be nil.
func OpenFunc(opts *Options) kms.OpenFunc {
	return func(_ context.Context, uri string) (kms.KEK, error) {
		path, err := PathOf(uri)
		if err != nil {
			return nil, err
		}
		return OpenInsecure(path, opts)
	}
}

// PathOf returns the file path of a local:// URI.
func PathOf(uri string) (string, error) {
	path, ok := strings.CutPrefix(uri, Scheme+"://")
	if !ok || path == "" {
		return "", &kms.Error{Code: kms.CodeInvalidArgument, Op: "open", Backend: Scheme, KeyURI: uri,
			Err: errors.New("want local://<path to key file>")}
	}
	return path, nil
}

// URI returns the local:// URI of a key file path.
func URI(path string) string { return Scheme + "://" + path }

// OpenInsecure opens the development KEK stored in the key file at path. The
// name says what it is: the key sits in cleartext on disk. opts may be nil.
func OpenInsecure(path string, opts *Options) (kms.KEK, error) {
	if env := strings.ToLower(opts.getenv(EnvVar)); env == "production" || env == "prod" {
		return nil, ErrProduction
	}
	uri := URI(path)
	fail := func(code kms.Code, err error) (kms.KEK, error) {
		return nil, &kms.Error{Code: code, Op: "open", Backend: Scheme, KeyURI: uri, Err: err}
	}
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fail(kms.CodeNotFound, errors.New("key file does not exist (create one with CreateInsecureKeyFile or `fieldcrypt keys init`)"))
	}
	if err != nil {
		return fail(kms.CodeUnavailable, err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %v", ErrInsecureKeyFile, path, info.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fail(kms.CodeUnavailable, err)
	}
	handle, err := insecurecleartextkeyset.Read(keyset.NewJSONReader(bytes.NewReader(data)))
	if err != nil {
		// Tink's parse errors do not quote key material.
		return fail(kms.CodeInvalidArgument, fmt.Errorf("key file is not a Tink JSON keyset: %w", err))
	}
	primitive, err := aead.New(handle)
	if err != nil {
		return fail(kms.CodeInvalidArgument, fmt.Errorf("key file does not hold AEAD keys: %w", err))
	}
	return &kek{uri: uri, aead: primitive}, nil
}

// CreateInsecureKeyFile writes a new development KEK (one AES-256-GCM key) to
// path with mode 0600, creating parent directories as needed. It refuses to
// overwrite an existing file. It returns the key's local:// URI.
func CreateInsecureKeyFile(path string) (string, error) {
	handle, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	if err != nil {
		return "", fmt.Errorf("kms/local: generate key: %w", err)
	}
	var buf bytes.Buffer
	if err := insecurecleartextkeyset.Write(handle, keyset.NewJSONWriter(&buf)); err != nil {
		return "", fmt.Errorf("kms/local: serialize key: %w", err)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", fmt.Errorf("kms/local: %w", err)
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("kms/local: %w", err)
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		f.Close()
		os.Remove(path)
		return "", fmt.Errorf("kms/local: write key file: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return "", fmt.Errorf("kms/local: write key file: %w", err)
	}
	return URI(path), nil
}

type kek struct {
	uri  string
	aead tink.AEAD
}

var _ kms.KEK = (*kek)(nil)

func (k *kek) EncryptWithContext(ctx context.Context, plaintext, associatedData []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, k.contextError("encrypt", err)
	}
	ct, err := k.aead.Encrypt(plaintext, associatedData)
	if err != nil {
		return nil, &kms.Error{Code: kms.CodeUnknown, Op: "encrypt", Backend: Scheme, KeyURI: k.uri, Err: err}
	}
	return ct, nil
}

func (k *kek) DecryptWithContext(ctx context.Context, ciphertext, associatedData []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, k.contextError("decrypt", err)
	}
	pt, err := k.aead.Decrypt(ciphertext, associatedData)
	if err != nil {
		// Tink's decryption error is deliberately opaque; keep it that way.
		return nil, &kms.Error{Code: kms.CodeInvalidCiphertext, Op: "decrypt", Backend: Scheme, KeyURI: k.uri,
			Err: errors.New("ciphertext does not decrypt under this key and associated data")}
	}
	return pt, nil
}

func (k *kek) contextError(op string, err error) error {
	code, _ := kms.ContextCode(err)
	return &kms.Error{Code: code, Op: op, Backend: Scheme, KeyURI: k.uri, Err: err}
}

// String names the KEK without revealing its key.
func (k *kek) String() string { return "local development KEK " + k.uri }
