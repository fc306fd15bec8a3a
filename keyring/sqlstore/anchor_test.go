package sqlstore_test

import (
	"database/sql"
	"errors"
	"sync"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/internal/testenv"
	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/keyring/sqlstore"
)

// TestAnchor checks the anchor's contract on each database: a keyset never
// recorded is at 0; Advance records a version; a lower version never moves
// it back, whoever advances, concurrently or not; keysets that differ in
// any part of their ID, or only by trailing spaces, are apart.
func TestAnchor(t *testing.T) {
	dialects := []struct {
		name  string
		d     sqlstore.Dialect
		table func(t *testing.T) (*sql.DB, string)
	}{
		{"sqlite", sqlstore.SQLite, func(t *testing.T) (*sql.DB, string) { return openSQLite(t), "" }},
		{"postgres", sqlstore.Postgres, func(t *testing.T) (*sql.DB, string) {
			db := openPostgres(t, testenv.PostgresDSN)
			return db, newSchema(t, db) + ".anchor"
		}},
		{"mysql", sqlstore.MySQL, func(t *testing.T) (*sql.DB, string) {
			db := openMySQL(t, true)
			return db, newDatabase(t, db) + ".anchor"
		}},
	}
	for _, dc := range dialects {
		t.Run(dc.name, func(t *testing.T) {
			ctx := t.Context()
			db, table := dc.table(t)
			a, err := sqlstore.NewAnchor(db, dc.d, &sqlstore.AnchorOptions{Table: table})
			if err != nil {
				t.Fatal(err)
			}
			if err := a.Migrate(ctx); err != nil {
				t.Fatalf("Migrate() err = %v", err)
			}
			if err := a.Migrate(ctx); err != nil {
				t.Fatalf("second Migrate() err = %v", err)
			}
			id := keyring.KeysetID{Scope: "acme", Class: "pii", Purpose: keyring.PurposeData}
			if v, err := a.Latest(ctx, id); err != nil || v != 0 {
				t.Fatalf("Latest(never recorded) = %d, %v; want 0", v, err)
			}
			for _, step := range []struct{ advance, want uint64 }{{3, 3}, {2, 3}, {3, 3}, {7, 7}, {1, 7}} {
				if err := a.Advance(ctx, id, step.advance); err != nil {
					t.Fatalf("Advance(%d) err = %v", step.advance, err)
				}
				if v, err := a.Latest(ctx, id); err != nil || v != step.want {
					t.Errorf("after Advance(%d), Latest() = %d, %v; want %d", step.advance, v, err, step.want)
				}
			}
			others := []keyring.KeysetID{
				{Scope: "acme ", Class: "pii", Purpose: keyring.PurposeData},
				{Scope: "acme", Class: "pii", Purpose: keyring.PurposeIndex},
				{Scope: "acme", Class: "support", Purpose: keyring.PurposeData},
			}
			for _, o := range others {
				if v, err := a.Latest(ctx, o); err != nil || v != 0 {
					t.Errorf("Latest(%q) = %d, %v; want 0 (apart from %v)", o.String(), v, err, id)
				}
			}
			// Concurrent writers: the highest wins.
			var wg sync.WaitGroup
			for v := uint64(8); v < 40; v++ {
				wg.Go(func() {
					if err := a.Advance(ctx, others[0], v); err != nil {
						t.Errorf("Advance(%d) err = %v", v, err)
					}
				})
			}
			wg.Wait()
			if v, err := a.Latest(ctx, others[0]); err != nil || v != 39 {
				t.Errorf("after concurrent Advance(8..39), Latest() = %d, %v; want 39", v, err)
			}
		})
	}
}

// TestAnchorKeyColumnsCompareExactly plays a DBA whose tool made the
// anchor table with MariaDB's default collation, whose key columns compare
// without case or trailing spaces: "ACME" would read "acme"'s version (a
// false rollback for one tenant, a missed one for the other), and a shred
// of "ACME" would list "acme"'s keysets as seen. The anchor reads the key
// back and refuses such an answer as ErrIntegrity.
func TestAnchorKeyColumnsCompareExactly(t *testing.T) {
	ctx := t.Context()
	cfg := testenv.MySQLDatabase(t, "fcanchorcase")
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.ExecContext(ctx, `CREATE TABLE fieldcrypt_keyset_anchor (
		scope VARCHAR(200) NOT NULL, class VARCHAR(200) NOT NULL, purpose VARCHAR(16) NOT NULL,
		version BIGINT NOT NULL, PRIMARY KEY (scope, class, purpose)) COLLATE utf8mb4_general_ci`); err != nil {
		t.Fatal(err)
	}
	a, err := sqlstore.NewAnchor(db, sqlstore.MySQL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	acme := keyring.KeysetID{Scope: "acme", Class: "pii", Purpose: keyring.PurposeData}
	if err := a.Advance(ctx, acme, 5); err != nil {
		t.Fatal(err)
	}
	if v, err := a.Latest(ctx, acme); err != nil || v != 5 {
		t.Fatalf("Latest(acme) = %d, %v; want 5", v, err)
	}
	var n int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM fieldcrypt_keyset_anchor WHERE scope = 'ACME'").Scan(&n); err != nil || n != 1 {
		t.Fatalf("the table does not fold case (%d rows for ACME, %v), so this test shows nothing", n, err)
	}
	for _, other := range []string{"ACME", "Acme", "acme "} {
		id := acme
		id.Scope = other
		if v, err := a.Latest(ctx, id); !errors.Is(err, keyring.ErrIntegrity) {
			t.Errorf("Latest(%q) = %d, %v; want ErrIntegrity", other, v, err)
		}
		if ids, err := a.Seen(ctx, other); !errors.Is(err, keyring.ErrIntegrity) {
			t.Errorf("Seen(%q) = %v, %v; want ErrIntegrity", other, ids, err)
		}
	}
	if ids, err := a.Seen(ctx, "acme"); err != nil || len(ids) != 1 || ids[0] != acme {
		t.Errorf("Seen(acme) = %v, %v; want [%v]", ids, err, acme)
	}
}
