package kms

import (
	"context"
	"fmt"
	"strings"
	"sync"
)

// OpenFunc opens the KEK that uri names. The opener has already checked that
// uri has the scheme the function was registered for. Each call returns a
// new [*Keeper], which the caller owns: closing it must not close a Keeper
// that another call returned (a client shared between them stays open).
type OpenFunc func(ctx context.Context, uri string) (*Keeper, error)

// Opener turns KEK URIs into [Keeper]s, dispatching on the URI scheme. It holds no
// global state: a program registers exactly the backends it links. The zero
// value is not usable; call [NewOpener]. An Opener is safe for concurrent use.
type Opener struct {
	mu      sync.RWMutex
	schemes map[string]OpenFunc
}

// NewOpener returns an Opener with no schemes registered.
func NewOpener() *Opener {
	return &Opener{schemes: make(map[string]OpenFunc)}
}

// Register makes o open URIs of the given scheme (without "://") with open.
// It replaces any earlier registration of the scheme.
func (o *Opener) Register(scheme string, open OpenFunc) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.schemes[scheme] = open
}

// Schemes returns the registered schemes, in no particular order.
func (o *Opener) Schemes() []string {
	o.mu.RLock()
	defer o.mu.RUnlock()
	out := make([]string, 0, len(o.schemes))
	for s := range o.schemes {
		out = append(out, s)
	}
	return out
}

// Open returns the KEK that uri names, as a new Keeper that the caller owns
// and closes. An unknown or missing scheme is an [*Error] with
// CodeInvalidArgument.
func (o *Opener) Open(ctx context.Context, uri string) (*Keeper, error) {
	scheme, _, ok := strings.Cut(uri, "://")
	if !ok || scheme == "" {
		return nil, &Error{Code: CodeInvalidArgument, Op: "open", Backend: "opener", KeyURI: uri,
			Err: fmt.Errorf("KEK URI has no scheme (want scheme://...)")}
	}
	o.mu.RLock()
	open := o.schemes[scheme]
	o.mu.RUnlock()
	if open == nil {
		return nil, &Error{Code: CodeInvalidArgument, Op: "open", Backend: "opener", KeyURI: uri,
			Err: fmt.Errorf("no backend registered for scheme %q", scheme)}
	}
	return open(ctx, uri)
}

// Scheme returns the scheme of a KEK URI ("hcvault" for
// "hcvault://transit/keys/pii"), or "" when it has none.
func Scheme(uri string) string {
	scheme, _, ok := strings.Cut(uri, "://")
	if !ok {
		return ""
	}
	return scheme
}
