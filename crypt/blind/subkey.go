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
	if p == nil {
		return nil, ErrNilPRF
	}
	if uint64(len(recordType)) > maxValueLen || uint64(len(indexName)) > maxValueLen {
		return nil, fmt.Errorf("blind: derive subkey for index %.64q of record type %.64q: name longer than 2^32-1 bytes", indexName, recordType)
	}
	input := make([]byte, 0, 12+len(subkeyLabel)+len(recordType)+len(indexName))
	for _, part := range [...]string{subkeyLabel, recordType, indexName} {
		input = binary.BigEndian.AppendUint32(input, uint32(len(part)))
		input = append(input, part...)
	}
	key, err := p.ComputePRF(input, SubkeySize)
	if err != nil {
		return nil, fmt.Errorf("blind: derive subkey for index %q of record type %q: %w", indexName, recordType, err)
	}
	if len(key) != SubkeySize {
		return nil, fmt.Errorf("blind: derive subkey for index %q of record type %q: PRF returned %d bytes, want %d", indexName, recordType, len(key), SubkeySize)
	}
	return key, nil
}
