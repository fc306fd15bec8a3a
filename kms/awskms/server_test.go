package awskms_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkkms "github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/fieldcrypt/fieldcrypt/internal/testenv"
	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/awskms"
)

// The tests run against local-kms (scripts/local-kms.sh start), which checks
// no signature: any static credentials do.
const testRegion = "eu-west-1"

func testOptions() *awskms.Options {
	return &awskms.Options{
		Endpoint:    testenv.AWSKMSEndpoint,
		Credentials: awskms.StaticCredentials("AKIDFIELDCRYPTTEST", "fieldcrypt-test-secret", ""),
		MaxAttempts: 2,
	}
}

var (
	clientOnce sync.Once
	client     *sdkkms.Client
	clientErr  error
)

// localKMS returns a client of local-kms, or stops the test when local-kms
// does not answer (a failure under CI, a skip elsewhere).
func localKMS(t *testing.T) *sdkkms.Client {
	t.Helper()
	clientOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, err := awskms.NewClient(ctx, testRegion, testOptions())
		if err != nil {
			clientErr = err
			return
		}
		if _, err := c.ListKeys(ctx, &sdkkms.ListKeysInput{Limit: aws.Int32(1)}); err != nil {
			clientErr = err
			return
		}
		client = c
	})
	testenv.Require(t, "local-kms", clientErr)
	return client
}

// createKey makes a new symmetric encryption key and returns its ARN.
func createKey(t *testing.T) string {
	t.Helper()
	c := localKMS(t)
	out, err := c.CreateKey(context.Background(), &sdkkms.CreateKeyInput{
		Description: aws.String("fieldcrypt test " + t.Name()),
	})
	if err != nil {
		t.Fatalf("CreateKey() err = %v", err)
	}
	return aws.ToString(out.KeyMetadata.Arn)
}

// createAlias points a new alias at keyARN and returns the alias ARN.
func createAlias(t *testing.T, keyARN string) string {
	t.Helper()
	c := localKMS(t)
	prefix, keyID, ok := strings.Cut(keyARN, ":key/")
	if !ok {
		t.Fatalf("CreateKey returned ARN %q, want …:key/<id>", keyARN)
	}
	name := "alias/fieldcrypt-test-" + keyID
	if _, err := c.CreateAlias(context.Background(), &sdkkms.CreateAliasInput{
		AliasName: aws.String(name), TargetKeyId: aws.String(keyARN),
	}); err != nil {
		t.Fatalf("CreateAlias(%s) err = %v", name, err)
	}
	return prefix + ":" + name
}

// newKEK opens a KEK on arn through local-kms.
func newKEK(t *testing.T, arn string) *kms.Keeper {
	t.Helper()
	kek, err := awskms.New(localKMS(t), awskms.URI(arn), nil)
	if err != nil {
		t.Fatalf("New(%s) err = %v", arn, err)
	}
	return kek
}
