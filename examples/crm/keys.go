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
// wrapped by the KEKs of kekURIs.
func newKeyring(cfg Config, store *sqlstore.Store, log *slog.Logger) (*keyring.Keyring, error) {
	keks, err := kekURIs(cfg, log)
	if err != nil {
		return nil, err
	}
	opener := kms.NewOpener()
	opener.Register(local.Scheme, local.OpenFunc(nil))
	opener.Register(vault.Scheme, vault.OpenFunc(nil)) // VAULT_ADDR, VAULT_TOKEN
	kr, err := keyring.New(keyring.Config{
		Store:  store,
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

// checkKEKs unwraps the data keysets of tenant (a tenant already in the
// database) for every class the role holds, so that a wrong or unreachable
// KEK shows at startup instead of on the first request.
func checkKEKs(ctx context.Context, kr *keyring.Keyring, role Role, tenant string) error {
	for _, class := range role.classes() {
		if _, err := kr.DataKeys(ctx, tenant, class); err != nil {
			return fmt.Errorf("keys of class %s: %w", class, err)
		}
	}
	return nil
}
