// Package awskms is the AWS KMS KEK backend: a key-encryption key that is a
// symmetric encryption key in AWS Key Management Service. Keysets are
// wrapped with AWS KMS Encrypt and unwrapped with Decrypt; the key never
// leaves AWS.
//
// # URI
//
//	aws-kms://arn:aws:kms:<region>:<account>:key/<key id>
//	aws-kms://arn:aws:kms:<region>:<account>:alias/<alias name>
//
// Only full ARNs are accepted, since they name the region and account; other
// partitions (aws-cn, aws-us-gov) work the same way. An alias ARN follows the
// alias: re-pointing the alias to another key changes the key used for new
// wraps, and old wraps still decrypt only while the alias points at the key
// that made them. Prefer key ARNs for KEKs.
//
// # Opening
//
// Register the scheme with an opener, which builds one client per region:
//
//	opener := kms.NewOpener()
//	opener.Register(awskms.Scheme, awskms.OpenFunc(nil))
//	kek, err := opener.Open(ctx, "aws-kms://arn:aws:kms:eu-west-1:111122223333:key/…")
//
// or build the client yourself, in the style of gocloud.dev:
//
//	client, err := awskms.NewClient(ctx, "eu-west-1", &awskms.Options{MaxAttempts: 5})
//	kek, err := awskms.New(client, uri, nil)
//
// [New] accepts any *kms.Client of aws-sdk-go-v2, configured as you like.
// Both return a [*kms.Keeper], fieldcrypt's one KEK type; closing it makes
// later calls fail with kms.ErrClosed and leaves the client alone (an AWS
// client holds nothing to close, and an opener shares one per region).
//
// # Authentication
//
// With no [Options.Credentials], the SDK's default credential chain signs the
// calls: environment variables, the shared config and credentials files (and
// AWS_PROFILE), web identity (EKS), and ECS and EC2 instance roles.
// [StaticCredentials] pins an access key; it never prints its secret.
// [Options.Endpoint] points the client elsewhere, such as a VPC endpoint or
// local-kms in tests.
//
// # Least-privilege IAM policy
//
// A service that reads and writes one field class needs only Encrypt and
// Decrypt on that class's key; the security team's tool also needs
// ReEncryptFrom/ReEncryptTo on it to rewrap keysets (`fieldcrypt keys
// rewrap`). The condition
// allows no encryption-context key other than fieldcrypt's:
//
//	{
//	  "Version": "2012-10-17",
//	  "Statement": [{
//	    "Effect": "Allow",
//	    "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo"],
//	    "Resource": "arn:aws:kms:eu-west-1:111122223333:key/<key id>",
//	    "Condition": {
//	      "ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["fieldcrypt-aad"]}
//	    }
//	  }]
//	}
//
// Giving each field class its own key, and each role a policy on only the
// keys of the classes it may read, is what makes the role table hold.
//
// # Encryption context
//
// AWS KMS authenticates associated data as an encryption context, a string
// map. The associated data goes in one entry, [EncryptionContextKey]
// ("fieldcrypt-aad"), as unpadded base64url; empty associated data (nil or
// zero-length, which are the same) sends no context. See [EncryptionContext].
// AWS writes the encryption context into CloudTrail in the clear: associated
// data must not be secret, and fieldcrypt's (scope, class, purpose) is not.
//
// # Key separation
//
// Decrypt always sends the KEK's KeyId. Without it AWS decrypts a ciphertext
// of any key the caller may use, so a keyset wrapped by another key would
// silently unwrap; with it, such a ciphertext fails with
// kms.CodeInvalidCiphertext. For a KEK named by key ARN the package also
// checks the key ID that AWS reports.
//
// # Key rotation
//
// AWS automatic key rotation (or on-demand RotateKeyOnDemand) adds key
// material under the same ARN: nothing in fieldcrypt changes, old wraps keep
// decrypting, new wraps use the new material. [kms.Keeper.Rewrap] moves a
// wrapped keyset to the current material with one AWS KMS ReEncrypt call to
// the same key (kms:ReEncryptFrom and kms:ReEncryptTo on it); the plaintext
// keyset never leaves AWS. `fieldcrypt keys rewrap` does that for every
// keyset. Moving keysets to a different key is the keyring's Rewrap with the
// old URI in Config.AcceptKEKs: a decrypt with the old key and an encrypt
// with the new one per keyset.
//
// # Errors
//
// Every error is a [*kms.Error] whose cause is the SDK's error, so
// [errors.As] reaches smithy.APIError and the typed exceptions of
// github.com/aws/aws-sdk-go-v2/service/kms/types. Codes:
//
//	InvalidCiphertextException, IncorrectKeyException,
//	  an empty or oversized ciphertext              kms.CodeInvalidCiphertext
//	NotFoundException, DisabledException,
//	  KMSInvalidStateException (pending deletion
//	  or import)                                    kms.CodeNotFound
//	AccessDeniedException, bad or expired
//	  credentials, HTTP 401/403, no credentials     kms.CodePermissionDenied
//	ThrottlingException, LimitExceededException,
//	  HTTP 429                                      kms.CodeThrottled (transient)
//	KMSInternalException, DependencyTimeoutException,
//	  KeyUnavailableException, HTTP 5xx, connection
//	  refused and other network failures, of AWS
//	  KMS or of the credential source (instance
//	  metadata service, STS)                        kms.CodeUnavailable (transient)
//	ValidationException, InvalidKeyUsageException,
//	  an empty or oversized plaintext               kms.CodeInvalidArgument
//	the caller's context ended                      kms.CodeCanceled, kms.CodeDeadlineExceeded
//
// A disabled key or one pending deletion is reported as not found: to
// fieldcrypt the key is gone until someone re-enables it, and retrying will
// not help. The SDK retries transient failures itself ([Options.MaxAttempts],
// [Options.MaxBackoff]) before this package reports them.
//
// # Limits
//
// AWS KMS encrypts at most [MaxPlaintext] (4096) bytes, which bounds the size
// of a wrapped keyset: a few dozen AES-256-GCM keys (a serialized Tink
// AES-256-GCM key takes about 100 bytes). Larger plaintexts fail with
// kms.CodeInvalidArgument before any call.
package awskms
