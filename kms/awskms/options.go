package awskms

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	awskms "github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/fieldcrypt/fieldcrypt/kms"
)

// Options configures the AWS KMS backend. A nil *Options is the zero value,
// which uses the SDK's default credential chain, the ARN's region, AWS's
// endpoint and the SDK's standard retries.
//
// Region, Endpoint, Credentials, MaxAttempts and MaxBackoff are used when
// this package builds the client ([NewClient], [OpenFunc]); [New] uses the
// client it is given as it is. GrantTokens applies to every call.
type Options struct {
	// Region overrides the region in the key's ARN when building a client.
	// Leave it empty: AWS KMS keys are regional and the ARN names the region.
	Region string

	// Endpoint overrides the AWS endpoint (the SDK's BaseEndpoint), such as
	// "http://127.0.0.1:4599" for local-kms or a VPC endpoint's URL.
	Endpoint string

	// Credentials signs the requests. Nil means the SDK's default chain
	// (environment, shared config and credentials files, web identity, ECS
	// and EC2 instance roles). Use [StaticCredentials] for fixed keys.
	Credentials aws.CredentialsProvider

	// MaxAttempts bounds the attempts of one call, retries included; 0
	// means the SDK's default (3). 1 disables retries, which suits callers
	// that retry transient errors themselves.
	MaxAttempts int

	// MaxBackoff bounds the wait between two attempts; 0 means the SDK's
	// default (20s).
	MaxBackoff time.Duration

	// GrantTokens are passed on every Encrypt, Decrypt and ReEncrypt call,
	// for keys that the caller may use through a new grant.
	GrantTokens []string
}

// String describes the options without credentials.
func (o *Options) String() string {
	if o == nil {
		return "awskms.Options{}"
	}
	creds := "default chain"
	if o.Credentials != nil {
		creds = fmt.Sprintf("%T", o.Credentials)
	}
	return fmt.Sprintf("awskms.Options{Region: %q, Endpoint: %q, Credentials: %s, MaxAttempts: %d, MaxBackoff: %v, GrantTokens: %d}",
		o.Region, o.Endpoint, creds, o.MaxAttempts, o.MaxBackoff, len(o.GrantTokens))
}

// GoString is String, so that %#v does not print credentials either.
func (o *Options) GoString() string { return o.String() }

// StaticCredentials returns a credentials provider for a fixed access key.
// sessionToken may be empty. Formatting the provider shows the access key ID,
// never the secret or the token.
func StaticCredentials(accessKeyID, secretAccessKey, sessionToken string) aws.CredentialsProvider {
	return staticCredentials{aws.Credentials{
		AccessKeyID:     accessKeyID,
		SecretAccessKey: secretAccessKey,
		SessionToken:    sessionToken,
		Source:          "awskms.StaticCredentials",
	}}
}

type staticCredentials struct{ v aws.Credentials }

func (s staticCredentials) Retrieve(context.Context) (aws.Credentials, error) {
	if s.v.AccessKeyID == "" || s.v.SecretAccessKey == "" {
		return aws.Credentials{}, errors.New("awskms.StaticCredentials: access key ID or secret access key is empty")
	}
	return s.v, nil
}

func (s staticCredentials) String() string {
	return "awskms.StaticCredentials(" + s.v.AccessKeyID + ")"
}

func (s staticCredentials) GoString() string { return s.String() }

// credentialsError marks a failure to obtain credentials, so that it is
// classified as permission denied rather than as whatever the chain's last
// source failed with.
type credentialsError struct{ err error }

func (e *credentialsError) Error() string { return "obtain AWS credentials: " + e.err.Error() }
func (e *credentialsError) Unwrap() error { return e.err }

type markedCredentials struct{ p aws.CredentialsProvider }

func (m markedCredentials) Retrieve(ctx context.Context) (aws.Credentials, error) {
	c, err := m.p.Retrieve(ctx)
	if err != nil {
		return c, &credentialsError{err}
	}
	return c, nil
}

// NewClient builds an AWS KMS client for region from opts (which may be
// nil; opts.Region, when set, wins over region). It reads the shared AWS
// configuration and, with no Credentials in opts, resolves the default
// credential chain lazily, on the first call. Errors are [*kms.Error].
func NewClient(ctx context.Context, region string, opts *Options) (*awskms.Client, error) {
	if opts == nil {
		opts = &Options{}
	}
	if opts.Region != "" {
		region = opts.Region
	}
	if region == "" {
		return nil, &kms.Error{Code: kms.CodeInvalidArgument, Op: "open", Backend: Scheme,
			Err: errors.New("no region: name one in the key ARN or in Options.Region")}
	}
	if opts.MaxAttempts < 0 || opts.MaxBackoff < 0 {
		return nil, &kms.Error{Code: kms.CodeInvalidArgument, Op: "open", Backend: Scheme,
			Err: fmt.Errorf("negative retry settings: MaxAttempts %d, MaxBackoff %v", opts.MaxAttempts, opts.MaxBackoff)}
	}
	load := []func(*config.LoadOptions) error{config.WithRegion(region)}
	if opts.Credentials != nil {
		load = append(load, config.WithCredentialsProvider(opts.Credentials))
	}
	if opts.MaxAttempts > 0 || opts.MaxBackoff > 0 {
		load = append(load, config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				if opts.MaxAttempts > 0 {
					o.MaxAttempts = opts.MaxAttempts
				}
				if opts.MaxBackoff > 0 {
					o.MaxBackoff = opts.MaxBackoff
				}
			})
		}))
	}
	cfg, err := config.LoadDefaultConfig(ctx, load...)
	if err != nil {
		code := kms.CodeInvalidArgument
		if c, ok := kms.ContextCode(err); ok {
			code = c
		}
		return nil, &kms.Error{Code: code, Op: "open", Backend: Scheme, Err: fmt.Errorf("load AWS configuration: %w", err)}
	}
	if cfg.Credentials != nil {
		cfg.Credentials = markedCredentials{cfg.Credentials}
	}
	return awskms.NewFromConfig(cfg, func(o *awskms.Options) {
		if opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(opts.Endpoint)
		}
	}), nil
}
