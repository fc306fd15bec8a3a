package cli

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/fieldcrypt/fieldcrypt/reencrypt"
)

// jobDB is the CRM database and the tables the job, verify and status work
// on.
type jobDB struct {
	db      *sql.DB
	dialect reencrypt.Dialect
	shown   string // the database, safe to print
	tables  []reencrypt.Table
}

// tables returns the configured tables (nil when none are configured):
// from tables_file if set, else from the tables: key of the config file.
func (a *app) tables() ([]reencrypt.Table, error) {
	cfg, err := a.config()
	if err != nil {
		return nil, err
	}
	var rc *reencrypt.Config
	switch {
	case cfg.TablesFile != "":
		if rc, err = reencrypt.LoadConfig(cfg.TablesFile); err != nil {
			return nil, usagef("%s: %w", cfg.origin("tables_file"), err)
		}
	case cfg.Job != nil:
		// The node keeps the lines and columns of the config file itself.
		if rc, err = reencrypt.ParseConfigNode(cfg.Job); err != nil {
			return nil, usagef("config file %s: %w", cfg.JobFrom, err)
		}
	default:
		return nil, nil
	}
	return rc.Tables, nil
}

// tablesError makes an error that says the tables configuration
// disagrees with the database (a *reencrypt.ConfigError: a configured table
// or column is missing, a key column is not of the configured key_type,
// two configured names are one column to the database; or the stored
// values were written otherwise than it describes) a configuration error,
// exit 64; other errors pass through.
func tablesError(err error) error {
	var ce *reencrypt.ConfigError
	if errors.As(err, &ce) || errors.Is(err, reencrypt.ErrMissingColumn) || errors.Is(err, reencrypt.ErrConfigDrift) {
		return &usageError{err}
	}
	return err
}

// openJobDB opens the CRM database (database, or the keyset store's own
// database) and selects the tables named by only (every table when only
// is empty).
func (a *app) openJobDB(ctx context.Context, only []string) (*jobDB, error) {
	tables, err := a.tables()
	if err != nil {
		return nil, err
	}
	if len(tables) == 0 {
		return nil, usagef("no tables configured: describe them under tables: in the config file, or in a file named by --tables (FIELDCRYPT_TABLES_FILE)")
	}
	for _, name := range only {
		if !slices.ContainsFunc(tables, func(t reencrypt.Table) bool { return t.Name == name }) {
			return nil, usagef("--table %q is not a configured table", name)
		}
	}
	if len(only) > 0 {
		tables = slices.DeleteFunc(tables, func(t reencrypt.Table) bool { return !slices.Contains(only, t.Name) })
	}
	key, dsn := "database", a.cfg.Database
	if dsn == "" {
		key, dsn = "store", a.cfg.Store
	}
	ds, err := parseDSN(dsn)
	if err != nil {
		return nil, usagef("%s: %w", a.cfg.origin(key), err)
	}
	if ds.kind == "dir" {
		return nil, usagef("no database configured for the tables: set database (FIELDCRYPT_DATABASE_DSN, --database); the keyset store %s is a directory", ds.shown)
	}
	d, err := reencrypt.ParseDialect(ds.kind)
	if err != nil {
		return nil, usagef("%s: %w", a.cfg.origin(key), err)
	}
	db, err := openDB(ctx, ds, true)
	if err != nil {
		return nil, fmt.Errorf("CRM database: %w", err)
	}
	a.onClose(db.Close)
	return &jobDB{db: db, dialect: d, shown: ds.shown, tables: tables}, nil
}
