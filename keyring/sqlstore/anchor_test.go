package sqlstore_test

import (
	"database/sql"
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
