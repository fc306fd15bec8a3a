package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for an anchor on PostgreSQL

	"github.com/fieldcrypt/fieldcrypt/keyring/sqlstore"
)

// The rollback anchor.
//
// The keysets live in the CRM database (table fieldcrypt_keysets), so
// whoever can write that database can write them: put back a copy of a
// tenant's keyset rows from before a shred (a backup, a replica), or
// delete the tombstones the shred left. Everything in a keyset row is
// authenticated under its class's KEK, and a process that saw the newer
// version refuses the older one; but a freshly started process cannot
// tell an old authentic row from the newest, and would decrypt the
// shredded tenant again, or create new keysets for it. The anchor records
// the latest version of every keyset, and marks shredded tenants, in a
// database those writers cannot write: with it, every process refuses a
// keyset older than the anchor's (keyring.ErrRollback) and creates none
// for a shredded tenant (docs/SECURITY.md, "Writers of the keyset
// store").
//
// By default it is the SQLite file anchor.db in the data directory, next
// to the development KEKs and apart from the CRM database (a PostgreSQL
// CRM database included). In production it is a database of its own,
// with credentials that the CRM database's users do not have, shared by
// every instance of the service and by the fieldcrypt tool (its anchor
// setting).

// anchorDB is the opened anchor and the pool it runs on.
type anchorDB struct {
	*sqlstore.Anchor
	pool  *sql.DB
	where string // what to tell the user: a file path, or "PostgreSQL at ..."
}

// openAnchor opens the anchor cfg names, pings it and creates its table
// if it is missing.
func openAnchor(ctx context.Context, cfg Config) (*anchorDB, error) {
	kind, target, err := anchorKind(cfg.Anchor)
	if err != nil {
		return nil, err
	}
	target = cfg.anchorTarget(target)
	a := &anchorDB{}
	var dialect sqlstore.Dialect
	switch kind {
	case "postgres":
		a.where, dialect = "PostgreSQL at "+redactDSN(target), sqlstore.Postgres
		a.pool, err = sql.Open("pgx", target)
	default:
		a.where, dialect = "SQLite at "+target, sqlstore.SQLite
		// The driver GORM's SQLite dialector registers as "sqlite". The
		// admin and support processes share the file, as they share crm.db.
		q := url.Values{"_pragma": {"busy_timeout(5000)", "journal_mode(WAL)"}}
		a.pool, err = sql.Open("sqlite", "file:"+target+"?"+q.Encode())
	}
	if err != nil {
		return nil, fmt.Errorf("rollback anchor: open %s: %w", a.where, err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := a.pool.PingContext(pingCtx); err != nil {
		a.pool.Close()
		return nil, fmt.Errorf("rollback anchor: connect to %s: %w", a.where, err)
	}
	if a.Anchor, err = sqlstore.NewAnchor(a.pool, dialect, nil); err == nil {
		err = a.Migrate(ctx)
	}
	if err != nil {
		a.pool.Close()
		return nil, fmt.Errorf("rollback anchor at %s: %w", a.where, err)
	}
	return a, nil
}

// Close closes the anchor's pool.
func (a *anchorDB) Close() error { return a.pool.Close() }
