package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// Store is a [keyring.Store] in one SQL table. It is safe for concurrent
// use, and its compare-and-swap holds across every process that shares the
// database.
type Store struct {
	db      *sql.DB
	dialect Dialect
	table   string // quoted
	q       queries
}

var _ keyring.Store = (*Store)(nil)

// queries are the store's statements, written once for the dialect.
type queries struct {
	migrate, check, insert, get, update, delete, list, listScope string
}

// columns lists the table's columns in the order scanRecord reads them.
const columns = "scope, class, purpose, kek_uri, encrypted_keyset, metadata, version, created_at, updated_at"

// New returns a store that keeps keysets in db, a database of the given
// dialect. opts may be nil. New does not touch the database; call
// [Store.Migrate] to create the table.
func New(db *sql.DB, dialect Dialect, opts *Options) (*Store, error) {
	if db == nil {
		return nil, errors.New("sqlstore: nil *sql.DB")
	}
	if !dialect.Valid() {
		return nil, fmt.Errorf("sqlstore: unknown dialect %v", dialect)
	}
	table := DefaultTable
	if opts != nil && opts.Table != "" {
		table = opts.Table
	}
	quoted, err := quoteTable(dialect, table)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: %w", err)
	}
	d := dialect
	const key = " WHERE scope = ? AND class = ? AND purpose = ?"
	return &Store{
		db:      db,
		dialect: dialect,
		table:   quoted,
		q: queries{
			migrate: createTable(d, quoted),
			check:   "SELECT " + columns + " FROM " + quoted + " WHERE 1 = 0",
			insert:  d.Rebind("INSERT INTO " + quoted + " (" + columns + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"),
			get:     d.Rebind("SELECT " + columns + " FROM " + quoted + key),
			// The version always changes, so MySQL, which counts changed
			// rather than matched rows, reports 1 row for a match too.
			update: d.Rebind("UPDATE " + quoted +
				" SET kek_uri = ?, encrypted_keyset = ?, metadata = ?, version = ?, created_at = ?, updated_at = ?" +
				key + " AND version = ?"),
			delete:    d.Rebind("DELETE FROM " + quoted + key),
			list:      "SELECT " + columns + " FROM " + quoted,
			listScope: d.Rebind("SELECT " + columns + " FROM " + quoted + " WHERE scope = ?"),
		},
	}, nil
}

// Migrate creates the table if it does not exist, then checks that the
// table has the store's columns. It is idempotent.
func (s *Store) Migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, s.q.migrate); err != nil {
		return fmt.Errorf("sqlstore: creating table %s: %w", s.table, err)
	}
	rows, err := s.db.QueryContext(ctx, s.q.check)
	if err != nil {
		return fmt.Errorf("sqlstore: table %s lacks the keyset columns (%s): %w", s.table, columns, err)
	}
	return rows.Close()
}

// scanRecord reads a row of the store's columns.
func scanRecord(row interface{ Scan(...any) error }) (*keyring.Record, error) {
	var rec keyring.Record
	var purpose string
	err := row.Scan(&rec.ID.Scope, &rec.ID.Class, &purpose, &rec.KEKURI,
		&rec.EncryptedKeyset, &rec.Metadata, &rec.Version,
		nullTime{&rec.Created}, nullTime{&rec.Updated})
	if err != nil {
		return nil, err
	}
	rec.ID.Purpose = keyring.Purpose(purpose)
	return &rec, nil
}

// nonNil returns b, or an empty slice for nil: drivers send nil as NULL and
// the byte columns are NOT NULL.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// Get implements [keyring.Store].
func (s *Store) Get(ctx context.Context, id keyring.KeysetID) (*keyring.Record, error) {
	row := s.db.QueryRowContext(ctx, s.q.get, id.Scope, id.Class, string(id.Purpose))
	rec, err := scanRecord(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlstore: get %v: %w", id, keyring.ErrKeysetNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: get %v: %w", id, err)
	}
	return rec, nil
}

// Create implements [keyring.Store].
func (s *Store) Create(ctx context.Context, rec *keyring.Record) error {
	if err := rec.ID.Validate(); err != nil {
		return fmt.Errorf("sqlstore: create: %w", err)
	}
	_, err := s.db.ExecContext(ctx, s.q.insert,
		rec.ID.Scope, rec.ID.Class, string(rec.ID.Purpose), rec.KEKURI,
		nonNil(rec.EncryptedKeyset), nonNil(rec.Metadata), int64(1),
		timeArg(s.dialect, rec.Created), timeArg(s.dialect, rec.Updated))
	if s.dialect.IsDuplicate(err) {
		return fmt.Errorf("sqlstore: create %v: %w", rec.ID, keyring.ErrKeysetExists)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: create %v: %w", rec.ID, err)
	}
	rec.Version = 1
	return nil
}

// Update implements [keyring.Store]. The version check and the write are
// one UPDATE statement, so the database decides which of two concurrent
// updates wins.
func (s *Store) Update(ctx context.Context, rec *keyring.Record, prevVersion int64) error {
	res, err := s.db.ExecContext(ctx, s.q.update,
		rec.KEKURI, nonNil(rec.EncryptedKeyset), nonNil(rec.Metadata), prevVersion+1,
		timeArg(s.dialect, rec.Created), timeArg(s.dialect, rec.Updated),
		rec.ID.Scope, rec.ID.Class, string(rec.ID.Purpose), prevVersion)
	if err != nil {
		return fmt.Errorf("sqlstore: update %v: %w", rec.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlstore: update %v: %w", rec.ID, err)
	}
	if n == 1 {
		rec.Version = prevVersion + 1
		return nil
	}
	// No row matched: either there is none, or its version moved on.
	row := s.db.QueryRowContext(ctx, s.q.get, rec.ID.Scope, rec.ID.Class, string(rec.ID.Purpose))
	cur, err := scanRecord(row)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlstore: update %v: %w", rec.ID, keyring.ErrKeysetNotFound)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: update %v: %w", rec.ID, err)
	}
	return fmt.Errorf("sqlstore: update %v: %w: stored version is %d, not %d", rec.ID, keyring.ErrVersionConflict, cur.Version, prevVersion)
}

// Delete implements [keyring.Store].
func (s *Store) Delete(ctx context.Context, id keyring.KeysetID) error {
	res, err := s.db.ExecContext(ctx, s.q.delete, id.Scope, id.Class, string(id.Purpose))
	if err != nil {
		return fmt.Errorf("sqlstore: delete %v: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlstore: delete %v: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("sqlstore: delete %v: %w", id, keyring.ErrKeysetNotFound)
	}
	return nil
}

// List implements [keyring.Store]. It sorts in Go, by byte order as
// keyring.CompareIDs does, because database collations order text
// differently.
func (s *Store) List(ctx context.Context, scope string) ([]*keyring.Record, error) {
	var rows *sql.Rows
	var err error
	if scope == "" {
		rows, err = s.db.QueryContext(ctx, s.q.list)
	} else {
		rows, err = s.db.QueryContext(ctx, s.q.listScope, scope)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list: %w", err)
	}
	defer rows.Close()
	var out []*keyring.Record
	for rows.Next() {
		rec, err := scanRecord(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: list: %w", err)
		}
		out = append(out, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: list: %w", err)
	}
	slices.SortFunc(out, func(a, b *keyring.Record) int { return keyring.CompareIDs(a.ID, b.ID) })
	return out, nil
}
