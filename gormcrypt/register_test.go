package gormcrypt_test

import (
	"testing"

	"gorm.io/gorm/clause"

	"github.com/fieldcrypt/fieldcrypt/gormcrypt"
)

// ContactLite maps the contacts table without crypt tags: a careless
// second struct for the same table.
type ContactLite struct {
	ID       string
	TenantID string
	Email    string
	Stage    string
}

func (ContactLite) TableName() string { return "contacts" }

// TestRegisteredTables: a fresh plugin given the models protects their
// tables from the first statement, before any use of the models, against
// every model-less way of naming the table.
func TestRegisteredTables(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			db := b.open(t)
			if err := db.AutoMigrate(&Company{}, &Contact{}, &Interaction{}); err != nil {
				t.Fatal(err)
			}
			if err := db.Use(gormcrypt.New(newEncryptor(t), &Contact{}, &Interaction{}, &Company{})); err != nil {
				t.Fatalf("Use(New(enc, models...)): %v", err)
			}
			const plain = "first-statement@secret-mail.example"
			row := func() map[string]any {
				return map[string]any{"id": "c-raw", "tenant_id": "acme", "email": plain}
			}
			cases := []struct {
				name   string
				run    func() error
				column string
			}{
				{"Table.Create(map)", func() error { return db.Table("contacts").Create(row()).Error }, "email"},
				{"Table.Create(&map)", func() error { m := row(); return db.Table("contacts").Create(&m).Error }, "email"},
				{"Table.Create([]map)", func() error { return db.Table("contacts").Create([]map[string]any{row()}).Error }, "email"},
				{"Table.Create(&[]map)", func() error { m := []map[string]any{row()}; return db.Table("contacts").Create(&m).Error }, "email"},
				{"Table.Create(Go field name)", func() error {
					return db.Table("contacts").Create(map[string]any{"ID": "c-raw", "TenantID": "acme", "Email": plain}).Error
				}, "email"},
				{"quoted table", func() error { return db.Table("`contacts`").Create(row()).Error }, "email"},
				{"upper-case table", func() error { return db.Table("CONTACTS").Create(row()).Error }, "email"},
				{"aliased table", func() error { return db.Table("contacts AS c").Create(row()).Error }, "email"},
				{"aliased table without AS", func() error { return db.Table("contacts c").Create(row()).Error }, "email"},
				{"table as a parameter", func() error { return db.Table("?", clause.Table{Name: "contacts"}).Create(row()).Error }, "email"},
				{"Table.Update, table as a parameter", func() error {
					return db.Table("? AS c", clause.Table{Name: "contacts"}).Where("id = ?", "c-1").Update("email", plain).Error
				}, "email"},
				{"struct without crypt tags", func() error {
					return db.Create(&ContactLite{ID: "c-raw", TenantID: "acme", Email: plain}).Error
				}, "email"},
				{"Table.Create(struct without crypt tags)", func() error {
					return db.Table("contacts").Create(&struct{ ID, TenantID, Email string }{"c-raw", "acme", plain}).Error
				}, "email"},
				{"Table.Updates(map)", func() error {
					return db.Table("contacts").Where("id = ?", "c-1").Updates(map[string]any{"email": plain}).Error
				}, "email"},
				{"Table.Updates(&map)", func() error {
					return db.Table("contacts").Where("id = ?", "c-1").Updates(&map[string]any{"email": plain}).Error
				}, "email"},
				{"Table.Update", func() error { return db.Table("contacts").Where("id = ?", "c-1").Update("email", plain).Error }, "email"},
				{"Table.UpdateColumn of the scope", func() error {
					return db.Table("contacts").Where("id = ?", "c-1").UpdateColumn("tenant_id", "globex").Error
				}, "tenant_id"},
				{"Model(struct without crypt tags).Update", func() error {
					return db.Model(&ContactLite{ID: "c-1"}).Update("email", plain).Error
				}, "email"},
				{"interactions", func() error {
					return db.Table("interactions").Create(map[string]any{"id": "i-raw", "summary": plain}).Error
				}, "summary"},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					err := tc.run()
					assertRefused(t, err, gormcrypt.ErrUnknownIdentity, tc.column)
				})
			}
			if n := countRows(t, db, "contacts") + countRows(t, db, "interactions"); n != 0 {
				t.Errorf("refused writes stored %d rows", n)
			}
			// Columns that are not encrypted stay writable without a model.
			c := newContact("acme")
			mustCreate(t, db, c)
			if err := db.Table("contacts").Where("id = ?", c.ID).Update("stage", "won").Error; err != nil {
				t.Errorf("Table.Update(stage): %v", err)
			}
			if err := db.Model(&ContactLite{ID: c.ID}).Updates(map[string]any{"stage": "lost"}).Error; err != nil {
				t.Errorf("Model(ContactLite).Updates(stage): %v", err)
			}
			assertReadsBack(t, db, c)
		})
	}
}

// TestRegisterRefused: a registered model must be a valid tagged model.
func TestRegisterRefused(t *testing.T) {
	for _, v := range []any{&ContactLite{}, &Account{}, 42} {
		db := openSQLite(t)
		if err := db.Use(gormcrypt.New(newEncryptor(t), v)); err == nil {
			t.Errorf("Use(New(enc, %T)) err = nil, want an error", v)
		}
	}
}
