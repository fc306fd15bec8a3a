package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/keyring/sqlstore"
)

// migrated returns a store on db with its table created, failing t if it
// cannot.
func migrated(t *testing.T, db *sql.DB, d sqlstore.Dialect, opts *sqlstore.Options) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.New(db, d, opts)
	if err != nil {
		t.Fatalf("New(%v, %+v) err = %v", d, opts, err)
	}
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate() err = %v", err)
	}
	return s
}

// newStoreFunc returns a migrated store in a fresh table, its database, and
// the table's name as given to Options.Table.
type newStoreFunc func(t *testing.T) (*sqlstore.Store, *sql.DB, string)

// runDialectTests runs the checks beyond the conformance suite that every
// dialect passes.
func runDialectTests(t *testing.T, d sqlstore.Dialect, newStore newStoreFunc) {
	t.Run("MigrateTwice", func(t *testing.T) { testMigrateTwice(t, d, newStore) })
	t.Run("MigrateIncompatibleTable", func(t *testing.T) { testMigrateIncompatible(t, d, newStore) })
	t.Run("CanceledContext", func(t *testing.T) { testCanceledContext(t, newStore) })
}

var testID = keyring.KeysetID{Scope: "acme", Class: "pii", Purpose: keyring.PurposeData}

func testRecord() *keyring.Record {
	created := time.Date(2025, 3, 14, 9, 26, 53, 123_456_789, time.UTC)
	return &keyring.Record{
		ID:              testID,
		KEKURI:          "local://kek",
		EncryptedKeyset: []byte{0, 1, 2, 0xff},
		Metadata:        []byte(`{}`),
		Created:         created,
		Updated:         created.Add(time.Hour),
	}
}

func testMigrateTwice(t *testing.T, d sqlstore.Dialect, newStore newStoreFunc) {
	s, db, table := newStore(t)
	rec := testRecord()
	if err := s.Create(t.Context(), rec); err != nil {
		t.Fatalf("Create err = %v", err)
	}
	// Migrate again, through the same store and through a new one.
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("second Migrate() err = %v, want nil", err)
	}
	again := migrated(t, db, d, &sqlstore.Options{Table: table})
	got, err := again.Get(t.Context(), rec.ID)
	if err != nil {
		t.Fatalf("after second Migrate, Get(%v) err = %v, want the record kept", rec.ID, err)
	}
	if got.KEKURI != rec.KEKURI || got.Version != 1 {
		t.Errorf("after second Migrate, Get(%v) = %+v, want %+v", rec.ID, got, rec)
	}
}

// testMigrateIncompatible checks that Migrate refuses a table of the same
// name that is not a keyset table, rather than failing later.
func testMigrateIncompatible(t *testing.T, d sqlstore.Dialect, newStore newStoreFunc) {
	_, db, table := newStore(t)
	other := table + "_other"
	if _, err := db.ExecContext(t.Context(), "CREATE TABLE "+other+" (id INTEGER PRIMARY KEY, scope TEXT)"); err != nil {
		t.Fatalf("creating an unrelated table: %v", err)
	}
	s, err := sqlstore.New(db, d, &sqlstore.Options{Table: other})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(t.Context()); err == nil {
		t.Errorf("Migrate() over an unrelated table %s err = nil, want error", other)
	}
}

// testCanceledContext checks that every call passes its context down: with a
// canceled one, nothing reaches the database.
func testCanceledContext(t *testing.T, newStore newStoreFunc) {
	s, _, _ := newStore(t)
	rec := testRecord()
	if err := s.Create(t.Context(), rec); err != nil {
		t.Fatalf("Create err = %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	other := testRecord()
	other.ID.Purpose = keyring.PurposeIndex
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"Migrate", func() error { return s.Migrate(ctx) }},
		{"Get", func() error { _, err := s.Get(ctx, rec.ID); return err }},
		{"List", func() error { _, err := s.List(ctx, ""); return err }},
		{"List(scope)", func() error { _, err := s.List(ctx, "acme"); return err }},
		{"Create", func() error { return s.Create(ctx, other) }},
		{"Update", func() error { return s.Update(ctx, testRecord(), 1) }},
		{"Delete", func() error { return s.Delete(ctx, rec.ID) }},
	} {
		if err := tc.call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s(canceled context) err = %v, want context.Canceled", tc.name, err)
		}
	}
	recs, err := s.List(t.Context(), "")
	if err != nil || len(recs) != 1 || recs[0].Version != 1 {
		t.Errorf("after calls with a canceled context, List = %d records, %v, want the one record at version 1", len(recs), err)
	}
}
