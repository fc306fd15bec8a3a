package reencrypt_test

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/fieldcrypt/fieldcrypt/reencrypt"
)

// postgresRole creates a login role that may use db's schema but holds
// no privilege on its tables, runs grants (statements in which {role}
// stands for the role's name) as the owner, and returns a pool connected as the
// role. The role is dropped at the end of the test.
func postgresRole(t *testing.T, db *testDB, grants ...string) *sql.DB {
	t.Helper()
	u, err := url.Parse(db.dsn)
	if err != nil {
		t.Fatal(err)
	}
	schema := u.Query().Get("search_path")
	role := randomName()
	ctx := context.Background()
	for _, s := range append([]string{"CREATE ROLE " + role + " LOGIN", "GRANT USAGE ON SCHEMA " + schema + " TO " + role}, grants...) {
		if _, err := db.ExecContext(ctx, strings.ReplaceAll(s, "{role}", role)); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	u.User = url.User(role)
	pool, err := sql.Open("pgx", u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		pool.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, s := range []string{"DROP OWNED BY " + role, "DROP ROLE " + role} {
			if _, err := db.ExecContext(ctx, s); err != nil {
				t.Errorf("%s: %v", s, err)
			}
		}
	})
	return pool
}

// TestCheckColumnsPrivilegeRefused: a role that may not read the table,
// or some of its columns, gets ErrPrivilegeRefused from CheckColumns,
// Status and Run, never a missing column (a *ConfigError, exit 64 in the
// CLI).
func TestCheckColumnsPrivilegeRefused(t *testing.T) {
	db := openPostgres(t)
	db.createContacts(t)
	ctx := context.Background()
	k := newKeys(t)
	for _, tc := range []struct {
		name   string
		grants []string
	}{
		{"no SELECT on the table", nil},
		{"SELECT on some columns", []string{"GRANT SELECT (id, tenant_id) ON contacts TO {role}"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pool := postgresRole(t, db, tc.grants...)
			tab := contactsTable(t)
			check := func(what string, err error) {
				t.Helper()
				var ce *reencrypt.ConfigError
				if !errors.Is(err, reencrypt.ErrPrivilegeRefused) || errors.Is(err, reencrypt.ErrMissingColumn) || errors.As(err, &ce) {
					t.Errorf("%s as a role without SELECT err = %v, want ErrPrivilegeRefused and no missing column", what, err)
				}
			}
			check("CheckColumns", reencrypt.CheckColumns(ctx, pool, reencrypt.Postgres, tab))
			_, err := reencrypt.Status(ctx, pool, reencrypt.Postgres, tab)
			check("Status", err)
			_, err = reencrypt.Run(ctx, pool, reencrypt.Postgres, k.encryptor(t), tab, jobOptions("refused"))
			check("Run", err)
		})
	}
	if err := reencrypt.CheckColumns(ctx, db.DB, db.d, contactsTable(t)); err != nil {
		t.Errorf("CheckColumns as the owner err = %v", err)
	}
}
