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
const wrapLabel = "fieldcrypt keyset v1"

// WrapAssociatedData returns the associated data that binds a wrapped keyset
// to its scope, class and purpose: the length-prefixed concatenation
//
//	u32be(len(label)) || label || u32be(len(scope)) || scope ||
//	u32be(len(class)) || class || u32be(len(purpose)) || purpose
//
// with label "fieldcrypt keyset v1". A keyset moved to another scope, class
// or purpose therefore does not unwrap.
func WrapAssociatedData(id KeysetID) []byte {
	parts := [...]string{wrapLabel, id.Scope, id.Class, string(id.Purpose)}
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
	kek kms.KEK
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
		return fmt.Errorf("%w %q: the KEK refused: %w", ErrNoAccess, class, err)
	case code.Transient():
		return fmt.Errorf("%w: %w", ErrKEKUnavailable, err)
	case code == kms.CodeInvalidCiphertext:
		return fmt.Errorf("%w: %w", ErrCorruptKeyset, err)
	}
	return err
}

// unwrap decrypts a stored keyset with the KEK it names, after checking
// that this keyring trusts that KEK for the keyset's class.
func (k *Keyring) unwrap(ctx context.Context, rec *Record) (*keyset.Handle, error) {
	if !k.allowedKEK(rec.ID.Class, rec.KEKURI) {
		if _, err := k.KEKURI(rec.ID.Class); err != nil {
			return nil, err // ErrNoAccess: this process holds no KEK for the class
		}
		return nil, fmt.Errorf("%w: %s", ErrKEKNotAllowed, rec.KEKURI)
	}
	kek, err := k.kek(ctx, rec.KEKURI)
	if err != nil {
		return nil, classifyKEKError(rec.ID.Class, err)
	}
	capture := &errorCapturingKEK{kek: kek}
	handle, err := keyset.ReadWithContext(ctx, keyset.NewBinaryReader(bytes.NewReader(rec.EncryptedKeyset)), capture, WrapAssociatedData(rec.ID))
	switch {
	case err == nil:
		return handle, nil
	case capture.err != nil:
		return nil, classifyKEKError(rec.ID.Class, capture.err)
	default:
		return nil, fmt.Errorf("%w: %w", ErrCorruptKeyset, err)
	}
}

// wrap encrypts handle under the class's current KEK and returns the
// serialized EncryptedKeyset and the KEK's URI.
func (k *Keyring) wrap(ctx context.Context, id KeysetID, handle *keyset.Handle) ([]byte, string, error) {
	uri, err := k.KEKURI(id.Class)
	if err != nil {
		return nil, "", err
	}
	return k.wrapWith(ctx, id, handle, uri)
}

func (k *Keyring) wrapWith(ctx context.Context, id KeysetID, handle *keyset.Handle, uri string) ([]byte, string, error) {
	kek, err := k.kek(ctx, uri)
	if err != nil {
		return nil, "", classifyKEKError(id.Class, err)
	}
	capture := &errorCapturingKEK{kek: kek}
	var buf bytes.Buffer
	if err := handle.WriteWithContext(ctx, keyset.NewBinaryWriter(&buf), capture, WrapAssociatedData(id)); err != nil {
		if capture.err != nil {
			return nil, "", classifyKEKError(id.Class, capture.err)
		}
		return nil, "", fmt.Errorf("serialize keyset: %w", err)
	}
	// Tink's binary writer drops the cleartext KeysetInfo; put it back so
	// that key IDs and statuses can be listed without a KMS call.
	var eks tinkpb.EncryptedKeyset
	if err := proto.Unmarshal(buf.Bytes(), &eks); err != nil {
		return nil, "", fmt.Errorf("serialize keyset: %w", err)
	}
	eks.KeysetInfo = handle.KeysetInfo()
	out, err := proto.Marshal(&eks)
	if err != nil {
		return nil, "", fmt.Errorf("serialize keyset: %w", err)
	}
	return out, uri, nil
}
