package gcpkms_test

import (
	"context"
	"fmt"
	"log"

	"github.com/fieldcrypt/fieldcrypt/internal/fakekms"
	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/gcpkms"
)

// Opening a Cloud KMS KEK by URI. In production the Options are nil (or name
// a service-account key file); here they point at the in-process fake server.
func ExampleOpenFunc() {
	srv, err := fakekms.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	const key = "projects/acme-crm/locations/europe-west1/keyRings/crm/cryptoKeys/pii"
	if err := srv.CreateKey(key); err != nil {
		log.Fatal(err)
	}

	opener := kms.NewOpener()
	opener.Register(gcpkms.Scheme, gcpkms.OpenFunc(&gcpkms.Options{
		Endpoint:              srv.Addr(),
		WithoutAuthentication: true, // the fake only: Google requires credentials
		Insecure:              true, // the fake only: plaintext gRPC on loopback
	}))
	ctx := context.Background()
	kek, err := opener.Open(ctx, "gcp-kms://"+key)
	if err != nil {
		log.Fatal(err)
	}
	defer kek.Close()

	aad := []byte("fieldcrypt keyset v1|tenant-a|pii|data")
	wrapped, err := kek.EncryptWithContext(ctx, []byte("a serialized keyset"), aad)
	if err != nil {
		log.Fatal(err)
	}
	keyset, err := kek.DecryptWithContext(ctx, wrapped, aad)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s\n", keyset)

	_, err = kek.DecryptWithContext(ctx, wrapped, []byte("fieldcrypt keyset v1|tenant-b|pii|data"))
	fmt.Println(kms.CodeOf(err), kms.IsTransient(err))
	// Output:
	// a serialized keyset
	// invalid ciphertext false
}
