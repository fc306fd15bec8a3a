package sqlcrypt_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/sqlcrypt"
)

// domainA and domainB are records of two tables whose token indexes get
// one side table: "rc" with EmailDomain and "rc_email" with Domain are both
// rc_email_domain.
type domainA struct {
	_           struct{}     `crypt:"record=domain_a"`
	ID          int64        `db:"id" crypt:"id"`
	TenantID    string       `db:"tenant_id" crypt:"scope"`
	Email       string       `db:"email" crypt:"encrypt,class=pii"`
	EmailDomain crypt.Tokens `db:"-" crypt:"set=Email,transform=emaildomain,bits=12"`
}

type domainB struct {
	_        struct{}     `crypt:"record=domain_b"`
	ID       int64        `db:"id" crypt:"id"`
	TenantID string       `db:"tenant_id" crypt:"scope"`
	Email    string       `db:"email" crypt:"encrypt,class=pii"`
	Domain   crypt.Tokens `db:"-" crypt:"set=Email,transform=emaildomain,bits=12"`
}

// TestSideTableOfAnotherTable: CreateTokenTables refuses a side table
// whose name another table's side table already has (its foreign key
// references that table), since each table's writes would delete the
// other's tokens and a search would miss rows; it still accepts its own
// side tables again.
func TestSideTableOfAnotherTable(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		text := "TEXT"
		if db.d == sqlcrypt.MySQL {
			text = "VARCHAR(255)"
		}
		for _, table := range []string{"rc", "rc_email"} {
			db.exec(t, "CREATE TABLE "+table+" (id BIGINT PRIMARY KEY, tenant_id "+text+" NOT NULL, email "+text+" NOT NULL)")
		}
		if err := sqlcrypt.CreateTokenTables(ctx, db.db, db.d, "rc", &domainA{}); err != nil {
			t.Fatal(err)
		}
		if err := sqlcrypt.CreateTokenTables(ctx, db.db, db.d, "rc", &domainA{}); err != nil {
			t.Errorf("CreateTokenTables(rc) a second time err = %v, want its own side table accepted", err)
		}
		check := func(err error, how string) {
			t.Helper()
			var tse *sqlcrypt.TokenStorageError
			if !errors.As(err, &tse) || !strings.Contains(err.Error(), "rc_email_domain already holds the tokens of") {
				t.Errorf("%s(rc_email) err = %v, want a *TokenStorageError naming the shared side table", how, err)
			}
		}
		check(sqlcrypt.CreateTokenTables(ctx, db.db, db.d, "rc_email", &domainB{}), "CreateTokenTables")
		if db.pool != nil {
			check(sqlcrypt.CreateTokenTablesPgx(ctx, db.pool, "rc_email", &domainB{}), "CreateTokenTablesPgx")
		}
	})
}

// TestSideTableNameOfApplicationTable: an application table that already
// has a side table's name (a one-to-one table "persons_name_prefix" keyed
// by the persons' id, with a foreign key to persons) is not a side table.
// CreateTokenTables refuses it: were it taken for one, every ReplaceTokens
// would delete its rows for the records written, silently when a record
// has no tokens for the index, and a search would read it.
func TestSideTableNameOfApplicationTable(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		text := "TEXT"
		if db.d == sqlcrypt.MySQL {
			text = "VARCHAR(255)"
		}
		db.exec(t, `CREATE TABLE persons (id BIGINT PRIMARY KEY, tenant_id `+text+` NOT NULL, name `+text+` NOT NULL,
			born `+text+` NOT NULL, home `+text+` NOT NULL, work `+text+` NOT NULL, emails `+text+` NOT NULL)`)
		db.exec(t, "CREATE TABLE persons_name_prefix (id BIGINT PRIMARY KEY, note "+text+" NOT NULL, FOREIGN KEY (id) REFERENCES persons (id))")
		var tse *sqlcrypt.TokenStorageError
		err := sqlcrypt.CreateTokenTables(ctx, db.db, db.d, "persons", &Person{})
		if !errors.As(err, &tse) || !strings.Contains(err.Error(), "persons_name_prefix") {
			// Show what the acceptance costs: a record whose name is too
			// short for a prefix token deletes the application's row.
			p := &Person{ID: 1, TenantID: "acme", Name: "A", Born: "1990-01-01", Home: "a@example.com", Work: "w"}
			db.exec(t, "INSERT INTO persons (id, tenant_id, name, born, home, work, emails) VALUES (1, 'acme', '', '', '', '', '[]')")
			db.exec(t, "INSERT INTO persons_name_prefix (id, note) VALUES (1, 'keep me')")
			e := newEnv(t)
			ep := encryptPersons(t, e.enc, []*Person{p})[0]
			tx, txErr := db.db.BeginTx(ctx, nil)
			if txErr != nil {
				t.Fatal(txErr)
			}
			rtErr := sqlcrypt.ReplaceTokens(ctx, tx, db.d, "persons", ep)
			if rtErr == nil {
				rtErr = tx.Commit()
			} else {
				tx.Rollback()
			}
			var n int
			if qErr := db.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM persons_name_prefix").Scan(&n); qErr != nil {
				t.Fatal(qErr)
			}
			t.Fatalf("CreateTokenTables over an application table err = %v, want a *TokenStorageError naming it; ReplaceTokens then: %v, and the table holds %d of its 1 row", err, rtErr, n)
		}
		if db.pool != nil {
			err := sqlcrypt.CreateTokenTablesPgx(ctx, db.pool, "persons", &Person{})
			if !errors.As(err, &tse) || !strings.Contains(err.Error(), "persons_name_prefix") {
				t.Errorf("CreateTokenTablesPgx over an application table err = %v, want a *TokenStorageError naming it", err)
			}
		}
		// Its own side tables are accepted again, once the name is free.
		db.exec(t, "DROP TABLE persons_name_prefix")
		for range 2 {
			if err := sqlcrypt.CreateTokenTables(ctx, db.db, db.d, "persons", &Person{}); err != nil {
				t.Fatalf("CreateTokenTables(persons) err = %v", err)
			}
		}
	})
}
