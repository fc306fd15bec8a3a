package awskms_test

import (
	"context"
	"fmt"
	"log"

	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/awskms"
)

func ExampleEncryptionContext() {
	fmt.Println(awskms.EncryptionContext([]byte("tenant-a|pii|data")))
	fmt.Println(awskms.EncryptionContext(nil))
	// Output:
	// map[fieldcrypt-aad:dGVuYW50LWF8cGlpfGRhdGE]
	// map[]
}

func ExampleOpenFunc() {
	ctx := context.Background()
	opener := kms.NewOpener()
	// nil options: the default credential chain and the region in the ARN.
	opener.Register(awskms.Scheme, awskms.OpenFunc(nil))
	kek, err := opener.Open(ctx, "aws-kms://arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab")
	if err != nil {
		log.Fatal(err)
	}
	wrapped, err := kek.EncryptWithContext(ctx, []byte("serialized keyset"), []byte("tenant-a|pii|data"))
	if err != nil {
		log.Fatal(err)
	}
	_ = wrapped
}

// A KEK rewraps a keyset under its key's current key material with AWS KMS
// ReEncrypt, without the keyset leaving AWS KMS. The keyring does this for
// every keyset in `fieldcrypt keys rewrap`.
func ExampleNew_rewrap() {
	ctx := context.Background()
	client, err := awskms.NewClient(ctx, "eu-west-1", nil)
	if err != nil {
		log.Fatal(err)
	}
	kek, err := awskms.New(client, "aws-kms://arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer kek.Close()
	var wrapped []byte // a keyset wrapped by kek, read from the keyring's store
	rewrapped, err := kek.Rewrap(ctx, wrapped, []byte("tenant-a|pii|data"))
	if err != nil {
		log.Fatal(err)
	}
	_ = rewrapped // store it in place of wrapped
}
