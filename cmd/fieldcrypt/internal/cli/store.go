package cli

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"

	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx"
	_ "modernc.org/sqlite"             // driver "sqlite"

	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/keyring/filestore"
	"github.com/fieldcrypt/fieldcrypt/keyring/sqlstore"
)

// openDB opens and pings the SQL database ds names. With mustExist, a
// SQLite file that does not exist is an error instead of a new empty
// database.
func openDB(ctx context.Context, ds dataSource, mustExist bool) (*sql.DB, error) {
	if ds.kind == "dir" {
		return nil, fmt.Errorf("%s is a directory store, not a database", ds.shown)
	}
	if ds.kind == "sqlite" && mustExist {
		if _, err := os.Stat(ds.path); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: the file does not exist", ds.shown)
		}
	}
	db, err := sql.Open(ds.driver, ds.source)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", ds.shown, err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connecting to %s: %w", ds.shown, err)
	}
	return db, nil
}

// openStore opens the keyset store. With create (keys init, keys import) it
// creates the store's table or directory when missing; otherwise a missing
// store is an error that says to run keys init.
func (a *app) openStore(ctx context.Context, create bool) (keyring.Store, error) {
	ds, err := parseDSN(a.cfg.Store)
	if err != nil {
		return nil, err
	}
	if ds.kind == "dir" {
		if !create {
			if _, err := os.Stat(ds.path); errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("keyset store %s does not exist (create it with `fieldcrypt keys init`)", ds.shown)
			}
		}
		s, err := filestore.Open(ds.path)
		if err != nil {
			return nil, fmt.Errorf("opening keyset store %s: %w", ds.shown, err)
		}
		return s, nil
	}
	if ds.kind == "sqlite" && !create {
		if _, err := os.Stat(ds.path); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("keyset store %s: the file does not exist (create it with `fieldcrypt keys init`)", ds.shown)
		}
	}
	db, err := openDB(ctx, ds, false)
	if err != nil {
		return nil, fmt.Errorf("keyset store: %w", err)
	}
	a.onClose(db.Close)
	s, err := sqlstore.New(db, ds.dialect, &sqlstore.Options{Table: a.cfg.StoreTable})
	if err != nil {
		return nil, usagef("%s: %w", a.cfg.origin("store_table"), err)
	}
	if create {
		if err := s.Migrate(ctx); err != nil {
			return nil, fmt.Errorf("keyset store %s: %w", ds.shown, err)
		}
	}
	return s, nil
}
