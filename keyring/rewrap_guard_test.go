package keyring_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/internal/teststores"
	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/kms"
)

// inPlaceKEK is a KEK driver that rewraps a ciphertext in place
// (kms.Rewrapper), as Vault Transit and AWS KMS do: the keyring then
// rewraps a keyset without unwrapping it, so the checks it makes before
// the rewrap are all that stand between a store writer and the write.
type inPlaceKEK struct{ real *kms.Keeper }

func (k inPlaceKEK) Encrypt(ctx context.Context, pt, ad []byte) ([]byte, error) {
	return k.real.EncryptWithContext(ctx, pt, ad)
}

func (k inPlaceKEK) Decrypt(ctx context.Context, ct, ad []byte) ([]byte, error) {
	return k.real.DecryptWithContext(ctx, ct, ad)
}

func (k inPlaceKEK) Rewrap(ctx context.Context, ct, ad []byte) ([]byte, error) {
	pt, err := k.real.DecryptWithContext(ctx, ct, ad)
	if err != nil {
		return nil, err
	}
	return k.real.EncryptWithContext(ctx, pt, ad)
}

func (inPlaceKEK) ErrorCode(_ string, err error) kms.Code { return kms.CodeOf(err) }
func (inPlaceKEK) Close() error                           { return nil }

// TestRewrapInPlaceRefusesRollback: `keys rewrap` under a KEK that rewraps
// in place refuses a keyset rolled back to an older authentic copy, in the
// process that saw the newer one and in a fresh one with an anchor
// (ErrRollback), and writes nothing: the check runs before the KMS call,
// since the keyset is never unwrapped on this path.
func TestRewrapInPlaceRefusesRollback(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *storeWorld) {
		ctx := context.Background()
		real, err := w.opener.Open(ctx, w.pii)
		if err != nil {
			t.Fatal(err)
		}
		const uri = "inplace://pii"
		w.opener.Register("inplace", func(_ context.Context, u string) (*kms.Keeper, error) {
			return kms.NewKeeper(u, inPlaceKEK{real: real}), nil
		})
		onInPlace := func(c *keyring.Config) { c.KEKs, c.AcceptKEKs = map[string]string{"pii": uri}, nil }
		w.anchor = teststores.SQLiteAnchor(t)
		admin := w.keyring(t, onInPlace)
		m := keyring.NewManager(admin)
		if err := m.CreateKeysets(ctx, "acme", "pii"); err != nil {
			t.Fatal(err)
		}
		old := *w.get(t, dataID("acme", "pii"))
		if _, err := m.AddKey(ctx, dataID("acme", "pii")); err != nil {
			t.Fatal(err)
		}
		w.putRecords(t, []*keyring.Record{&old})
		rolledBack := w.get(t, dataID("acme", "pii"))

		for who, mgr := range map[string]*keyring.Manager{"same process": m, "fresh process with the anchor": keyring.NewManager(w.keyring(t, onInPlace))} {
			if _, err := mgr.Rewrap(ctx, "acme"); !errors.Is(err, keyring.ErrRollback) {
				t.Errorf("Rewrap(rolled-back keyset), %s: err = %v, want ErrRollback", who, err)
			}
		}
		if got := w.get(t, dataID("acme", "pii")); !bytes.Equal(got.EncryptedKeyset, rolledBack.EncryptedKeyset) || got.Version != rolledBack.Version {
			t.Error("a refused Rewrap rewrote the rolled-back keyset")
		}
	})
}
