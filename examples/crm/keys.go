package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/keyring/sqlstore"
	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/local"
	"github.com/fieldcrypt/fieldcrypt/kms/vault"
)

// devKEKPath is where the development KEK of class is kept.
func devKEKPath(dataDir, class string) string {
	return filepath.Join(dataDir, "keks", class+".json")
}

// kekURIs returns the KEK URI of each class the role holds, and nothing for
// the others: a support process is never told where the pii KEK is, so it
// cannot unwrap the pii keysets even though it reads the same database.
//
// A class with no configured URI gets a local development KEK in the data
// directory. The admin role creates it on first start; the support role
// only uses one that exists, because a new KEK could not unwrap the
// keysets already stored.
func kekURIs(cfg Config, log *slog.Logger) (map[string]string, error) {
	out := map[string]string{}
	for _, class := range cfg.Role.classes() {
		if uri := cfg.KEKs[class]; uri != "" {
			out[class] = uri
			continue
		}
		path := devKEKPath(cfg.DataDir, class)
		_, err := os.Stat(path)
		switch {
		case err == nil:
			out[class] = local.URI(path)
		case errors.Is(err, fs.ErrNotExist) && cfg.Role == RoleAdmin:
			uri, err := local.CreateInsecureKeyFile(path)
			if err != nil {
				return nil, fmt.Errorf("create the development KEK of class %s: %w", class, err)
			}
			log.Warn("created a local development KEK: for development only, use a KMS in production", "class", class, "kek", uri)
			out[class] = uri
		case errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("no %s KEK: %s does not exist; start the service once as admin to create the development KEKs, or pass -kek-%s", class, path, class)
		default:
			return nil, fmt.Errorf("development KEK of class %s: %w", class, err)
		}
	}
	return out, nil
}

// newKeyring returns the keyring of the role: the keysets live in store,
// wrapped by the KEKs of kekURIs, and anchor records their versions
// outside store's database (anchor.go).
func newKeyring(cfg Config, store *sqlstore.Store, anchor keyring.Anchor, log *slog.Logger) (*keyring.Keyring, error) {
	keks, err := kekURIs(cfg, log)
	if err != nil {
		return nil, err
	}
	opener := kms.NewOpener()
	opener.Register(local.Scheme, local.OpenFunc(nil))
	opener.Register(vault.Scheme, vault.OpenFunc(nil)) // VAULT_ADDR, VAULT_TOKEN
	kr, err := keyring.New(keyring.Config{
		Store:  store,
		Anchor: anchor,
		Opener: opener,
		KEKs:   keks,
		Logger: log.With("component", "keyring"),
	})
	if err != nil {
		return nil, err
	}
	log.Info("keyring ready", "role", cfg.Role, "classes", slices.Sorted(maps.Keys(keks)))
	return kr, nil
}

// kekCheckTenants bounds how many tenants checkKEKs tries per class.
const kekCheckTenants = 20

// checkKEKs makes sure the role's KEKs unwrap the keysets already stored,
// so that a wrong or unreachable KEK shows at startup instead of on the
// first request. For each class the role holds it unwraps the data keyset
// of one tenant, read-only: ExistingDataKeys creates no keyset and makes
// no KMS call to wrap. tenants are candidates, in order (a few tenants of
// the database).
//
// No single tenant decides whether the service starts. A tenant that was
// shredded, has no keyset of the class, or whose keyset was rolled back
// or deleted in the store says something about that tenant, not about
// the KEK: it is skipped (a rollback is logged: it is an attack or a
// botched restore). A keyset that does not unwrap may be a wrong KEK or
// one tampered-with row: the check goes on to the next tenant, and fails
// only when no tenant's keyset unwraps. An unreachable KEK fails at once.
// When no candidate has a keyset of the class, there is nothing to check
// it against yet.
func checkKEKs(ctx context.Context, kr *keyring.Keyring, role Role, tenants []string, log *slog.Logger) error {
	for _, class := range role.classes() {
		var firstErr error
		checked := false
		for _, tenant := range tenants {
			_, err := kr.ExistingDataKeys(ctx, tenant, class)
			if err == nil {
				checked = true
				break
			}
			switch {
			case errors.Is(err, keyring.ErrScopeShredded), errors.Is(err, keyring.ErrKeysetNotFound):
			case errors.Is(err, keyring.ErrRollback):
				log.Error("keyset rollback refused", "tenant", tenant, "class", class, "err", err)
			case errors.Is(err, keyring.ErrKEKUnavailable), ctx.Err() != nil:
				return fmt.Errorf("keys of class %s: %w", class, err)
			case firstErr == nil:
				firstErr = fmt.Errorf("keys of class %s, tenant %s: %w", class, tenant, err)
			}
		}
		switch {
		case !checked && firstErr != nil:
			return firstErr
		case firstErr != nil:
			// Another tenant's keyset unwraps: the KEK is right, and this
			// one tenant's keyset is damaged.
			log.Error("a tenant's keyset does not unwrap", "err", firstErr)
		case !checked:
			log.Info("no stored keyset to check the KEK against yet", "class", class)
		}
	}
	return nil
}
