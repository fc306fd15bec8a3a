package gcpkms_test

// These tests run the backend against fakekms, an in-process gRPC server
// implementing Google's kmspb KeyManagementService. It is the one fake the
// project allows: Google publishes no Cloud KMS emulator and tests cannot
// reach Google. Only the service is faked. The tests dial it with the real
// client library (cloud.google.com/go/kms/apiv1) over a real gRPC connection
// on a loopback TCP listener (127.0.0.1:0), with option.WithEndpoint,
// option.WithoutAuthentication and insecure transport credentials.

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	cloudkms "cloud.google.com/go/kms/apiv1"
	"github.com/googleapis/gax-go/v2"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/fieldcrypt/fieldcrypt/internal/fakekms"
	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/gcpkms"
)

// startFake starts a fake Cloud KMS that t stops.
func startFake(t *testing.T) *fakekms.Server {
	t.Helper()
	srv, err := fakekms.Start()
	if err != nil {
		t.Fatalf("fakekms.Start() err = %v", err)
	}
	t.Cleanup(srv.Close)
	return srv
}

// dial returns a real Cloud KMS client connected to srv, closed when t ends.
func dial(t *testing.T, srv *fakekms.Server) *cloudkms.KeyManagementClient {
	t.Helper()
	client, err := cloudkms.NewKeyManagementClient(t.Context(),
		option.WithEndpoint(srv.Addr()),
		option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())),
	)
	if err != nil {
		t.Fatalf("NewKeyManagementClient() err = %v", err)
	}
	t.Cleanup(func() { client.Close() })
	return client
}

// fakeOptions are the Options that make OpenFunc dial srv.
func fakeOptions(srv *fakekms.Server) *gcpkms.Options {
	return &gcpkms.Options{Endpoint: srv.Addr(), WithoutAuthentication: true, Insecure: true}
}

// noRetry turns off the client library's own retries of Unavailable and
// DeadlineExceeded, so that a test sees the first answer.
var noRetry = []gax.CallOption{gax.WithRetry(nil)}

var keySeq atomic.Int64

// createKey creates a fresh CryptoKey on srv and returns its resource name
// and gcp-kms:// URI.
func createKey(t *testing.T, srv *fakekms.Server) (name, uri string) {
	t.Helper()
	name = fmt.Sprintf("projects/fieldcrypt-test/locations/europe-west1/keyRings/crm/cryptoKeys/kek-%d", keySeq.Add(1))
	if err := srv.CreateKey(name); err != nil {
		t.Fatalf("CreateKey(%q) err = %v", name, err)
	}
	return name, gcpkms.URI(name)
}

// newKEK returns a KEK for a fresh key on srv, called through client.
func newKEK(t *testing.T, srv *fakekms.Server, client *cloudkms.KeyManagementClient, opts *gcpkms.Options) (kek *kms.Keeper, name string) {
	t.Helper()
	name, uri := createKey(t, srv)
	kek, err := gcpkms.New(client, uri, opts)
	if err != nil {
		t.Fatalf("New(%q) err = %v", uri, err)
	}
	return kek, name
}

func closeKEK(t *testing.T, kek *kms.Keeper) {
	t.Helper()
	if err := kek.Close(); err != nil {
		t.Errorf("Close() err = %v", err)
	}
}

// waitConns waits until srv holds want client connections, and fails t if
// it does not within a few seconds.
func waitConns(t *testing.T, srv *fakekms.Server, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for srv.OpenConns() != want {
		if time.Now().After(deadline) {
			t.Fatalf("server holds %d client connections, want %d", srv.OpenConns(), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
