package vault

import (
	"fmt"
	"log/slog"
	"time"
)

// Options configures the backend. A nil *Options is the zero value, which is
// ready to use: the address, token, namespace and TLS settings then come from
// the environment the Vault CLI reads (VAULT_ADDR, VAULT_TOKEN,
// VAULT_NAMESPACE, VAULT_CACERT, ...).
//
// The connection fields are used by [Dial] and [OpenFunc], which build the
// API client; [New] takes a ready client and uses only the KEK fields.
type Options struct {
	// Address is the Vault server's URL, such as "https://vault.example:8200".
	// Empty means VAULT_ADDR, or Vault's default.
	Address string

	// Token is a Vault token. Empty means VAULT_TOKEN. Ignored when AppRole
	// is set.
	Token string

	// AppRole, when set, logs in with the AppRole auth method instead of
	// using a token, and keeps the token renewed (logging in again when it
	// can no longer be renewed) until the connection is closed.
	AppRole *AppRole

	// Namespace is the Vault Enterprise namespace, such as "team-a/". Empty
	// means VAULT_NAMESPACE, or none.
	Namespace string

	// TLS configures the connection to an https address. Nil keeps what the
	// environment sets (VAULT_CACERT, VAULT_CLIENT_CERT, ...).
	TLS *TLS

	// MaxRetries is how many times a call is retried when Vault answers 429
	// (rate-limited) or 5xx (sealed, standby, overloaded). Zero means 3;
	// negative means no retry. Other failures, a refused connection included,
	// are returned at once, classified, for the caller to retry.
	MaxRetries int

	// MinRetryWait and MaxRetryWait bound the wait between retries (zero
	// means 250ms and 2s). A Retry-After header from Vault is honoured. The
	// wait ends early when the context ends.
	MinRetryWait, MaxRetryWait time.Duration

	// Timeout bounds each request when the context has no earlier deadline.
	// Zero means 30s.
	Timeout time.Duration

	// Logger receives token renewal and login failures (never a token).
	// Nil discards them.
	Logger *slog.Logger

	// Rewrap chooses how [kms.Keeper.Rewrap] rewraps; see [RewrapMode].
	Rewrap RewrapMode
}

// AppRole holds AppRole credentials. Its String method does not print the
// secret ID.
type AppRole struct {
	RoleID   string
	SecretID string // a secret: never logged or printed
	// MountPath is where the AppRole auth method is enabled; empty means
	// "approle".
	MountPath string
}

// String implements fmt.Stringer without the secret ID.
func (a AppRole) String() string {
	return fmt.Sprintf("AppRole{RoleID: %q, SecretID: <redacted>, MountPath: %q}", a.RoleID, a.mount())
}

// GoString implements fmt.GoStringer without the secret ID.
func (a AppRole) GoString() string { return a.String() }

func (a AppRole) mount() string {
	if a.MountPath == "" {
		return "approle"
	}
	return a.MountPath
}

// TLS configures TLS to the Vault server. Paths name PEM files.
type TLS struct {
	CACert     string // CA certificate file that signs the server's certificate
	CAPath     string // directory of CA certificate files
	ClientCert string // client certificate file, for the cert auth method or mTLS
	ClientKey  string // the client certificate's private key file
	ServerName string // server name to verify (SNI), when it differs from the address
	// InsecureSkipVerify disables verification of the server's certificate.
	// Never use it in production.
	InsecureSkipVerify bool
}

// String implements fmt.Stringer without the token or the AppRole secret ID.
func (o Options) String() string {
	token := "<empty>"
	if o.Token != "" {
		token = "<redacted>"
	}
	approle := "<nil>"
	if o.AppRole != nil {
		approle = o.AppRole.String()
	}
	return fmt.Sprintf("vault.Options{Address: %q, Token: %s, AppRole: %s, Namespace: %q}", o.Address, token, approle, o.Namespace)
}

// GoString implements fmt.GoStringer without secrets.
func (o Options) GoString() string { return o.String() }

// RewrapMode chooses how [kms.Keeper.Rewrap] moves a ciphertext to the latest
// key version.
type RewrapMode int

const (
	// RewrapAuto calls Transit's rewrap endpoint, then checks that the result
	// still decrypts under the associated data. Transit's rewrap ignores
	// associated_data (Vault 1.21 and earlier), so when a ciphertext has
	// associated data the call fails or the check does; Rewrap then falls
	// back to decrypt and encrypt, and remembers to use that for this KEK.
	RewrapAuto RewrapMode = iota
	// RewrapDecryptEncrypt always decrypts and encrypts again. The plaintext
	// passes through this process's memory.
	RewrapDecryptEncrypt
)

func (o *Options) orZero() *Options {
	if o == nil {
		return &Options{}
	}
	return o
}
