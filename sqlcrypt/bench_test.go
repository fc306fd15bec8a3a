package sqlcrypt_test

import (
	"database/sql"
	"fmt"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/internal/testenv"
	"github.com/fieldcrypt/fieldcrypt/sqlcrypt"
)

// BenchmarkReplaceTokensTextKeys writes the prefix tokens of 1 and of 100
// records with text keys on PostgreSQL, each write a transaction of its
// own: "shipped" is ReplaceTokens, which binds string keys one parameter
// each (typed by the column, so that a uuid column takes them);
// "text-arrays" is the baseline, the two array statements ReplaceTokens
// used before, which bound keys as a text[] and so could not write a
// uuid-keyed side table. BENCHMARKS.md has the figures.
func BenchmarkReplaceTokensTextKeys(b *testing.B) {
	db, err := sql.Open("pgx", testenv.PostgresSchema(b, "sqlcrypt_bench"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	e := newEnv(b)
	ctx := b.Context()
	if _, err := db.ExecContext(ctx, "CREATE TABLE notes (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, title TEXT NOT NULL)"); err != nil {
		b.Fatal(err)
	}
	if err := sqlcrypt.CreateTokenTables(ctx, db, sqlcrypt.Postgres, "notes", &stringKey{}); err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{1, 100} {
		var es []*stringKey
		for i := range n {
			en, err := crypt.Encrypted(ctx, e.enc, &stringKey{ID: fmt.Sprintf("note-%d", i), TenantID: "acme", Title: fmt.Sprintf("Quarterly plan %d", i)})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := db.ExecContext(ctx, "INSERT INTO notes VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", en.ID, en.TenantID, en.Title); err != nil {
				b.Fatal(err)
			}
			es = append(es, en)
		}
		for _, way := range []string{"shipped", "text-arrays"} {
			b.Run(fmt.Sprintf("records=%d/way=%s", n, way), func(b *testing.B) {
				for b.Loop() {
					tx, err := db.BeginTx(ctx, nil)
					if err != nil {
						b.Fatal(err)
					}
					if way == "shipped" {
						err = sqlcrypt.ReplaceTokens(ctx, tx, sqlcrypt.Postgres, "notes", es...)
					} else {
						err = replaceWithTextArrays(tx, es)
					}
					if err != nil {
						b.Fatal(err)
					}
					if err := tx.Commit(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// replaceWithTextArrays writes the records' prefix tokens as ReplaceTokens
// did before string keys were bound one parameter each.
func replaceWithTextArrays(tx *sql.Tx, es []*stringKey) error {
	var keys, ks []string
	var ts []int64
	for _, en := range es {
		keys = append(keys, en.ID)
		for _, tk := range en.TitlePre {
			ks = append(ks, en.ID)
			ts = append(ts, tk)
		}
	}
	if _, err := tx.Exec(`DELETE FROM "notes_title_pre" WHERE "id" = ANY(CAST($1 AS text[]))`, keys); err != nil {
		return err
	}
	_, err := tx.Exec(`INSERT INTO "notes_title_pre" ("id", "token") SELECT * FROM unnest(CAST($1 AS text[]), CAST($2 AS bigint[]))`, ks, ts)
	return err
}
