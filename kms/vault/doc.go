// Package vault is the KEK backend on HashiCorp Vault's Transit secrets
// engine: keysets are wrapped and unwrapped by Vault, and the key never
// leaves it.
//
// # URI
//
//	hcvault://<mount>/keys/<name>
//
// names the Transit key <name> of the engine mounted at <mount>. The mount
// may contain slashes: hcvault://transit/keys/pii is key "pii" at
// "transit/", hcvault://secret/transit/keys/pii is key "pii" at
// "secret/transit/". The key must be of an AEAD type (aes256-gcm96, the
// default, aes128-gcm96 or chacha20-poly1305), not derived and not
// convergent: associated data is passed in Transit's associated_data field,
// which only AEAD keys authenticate. Ciphertexts are Vault's own
// "vault:v<version>:<base64>" strings, as bytes.
//
// # Opening
//
// With a client of your own:
//
//	kek, err := vault.New(client, "hcvault://transit/keys/pii", nil)
//
// Or let the package build one, through an opener or [Dial]:
//
//	opener := kms.NewOpener()
//	opener.Register(vault.Scheme, vault.OpenFunc(&vault.Options{
//		Address: "https://vault.example:8200",
//		AppRole: &vault.AppRole{RoleID: roleID, SecretID: secretID},
//	}))
//	kek, err := opener.Open(ctx, "hcvault://transit/keys/pii")
//
// Both return a [*kms.Keeper], fieldcrypt's one KEK type, which can rewrap
// ([kms.Keeper.Rewrap]). Closing a Keeper makes later calls fail with
// kms.ErrClosed and leaves the API client alone: it is the caller's, or the
// [Conn] that an opener shares between its Keepers.
//
// # Authentication
//
// [Options] take a token (else VAULT_TOKEN) or AppRole credentials. With
// AppRole the package logs in, renews the token with the api's
// LifetimeWatcher and logs in again when the token reaches its maximum TTL,
// until [Conn.Close]. Options also set the Vault Enterprise namespace (sent
// as the X-Vault-Namespace header) and TLS: CA certificate, client
// certificate, server name, and, never in production, skipping
// verification. Whatever Options leave empty comes from the environment the
// Vault CLI reads (VAULT_ADDR, VAULT_NAMESPACE, VAULT_CACERT, ...).
//
// # Least privilege
//
// A service needs only update on the encrypt, decrypt and rewrap paths of
// its keys; [PolicyHCL] writes that policy for a key URI:
//
//	path "transit/encrypt/pii" { capabilities = ["update"] }
//	path "transit/decrypt/pii" { capabilities = ["update"] }
//	path "transit/rewrap/pii"  { capabilities = ["update"] }
//
// A token that holds it for the pii key only gets [kms.CodePermissionDenied]
// on every other key, which is how a field class stays closed to a role. It
// also cannot create a key by encrypting under a misspelt name (Transit's
// upsert needs create); setting disable_upsert on the mount's config/keys
// refuses that for every token.
//
// # Key rotation
//
// Rotating the Transit key (transit/keys/<name>/rotate) adds a key version;
// new ciphertexts use it and old ones still decrypt. [KeyVersion] reads the
// version a ciphertext was made with; [kms.Keeper.Rewrap] moves a ciphertext
// to the latest version. Transit's rewrap endpoint ignores associated data,
// so for ciphertexts that have some, Rewrap detects that and decrypts and
// encrypts instead (see [RewrapMode]). Once every ciphertext is rewrapped,
// raise the key's min_decryption_version to retire the old versions.
//
// # Errors
//
// Every error is a [*kms.Error]; the code tells what to do:
//
//	CodeInvalidCiphertext  malformed, tampered, truncated ciphertext, or other
//	                       associated data (HTTP 400 "message authentication
//	                       failed", "invalid ciphertext"); checked locally first
//	CodeNotFound           no such key, or the ciphertext's key version is below
//	                       min_decryption_version (HTTP 404, 400 "encryption key
//	                       not found")
//	CodePermissionDenied   the token's policy does not allow the call (HTTP 403;
//	                       under the least-privilege policy this includes
//	                       encrypt on a missing key), bad AppRole credentials
//	CodeThrottled          rate-limited (HTTP 429); transient
//	CodeUnavailable        sealed, standby, 5xx, 412 (a performance standby
//	                       not caught up), connection refused; transient
//	CodeCanceled, CodeDeadlineExceeded   the context ended
//	CodeInvalidArgument    bad URI or option, other HTTP 400
//	CodeUnknown            an answer of the wrong shape, a certificate that
//	                       does not verify
//
// The client that [Dial] builds retries 429, 412 and 5xx answers itself, with
// backoff, a bounded number of times ([Options].MaxRetries), and stops
// waiting when the context ends; [CheckRetry] gives a client of your own the
// same policy. When Vault answered, the cause is a [*VaultError], and
// errors.As reaches the api's [*api.ResponseError]. Errors never contain
// plaintexts, tokens or secret IDs.
package vault
