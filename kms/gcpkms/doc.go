// Package gcpkms is the Google Cloud KMS KEK backend: a key-encryption key
// that is a symmetric ENCRYPT_DECRYPT CryptoKey in Cloud KMS, called through
// Google's client library (cloud.google.com/go/kms/apiv1) over gRPC.
//
// The key never leaves Cloud KMS. Encrypt sends a serialized keyset to the
// service, which encrypts it with the key's primary version; Decrypt sends the
// ciphertext back, and the service finds the version that made it. The
// ciphertext is exactly what Cloud KMS returned, so Tink's own Cloud KMS AEAD
// (which also passes associated data as additional authenticated data)
// decrypts it with the same key.
//
// # URI
//
//	gcp-kms://projects/<project>/locations/<location>/keyRings/<ring>/cryptoKeys/<key>
//
// The URI names a CryptoKey, never a CryptoKeyVersion: encryption always uses
// the primary version. [KeyName] checks and parses a URI; [URI] builds one.
//
// # Opening
//
// Like gocloud.dev's backends, a KEK is built from a client the caller owns
// with [New], or through a URI opener with [OpenFunc]:
//
//	opener := kms.NewOpener()
//	opener.Register(gcpkms.Scheme, gcpkms.OpenFunc(nil))
//	kek, err := opener.Open(ctx, "gcp-kms://projects/p/locations/europe-west1/keyRings/crm/cryptoKeys/pii")
//	defer kek.Close()
//
// Both return a [*kms.Keeper], fieldcrypt's one KEK type. A Keeper that
// [OpenFunc] built a client for owns it: closing the Keeper (or the keyring
// that opened it) closes the client and its gRPC connection. A client passed
// to [New] or set as Options.Client stays the caller's, who closes it.
//
// [Options] build the client: an endpoint, a service-account key file, any
// option.ClientOption, and, for a test server on the loopback interface only,
// WithoutAuthentication and Insecure (plaintext gRPC).
//
// # Authentication and IAM
//
// By default the client uses Application Default Credentials: the attached
// service account on Google Cloud, GOOGLE_APPLICATION_CREDENTIALS, or the
// gcloud user's credentials on a workstation. Options.ServiceAccountKeyFile
// names a key file instead.
//
// The identity needs one role, on the one CryptoKey (not on the project or the
// key ring): roles/cloudkms.cryptoKeyEncrypterDecrypter, which grants
// cloudkms.cryptoKeyVersions.useToEncrypt and useToDecrypt. A service that
// only reads may hold roles/cloudkms.cryptoKeyDecrypter; one that only writes
// new keysets, roles/cloudkms.cryptoKeyEncrypter. Because each field class may
// have its own KEK, these grants decide which classes a service can unwrap.
//
// # Data integrity
//
// Every call follows Google's Cloud KMS data integrity guidelines. Encrypt
// sends plaintext_crc32c and, when there is associated data,
// additional_authenticated_data_crc32c; it accepts the response only if
// verified_plaintext_crc32c (and verified_additional_authenticated_data_crc32c)
// are true, name is a version of the requested key, and ciphertext_crc32c
// matches the ciphertext. Decrypt sends ciphertext_crc32c and the
// associated-data checksum, and accepts the plaintext only if
// plaintext_crc32c matches it. When the service rejects a request because a
// checksum did not match (InvalidArgument naming a *_crc32c field, or speaking
// of a checksum), the backend first confirms its own checksums match the data
// it sent, as Google asks.
//
// A failed check means corruption between this process and the service. As
// Google advises, the call is retried a limited number of times
// (Options.IntegrityAttempts, default 3, with no pause). If every attempt
// fails, the error is a [*kms.Error] with [kms.CodeUnavailable], a transient
// code, wrapping an [*IntegrityError] (errors.Is(err, [ErrIntegrity])): the
// data is not at fault, and a later call may take a healthy path. No plaintext
// or ciphertext from a response that failed its check is ever returned.
//
// # Errors
//
// Every error is a [*kms.Error]; the client library's error (an
// *apierror.APIError, which carries the gRPC *status.Status) stays reachable
// with errors.As. gRPC codes map to [kms.Code] as follows:
//
//	InvalidArgument     decrypt: CodeInvalidCiphertext (tampered, truncated, other key
//	                    or other associated data); encrypt: CodeInvalidArgument
//	NotFound            CodeNotFound
//	FailedPrecondition  CodeNotFound: the key version is disabled, destroyed or
//	                    scheduled for destruction; it cannot be used, as if absent
//	PermissionDenied    CodePermissionDenied
//	Unauthenticated     CodePermissionDenied; CodeUnavailable (transient) when
//	                    no token could be had because the metadata server or
//	                    token endpoint was out (CodeThrottled when it throttled)
//	Unavailable         CodeUnavailable (transient)
//	Aborted             CodeUnavailable (transient)
//	ResourceExhausted   CodeThrottled (transient; quota exceeded)
//	DeadlineExceeded    CodeDeadlineExceeded (transient)
//	Canceled            CodeCanceled
//	others              CodeUnknown
//
// Opening fails with CodeInvalidArgument for a malformed URI or inconsistent
// Options, and with CodePermissionDenied when credentials cannot be found or
// read. A call whose context has ended reports CodeCanceled or CodeDeadlineExceeded,
// whatever the library answered. An empty ciphertext is CodeInvalidCiphertext
// without a call. The client library itself retries Unavailable and
// DeadlineExceeded with backoff (Options.CallOptions changes that); the codes
// above are what is left after its retries. Messages never contain plaintext
// or key material, only the key URI and the service's message.
//
// # Key rotation
//
// Cloud KMS has no call that rewraps a ciphertext in place: the Keeper's
// Rewrap answers errors.ErrUnsupported, and the keyring decrypts and
// encrypts each keyset instead.
//
// Rotating the CryptoKey in Cloud KMS (a new primary version) needs nothing
// here: new keysets are wrapped under the new primary, and ciphertexts of
// earlier versions decrypt as long as those versions stay enabled. fieldcrypt's
// rewrap re-encrypts the stored keysets under the primary; only after it has
// run may the old versions be disabled, then destroyed.
package gcpkms
