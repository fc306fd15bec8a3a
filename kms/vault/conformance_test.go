package vault_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/kmstest"
	"github.com/fieldcrypt/fieldcrypt/kms/vault"
)

func TestConformance(t *testing.T) {
	root := rootClient(t)
	opener := kms.NewOpener()
	opener.Register(vault.Scheme, vault.OpenFunc(rootOptions()))
	kmstest.Run(t, kmstest.Harness{NewKeeper: func(t *testing.T) *kms.Keeper {
		uri := newKey(t, root, "transit")
		kek, err := opener.Open(context.Background(), uri)
		if err != nil {
			t.Fatalf("Open(%q) err = %v", uri, err)
		}
		return kek
	}})
}

// A mount with slashes in its path works like any other.
func TestNestedMount(t *testing.T) {
	root := rootClient(t)
	mountTransit(t, root, "fieldcrypt/nested/transit")
	uri := newKey(t, root, "fieldcrypt/nested/transit")
	kek, err := dial(t, rootOptions()).Open(uri)
	if err != nil {
		t.Fatalf("Open(%q) err = %v", uri, err)
	}
	ctx := context.Background()
	pt, ad := []byte("keyset bytes"), []byte("scope|class|data")
	ct, err := kek.EncryptWithContext(ctx, pt, ad)
	if err != nil {
		t.Fatalf("EncryptWithContext() err = %v", err)
	}
	got, err := kek.DecryptWithContext(ctx, ct, ad)
	if err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("DecryptWithContext() = %q, %v; want %q, nil", got, err, pt)
	}
}
