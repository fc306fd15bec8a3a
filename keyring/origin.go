package keyring

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
)

// origin is what a cached keyset was unwrapped from: a digest of the
// stored record's authenticated parts, its state version, and when the KEK
// unwrapped it. It lets a reload keep the keyset without a KMS call while
// the record has not changed (Config.KEKCheckInterval).
type origin struct {
	digest    [sha256.Size]byte
	version   uint64
	unwrapped int64 // keyring clock
}

// originOf returns the origin of a keyset just unwrapped from rec, or nil
// when reloads unwrap every time (KEKCheckInterval is CacheTTL).
func (k *Keyring) originOf(rec *Record, version uint64) *origin {
	if k.cfg.KEKCheckInterval <= k.cfg.CacheTTL {
		return nil
	}
	return &origin{digest: recordDigest(rec), version: version, unwrapped: k.clock()}
}

// recordDigest hashes what the KEK authenticates in rec (the wrapped keyset,
// bound to rec.ID, and the state document) and the KEK it names, each
// length-prefixed. rec.ID is not hashed: the store is held to answer for
// the ID asked (exactStore), which is the cached entry's.
func recordDigest(rec *Record) [sha256.Size]byte {
	h := sha256.New()
	for _, part := range [][]byte{[]byte(rec.KEKURI), rec.EncryptedKeyset, rec.Metadata} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(part)))
		h.Write(n[:])
		h.Write(part)
	}
	var d [sha256.Size]byte
	h.Sum(d[:0])
	return d
}

// unchanged returns prev's origin when rec is byte for byte the record
// prev's keyset was unwrapped from, that unwrap is younger than
// KEKCheckInterval and the keyring is not closed; otherwise nil, and the
// record is unwrapped again.
func (k *Keyring) unchanged(prev *entry, rec *Record) *origin {
	if prev == nil || prev.origin == nil || k.closed() {
		return nil
	}
	if k.clock()-prev.origin.unwrapped >= int64(k.cfg.KEKCheckInterval) {
		return nil
	}
	if recordDigest(rec) != prev.origin.digest {
		return nil
	}
	return prev.origin
}

// revalidate runs on an unchanged record what an unwrap would have run
// after the KEK: the rollback check against this process and the anchor
// (a record put back after another process wrote a newer version is
// byte for byte the old one), and the shred check (a keyset hidden from a
// shred and put back is too).
func (k *Keyring) revalidate(ctx context.Context, id KeysetID, version uint64) error {
	if err := k.checkFresh(ctx, id, version); err != nil {
		return err
	}
	k.observe(ctx, id, version)
	return k.checkLiveScope(ctx, id.Scope)
}

// closed reports whether Close has run.
func (k *Keyring) closed() bool {
	k.keksMu.Lock()
	defer k.keksMu.Unlock()
	return k.keksClosed
}
