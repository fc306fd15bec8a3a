package awskms_test

import (
	"context"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/awskms"
	"github.com/fieldcrypt/fieldcrypt/kms/kmstest"
)

func TestConformance(t *testing.T) {
	localKMS(t) // skip (or fail under CI) once, not in every subtest
	t.Run("key ARN", func(t *testing.T) {
		kmstest.Run(t, kmstest.Harness{NewKeeper: func(t *testing.T) *kms.Keeper {
			return newKEK(t, createKey(t))
		}})
	})
	t.Run("alias ARN", func(t *testing.T) {
		kmstest.Run(t, kmstest.Harness{NewKeeper: func(t *testing.T) *kms.Keeper {
			return newKEK(t, createAlias(t, createKey(t)))
		}})
	})
	t.Run("opener", func(t *testing.T) {
		opener := kms.NewOpener()
		opener.Register(awskms.Scheme, awskms.OpenFunc(testOptions()))
		kmstest.Run(t, kmstest.Harness{NewKeeper: func(t *testing.T) *kms.Keeper {
			uri := awskms.URI(createKey(t))
			kek, err := opener.Open(context.Background(), uri)
			if err != nil {
				t.Fatalf("Open(%s) err = %v", uri, err)
			}
			return kek
		}})
	})
}
