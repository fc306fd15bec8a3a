package cli_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/fieldcrypt/fieldcrypt/cmd/fieldcrypt/internal/cli"
)

// TestStatusPrivilegeRefused: status and reencrypt as a PostgreSQL role
// without SELECT on the contacts table fail with exit 1 and say that the
// privilege was refused; they do not call the table missing (exit 64).
func TestStatusPrivilegeRefused(t *testing.T) {
	dsn, db := postgresSchema(t)
	ctx := t.Context()
	if _, err := db.ExecContext(ctx, `CREATE TABLE contacts (id TEXT PRIMARY KEY, tenant TEXT NOT NULL, email TEXT, email_idx TEXT, notes TEXT)`); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	role := randomName()
	for _, s := range []string{"CREATE ROLE " + role + " LOGIN", "GRANT USAGE ON SCHEMA " + u.Query().Get("search_path") + " TO " + role} {
		if _, err := db.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, s := range []string{"DROP OWNED BY " + role, "DROP ROLE " + role} {
			if _, err := db.ExecContext(ctx, s); err != nil {
				t.Errorf("%s: %v", s, err)
			}
		}
	})
	u.User = url.User(role)

	h := newHarness(t)
	h.writeConfig(t, fmt.Sprintf("store: sqlite:%s\ndatabase: %s\nkeks:\n  pii: %s\n  support: %s\n%s",
		h.store, u.String(), h.keks["pii"], h.keks["support"], contactsTables))
	h.mustRun(t, "keys", "init", "--scope", "acme")
	for _, args := range [][]string{{"status"}, {"reencrypt", "--job", "refused"}} {
		r := h.run(t, args...)
		if r.code != cli.ExitFailed || !strings.Contains(r.stderr, "refused the privilege") || strings.Contains(r.stderr, "does not exist") {
			t.Errorf("fieldcrypt %s as a role without SELECT: %v\nwant exit 1 saying the privilege was refused", strings.Join(args, " "), r)
		}
	}
}
