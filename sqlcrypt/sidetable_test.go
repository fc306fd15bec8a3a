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
