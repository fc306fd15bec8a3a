package blind

import (
	"encoding/binary"
	"fmt"

	"github.com/tink-crypto/tink-go/v2/prf"
)

// SubkeySize is the length in bytes of a subkey from [DeriveSubkey].
const SubkeySize = 32

// MinSubkeySize is the shortest subkey [NewIndexer] accepts.
const MinSubkeySize = SubkeySize

// subkeyLabel separates this derivation from any other use of the index
// keyset's PRF.
const subkeyLabel = "fieldcrypt blind index v1"

// DeriveSubkey derives the subkey of one blind index from a key of the
// scope's "index" keyset, so that each (record type, index) pair has an
// independent key and equal values in two indexes do not correlate:
//
//	subkey = p.ComputePRF(u32be(len(label)) || label ||
//	                      u32be(len(recordType)) || recordType ||
//	                      u32be(len(indexName)) || indexName, 32)
//	label  = "fieldcrypt blind index v1"
//
// The PRF must give at least 32 bytes of output (Tink's HMAC-SHA-256 and
// HMAC-SHA-512 PRFs do; AES-CMAC's 16 bytes do not). Record type and index
// name are names, not secrets, and may appear in errors; the subkey never
// does.
func DeriveSubkey(p prf.PRF, recordType, indexName string) ([]byte, error) {
	return deriveKey(p, fmt.Sprintf("index %.64q of record type %.64q", indexName, recordType), subkeyLabel, recordType, indexName)
}

// deriveKey computes p(u32be(len(label)) || label || u32be(len(part1)) ||
// part1 || ...) with 32 bytes of output. what names the key in errors.
func deriveKey(p prf.PRF, what, label string, parts ...string) ([]byte, error) {
	if p == nil {
		return nil, ErrNilPRF
	}
	size := 4 + len(label)
	for _, part := range parts {
		if uint64(len(part)) > maxValueLen {
			return nil, fmt.Errorf("blind: derive subkey for %s: name longer than 2^32-1 bytes", what)
		}
		size += 4 + len(part)
	}
	input := make([]byte, 0, size)
	input = binary.BigEndian.AppendUint32(input, uint32(len(label)))
	input = append(input, label...)
	for _, part := range parts {
		input = binary.BigEndian.AppendUint32(input, uint32(len(part)))
		input = append(input, part...)
	}
	key, err := p.ComputePRF(input, SubkeySize)
	if err != nil {
		return nil, fmt.Errorf("blind: derive subkey for %s: %w", what, err)
	}
	if len(key) != SubkeySize {
		return nil, fmt.Errorf("blind: derive subkey for %s: PRF returned %d bytes, want %d", what, len(key), SubkeySize)
	}
	return key, nil
}
