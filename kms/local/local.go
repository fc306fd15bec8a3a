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
// environment variable FIELDCRYPT_ENV is "production" (or "prod") or
// [Options].Production is set, and fails when the key file can be read by
// other users.
//
// Like every backend, it returns a [*kms.Keeper]; closing it does nothing
// but make later calls fail with [kms.ErrClosed].
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
	// Production marks this process as production whatever FIELDCRYPT_ENV
	// says: opening then fails with [ErrProduction]. A program that reads its
	// environment from somewhere other than the process environment (a
	// config file, a test) sets it from there.
	Production bool
}

// production reports whether the process is marked as production, by opts
// or by FIELDCRYPT_ENV.
func (o *Options) production() bool {
	if o != nil && o.Production {
		return true
	}
	return IsProduction(os.Getenv(EnvVar))
}

// IsProduction reports whether value, read from FIELDCRYPT_ENV, marks a
// production process: "production" or "prod", in any case.
func IsProduction(value string) bool {
	v := strings.ToLower(value)
	return v == "production" || v == "prod"
}

// OpenFunc returns the [kms.OpenFunc] for local:// URIs. opts may be nil.
func OpenFunc(opts *Options) kms.OpenFunc {
	return func(_ context.Context, uri string) (*kms.Keeper, error) {
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
func OpenInsecure(path string, opts *Options) (*kms.Keeper, error) {
	if opts.production() {
		return nil, ErrProduction
	}
	uri := URI(path)
	fail := func(code kms.Code, err error) (*kms.Keeper, error) {
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
	return kms.NewKeeper(uri, &driver{aead: primitive}), nil
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

// driver is the [kms.Driver] on a cleartext Tink AEAD.
type driver struct {
	aead tink.AEAD
}

var _ kms.Driver = (*driver)(nil)

func (d *driver) Encrypt(_ context.Context, plaintext, associatedData []byte) ([]byte, error) {
	return d.aead.Encrypt(plaintext, associatedData)
}

func (d *driver) Decrypt(_ context.Context, ciphertext, associatedData []byte) ([]byte, error) {
	pt, err := d.aead.Decrypt(ciphertext, associatedData)
	if err != nil {
		// Tink's decryption error is deliberately opaque; keep it that way.
		return nil, &kms.Error{Code: kms.CodeInvalidCiphertext,
			Err: errors.New("ciphertext does not decrypt under this key and associated data")}
	}
	return pt, nil
}

// ErrorCode classifies an error of Encrypt: Tink fails only on a broken
// primitive, which a retry does not mend.
func (d *driver) ErrorCode(string, error) kms.Code { return kms.CodeUnknown }

// Close does nothing: the key lives in this process's memory until the
// Keeper is collected.
func (d *driver) Close() error { return nil }
