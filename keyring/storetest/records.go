package storetest

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"time"

	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// baseTime has nanoseconds that rounding to a microsecond would change, and a
// zone that is not UTC, so stores that round or drop the instant are caught.
var baseTime = time.Date(2025, time.March, 14, 9, 26, 53, 123_456_789, time.FixedZone("UTC+05:30", 5*3600+30*60))

// newRecord returns a record for id whose every field depends on seed, so
// two records built from different seeds differ in every field but ID.
func newRecord(id keyring.KeysetID, seed string) *keyring.Record {
	sum := sha256.Sum256([]byte(seed))
	keyset := append([]byte{0x00, 0xff, 0x0a, 0x0d}, sum[:]...) // bytes that text handling would mangle
	return &keyring.Record{
		ID:              id,
		KEKURI:          "local://kek-" + seed,
		EncryptedKeyset: keyset,
		Metadata:        fmt.Appendf(nil, `{"seed":%q,"destroyed":[1,2]}`, seed),
		Version:         0,
		Created:         baseTime,
		Updated:         baseTime.Add(time.Hour + time.Duration(len(seed))*time.Second),
	}
}

func id(scope, class string, p keyring.Purpose) keyring.KeysetID {
	return keyring.KeysetID{Scope: scope, Class: class, Purpose: p}
}

// diffRecord returns "" when got equals want in every field, and otherwise
// says which field differs. Byte fields compare nil equal to empty; times
// compare at microsecond precision.
func diffRecord(got, want *keyring.Record) string {
	switch {
	case got == nil:
		return "record is nil"
	case got.ID != want.ID:
		return fmt.Sprintf("ID = %q, want %q", got.ID, want.ID)
	case got.KEKURI != want.KEKURI:
		return fmt.Sprintf("KEKURI = %q, want %q", got.KEKURI, want.KEKURI)
	case !bytes.Equal(got.EncryptedKeyset, want.EncryptedKeyset):
		return fmt.Sprintf("EncryptedKeyset = %s, want %s", describeBytes(got.EncryptedKeyset), describeBytes(want.EncryptedKeyset))
	case !bytes.Equal(got.Metadata, want.Metadata):
		return fmt.Sprintf("Metadata = %s, want %s", describeBytes(got.Metadata), describeBytes(want.Metadata))
	case got.Version != want.Version:
		return fmt.Sprintf("Version = %d, want %d", got.Version, want.Version)
	case !sameMicro(got.Created, want.Created):
		return fmt.Sprintf("Created = %v, want %v", got.Created, want.Created)
	case !sameMicro(got.Updated, want.Updated):
		return fmt.Sprintf("Updated = %v, want %v", got.Updated, want.Updated)
	}
	return ""
}

// sameMicro reports whether got is want, or want truncated to the
// microsecond.
func sameMicro(got, want time.Time) bool {
	return got.Truncate(time.Microsecond).Equal(want.Truncate(time.Microsecond))
}

// describeBytes names a byte string by length and hash: records are not
// secret, but a 256 KiB keyset in a test message helps nobody.
func describeBytes(b []byte) string {
	if len(b) <= 48 {
		return fmt.Sprintf("%q", b)
	}
	sum := sha256.Sum256(b)
	return fmt.Sprintf("%d bytes (sha256 %x…)", len(b), sum[:6])
}

// cloneRecord copies rec so that later changes to either do not show in the
// other.
func cloneRecord(rec *keyring.Record) *keyring.Record {
	c := *rec
	c.EncryptedKeyset = bytes.Clone(rec.EncryptedKeyset)
	c.Metadata = bytes.Clone(rec.Metadata)
	return &c
}

// withVersion returns a copy of rec with Version set to v.
func withVersion(rec *keyring.Record, v int64) *keyring.Record {
	c := cloneRecord(rec)
	c.Version = v
	return c
}
