package crypt

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
)

// The stored value format, version 1 (docs/FORMAT.md is the specification):
//
//	text:   "fc1:" || base64url-no-padding(tink_ciphertext)
//	binary: 0xFC || 0x01 || tink_ciphertext
//
// where tink_ciphertext = 0x01 || key_id (4 bytes, big-endian) || AEAD output
// is a Tink AEAD ciphertext with Tink's TINK output prefix.
const (
	textPrefix     = "fc1:"
	binaryMagic    = 0xFC
	formatVersion1 = 0x01
	tinkPrefixTag  = 0x01 // Tink's TINK output prefix starts with this byte
	tinkPrefixLen  = 5
)

var b64 = base64.RawURLEncoding.Strict()

// ValueInfo describes a stored value, read without decrypting it.
type ValueInfo struct {
	Version int    // the format version (1)
	Binary  bool   // the binary form (for []byte fields) rather than text
	KeyID   uint32 // the ID of the key in the field class's data keyset
}

// InspectText reads the version and key ID of a stored text value without
// decrypting it. It fails with ErrNotEncrypted when s is not a fieldcrypt
// value at all, and with ErrMalformed when it looks like one but is broken.
// The re-encryption job and `fieldcrypt status` use it.
func InspectText(s string) (ValueInfo, error) {
	ct, err := decodeText(s)
	if err != nil {
		return ValueInfo{}, err
	}
	return ValueInfo{Version: 1, KeyID: binary.BigEndian.Uint32(ct[1:5])}, nil
}

// InspectBinary is InspectText for the binary form.
func InspectBinary(b []byte) (ValueInfo, error) {
	ct, err := decodeBinary(b)
	if err != nil {
		return ValueInfo{}, err
	}
	return ValueInfo{Version: 1, Binary: true, KeyID: binary.BigEndian.Uint32(ct[1:5])}, nil
}

// isTextValue reports whether s carries a fieldcrypt text prefix of any
// version ("fc" digits ":"), so that a reader takes it for a stored value
// of an unsupported version (ErrMalformed), never for plaintext.
func isTextValue(s string) bool {
	rest, ok := strings.CutPrefix(s, "fc")
	if !ok {
		return false
	}
	i := 0
	for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
		i++
	}
	return i > 0 && i < len(rest) && rest[i] == ':'
}

// maxEchoedVersion is the most digits of a version number an error quotes.
const maxEchoedVersion = 2

// versionOf names, for an error, the version of a text value with an
// unsupported "fc<digits>:" prefix: ` "fcN:"` when N has at most
// maxEchoedVersion digits, and nothing of the value otherwise. The value
// may be legacy plaintext (such as "fc4111111111111111:card on file"), so
// no more than a short version number is ever quoted.
func versionOf(s string) string {
	n := strings.IndexByte(s, ':') - len("fc") // the digits; isTextValue holds
	if n > maxEchoedVersion {
		return " (not one this library writes)"
	}
	return ` "` + s[:len("fc")+n+1] + `"`
}

// isBinaryValue reports whether b starts with the binary magic byte and a
// version byte.
func isBinaryValue(b []byte) bool { return len(b) >= 2 && b[0] == binaryMagic }

// decodeText returns the Tink ciphertext of a text value.
func decodeText(s string) ([]byte, error) { return decodeTextInto(nil, s) }

// decodeTextInto is decodeText decoding into dst's array when it is large
// enough, so that Decrypt can reuse one buffer for every field.
func decodeTextInto(dst []byte, s string) ([]byte, error) {
	if !strings.HasPrefix(s, textPrefix) {
		if isTextValue(s) {
			return nil, fmt.Errorf("%w: unsupported format version%s", ErrMalformed, versionOf(s))
		}
		return nil, ErrNotEncrypted
	}
	body := s[len(textPrefix):]
	n := b64.DecodedLen(len(body))
	if cap(dst) < n {
		dst = make([]byte, n)
	}
	m, err := b64.Decode(dst[:n], stringToBytes(body))
	// encoding/base64 skips '\r' and '\n' even in strict mode: the body
	// is longer than the encoding of what it decoded to exactly when it
	// held some. Reject them, so that every value has one text encoding.
	if err != nil || b64.EncodedLen(m) != len(body) {
		return nil, fmt.Errorf("%w: invalid base64", ErrMalformed)
	}
	ct := dst[:m]
	return ct, checkTink(ct)
}

// decodeBinary returns the Tink ciphertext of a binary value (a subslice of b).
func decodeBinary(b []byte) ([]byte, error) {
	if !isBinaryValue(b) {
		return nil, ErrNotEncrypted
	}
	if b[1] != formatVersion1 {
		return nil, fmt.Errorf("%w: unsupported format version %d", ErrMalformed, b[1])
	}
	ct := b[2:]
	return ct, checkTink(ct)
}

func checkTink(ct []byte) error {
	if len(ct) < tinkPrefixLen {
		return fmt.Errorf("%w: %d bytes is too short", ErrMalformed, len(ct))
	}
	if ct[0] != tinkPrefixTag {
		return fmt.Errorf("%w: ciphertext does not start with a Tink key prefix", ErrMalformed)
	}
	return nil
}

// encodeText returns the text form of a Tink ciphertext.
func encodeText(ct []byte) string {
	buf := make([]byte, len(textPrefix)+b64.EncodedLen(len(ct)))
	copy(buf, textPrefix)
	b64.Encode(buf[len(textPrefix):], ct)
	return bytesToString(buf)
}

// encodeBinary returns the binary form of a Tink ciphertext.
func encodeBinary(ct []byte) []byte {
	buf := make([]byte, 2+len(ct))
	buf[0], buf[1] = binaryMagic, formatVersion1
	copy(buf[2:], ct)
	return buf
}
