package awskms_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"

	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/awskms"
)

// TestCredentialsOutageIsTransient plays an outage of the credential
// source rather than of AWS KMS: the EC2 instance metadata service that
// hands out an instance role's credentials cannot be reached, or answers
// 503. The key's permissions are unchanged, so the call must fail as
// unavailable (transient), not as permission denied, which the keyring
// takes for revoked access: it drops its cached keysets and reads the
// fields as "no access to class", instead of serving them for the stale
// period that a KEK outage gets.
func TestCredentialsOutageIsTransient(t *testing.T) {
	const arn = "arn:aws:kms:eu-west-1:111122223333:key/00000000-0000-4000-8000-000000000000"
	kmsServer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("AWS KMS was called (%s %s), want the call to fail on its credentials", r.Method, r.URL)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer kmsServer.Close()
	imds503 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer imds503.Close()

	for _, tc := range []struct {
		name, imdsEndpoint string
	}{
		{"metadata service unreachable", "http://" + closedPort(t)},
		{"metadata service answers 503", imds503.URL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			provider := ec2rolecreds.New(func(o *ec2rolecreds.Options) {
				o.Client = imds.New(imds.Options{Endpoint: tc.imdsEndpoint, Retryer: aws.NopRetryer{}})
			})
			kek := openWith(t, arn, &awskms.Options{Endpoint: kmsServer.URL, Credentials: provider, MaxAttempts: 1})
			_, err := kek.EncryptWithContext(context.Background(), []byte("keyset"), nil)
			if got := kms.CodeOf(err); got != kms.CodeUnavailable {
				t.Errorf("EncryptWithContext() code = %v, want %v (err = %v)", got, kms.CodeUnavailable, err)
			}
			if !kms.IsTransient(err) {
				t.Errorf("EncryptWithContext() IsTransient = false, want true (err = %v)", err)
			}
		})
	}
}
