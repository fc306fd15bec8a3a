package filestore

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/fieldcrypt/fieldcrypt/keyring"
)

const (
	// recordExt ends the name of every record file.
	recordExt = ".json"
	// hashedPrefix starts the names of records whose readable name is too long.
	hashedPrefix = "sha256-"
	// tempPrefix starts the names of files being written; List ignores them.
	tempPrefix = ".tmp-"
	// lockName is the lock file that serialises writers.
	lockName = ".lock"
	// maxReadableName bounds readable file names well below NAME_MAX (255
	// on most file systems, 143 on eCryptfs).
	maxReadableName = 128
)

// fileName returns the name of the file that holds the record with the
// given ID: "<scope>.<class>.<purpose>.json" with each part escaped, or
// "sha256-<hex>.json" when that would be longer than maxReadableName.
//
// Escaping keeps ASCII lower-case letters, digits, '-' and '_' and writes
// every other byte as '%' and two lower-case hex digits. The result holds no
// '/', '.', upper-case letter or NUL, so the three parts stay apart, a name
// cannot leave the directory or be "." or "..", two IDs never map to names
// that differ only by case (case-insensitive file systems), and no record
// name starts with '.' like the lock and temporary files. Readable names
// contain three dots and hashed names one, so the two forms never collide.
func fileName(id keyring.KeysetID) string {
	name := escape(id.Scope) + "." + escape(id.Class) + "." + escape(string(id.Purpose)) + recordExt
	if len(name) <= maxReadableName {
		return name
	}
	// Valid names hold no NUL, so the separators keep the parts apart.
	sum := sha256.Sum256([]byte(id.Scope + "\x00" + id.Class + "\x00" + string(id.Purpose)))
	return hashedPrefix + hex.EncodeToString(sum[:]) + recordExt
}

// scopePrefix returns the prefix of the readable names of scope's records.
func scopePrefix(scope string) string { return escape(scope) + "." }

func escape(s string) string {
	const hexDigits = "0123456789abcdef"
	var b strings.Builder
	b.Grow(len(s))
	for i := range len(s) {
		c := s[i]
		if 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&0xf])
	}
	return b.String()
}
