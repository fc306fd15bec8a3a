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

func ExampleKEK_ReEncrypt() {
	ctx := context.Background()
	client, err := awskms.NewClient(ctx, "eu-west-1", nil)
	if err != nil {
		log.Fatal(err)
	}
	oldKEK, err := awskms.New(client, "aws-kms://arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", nil)
	if err != nil {
		log.Fatal(err)
	}
	newKEK, err := awskms.New(client, "aws-kms://arn:aws:kms:eu-west-1:111122223333:key/5678efab-56ef-78ab-90cd-5678901234ef", nil)
	if err != nil {
		log.Fatal(err)
	}
	var wrapped []byte // a keyset wrapped by oldKEK, read from the keyring's store
	rewrapped, err := oldKEK.ReEncrypt(ctx, wrapped, []byte("tenant-a|pii|data"), newKEK)
	if err != nil {
		log.Fatal(err)
	}
	_ = rewrapped // store it in place of wrapped
}
