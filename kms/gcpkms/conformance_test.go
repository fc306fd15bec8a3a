package gcpkms_test

import (
	"testing"

	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/gcpkms"
	"github.com/fieldcrypt/fieldcrypt/kms/kmstest"
)

// TestConformance runs the KEK conformance suite against the fake Cloud KMS,
// opening every KEK through a URI opener whose client is built from Options.
func TestConformance(t *testing.T) {
	srv := startFake(t)
	opener := kms.NewOpener()
	opener.Register(gcpkms.Scheme, gcpkms.OpenFunc(fakeOptions(srv)))
	kmstest.Run(t, kmstest.Harness{NewKeeper: func(t *testing.T) *kms.Keeper {
		_, uri := createKey(t, srv)
		kek, err := opener.Open(t.Context(), uri)
		if err != nil {
			t.Fatalf("Open(%q) err = %v", uri, err)
		}
		t.Cleanup(func() { closeKEK(t, kek) })
		return kek
	}})
}

// TestConformanceSharedClient runs the suite with KEKs made by New from one
// client the test owns.
func TestConformanceSharedClient(t *testing.T) {
	srv := startFake(t)
	client := dial(t, srv)
	kmstest.Run(t, kmstest.Harness{NewKeeper: func(t *testing.T) *kms.Keeper {
		kek, _ := newKEK(t, srv, client, nil)
		return kek
	}})
}
