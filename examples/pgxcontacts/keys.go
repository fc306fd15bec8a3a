package main

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/keyring/sqlstore"
	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/local"
)

// openContacts sets fieldcrypt up once for the service: the wrapped
// keysets live in PostgreSQL next to the data, and keks maps each field
// class to the URI of its key-encryption key. Call close when done.
func openContacts(ctx context.Context, pool *pgxpool.Pool, keks map[string]string) (s *Contacts, close func() error, err error) {
	opener := kms.NewOpener()
	opener.Register(local.Scheme, local.OpenFunc(nil)) // development KEKs; register kms/vault, kms/gcpkms or kms/awskms in production
	store, err := sqlstore.New(stdlib.OpenDBFromPool(pool), sqlstore.Postgres, nil)
	if err != nil {
		return nil, nil, err
	}
	if err := store.Migrate(ctx); err != nil {
		return nil, nil, err
	}
	kr, err := keyring.New(keyring.Config{Store: store, Opener: opener, KEKs: keks})
	if err != nil {
		return nil, nil, err
	}
	return &Contacts{pool: pool, enc: crypt.New(kr, nil)}, kr.Close, nil
}
