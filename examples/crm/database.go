package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/gormcrypt"
	"github.com/fieldcrypt/fieldcrypt/keyring/sqlstore"
)

// database is the service's GORM handle. Its connection pool holds both
// the CRM's tables and the wrapped keysets (sqlstore's table): the keyset
// store is opened on the same *sql.DB, so SQLite has one driver (the
// glebarez driver, registered as "sqlite", that GORM uses) and one file.
type database struct {
	*gorm.DB
	pool    *sql.DB
	enc     *crypt.Encryptor // the plugin's, once use has registered it
	dialect sqlstore.Dialect
	where   string // what to tell the user: a file path, or "PostgreSQL at ..."
}

// openDatabase opens and pings the database cfg names. now is the clock
// GORM fills CreatedAt and UpdatedAt from.
func openDatabase(ctx context.Context, cfg Config, now func() time.Time) (*database, error) {
	kind, target, err := databaseKind(cfg.DB)
	if err != nil {
		return nil, err
	}
	d := &database{}
	var dialector gorm.Dialector
	switch kind {
	case "postgres":
		d.dialect, d.where = sqlstore.Postgres, "PostgreSQL at "+redactDSN(target)
		dialector = postgres.Open(target)
	default:
		if target == "" {
			target = filepath.Join(cfg.DataDir, "crm.db")
		}
		d.dialect, d.where = sqlstore.SQLite, "SQLite at "+target
		// WAL and a busy timeout let the admin and support processes share
		// the file; foreign_keys makes deleting a contact delete its history.
		q := url.Values{"_pragma": {"busy_timeout(5000)", "journal_mode(WAL)", "foreign_keys(1)"}}
		dialector = sqlite.Open("file:" + target + "?" + q.Encode())
	}
	d.DB, err = gorm.Open(dialector, &gorm.Config{
		// GORM's logger prints statements with their arguments: blind-index
		// values and ciphertexts have no place in logs.
		Logger:  logger.Discard,
		NowFunc: func() time.Time { return now().UTC().Truncate(time.Microsecond) },
		// Ping below, with a deadline.
		DisableAutomaticPing: true,
	})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", d.where, err)
	}
	if d.pool, err = d.DB.DB(); err != nil {
		return nil, fmt.Errorf("open %s: %w", d.where, err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := d.pool.PingContext(pingCtx); err != nil {
		d.pool.Close()
		return nil, fmt.Errorf("connect to %s: %w", d.where, err)
	}
	return d, nil
}

// Close closes the connection pool.
func (d *database) Close() error { return d.pool.Close() }

// use registers fieldcrypt's GORM plugin: from then on Contact and
// Interaction are encrypted on every write and decrypted on every read.
func (d *database) use(enc *crypt.Encryptor) error {
	d.enc = enc
	return d.Use(gormcrypt.New(enc))
}

// redactDSN drops the password from a PostgreSQL URL: the user info's,
// and the value of every query parameter named like a secret's
// (password=, sslpassword=, ...token, ...secret), which pgx reads too.
func redactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable DSN)"
	}
	if u.RawQuery != "" {
		pairs := strings.Split(u.RawQuery, "&")
		for i, pair := range pairs {
			key, _, _ := strings.Cut(pair, "=")
			if k, err := url.QueryUnescape(key); err == nil {
				key = k
			}
			k := strings.ToLower(key)
			for _, s := range []string{"password", "passwd", "pwd", "secret", "token"} {
				if strings.Contains(k, s) {
					pairs[i] = url.QueryEscape(key) + "=xxxxx"
					break
				}
			}
		}
		u.RawQuery = strings.Join(pairs, "&")
	}
	return u.Redacted()
}

// errOldSchema: the tables are from an earlier version of this example,
// keyed (tenant_id, id).
var errOldSchema = errors.New("the contacts table is keyed (tenant_id, id), as an earlier version of this example made it; " +
	"this version keys it by id alone: remove the data directory (or drop the tables) and start again")

// migrate creates the keyset table and the CRM's tables if they are missing.
func (d *database) migrate(ctx context.Context, store *sqlstore.Store) error {
	if err := store.Migrate(ctx); err != nil {
		return fmt.Errorf("create the keyset table: %w", err)
	}
	db := d.WithContext(ctx)
	if db.Migrator().HasTable(&Contact{}) {
		cols, err := db.Migrator().ColumnTypes(&Contact{})
		if err != nil {
			return fmt.Errorf("read the contacts table: %w", err)
		}
		for _, c := range cols {
			if pk, ok := c.PrimaryKey(); ok && pk && c.Name() == "tenant_id" {
				return errOldSchema
			}
		}
	}
	if err := db.AutoMigrate(&Contact{}, &Interaction{}); err != nil {
		return fmt.Errorf("create the CRM tables: %w", err)
	}
	return nil
}

// migrateTokens creates the side tables of Contact's token indexes (name
// prefix, birthday range) if they are missing. It runs once the plugin is
// registered (use), which knows the indexes, and after migrate, which
// creates the table they refer to.
func (d *database) migrateTokens(ctx context.Context) error {
	if err := gormcrypt.MigrateTokens(d.WithContext(ctx), &Contact{}); err != nil {
		return fmt.Errorf("create the CRM's token tables: %w", err)
	}
	return nil
}
