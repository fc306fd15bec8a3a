package keyring

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"

	"github.com/tink-crypto/tink-go/v2/keyset"
	tinkpb "github.com/tink-crypto/tink-go/v2/proto/tink_go_proto"
	"google.golang.org/protobuf/proto"

	"github.com/fieldcrypt/fieldcrypt/kms"
)

// wrapLabel starts the associated data of every wrapped keyset.
const wrapLabel = "fieldcrypt keyset v2"

// tombstonePlaintext is what a tombstone's KEK ciphertext decrypts to. A
// tombstone holds no keys; the KEK authenticates its state (shredded, and
// its version) through the associated data.
const tombstonePlaintext = "fieldcrypt tombstone v2"

// WrapAssociatedData returns the associated data that binds a wrapped keyset
// to its scope, class and purpose and to its state document (the exact
// bytes stored as [Record.Metadata]): the length-prefixed concatenation
//
//	u32be(len(label)) || label || u32be(len(scope)) || scope ||
//	u32be(len(class)) || class || u32be(len(purpose)) || purpose ||
//	u32be(len(state)) || state
//
// with label "fieldcrypt keyset v2". A keyset moved to another scope, class
// or purpose, or whose state (version, destroyed keys, shred tombstone) was
// edited, therefore does not unwrap.
func WrapAssociatedData(id KeysetID, state []byte) []byte {
	parts := [...][]byte{[]byte(wrapLabel), []byte(id.Scope), []byte(id.Class), []byte(id.Purpose), state}
	n := 0
	for _, p := range parts {
		n += 4 + len(p)
	}
	b := make([]byte, 0, n)
	for _, p := range parts {
		b = binary.BigEndian.AppendUint32(b, uint32(len(p)))
		b = append(b, p...)
	}
	return b
}

// errorCapturingKEK remembers the KEK's own error, which Tink's keyset
// reader and writer flatten into a string.
type errorCapturingKEK struct {
	kek *kms.Keeper
	err error
}

func (c *errorCapturingKEK) EncryptWithContext(ctx context.Context, pt, ad []byte) ([]byte, error) {
	ct, err := c.kek.EncryptWithContext(ctx, pt, ad)
	c.err = err
	return ct, err
}

func (c *errorCapturingKEK) DecryptWithContext(ctx context.Context, ct, ad []byte) ([]byte, error) {
	pt, err := c.kek.DecryptWithContext(ctx, ct, ad)
	c.err = err
	return pt, err
}

// classifyKEKError turns a KEK failure into the keyring's error classes.
func classifyKEKError(class string, err error) error {
	switch code := kms.CodeOf(err); {
	case code == kms.CodePermissionDenied:
		return fmt.Errorf("%w %q: %w: %w", ErrNoAccess, class, ErrKEKRefused, err)
	case code.Transient():
		return fmt.Errorf("%w: %w", ErrKEKUnavailable, err)
	case code == kms.CodeInvalidCiphertext:
		// The KEK refused the ciphertext under the associated data that
		// names the keyset and its state: the keyset, its state document
		// or its name was altered.
		return fmt.Errorf("%w: %w: %w", ErrIntegrity, ErrCorruptKeyset, err)
	}
	return err
}

// opened is a stored keyset whose state the KEK has authenticated.
type opened struct {
	rec    *Record
	state  *state
	handle *keyset.Handle // nil for a tombstone
}

func (o *opened) tombstone() bool { return o.state.Shredded != nil }

// open authenticates a stored record: its KEK must be trusted for its
// class, its state document must unwrap with the keyset (or tombstone)
// under that KEK, and its state version must not be older than any this
// keyring or its anchor has seen. A tombstone is returned as such; callers
// decide what it means for them.
func (k *Keyring) open(ctx context.Context, rec *Record) (*opened, error) {
	if err := k.checkKEKAllowed(rec); err != nil {
		return nil, err
	}
	st, err := parseState(rec.Metadata)
	if err != nil {
		return nil, err
	}
	kek, err := k.kek(ctx, rec.KEKURI)
	if err != nil {
		return nil, classifyKEKError(rec.ID.Class, err)
	}
	ad := WrapAssociatedData(rec.ID, rec.Metadata)
	o := &opened{rec: rec, state: st}
	if st.Shredded != nil {
		var eks tinkpb.EncryptedKeyset
		if err := proto.Unmarshal(rec.EncryptedKeyset, &eks); err != nil {
			return nil, fmt.Errorf("%w: tombstone: %w", ErrCorruptKeyset, err)
		}
		pt, err := kek.DecryptWithContext(ctx, eks.GetEncryptedKeyset(), ad)
		if err != nil {
			return nil, classifyKEKError(rec.ID.Class, err)
		}
		if string(pt) != tombstonePlaintext {
			return nil, fmt.Errorf("%w: tombstone does not hold the tombstone marker", ErrIntegrity)
		}
	} else {
		capture := &errorCapturingKEK{kek: kek}
		o.handle, err = keyset.ReadWithContext(ctx, keyset.NewBinaryReader(bytes.NewReader(rec.EncryptedKeyset)), capture, ad)
		switch {
		case err == nil:
		case capture.err != nil:
			return nil, classifyKEKError(rec.ID.Class, capture.err)
		default:
			return nil, fmt.Errorf("%w: %w", ErrCorruptKeyset, err)
		}
	}
	if err := k.checkFresh(ctx, rec.ID, st.Version); err != nil {
		return nil, err
	}
	return o, nil
}

// checkKEKAllowed fails unless the KEK rec names is the one configured for
// its class or one accepted for that class.
func (k *Keyring) checkKEKAllowed(rec *Record) error {
	if k.allowedKEK(rec.ID.Class, rec.KEKURI) {
		return nil
	}
	if _, err := k.KEKURI(rec.ID.Class); err != nil {
		return err // ErrNoAccess: this process holds no KEK for the class
	}
	return fmt.Errorf("%w: %q is neither the KEK of class %q nor accepted for it; the record may have been planted by a writer of the keyset store", ErrKEKNotAllowed, rec.KEKURI, rec.ID.Class)
}

// seal wraps handle (or, for a tombstone, the tombstone marker) under the
// KEK at uri, bound to id and st, and returns the record to store. The
// record's Version, Created and Updated are the caller's to set.
func (k *Keyring) seal(ctx context.Context, id KeysetID, handle *keyset.Handle, st *state, uri string) (*Record, error) {
	sb, err := st.marshal()
	if err != nil {
		return nil, err
	}
	return k.sealState(ctx, id, handle, sb, uri)
}

// sealState is seal for a state document already encoded as sb.
func (k *Keyring) sealState(ctx context.Context, id KeysetID, handle *keyset.Handle, sb []byte, uri string) (*Record, error) {
	kek, err := k.kek(ctx, uri)
	if err != nil {
		return nil, classifyKEKError(id.Class, err)
	}
	ad := WrapAssociatedData(id, sb)
	var eks tinkpb.EncryptedKeyset
	if handle == nil {
		ct, err := kek.EncryptWithContext(ctx, []byte(tombstonePlaintext), ad)
		if err != nil {
			return nil, classifyKEKError(id.Class, err)
		}
		eks.EncryptedKeyset = ct
	} else {
		capture := &errorCapturingKEK{kek: kek}
		var buf bytes.Buffer
		if err := handle.WriteWithContext(ctx, keyset.NewBinaryWriter(&buf), capture, ad); err != nil {
			if capture.err != nil {
				return nil, classifyKEKError(id.Class, capture.err)
			}
			return nil, fmt.Errorf("serialize keyset: %w", err)
		}
		if err := proto.Unmarshal(buf.Bytes(), &eks); err != nil {
			return nil, fmt.Errorf("serialize keyset: %w", err)
		}
		// Tink's binary writer drops the cleartext KeysetInfo; put it back
		// for tools that only display it. Nothing reads it to decide:
		// key IDs, statuses and the primary come from the unwrapped keyset.
		eks.KeysetInfo = handle.KeysetInfo()
	}
	out, err := proto.Marshal(&eks)
	if err != nil {
		return nil, fmt.Errorf("serialize keyset: %w", err)
	}
	return &Record{ID: id, KEKURI: uri, EncryptedKeyset: out, Metadata: sb}, nil
}
