// Package kms is fieldcrypt's layer of key-encryption keys (KEKs): the
// portable [Keeper] type that the keyring uses to wrap and unwrap Tink
// keysets, the [Driver] contract that each backend implements, a URI
// [Opener], and the error codes every backend reports.
//
// A KEK never leaves its key-management system: fieldcrypt only ever asks it to
// encrypt or decrypt a serialized keyset, bound to associated data that names
// the keyset's scope, class and purpose. Data rows never reach a KEK.
//
// # Keeper and Driver
//
// The package is shaped like gocloud.dev/secrets. Every backend's New and
// OpenFunc return the same concrete [*Keeper], which wraps the backend's
// [Driver] (Encrypt, Decrypt, ErrorCode, Close, and optionally [Rewrapper]).
// The Keeper does once, for every backend, what callers rely on: it returns
// at once on an ended context, turns every failure into an [*Error], rejects
// an empty ciphertext without a call, counts the calls that reach the
// backend ([Keeper.Calls]), and makes [Keeper.Close] final: later calls fail
// with [ErrClosed]. A Keeper is a Tink tink.AEADWithContext, so Tink's keyset
// reader and writer use it directly.
//
// [Keeper.Rewrap] is the one rewrap shape: it moves a ciphertext to the
// key's newest version in one call where the system has one (Vault Transit,
// AWS KMS), and answers [errors.ErrUnsupported] elsewhere.
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
//	defer kek.Close()
//
//	| URI                                    | package      |
//	|----------------------------------------|--------------|
//	| hcvault://<mount>/keys/<name>          | kms/vault    |
//	| gcp-kms://projects/…/cryptoKeys/…      | kms/gcpkms   |
//	| aws-kms://arn:aws:kms:…                | kms/awskms   |
//	| local://<path to key file>             | kms/local (development only) |
//
// Each Open returns a new Keeper, owned by the caller, who closes it; the
// keyring closes those it opened. Closing a Keeper releases what its backend
// built for it alone (a Cloud KMS client an OpenFunc dialled), never a client
// the caller passed in or one shared between Keepers.
//
// # Errors
//
// Every error a Keeper returns is an [*Error] whose [Code] tells callers
// what to do: [Code.Transient] codes (unavailable, throttled, deadline
// exceeded) are worth retrying; the others are not. The vendor's own error
// stays reachable with [errors.As]. Each code also has a sentinel, so callers
// can branch with [errors.Is]:
//
//	if errors.Is(err, kms.ErrPermissionDenied) { ... }
//	if kms.IsTransient(err) { retry() }
//
// Errors never contain plaintext, key material or credentials.
package kms
