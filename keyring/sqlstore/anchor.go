package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// DefaultAnchorTable is the table an [Anchor] uses when
// [AnchorOptions.Table] is empty.
const DefaultAnchorTable = "fieldcrypt_keyset_anchor"

// AnchorOptions configure an [Anchor]. The zero value, like nil, uses the
// defaults.
type AnchorOptions struct {
	// Table names the anchor's table, with the rules of [Options.Table].
	// Empty means DefaultAnchorTable.
	Table string
}

// Anchor is a [keyring.Anchor] in one SQL table: the latest state version
// of every keyset, which only grows. Put it in a database that the writers
// of the keyset store cannot write (another server, or at least another
// database with its own credentials); an anchor next to the keysets it
// guards guards nothing. Set it as keyring.Config.Anchor.
//
// Advance is one upsert that keeps the greater version (GREATEST on
// PostgreSQL and MySQL, MAX on SQLite), so concurrent keyrings can never
// move it back.
type Anchor struct {
	db                         *sql.DB
	table                      string // quoted
	migrate, get, upsert, seen string
}

var _ keyring.AnchorLister = (*Anchor)(nil)

// NewAnchor returns an anchor in db, a database of the given dialect. opts
// may be nil. It does not touch the database; call [Anchor.Migrate] to
// create the table.
func NewAnchor(db *sql.DB, dialect Dialect, opts *AnchorOptions) (*Anchor, error) {
	if db == nil {
		return nil, errors.New("sqlstore: nil *sql.DB")
	}
	if !dialect.Valid() {
		return nil, fmt.Errorf("sqlstore: unknown dialect %v", dialect)
	}
	table := DefaultAnchorTable
	if opts != nil && opts.Table != "" {
		table = opts.Table
	}
	quoted, err := quoteTable(dialect, table)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: %w", err)
	}
	a := &Anchor{db: db, table: quoted}
	const cols = " (scope, class, purpose, version) VALUES (?, ?, ?, ?)"
	switch dialect {
	case Postgres:
		a.migrate = `CREATE TABLE IF NOT EXISTS ` + quoted + ` (
	scope   TEXT   NOT NULL,
	class   TEXT   NOT NULL,
	purpose TEXT   NOT NULL,
	version BIGINT NOT NULL,
	PRIMARY KEY (scope, class, purpose)
)`
		a.upsert = "INSERT INTO " + quoted + cols +
			" ON CONFLICT (scope, class, purpose) DO UPDATE SET version = GREATEST(" + quoted + ".version, EXCLUDED.version)"
	case SQLite:
		a.migrate = `CREATE TABLE IF NOT EXISTS ` + quoted + ` (
	scope   TEXT    NOT NULL,
	class   TEXT    NOT NULL,
	purpose TEXT    NOT NULL,
	version INTEGER NOT NULL,
	PRIMARY KEY (scope, class, purpose)
)`
		a.upsert = "INSERT INTO " + quoted + cols +
			" ON CONFLICT (scope, class, purpose) DO UPDATE SET version = MAX(version, excluded.version)"
	case MySQL:
		a.migrate = `CREATE TABLE IF NOT EXISTS ` + quoted + ` (
	scope   VARBINARY(200) NOT NULL,
	class   VARBINARY(200) NOT NULL,
	purpose VARBINARY(16)  NOT NULL,
	version BIGINT         NOT NULL,
	PRIMARY KEY (scope, class, purpose)
) ENGINE=InnoDB`
		a.upsert = "INSERT INTO " + quoted + cols +
			" ON DUPLICATE KEY UPDATE version = GREATEST(version, VALUES(version))"
	}
	a.upsert = dialect.Rebind(a.upsert)
	// The key columns are read back and compared byte for byte: a table
	// made by hand with a collation that ignores case or trailing spaces
	// would answer "ACME" with "acme"'s row.
	a.get = dialect.Rebind("SELECT scope, class, purpose, version FROM " + quoted + " WHERE scope = ? AND class = ? AND purpose = ?")
	a.seen = dialect.Rebind("SELECT scope, class, purpose FROM " + quoted + " WHERE scope = ? AND purpose IN (?, ?) ORDER BY class, purpose")
	return a, nil
}

// Migrate creates the anchor's table if it does not exist. It is
// idempotent.
func (a *Anchor) Migrate(ctx context.Context) error {
	if _, err := a.db.ExecContext(ctx, a.migrate); err != nil {
		return fmt.Errorf("sqlstore: creating anchor table %s: %w", a.table, err)
	}
	return nil
}

// Latest implements [keyring.Anchor].
func (a *Anchor) Latest(ctx context.Context, id keyring.KeysetID) (uint64, error) {
	var v int64
	var scope, class, purpose []byte
	err := a.db.QueryRowContext(ctx, a.get, id.Scope, id.Class, string(id.Purpose)).Scan(&scope, &class, &purpose, &v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("sqlstore: anchor %s: read %s: %w", a.table, id, err)
	case string(scope) != id.Scope || string(class) != id.Class || string(purpose) != string(id.Purpose):
		return 0, a.inexact(id.Scope)
	case v < 0:
		return 0, fmt.Errorf("sqlstore: anchor %s: %s has negative version %d", a.table, id, v)
	}
	return uint64(v), nil
}

// Seen implements [keyring.AnchorLister].
func (a *Anchor) Seen(ctx context.Context, scope string) ([]keyring.KeysetID, error) {
	rows, err := a.db.QueryContext(ctx, a.seen, scope, string(keyring.PurposeData), string(keyring.PurposeIndex))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: anchor %s: list scope %q: %w", a.table, scope, err)
	}
	defer rows.Close()
	var ids []keyring.KeysetID
	for rows.Next() {
		var got, class, purpose string
		if err := rows.Scan(&got, &class, &purpose); err != nil {
			return nil, fmt.Errorf("sqlstore: anchor %s: list scope %q: %w", a.table, scope, err)
		}
		if got != scope {
			return nil, a.inexact(scope)
		}
		ids = append(ids, keyring.KeysetID{Scope: scope, Class: class, Purpose: keyring.Purpose(purpose)})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: anchor %s: list scope %q: %w", a.table, scope, err)
	}
	return ids, nil
}

// Advance implements [keyring.Anchor].
func (a *Anchor) Advance(ctx context.Context, id keyring.KeysetID, version uint64) error {
	if version > 1<<63-1 {
		return fmt.Errorf("sqlstore: anchor %s: version %d of %s does not fit a BIGINT", a.table, version, id)
	}
	if _, err := a.db.ExecContext(ctx, a.upsert, id.Scope, id.Class, string(id.Purpose), int64(version)); err != nil {
		return fmt.Errorf("sqlstore: anchor %s: advance %s: %w", a.table, id, err)
	}
	return nil
}

// inexact reports a row returned for another key than the one asked for.
func (a *Anchor) inexact(scope string) error {
	return fmt.Errorf("%w: sqlstore: anchor %s answered scope %q with another key's row: its key columns do not compare byte for byte "+
		"(a collation that ignores case or trailing spaces); create it with Migrate, or with binary key columns", keyring.ErrIntegrity, a.table, scope)
}
