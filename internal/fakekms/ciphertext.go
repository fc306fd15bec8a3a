package fakekms

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
)

// The fake's ciphertext format (Cloud KMS's own is opaque; only the service
// reads it):
//
//	byte 0       formatByte
//	bytes 1..4   the version number, big-endian
//	bytes 5..16  the AES-GCM nonce
//	bytes 17..   AES-256-GCM of the plaintext, with the 16-byte tag
//
// The GCM associated data is bytes 0..4 followed by the request's additional
// authenticated data, so neither the version nor the AAD can be changed.
const (
	formatByte = 0x4b // 'K'
	headerLen  = 1 + 4
	nonceLen   = 12
	tagLen     = 16
)

var errBadCiphertext = errors.New("fakekms: malformed ciphertext")

func seal(v *keyVersion, plaintext, aad []byte) ([]byte, error) {
	out := make([]byte, headerLen+nonceLen, headerLen+nonceLen+len(plaintext)+tagLen)
	out[0] = formatByte
	binary.BigEndian.PutUint32(out[1:headerLen], uint32(v.number))
	if _, err := rand.Read(out[headerLen:]); err != nil {
		return nil, fmt.Errorf("fakekms: nonce: %w", err)
	}
	ad := append(append([]byte(nil), out[:headerLen]...), aad...)
	return v.aead.Seal(out, out[headerLen:], plaintext, ad), nil
}

// versionOf reads the version number from a ciphertext's header.
func versionOf(ciphertext []byte) (int, error) {
	if len(ciphertext) < headerLen+nonceLen+tagLen || ciphertext[0] != formatByte {
		return 0, errBadCiphertext
	}
	return int(binary.BigEndian.Uint32(ciphertext[1:headerLen])), nil
}

func open(v *keyVersion, ciphertext, aad []byte) ([]byte, error) {
	ad := append(append([]byte(nil), ciphertext[:headerLen]...), aad...)
	nonce := ciphertext[headerLen : headerLen+nonceLen]
	return v.aead.Open(nil, nonce, ciphertext[headerLen+nonceLen:], ad)
}

// VersionOf returns the number of the key version that made a ciphertext of
// this server, read from its header without decrypting it. Tests use it to
// see which version encrypted; real Cloud KMS ciphertexts are opaque.
func VersionOf(ciphertext []byte) (int, error) { return versionOf(ciphertext) }
