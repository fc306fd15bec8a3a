package crypt

import (
	"encoding/binary"
	"errors"
	"strings"

	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// minStoredCiphertext is the shortest Tink ciphertext a stored value can
// hold: the 5-byte key prefix, a 12-byte nonce and a 16-byte tag (AES-GCM;
// XChaCha20-Poly1305's nonce is longer).
const minStoredCiphertext = tinkPrefixLen + 12 + 16

// storedKeyID returns the key ID of a value that is, completely, a stored
// value of a version this package writes: the text prefix and canonical
// base64url (or the binary magic and version), and a Tink ciphertext long
// enough to be one. ok is false for anything else, whatever its leading
// bytes: "fc7:...", "fc1:" and a short tail, a 0xFC byte before plaintext.
func storedKeyID(text bool, s string, b []byte) (keyID uint32, ok bool) {
	var ct []byte
	var err error
	if text {
		if !strings.HasPrefix(s, textPrefix) {
			return 0, false
		}
		ct, err = decodeText(s)
	} else {
		ct, err = decodeBinary(b)
	}
	if err != nil || len(ct) < minStoredCiphertext {
		return 0, false
	}
	return binary.BigEndian.Uint32(ct[1:tinkPrefixLen]), true
}

// alreadyEncrypted reports whether a value given to Encrypt for a field
// whose data keyset is keys is one of fieldcrypt's stored values for this
// scope: it parses completely as a stored value (storedKeyID) and names a
// key, in any state, of keys or of another existing data keyset of the
// record's classes (a value copied from a field of another class). Only
// such a value is refused (ErrAlreadyEncrypted); any other, whatever its
// leading bytes, is plaintext and is encrypted. A random well-formed string
// names one of a keyset's few 32-bit key IDs with a chance of about one in
// a billion. Plaintexts pay one prefix or byte comparison.
func (o *op) alreadyEncrypted(keys *keyring.DataKeys, text bool, s string, b []byte) (bool, error) {
	id, ok := storedKeyID(text, s, b)
	if !ok {
		return false, nil
	}
	if keys.Status(id) != keyring.KeyUnknown {
		return true, nil
	}
	return o.sourceIsStored(text, s, b)
}

// sourceIsStored reports whether a value names a key of one of the scope's
// existing data keysets of the record's classes: the check for a blind
// index's source field, which may belong to any class, and for a value
// copied across classes. The check
// only looks keysets up (it never creates one), and only for values that
// parse as stored values.
func (o *op) sourceIsStored(text bool, s string, b []byte) (bool, error) {
	id, ok := storedKeyID(text, s, b)
	if !ok {
		return false, nil
	}
	for _, class := range o.p.dataClasses {
		dk, err := o.e.keys.ExistingDataKeys(o.ctx, o.scope, class)
		switch {
		case errors.Is(err, keyring.ErrKeysetNotFound):
			continue
		case err != nil:
			return false, err
		case dk.Status(id) != keyring.KeyUnknown:
			return true, nil
		}
	}
	return false, nil
}
