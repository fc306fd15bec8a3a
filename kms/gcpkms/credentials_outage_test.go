package gcpkms_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"

	"cloud.google.com/go/auth"
	cloudkms "cloud.google.com/go/kms/apiv1"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/gcpkms"
)

// failingTokenSource is per-RPC credentials whose token cannot be had, as
// the client library's are when the metadata server or the OAuth token
// endpoint fails. gRPC turns such a failure into an Unauthenticated status
// of the call, whatever its cause.
type failingTokenSource struct{ err error }

func (f failingTokenSource) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return nil, f.err
}
func (failingTokenSource) RequireTransportSecurity() bool { return false }

// TestCredentialsOutageIsTransient plays an outage of the token source
// rather than of Cloud KMS: the GCE metadata server or Google's OAuth
// token endpoint cannot be reached, or answers 503. The key's permissions
// are unchanged, so the call must fail as unavailable (transient), not as
// permission denied, which the keyring takes for revoked access (it drops
// its cached keysets instead of serving them for the stale period). A
// token endpoint that refuses the credentials themselves is still
// permission denied.
func TestCredentialsOutageIsTransient(t *testing.T) {
	srv := startFake(t)
	refused := func() error {
		c, err := net.Dial("tcp", "127.0.0.1:1")
		if err == nil {
			c.Close()
			t.Fatal("something listens on 127.0.0.1:1")
		}
		return err
	}()
	for _, tc := range []struct {
		name string
		err  error
		want kms.Code
	}{
		{"token endpoint unreachable", refused, kms.CodeUnavailable},
		{"token endpoint answers 503", &auth.Error{Response: &http.Response{StatusCode: http.StatusServiceUnavailable}, Body: []byte("backend unavailable")}, kms.CodeUnavailable},
		{"token endpoint throttles", &auth.Error{Response: &http.Response{StatusCode: http.StatusTooManyRequests}, Body: []byte("slow down")}, kms.CodeThrottled},
		{"token endpoint refuses the key", &auth.Error{Response: &http.Response{StatusCode: http.StatusBadRequest}, Body: []byte(`{"error":"invalid_grant"}`)}, kms.CodePermissionDenied},
		{"no token at all", errors.New("credentials: could not find default credentials"), kms.CodePermissionDenied},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, err := cloudkms.NewKeyManagementClient(t.Context(),
				option.WithEndpoint(srv.Addr()),
				option.WithoutAuthentication(),
				option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())),
				option.WithGRPCDialOption(grpc.WithPerRPCCredentials(failingTokenSource{tc.err})),
			)
			if err != nil {
				t.Fatalf("NewKeyManagementClient() err = %v", err)
			}
			t.Cleanup(func() { client.Close() })
			kek, _ := newKEK(t, srv, client, &gcpkms.Options{CallOptions: noRetry})
			_, err = kek.EncryptWithContext(t.Context(), secretPlaintext, keysetAAD)
			if got := kms.CodeOf(err); got != tc.want {
				t.Errorf("EncryptWithContext() code = %v, want %v (err = %v)", got, tc.want, err)
			}
			if kms.IsTransient(err) != tc.want.Transient() {
				t.Errorf("EncryptWithContext() IsTransient = %v, want %v (err = %v)", kms.IsTransient(err), tc.want.Transient(), err)
			}
		})
	}
}
