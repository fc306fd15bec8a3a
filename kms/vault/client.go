package vault

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/fieldcrypt/fieldcrypt/kms"
)

// Defaults for the client that [Dial] builds.
const (
	defaultMaxRetries   = 3
	defaultMinRetryWait = 250 * time.Millisecond
	defaultMaxRetryWait = 2 * time.Second
	defaultTimeout      = 30 * time.Second
)

// Conn is a Vault API client built from [Options], logged in. With AppRole
// it keeps its token renewed, and logs in again when the token reaches its
// maximum TTL, until Close. A Conn is safe for concurrent use.
type Conn struct {
	client *api.Client
	opts   *Options
	stop   context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// Dial builds a Vault API client from opts (nil means the environment) and
// logs in. ctx bounds the login; token renewal runs until [Conn.Close].
// Errors are [*kms.Error]s: a bad option is CodeInvalidArgument, a failed
// login has the code of its cause (CodePermissionDenied for bad credentials,
// CodeUnavailable for an unreachable server).
func Dial(ctx context.Context, opts *Options) (*Conn, error) {
	opts = opts.orZero()
	client, err := newAPIClient(opts)
	if err != nil {
		return nil, err
	}
	c := &Conn{client: client, opts: opts, done: make(chan struct{})}
	if opts.AppRole == nil {
		close(c.done)
		c.stop = func() {}
		return c, nil
	}
	secret, err := c.login(ctx)
	if err != nil {
		return nil, err
	}
	renewCtx, stop := context.WithCancel(context.Background())
	c.stop = stop
	go c.keepLoggedIn(renewCtx, secret)
	return c, nil
}

// Client returns the API client, for [New] or for other Vault calls. Its
// token changes when the Conn logs in again.
func (c *Conn) Client() *api.Client { return c.client }

// Open returns the KEK that keyURI names, on this connection, with the
// connection's options.
func (c *Conn) Open(keyURI string) (*kms.Keeper, error) { return New(c.client, keyURI, c.opts) }

// Close stops token renewal. It does not revoke the token. It is safe to call
// more than once.
func (c *Conn) Close() error {
	c.once.Do(func() {
		c.stop()
		<-c.done
	})
	return nil
}

// newAPIClient builds the api client: environment first, then opts.
func newAPIClient(opts *Options) (*api.Client, error) {
	bad := func(err error) error {
		return &kms.Error{Code: kms.CodeInvalidArgument, Op: "dial", Backend: Scheme, Err: err}
	}
	cfg := api.DefaultConfig()
	if cfg.Error != nil {
		return nil, bad(fmt.Errorf("reading the Vault environment: %w", cfg.Error))
	}
	if opts.Address != "" {
		cfg.Address = opts.Address
	}
	if t := opts.TLS; t != nil {
		err := cfg.ConfigureTLS(&api.TLSConfig{
			CACert:        t.CACert,
			CAPath:        t.CAPath,
			ClientCert:    t.ClientCert,
			ClientKey:     t.ClientKey,
			TLSServerName: t.ServerName,
			Insecure:      t.InsecureSkipVerify,
		})
		if err != nil {
			return nil, bad(fmt.Errorf("configuring TLS: %w", err))
		}
	}
	switch {
	case opts.MaxRetries < 0:
		cfg.MaxRetries = 0
	case opts.MaxRetries > 0:
		cfg.MaxRetries = opts.MaxRetries
	default:
		cfg.MaxRetries = defaultMaxRetries
	}
	cfg.MinRetryWait = orDefault(opts.MinRetryWait, defaultMinRetryWait)
	cfg.MaxRetryWait = orDefault(opts.MaxRetryWait, defaultMaxRetryWait)
	cfg.Timeout = orDefault(opts.Timeout, defaultTimeout)
	cfg.CheckRetry = CheckRetry

	client, err := api.NewClient(cfg)
	if err != nil {
		return nil, bad(fmt.Errorf("building the Vault client: %w", err))
	}
	if opts.Namespace != "" {
		client.SetNamespace(opts.Namespace)
	}
	switch {
	case opts.AppRole != nil:
		client.ClearToken()
	case opts.Token != "":
		client.SetToken(opts.Token)
	}
	return client, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// CheckRetry is the retry policy of the client that [Dial] builds: retry when
// Vault answered 429 (rate-limited), 412 (a performance standby not yet
// caught up with the state a request asks for, as the api's own policy
// retries it) or 5xx other than 501 (sealed, standby, overloaded); never
// when the context has ended, never on a transport error
// (a refused connection is returned at once as CodeUnavailable, for the
// caller to retry). Set it as api.Config.CheckRetry to give a client of your
// own the same policy.
func CheckRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil || resp == nil {
		return false, nil
	}
	s := resp.StatusCode
	return s == http.StatusTooManyRequests || s == http.StatusPreconditionFailed || (s >= 500 && s != http.StatusNotImplemented), nil
}
