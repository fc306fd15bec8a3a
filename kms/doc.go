// Package kms defines the key-encryption key (KEK) contract that fieldcrypt's
// keyring uses to wrap and unwrap Tink keysets, a URI opener that turns a KEK
// URI into a [KEK], and the error classes every backend reports.
//
// A KEK never leaves its key-management system: fieldcrypt only ever asks it to
// encrypt or decrypt a serialized keyset, bound to associated data that names
// the keyset's scope, class and purpose. Data rows never reach a KEK.
//
// # Backends
//
// Each backend lives in its own package and supplies an [OpenFunc] for its URI
// scheme; nothing registers itself globally. Build an [Opener] with the schemes
// a program needs:
//
//	opener := kms.NewOpener()
//	opener.Register(local.Scheme, local.OpenFunc(nil))
//	kek, err := opener.Open(ctx, "local://dev/kek.json")
//
//	| URI                                    | package      |
//	|----------------------------------------|--------------|
//	| hcvault://<mount>/keys/<name>          | kms/vault    |
//	| gcp-kms://projects/…/cryptoKeys/…      | kms/gcpkms   |
//	| aws-kms://arn:aws:kms:…                | kms/awskms   |
//	| local://<path to key file>             | kms/local (development only) |
//
// # Errors
//
// Every error a backend returns from Encrypt or Decrypt is an [*Error] whose
// [Code] tells callers what to do: [Code.Transient] codes (unavailable,
// throttled, deadline exceeded) are worth retrying; the others are not. The
// vendor's own error stays reachable with [errors.As]. Each code also has a
// sentinel, so callers can branch with [errors.Is]:
//
//	if errors.Is(err, kms.ErrPermissionDenied) { ... }
//	if kms.IsTransient(err) { retry() }
//
// Errors never contain plaintext, key material or credentials.
package kms
