package gormcrypt_test

import (
	"errors"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/gormcrypt"
)

// domainA and domainB are models of two tables whose token indexes get one
// side table: "rc" with EmailDomain and "rc_email" with Domain are both
// rc_email_domain.
type domainA struct {
	_           struct{}     `crypt:"record=domain_a"`
	ID          string       `gorm:"primaryKey;size:64" crypt:"id"`
	TenantID    string       `gorm:"size:64" crypt:"scope"`
	Email       string       `crypt:"encrypt,class=pii"`
	EmailDomain crypt.Tokens `gorm:"-" crypt:"set=Email,transform=emaildomain,bits=12"`
}

func (domainA) TableName() string { return "rc" }

type domainB struct {
	_        struct{}     `crypt:"record=domain_b"`
	ID       string       `gorm:"primaryKey;size:64" crypt:"id"`
	TenantID string       `gorm:"size:64" crypt:"scope"`
	Email    string       `crypt:"encrypt,class=pii"`
	Domain   crypt.Tokens `gorm:"-" crypt:"set=Email,transform=emaildomain,bits=12"`
}

func (domainB) TableName() string { return "rc_email" }

// TestMigrateTokensSharedSideTable: MigrateTokens refuses a side table
// whose name another table's side table already has (its foreign key
// references that table): each table's writes would delete the other's
// tokens, and a search would miss rows. Its own side tables it accepts
// again.
func TestMigrateTokensSharedSideTable(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, _ *crypt.Encryptor) {
		if err := db.AutoMigrate(&domainA{}, &domainB{}); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := gormcrypt.MigrateTokens(db, &domainA{}); err != nil {
				t.Fatalf("MigrateTokens(rc) err = %v", err)
			}
		}
		err := gormcrypt.MigrateTokens(db, &domainB{})
		if !errors.Is(err, gormcrypt.ErrUnsupportedModel) || !strings.Contains(err.Error(), "rc_email_domain already holds the tokens of") {
			t.Errorf("MigrateTokens(rc_email) err = %v, want ErrUnsupportedModel naming the shared side table", err)
		}
	})
}

// TestMigrateTokensNotASideTable: MigrateTokens refuses a table of its
// side table's name that is not a side table (here an application's
// one-to-one notes table, keyed by the record's ID): the side table's
// writes, which delete a record's rows by key, would delete its rows.
func TestMigrateTokensNotASideTable(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, _ *crypt.Encryptor) {
		if err := db.AutoMigrate(&domainA{}); err != nil {
			t.Fatal(err)
		}
		if err := db.Exec("CREATE TABLE rc_email_domain (id VARCHAR(64) PRIMARY KEY, note VARCHAR(64) NOT NULL)").Error; err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Exec("DROP TABLE rc_email_domain") })
		err := gormcrypt.MigrateTokens(db, &domainA{})
		if !errors.Is(err, gormcrypt.ErrUnsupportedModel) || !strings.Contains(err.Error(), "rc_email_domain exists and is not a token side table") {
			t.Errorf("MigrateTokens(rc) over an application table rc_email_domain: err = %v, want ErrUnsupportedModel naming it", err)
		}
	})
}
