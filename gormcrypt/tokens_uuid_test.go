package gormcrypt_test

import (
	"slices"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/gormcrypt"
)

// member is a model whose key is a PostgreSQL uuid column, as many CRM
// schemas have it, with a token index.
type member struct {
	_          struct{}     `crypt:"record=member"`
	ID         string       `gorm:"primaryKey;type:uuid" crypt:"id"`
	TenantID   string       `gorm:"size:64;index" crypt:"scope"`
	Name       string       `crypt:"encrypt,class=pii"`
	NamePrefix crypt.Tokens `gorm:"-" crypt:"prefix=Name,len=2..6,bits=8,transform=lower"`
}

// TestTokensUUIDKey: on PostgreSQL, MigrateTokens gives a model keyed by a
// uuid column a side table keyed by a uuid too (its foreign key needs
// compatible types, and a TEXT key is not), and its records are written,
// searched, rewritten and deleted with their tokens.
func TestTokensUUIDKey(t *testing.T) {
	db, _ := setup(t, backend{"postgres", openPostgres})
	if err := db.AutoMigrate(&member{}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := gormcrypt.MigrateTokens(db, &member{}); err != nil {
			t.Fatalf("MigrateTokens: %v", err)
		}
	}
	var typ string
	if err := db.Raw(`SELECT data_type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'members_name_prefix' AND column_name = 'id'`).Row().Scan(&typ); err != nil || typ != "uuid" {
		t.Fatalf("side table key type = %q, %v; want uuid", typ, err)
	}
	ms := []*member{
		{ID: "6f1c2a4e-1b2c-4d5e-8f90-123456789abc", TenantID: "acme", Name: "Lovelace"},
		{ID: "0b9e7d4c-2f1a-4c3b-9a8d-7e6f5a4b3c2d", TenantID: "acme", Name: "Hopper"},
	}
	if err := db.Create(ms).Error; err != nil {
		t.Fatalf("Create: %v", err)
	}
	search := func(prefix string) []string {
		t.Helper()
		var out []member
		if err := db.Scopes(gormcrypt.Search(&member{TenantID: "acme"}, "NamePrefix", crypt.HasPrefix(prefix))).Find(&out).Error; err != nil {
			t.Fatalf("Search(%q): %v", prefix, err)
		}
		var ids []string
		for _, m := range out {
			ids = append(ids, m.ID)
		}
		slices.Sort(ids)
		return ids
	}
	if got := search("lov"); !slices.Equal(got, []string{ms[0].ID}) {
		t.Errorf("Search(lov) = %v, want [%s]", got, ms[0].ID)
	}
	if err := db.Model(ms[1]).Update("name", "Lovell").Error; err != nil {
		t.Fatalf("Update: %v", err)
	}
	if got := search("lov"); !slices.Equal(got, []string{ms[1].ID, ms[0].ID}) {
		t.Errorf("Search(lov) after the update = %v, want both", got)
	}
	if got := search("hop"); len(got) != 0 {
		t.Errorf("Search(hop) after the update = %v, want none", got)
	}
	if err := db.Delete(ms[0]).Error; err != nil {
		t.Fatalf("Delete: %v", err)
	}
	var n int64
	if err := db.Raw(`SELECT COUNT(*) FROM members_name_prefix WHERE id = ?`, ms[0].ID).Row().Scan(&n); err != nil || n != 0 {
		t.Errorf("tokens of the deleted member: %d, %v; want none", n, err)
	}
}

// TestMigrateTokensBeforeTable: MigrateTokens run before the model's table
// exists says so, on PostgreSQL and MariaDB, where it reads the key
// column's type; in a dry run it queries nothing and does not fail.
func TestMigrateTokensBeforeTable(t *testing.T) {
	for _, b := range backends {
		if b.name == "sqlite" {
			continue
		}
		t.Run(b.name, func(t *testing.T) {
			db, _ := setup(t, b)
			err := gormcrypt.MigrateTokens(db, &member{})
			if err == nil || !strings.Contains(err.Error(), "has no column id") || !strings.Contains(err.Error(), "AutoMigrate") {
				t.Errorf("MigrateTokens before AutoMigrate = %v, want it to say the table has no key column yet", err)
			}
			if err := gormcrypt.MigrateTokens(db.Session(&gorm.Session{DryRun: true}), &member{}); err != nil {
				t.Errorf("MigrateTokens in a dry run = %v", err)
			}
		})
	}
}

// ciMember is keyed by a string column of a collation other than the side
// tables' default (utf8mb4_bin), as a MySQL schema's default may be.
type ciMember struct {
	_          struct{}     `crypt:"record=member"`
	ID         string       `gorm:"primaryKey;type:varchar(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci" crypt:"id"`
	TenantID   string       `gorm:"size:64;index" crypt:"scope"`
	Name       string       `crypt:"encrypt,class=pii"`
	NamePrefix crypt.Tokens `gorm:"-" crypt:"prefix=Name,len=2..6,bits=8,transform=lower"`
}

// TestMigrateTokensCollation: on MariaDB, MigrateTokens gives the side
// table's key the character set and collation of the model's key column,
// without which the foreign key is refused, and the model's records are
// written and found with their tokens.
func TestMigrateTokensCollation(t *testing.T) {
	for _, b := range backends {
		if b.name != "mariadb" {
			continue
		}
		db, _ := setup(t, b)
		if err := db.AutoMigrate(&ciMember{}); err != nil {
			t.Fatal(err)
		}
		if err := gormcrypt.MigrateTokens(db, &ciMember{}); err != nil {
			t.Fatalf("MigrateTokens: %v", err)
		}
		var collation string
		if err := db.Raw(`SELECT COLLATION_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'ci_members_name_prefix' AND COLUMN_NAME = 'id'`).Row().Scan(&collation); err != nil || collation != "utf8mb4_unicode_ci" {
			t.Fatalf("side table key collation = %q, %v; want utf8mb4_unicode_ci", collation, err)
		}
		if err := db.Create(&ciMember{ID: "m1", TenantID: "acme", Name: "Lovelace"}).Error; err != nil {
			t.Fatalf("Create: %v", err)
		}
		var out []ciMember
		if err := db.Scopes(gormcrypt.Search(&ciMember{TenantID: "acme"}, "NamePrefix", crypt.HasPrefix("lov"))).Find(&out).Error; err != nil || len(out) != 1 || out[0].Name != "Lovelace" {
			t.Fatalf("Search(lov) = %v, %v; want the one member", out, err)
		}
	}
}
