package gcpkms

import (
	"context"
	"errors"
	"fmt"

	cloudkms "cloud.google.com/go/kms/apiv1"
	"github.com/googleapis/gax-go/v2"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/fieldcrypt/fieldcrypt/kms"
)

// DefaultIntegrityAttempts is how many times a call is made, in all, when
// every answer fails its CRC32C integrity check.
const DefaultIntegrityAttempts = 3

// Options configures the backend. A nil *Options is the zero value: a client
// built with Application Default Credentials against Google's endpoint, the
// client library's default retries, and [DefaultIntegrityAttempts].
type Options struct {
	// Client, when set, is the client that [OpenFunc] uses for every KEK it
	// opens; the caller keeps ownership and closes it. When nil, OpenFunc
	// builds one client per KEK from the fields below, and the KEK closes it
	// in its Close method.
	Client *cloudkms.KeyManagementClient

	// Endpoint is the host:port of the Cloud KMS gRPC service; empty means
	// Google's default.
	Endpoint string

	// ServiceAccountKeyFile is the path of a service-account JSON key file.
	// Empty means Application Default Credentials. Only the service-account
	// credential type is accepted from the file.
	ServiceAccountKeyFile string

	// WithoutAuthentication sends no credentials. It is for emulators and
	// tests; Google's service refuses unauthenticated calls.
	WithoutAuthentication bool

	// Insecure dials without TLS. It is for a test server on the loopback
	// interface, and requires WithoutAuthentication so that no credential is
	// ever sent in cleartext.
	Insecure bool

	// ClientOptions are appended, last, to the options the client is built
	// with: any option.ClientOption of google.golang.org/api/option passes
	// through here (quota project, token source, user agent, ...).
	ClientOptions []option.ClientOption

	// CallOptions are passed to every Encrypt and Decrypt call, after the
	// client's own defaults. The client library retries Unavailable and
	// DeadlineExceeded with backoff for up to 60 seconds unless the context
	// has an earlier deadline; gax.WithRetry(nil) turns that off.
	CallOptions []gax.CallOption

	// IntegrityAttempts is how many calls are made, in all, when answers keep
	// failing their CRC32C checks (Google asks for a limited number of
	// retries). Zero means DefaultIntegrityAttempts.
	IntegrityAttempts int
}

func (o *Options) callOptions() []gax.CallOption {
	if o == nil {
		return nil
	}
	return o.CallOptions
}

func (o *Options) integrityAttempts() int {
	if o == nil || o.IntegrityAttempts <= 0 {
		return DefaultIntegrityAttempts
	}
	return o.IntegrityAttempts
}

// clientOptions returns the client options that opts describes, in the
// order NewClient applies them. opts may be nil.
func clientOptions(opts *Options) ([]option.ClientOption, error) {
	if opts == nil {
		return nil, nil
	}
	if opts.Insecure && !opts.WithoutAuthentication {
		return nil, errors.New("Options.Insecure requires Options.WithoutAuthentication: credentials must not travel without TLS")
	}
	if opts.WithoutAuthentication && opts.ServiceAccountKeyFile != "" {
		return nil, errors.New("Options.WithoutAuthentication and Options.ServiceAccountKeyFile are both set")
	}
	var out []option.ClientOption
	if opts.Endpoint != "" {
		out = append(out, option.WithEndpoint(opts.Endpoint))
	}
	if opts.ServiceAccountKeyFile != "" {
		out = append(out, option.WithAuthCredentialsFile(option.ServiceAccount, opts.ServiceAccountKeyFile))
	}
	if opts.WithoutAuthentication {
		out = append(out, option.WithoutAuthentication())
	}
	if opts.Insecure {
		out = append(out, option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
	}
	return append(out, opts.ClientOptions...), nil
}

// NewClient builds a Cloud KMS gRPC client from opts (which may be nil). The
// caller closes it. ctx is used only while the client is built. Inconsistent
// options are [kms.CodeInvalidArgument]; credentials that cannot be found or
// read are [kms.CodePermissionDenied].
func NewClient(ctx context.Context, opts *Options) (*cloudkms.KeyManagementClient, error) {
	copts, err := clientOptions(opts)
	if err != nil {
		return nil, &kms.Error{Code: kms.CodeInvalidArgument, Op: "open", Backend: Scheme, Err: err}
	}
	client, err := cloudkms.NewKeyManagementClient(ctx, copts...)
	if err != nil {
		// What fails here is finding or reading credentials.
		code := kms.CodePermissionDenied
		if c, ok := kms.ContextCode(ctx.Err()); ok {
			code = c
		}
		return nil, &kms.Error{Code: code, Op: "open", Backend: Scheme,
			Err: fmt.Errorf("build Cloud KMS client: %w", err)}
	}
	return client, nil
}
