package reencrypt_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/keyring/filestore"
	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/local"
	"github.com/fieldcrypt/fieldcrypt/reencrypt"
)

// refusingScheme is the URI scheme of refusingKEK: refusing://PATH is the
// local KEK in the key file at PATH.
const refusingScheme = "refusing"

// refusingKEK is a real local KEK that, once refuse is set, refuses every
// call with kms.CodePermissionDenied, as a KMS does after the process's
// grant on the key is revoked.
// It is a kms.Driver around the local KEK's Keeper.
type refusingKEK struct {
	kek    *kms.Keeper
	refuse *atomic.Bool
}

var errRevoked = errors.New("the grant on the key was revoked")

func (k *refusingKEK) Encrypt(ctx context.Context, plaintext, ad []byte) ([]byte, error) {
	if k.refuse.Load() {
		return nil, errRevoked
	}
	return k.kek.EncryptWithContext(ctx, plaintext, ad)
}

func (k *refusingKEK) Decrypt(ctx context.Context, ciphertext, ad []byte) ([]byte, error) {
	if k.refuse.Load() {
		return nil, errRevoked
	}
	return k.kek.DecryptWithContext(ctx, ciphertext, ad)
}

// ErrorCode classifies errRevoked; the local KEK's errors are *kms.Error
// already and keep their code.
func (k *refusingKEK) ErrorCode(string, error) kms.Code { return kms.CodePermissionDenied }
func (k *refusingKEK) Close() error                     { return k.kek.Close() }

// TestKEKRefusalStopsRun: when the KEK configured for pii refuses
// (permission denied, a revoked grant), the class has a KEK, so this is
// not the role table's "no access": the run stops at the first keyset
// with a *KEKError, and no row is counted failed or rewritten.
func TestKEKRefusalStopsRun(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	piiFile := filepath.Join(dir, "pii-kek.json")
	if _, err := local.CreateInsecureKeyFile(piiFile); err != nil {
		t.Fatal(err)
	}
	supportKEK, err := local.CreateInsecureKeyFile(filepath.Join(dir, "support-kek.json"))
	if err != nil {
		t.Fatal(err)
	}
	var refuse atomic.Bool
	opener := kms.NewOpener()
	opener.Register(local.Scheme, local.OpenFunc(nil))
	opener.Register(refusingScheme, func(ctx context.Context, uri string) (*kms.Keeper, error) {
		kek, err := local.OpenFunc(nil)(ctx, local.Scheme+"://"+strings.TrimPrefix(uri, refusingScheme+"://"))
		if err != nil {
			return nil, err
		}
		return kms.NewKeeper(uri, &refusingKEK{kek: kek, refuse: &refuse}), nil
	})
	keks := map[string]string{"pii": refusingScheme + "://" + piiFile, "support": supportKEK}
	open := func() *crypt.Encryptor {
		store, err := filestore.Open(filepath.Join(dir, "keysets"))
		if err != nil {
			t.Fatal(err)
		}
		kr, err := keyring.New(keyring.Config{Store: store, Opener: opener, KEKs: keks})
		if err != nil {
			t.Fatalf("keyring.New() err = %v", err)
		}
		t.Cleanup(func() { kr.Close() })
		return crypt.New(kr, nil)
	}

	db := openSQLite(t)
	db.createContacts(t)
	app := open()
	db.seed(t, app, 60, 2)
	rotate(t, app.Keyring(), keyring.PurposeData, tenantNames(2), classes...)
	before := db.rawDigest(t)

	refuse.Store(true)
	var logs logBuffer
	opts := jobOptions("refused")
	opts.Logger = logs.logger()
	sum, err := reencrypt.Run(ctx, db.DB, db.d, open(), contactsTable(t), opts)
	var ke *reencrypt.KEKError
	if !errors.As(err, &ke) || !errors.Is(err, kms.ErrPermissionDenied) || !errors.Is(err, keyring.ErrNoAccess) {
		t.Fatalf("Run with the pii KEK refusing err = %v, want a *KEKError wrapping the KMS's permission denied", err)
	}
	if sum.Outcome != reencrypt.Failed || sum.Failed != 0 || sum.Rewritten != 0 {
		t.Errorf("Run with the pii KEK refusing = %s; want failed, with no row counted as failed or rewritten", js(sum))
	}
	if strings.Contains(logs.String(), "no_access") || strings.Contains(logs.String(), "retrying") {
		t.Errorf("Run counted refused rows as no_access, or retried:\n%s", logs.String())
	}
	if db.rawDigest(t) != before {
		t.Errorf("Run with the pii KEK refusing changed rows")
	}
}
