package keyring_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	_ "github.com/go-sql-driver/mysql"

	"github.com/fieldcrypt/fieldcrypt/internal/testenv"
	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/keyring/sqlstore"
)

// TestStoreKeyColumnsCompareExactly plays a DBA whose migration tool made
// the keyset table itself, with MariaDB's default collation: its key
// columns compare without case and trailing spaces, so the store answers
// tenant "ACME" with tenant "acme"'s record. The keyring refuses that
// record (ErrIntegrity) instead of handing one tenant another's keys, and
// a shred of "ACME" refuses before it touches "acme".
func TestStoreKeyColumnsCompareExactly(t *testing.T) {
	ctx := context.Background()
	cfg := testenv.MySQLDatabase(t, "fckeycase")
	cfg.ParseTime = true
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.ExecContext(ctx, `CREATE TABLE fieldcrypt_keysets (
		scope VARCHAR(200) NOT NULL, class VARCHAR(200) NOT NULL, purpose VARCHAR(16) NOT NULL,
		kek_uri TEXT NOT NULL, encrypted_keyset LONGBLOB NOT NULL, metadata LONGBLOB NOT NULL,
		version BIGINT NOT NULL, created_at DATETIME(6) NULL, updated_at DATETIME(6) NULL,
		PRIMARY KEY (scope, class, purpose)) COLLATE utf8mb4_general_ci`); err != nil {
		t.Fatal(err)
	}
	store, err := sqlstore.New(db, sqlstore.MySQL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	w := newStoreWorld(t, store)
	kr := w.keyring(t, nil)
	acme, err := kr.DataKeys(ctx, "acme", "pii")
	if err != nil {
		t.Fatal(err)
	}
	if rec, err := store.Get(ctx, dataID("ACME", "pii")); err != nil || rec.ID.Scope != "acme" {
		t.Fatalf("store.Get(ACME) = %v, %v; the table does not fold case, so this test shows nothing", rec, err)
	}
	for _, other := range []string{"ACME", "Acme", "acme "} {
		dk, err := kr.DataKeys(ctx, other, "pii")
		if !errors.Is(err, keyring.ErrIntegrity) {
			t.Errorf("DataKeys(%q) err = %v, want ErrIntegrity", other, err)
		}
		if dk != nil && dk.PrimaryID() == acme.PrimaryID() {
			t.Errorf("DataKeys(%q) returned tenant acme's keyset", other)
		}
	}
	if _, err := keyring.NewManager(kr).Shred(ctx, "ACME"); !errors.Is(err, keyring.ErrIntegrity) {
		t.Errorf("Shred(ACME) err = %v, want ErrIntegrity", err)
	}
	if _, err := w.keyring(t, nil).DataKeys(ctx, "acme", "pii"); err != nil {
		t.Errorf("tenant acme after Shred(ACME) was refused: %v", err)
	}
}
