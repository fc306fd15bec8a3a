package vault

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/fieldcrypt/fieldcrypt/kms"
)

// Waits between failed logins of the renewal loop.
const (
	minReloginWait = time.Second
	maxReloginWait = time.Minute
)

// login logs in with AppRole and sets the client's token. The login goes
// through a clone of the client without a token (the old one may have
// expired), so that calls in flight keep the old token until the new one is
// set.
func (c *Conn) login(ctx context.Context) (*api.Secret, error) {
	ar := c.opts.AppRole
	fail := func(code kms.Code, err error) (*api.Secret, error) {
		return nil, &kms.Error{Code: code, Op: "login", Backend: Scheme, Err: err}
	}
	if ar.RoleID == "" {
		return fail(kms.CodeInvalidArgument, errors.New("AppRole login needs a role ID"))
	}
	path := "auth/" + ar.mount() + "/login"
	body := map[string]any{"role_id": ar.RoleID}
	if ar.SecretID != "" {
		body["secret_id"] = ar.SecretID
	}
	anon, err := c.client.CloneWithHeaders()
	if err != nil {
		return fail(kms.CodeUnknown, err)
	}
	anon.ClearToken()
	secret, err := anon.Logical().WriteWithContext(ctx, path, body)
	if err != nil {
		code := codeOf(ctx, err)
		if code == kms.CodeInvalidArgument {
			// Vault answers 400 "invalid role or secret ID" to bad credentials.
			code = kms.CodePermissionDenied
		}
		return fail(code, cause(err))
	}
	if secret == nil || secret.Auth == nil || secret.Auth.ClientToken == "" {
		return fail(kms.CodeUnknown, errors.New("AppRole login answered without a client token"))
	}
	c.client.SetToken(secret.Auth.ClientToken)
	return secret, nil
}

// keepLoggedIn renews the token of secret with the api's LifetimeWatcher and,
// when the token can no longer be renewed (its maximum TTL is near, or
// renewal failed), logs in again. It returns when ctx ends.
func (c *Conn) keepLoggedIn(ctx context.Context, secret *api.Secret) {
	defer close(c.done)
	log := c.opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	wait := minReloginWait
	for {
		if secret != nil {
			c.watch(ctx, secret, log)
			secret = nil
		}
		if ctx.Err() != nil {
			return
		}
		var err error
		secret, err = c.login(ctx)
		if err == nil {
			wait = minReloginWait
			continue
		}
		if ctx.Err() != nil {
			return
		}
		log.Warn("vault: AppRole login failed; retrying", "error", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, maxReloginWait)
	}
}

// watch renews secret's token until it cannot be renewed any more or ctx
// ends.
func (c *Conn) watch(ctx context.Context, secret *api.Secret, log *slog.Logger) {
	if secret.Auth != nil && secret.Auth.LeaseDuration <= 0 {
		<-ctx.Done() // a token that never expires
		return
	}
	w, err := c.client.NewLifetimeWatcher(&api.LifetimeWatcherInput{Secret: secret})
	if err != nil {
		log.Warn("vault: cannot watch the token's lifetime; logging in again", "error", err)
		return
	}
	go w.Start()
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case err := <-w.DoneCh():
			if err != nil {
				log.Warn("vault: token renewal stopped; logging in again", "error", err)
			}
			return
		case <-w.RenewCh():
		}
	}
}
