// Package fakekms is an in-process Google Cloud KMS server for tests: a gRPC
// server that implements the Encrypt and Decrypt methods of Google's
// KeyManagementService (kmspb) and answers the real client library over a
// real gRPC connection.
//
// It lives under internal/ because it is the project's test server, not an
// API: applications test against their own Cloud KMS project or Google's
// client library mocks, and this package may change with the tests' needs.
//
// It is the one fake the project allows. Google publishes no Cloud KMS
// emulator, and tests cannot reach Google; every other KEK backend is tested
// against a real server or a third-party emulator. fakekms stands in only for
// the service, never for the client library: tests dial it with
// cloud.google.com/go/kms/apiv1 over TCP on the loopback interface, so the
// requests, responses, status codes and error details cross the same gRPC
// stack as in production.
//
// # Behaviour
//
// What Cloud KMS does, and fakekms too:
//   - Crypto keys are named projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<k>.
//     A test creates them with [Server.CreateKey]; each has versions 1, 2, …,
//     one of them primary. [Server.RotateKey] adds a version and makes it
//     primary.
//   - Encrypt uses the primary version (or the version named in the request)
//     and answers with that version's resource name. Ciphertexts are real
//     AES-256-GCM, carry the number of the version that made them, and bind
//     the additional authenticated data; Decrypt finds the version from the
//     ciphertext, so old ciphertexts decrypt after a rotation.
//   - Request checksums (plaintext_crc32c, ciphertext_crc32c,
//     additional_authenticated_data_crc32c) are verified when present: a
//     mismatch is InvalidArgument with a BadRequest detail naming the field,
//     and Encrypt sets the verified_* flags. Responses carry
//     ciphertext_crc32c or plaintext_crc32c.
//   - Status codes: NotFound for an unknown key, PermissionDenied for a key
//     on the deny list ([Server.Deny]; checked first, as IAM is),
//     FailedPrecondition for a disabled version ([Server.DisableVersion]),
//     InvalidArgument for a malformed, tampered or foreign ciphertext, wrong
//     associated data, or an empty or oversized plaintext.
//
// # Faults
//
// [Server.FailWith] makes the next calls fail with a status code (Unavailable,
// ResourceExhausted, …). [Server.Inject] corrupts the next calls in transit:
// a request byte flipped before the server checks its checksum, a response
// byte flipped after its checksum was computed, a wrong response checksum,
// missing verified_* flags, or a response naming another key. A client that
// follows Google's integrity guidelines rejects every one of them.
// [Server.OpenConns] counts the client connections the server holds, so a
// test can see a client's Close end its connection.
// [Server.OmitErrorDetails] drops the BadRequest detail from checksum errors,
// leaving the message alone.
package fakekms
