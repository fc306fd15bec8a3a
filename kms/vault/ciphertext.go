package vault

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"

	"github.com/fieldcrypt/fieldcrypt/kms"
)

// ciphertextPrefix starts every Transit ciphertext: "vault:v<version>:<base64>".
const ciphertextPrefix = "vault:v"

// minPayload is the shortest decoded payload of an AEAD Transit key: a 12-byte
// nonce and a 16-byte tag (AES-GCM and ChaCha20-Poly1305 alike).
const minPayload = 12 + 16

// errMalformed is the cause of every locally rejected ciphertext. It does not
// say which check failed, nor quote the ciphertext.
var errMalformed = errors.New("not a Vault Transit ciphertext (want vault:v<version>:<base64>)")

// parseCiphertext checks the form of a Transit ciphertext and returns the key
// version it names. It does not decrypt.
func parseCiphertext(ct []byte) (int, bool) {
	rest, ok := strings.CutPrefix(string(ct), ciphertextPrefix)
	if !ok {
		return 0, false
	}
	ver, payload, ok := strings.Cut(rest, ":")
	if !ok || ver == "" || len(ver) > 9 || ver[0] == '0' {
		return 0, false
	}
	n, err := strconv.Atoi(ver)
	if err != nil || n < 1 {
		return 0, false
	}
	for i := 0; i < len(ver); i++ {
		if ver[i] < '0' || ver[i] > '9' { // Atoi accepts a sign
			return 0, false
		}
	}
	if strings.ContainsAny(payload, "\r\n") { // the decoder skips newlines
		return 0, false
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(payload)
	if err != nil || len(raw) < minPayload {
		return 0, false
	}
	return n, true
}

// KeyVersion returns the version of the Transit key that wrapped ciphertext:
// 3 for "vault:v3:…". It reads the ciphertext's prefix and checks its form;
// it does not call Vault. A ciphertext that is not a Transit ciphertext is a
// [*kms.Error] with [kms.CodeInvalidCiphertext].
//
// After a rotation of the Transit key, ciphertexts with a version below the
// key's latest are the ones left to rewrap (see the package doc).
func KeyVersion(ciphertext []byte) (int, error) {
	v, ok := parseCiphertext(ciphertext)
	if !ok {
		return 0, &kms.Error{Code: kms.CodeInvalidCiphertext, Op: "key version", Backend: Scheme, Err: errMalformed}
	}
	return v, nil
}
