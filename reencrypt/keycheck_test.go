package reencrypt_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/reencrypt"
)

// TestKeyMustBeUnique plays an operator who names, as the table's
// primary_key, a column the job cannot page by: the id of a table keyed by
// (tenant_id, id), a column with only a plain index, or a unique column
// holding a NULL. The job walks the table by that key (WHERE key > last),
// so it would skip rows sharing a value, or with none, and then report
// done with rows left under old keys. CheckColumns (which Run, Verify and
// Status call first) refuses each, naming the column, before any row is
// read; a PRIMARY KEY, a UNIQUE index and a unique column with no NULL in
// it are accepted.
func TestKeyMustBeUnique(t *testing.T) {
	eachDB(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		notes, short := "BLOB", "TEXT"
		switch db.d {
		case reencrypt.Postgres:
			notes = "BYTEA"
		case reencrypt.MySQL:
			short = "VARCHAR(64)"
		}
		for i, tt := range []struct {
			name   string
			id     string // the id column's declaration
			extra  string // a table constraint, or ""
			after  string // a statement after CREATE TABLE, with %s for the table
			accept bool
			why    string
		}{
			{"composite primary key", "BIGINT NOT NULL", ", PRIMARY KEY (tenant_id, id)", "", false, "no PRIMARY KEY or single-column UNIQUE index"},
			{"plain index", "BIGINT NOT NULL", "", "CREATE INDEX %[1]s_id ON %[1]s (id)", false, "no PRIMARY KEY or single-column UNIQUE index"},
			{"unique over two columns", "BIGINT NOT NULL", ", UNIQUE (id, tenant_id)", "", false, "no PRIMARY KEY or single-column UNIQUE index"},
			{"unique with a NULL", "BIGINT UNIQUE", "", "INSERT INTO %s (id, tenant_id) VALUES (NULL, 'acme')", false, "a row has NULL in it"},
			{"primary key", "BIGINT PRIMARY KEY", "", "", true, ""},
			{"unique index", "BIGINT NOT NULL", "", "CREATE UNIQUE INDEX %[1]s_id ON %[1]s (id)", true, ""},
			{"unique, no NULL", "BIGINT UNIQUE", "", "INSERT INTO %s (id, tenant_id) VALUES (1, 'acme')", true, ""},
			{"view with a repeated key", "BIGINT PRIMARY KEY", "", "CREATE VIEW %[1]s_v AS SELECT * FROM %[1]s UNION ALL SELECT * FROM %[1]s", false, "rows of the view share a value"},
			{"view with unique keys", "BIGINT PRIMARY KEY", "", "CREATE VIEW %[1]s_v AS SELECT * FROM %[1]s", true, ""},
		} {
			t.Run(tt.name, func(t *testing.T) {
				table := fmt.Sprintf("keyed_%d", i)
				ddl := fmt.Sprintf("CREATE TABLE %s (id %s, tenant_id %s NOT NULL, name TEXT, email TEXT, email_idx %s, phone TEXT, phone_idx %s, notes %s%s)",
					table, tt.id, short, short, short, notes, tt.extra)
				if _, err := db.ExecContext(ctx, ddl); err != nil {
					t.Fatalf("%s: %v", ddl, err)
				}
				t.Cleanup(func() { db.Exec("DROP TABLE " + table) })
				tab := contactsTable(t)
				tab.Name = table
				if tt.after != "" {
					if _, err := db.ExecContext(ctx, fmt.Sprintf(tt.after, table)); err != nil {
						t.Fatal(err)
					}
					if strings.HasPrefix(tt.after, "CREATE VIEW") {
						tab.Name = table + "_v"
						t.Cleanup(func() { db.Exec("DROP VIEW " + tab.Name) })
						if _, err := db.ExecContext(ctx, fmt.Sprintf("INSERT INTO %s (id, tenant_id) VALUES (1, 'acme'), (2, 'acme')", table)); err != nil {
							t.Fatal(err)
						}
					}
				}
				err := reencrypt.CheckColumns(ctx, db.DB, db.d, tab)
				if tt.accept {
					if err != nil {
						t.Fatalf("CheckColumns(%s) err = %v, want nil", tt.name, err)
					}
					return
				}
				var ce *reencrypt.ConfigError
				if !errors.Is(err, reencrypt.ErrKeyNotUnique) || !errors.As(err, &ce) || ce.Column != "id" || !strings.Contains(err.Error(), tt.why) {
					t.Fatalf("CheckColumns(%s) err = %v, want a *ConfigError on id wrapping ErrKeyNotUnique and saying %q", tt.name, err, tt.why)
				}
				if _, err := reencrypt.Status(ctx, db.DB, db.d, tab); !errors.Is(err, reencrypt.ErrKeyNotUnique) {
					t.Errorf("Status(%s) err = %v, want ErrKeyNotUnique", tt.name, err)
				}
			})
		}
		if db.d == reencrypt.Postgres {
			// A CREATE UNIQUE INDEX CONCURRENTLY that failed on duplicate
			// keys leaves an index marked unique, but invalid.
			if _, err := db.ExecContext(ctx, fmt.Sprintf("CREATE TABLE keyed_dup (id BIGINT NOT NULL, tenant_id TEXT NOT NULL, name TEXT, email TEXT, email_idx TEXT, phone TEXT, phone_idx TEXT, notes BYTEA);"+
				"INSERT INTO keyed_dup (id, tenant_id) VALUES (1, 'acme'), (1, 'acme'), (2, 'acme')")); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Exec("DROP TABLE keyed_dup") })
			if _, err := db.ExecContext(ctx, "CREATE UNIQUE INDEX CONCURRENTLY keyed_dup_id ON keyed_dup (id)"); err == nil {
				t.Fatal("CREATE UNIQUE INDEX CONCURRENTLY over duplicates succeeded: the test cannot make an invalid index")
			}
			var unique, valid bool
			if err := db.QueryRowContext(ctx, "SELECT indisunique, indisvalid FROM pg_index WHERE indexrelid = 'keyed_dup_id'::regclass").Scan(&unique, &valid); err != nil || !unique || valid {
				t.Fatalf("the failed index: unique %v, valid %v, %v; want a unique, invalid index", unique, valid, err)
			}
			tab := contactsTable(t)
			tab.Name = "keyed_dup"
			// A unique index under another collation than the column's.
			if _, err := db.ExecContext(ctx, `CREATE COLLATION IF NOT EXISTS fc_ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
				CREATE TABLE keyed_coll (id TEXT COLLATE fc_ci NOT NULL, tenant_id TEXT NOT NULL, name TEXT, email TEXT, email_idx TEXT, phone TEXT, phone_idx TEXT, notes BYTEA);
				CREATE UNIQUE INDEX keyed_coll_id ON keyed_coll (id COLLATE "C")`); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Exec("DROP TABLE keyed_coll") })
			coll := contactsTable(t)
			coll.Name, coll.KeyType = "keyed_coll", reencrypt.KeyText
			if err := reencrypt.CheckColumns(ctx, db.DB, db.d, coll); !errors.Is(err, reencrypt.ErrKeyNotUnique) {
				t.Errorf("CheckColumns(a unique index under another collation than the key's) err = %v, want ErrKeyNotUnique", err)
			}
			if err := reencrypt.CheckColumns(ctx, db.DB, db.d, tab); !errors.Is(err, reencrypt.ErrKeyNotUnique) {
				t.Errorf("CheckColumns(a failed unique index over duplicates) err = %v, want ErrKeyNotUnique", err)
			}
		}
	})
}
