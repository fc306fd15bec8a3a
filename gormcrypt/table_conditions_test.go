package gormcrypt_test

import (
	"testing"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/gormcrypt"
)

// TestTableConditionsOnEncryptedColumns plays a caller who queries a
// tagged model's table by name, without the model (db.Table("contacts"),
// into maps or a count), with a condition GORM builds from a map or a
// clause on an encrypted column. The condition would match nothing and
// send the plaintext to the database and its logs: it is refused before
// any SQL is sent, as it is with the model.
func TestTableConditionsOnEncryptedColumns(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, _ *crypt.Encryptor) {
		c := newContact("acme")
		mustCreate(t, db, c)
		byEmail := map[string]any{"email": c.Email}
		cases := map[string]func() error{
			"Count": func() error { var n int64; return db.Table("contacts").Where(byEmail).Count(&n).Error },
			"Find(maps)": func() error {
				var o []map[string]any
				return db.Table("contacts").Where(byEmail).Find(&o).Error
			},
			"clause.Eq": func() error {
				var o []map[string]any
				return db.Table("contacts").Where(clause.Eq{Column: "email", Value: c.Email}).Find(&o).Error
			},
			"Pluck": func() error { var ids []string; return db.Table("contacts").Where(byEmail).Pluck("id", &ids).Error },
			"Rows": func() error {
				rows, err := db.Table("contacts").Where(byEmail).Rows()
				if err == nil {
					rows.Close()
				}
				return err
			},
			"Updates(map)": func() error {
				return db.Table("contacts").Where(byEmail).Updates(map[string]any{"stage": "won"}).Error
			},
			"Delete": func() error { return db.Table("contacts").Where(byEmail).Delete(&map[string]any{}).Error },
		}
		for name, run := range cases {
			t.Run(name, func(t *testing.T) {
				assertRefused(t, run(), gormcrypt.ErrEncryptedCondition, "email")
			})
		}
		assertReadsBack(t, db, c)
	})
}
