package keyring_test

import (
	"context"
	"errors"
	"testing"
	"time"

	cloudkms "cloud.google.com/go/kms/apiv1"

	"github.com/fieldcrypt/fieldcrypt/internal/fakekms"
	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/gcpkms"
)

const closeTestKey = "projects/fieldcrypt-test/locations/europe-west1/keyRings/crm/cryptoKeys/pii"

// startCloudKMS starts the in-process Cloud KMS server (Google's kmspb
// service, dialled by the real client library over gRPC) with one key.
func startCloudKMS(t *testing.T) *fakekms.Server {
	t.Helper()
	srv, err := fakekms.Start()
	if err != nil {
		t.Fatalf("fakekms.Start() err = %v", err)
	}
	t.Cleanup(srv.Close)
	if err := srv.CreateKey(closeTestKey); err != nil {
		t.Fatalf("CreateKey() err = %v", err)
	}
	return srv
}

// waitConns waits until srv holds want client connections.
func waitConns(t *testing.T, srv *fakekms.Server, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for srv.OpenConns() != want {
		if time.Now().After(deadline) {
			t.Fatalf("Cloud KMS server holds %d client connections, want %d", srv.OpenConns(), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCloseClosesOpenedCloudKMSClient opens a Cloud KMS KEK through the URI
// opener, whose OpenFunc builds a gRPC client for it, uses it, closes the
// keyring, and sees the server lose the client's connection.
func TestCloseClosesOpenedCloudKMSClient(t *testing.T) {
	ctx := context.Background()
	srv := startCloudKMS(t)
	opener := kms.NewOpener()
	opener.Register(gcpkms.Scheme, gcpkms.OpenFunc(&gcpkms.Options{
		Endpoint: srv.Addr(), WithoutAuthentication: true, Insecure: true,
	}))
	kr, err := keyring.New(keyring.Config{
		Store: keyring.NewMemoryStore(), Opener: opener, DefaultKEK: gcpkms.URI(closeTestKey),
	})
	if err != nil {
		t.Fatalf("keyring.New() err = %v", err)
	}
	if err := keyring.NewManager(kr).CreateKeysets(ctx, "acme", "pii"); err != nil {
		t.Fatalf("CreateKeysets() err = %v", err)
	}
	if got := kr.Stats().KMSCalls; got == 0 || int64(srv.Calls()) != got {
		t.Errorf("Stats().KMSCalls = %d, server received %d calls; want the same, not 0", got, srv.Calls())
	}
	waitConns(t, srv, 1)

	if err := kr.Close(); err != nil {
		t.Fatalf("Close() err = %v", err)
	}
	waitConns(t, srv, 0)
	if err := kr.Close(); err != nil {
		t.Errorf("second Close() err = %v, want nil", err)
	}

	// Close is final: the closed KEK is not used, nor opened again.
	calls := srv.Calls()
	_, err = kr.DataKeys(ctx, "globex", "pii")
	if !errors.Is(err, kms.ErrClosed) && !errors.Is(err, keyring.ErrClosed) {
		t.Errorf("DataKeys() after Close err = %v, want kms.ErrClosed or keyring.ErrClosed", err)
	}
	if got := srv.Calls(); got != calls {
		t.Errorf("server received %d calls after Close, want none", got-calls)
	}
	if got := srv.OpenConns(); got != 0 {
		t.Errorf("server holds %d client connections after DataKeys on a closed keyring, want 0", got)
	}
}

// TestCloseLeavesCallersClient checks that the keyring closes only what it
// opened: a Cloud KMS client the caller gave the opener (Options.Client)
// stays open and usable.
func TestCloseLeavesCallersClient(t *testing.T) {
	ctx := context.Background()
	srv := startCloudKMS(t)
	client, err := gcpkms.NewClient(ctx, &gcpkms.Options{Endpoint: srv.Addr(), WithoutAuthentication: true, Insecure: true})
	if err != nil {
		t.Fatalf("gcpkms.NewClient() err = %v", err)
	}
	t.Cleanup(func() { client.Close() })
	opener := kms.NewOpener()
	opener.Register(gcpkms.Scheme, gcpkms.OpenFunc(&gcpkms.Options{Client: client}))
	kr, err := keyring.New(keyring.Config{
		Store: keyring.NewMemoryStore(), Opener: opener, DefaultKEK: gcpkms.URI(closeTestKey),
	})
	if err != nil {
		t.Fatalf("keyring.New() err = %v", err)
	}
	if err := keyring.NewManager(kr).CreateKeysets(ctx, "acme", "pii"); err != nil {
		t.Fatalf("CreateKeysets() err = %v", err)
	}
	if err := kr.Close(); err != nil {
		t.Fatalf("Close() err = %v", err)
	}
	useClient(t, client)
	waitConns(t, srv, 1)
}

func useClient(t *testing.T, client *cloudkms.KeyManagementClient) {
	t.Helper()
	kek, err := gcpkms.New(client, gcpkms.URI(closeTestKey), nil)
	if err != nil {
		t.Fatalf("gcpkms.New() err = %v", err)
	}
	if _, err := kek.EncryptWithContext(context.Background(), []byte("keyset"), nil); err != nil {
		t.Errorf("EncryptWithContext() through the caller's client after keyring Close: err = %v", err)
	}
}

// hangingDriver is a KEK driver whose Encrypt waits until release is
// closed, as a KMS that stopped answering.
type hangingDriver struct {
	started, release chan struct{}
}

func (d *hangingDriver) Encrypt(ctx context.Context, pt, _ []byte) ([]byte, error) {
	close(d.started)
	<-d.release
	return nil, errors.New("the KMS did not answer")
}
func (d *hangingDriver) Decrypt(context.Context, []byte, []byte) ([]byte, error) {
	return nil, errors.New("unused")
}
func (d *hangingDriver) ErrorCode(string, error) kms.Code { return kms.CodeUnavailable }
func (d *hangingDriver) Close() error                     { return nil }

// TestCloseDoesNotStallTheKeyring: Close waits for a KEK call in flight
// (here one that hangs, as a KMS that stopped answering does until the load
// times out), but Stats, the metrics callback and the lookups of other KEKs
// must not wait with it.
func TestCloseDoesNotStallTheKeyring(t *testing.T) {
	drv := &hangingDriver{started: make(chan struct{}), release: make(chan struct{})}
	opener := kms.NewOpener()
	opener.Register("hang", func(_ context.Context, uri string) (*kms.Keeper, error) { return kms.NewKeeper(uri, drv), nil })
	kr, err := keyring.New(keyring.Config{Store: keyring.NewMemoryStore(), Opener: opener, DefaultKEK: "hang://pii"})
	if err != nil {
		t.Fatalf("keyring.New() err = %v", err)
	}
	go kr.DataKeys(context.Background(), "acme", "pii") // creates: one Encrypt, which hangs
	<-drv.started
	closed := make(chan error, 1)
	go func() { closed <- kr.Close() }()
	stats := make(chan keyring.Stats, 1)
	go func() { stats <- kr.Stats() }()
	select {
	case s := <-stats:
		if s.KMSCalls != 1 {
			t.Errorf("Stats().KMSCalls = %d during Close, want 1 (the hanging call)", s.KMSCalls)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Stats() waited for Close, which waits for a hanging KMS call")
	}
	select {
	case <-closed:
		t.Fatal("Close() returned while a KEK call was in flight")
	default:
	}
	close(drv.release)
	if err := <-closed; err != nil {
		t.Errorf("Close() err = %v", err)
	}
}
