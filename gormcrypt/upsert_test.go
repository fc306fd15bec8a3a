package gormcrypt_test

import (
	"reflect"
	"strings"
	"testing"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/gormcrypt"
)

// Member has a unique key besides its identity: on MySQL and MariaDB an
// upsert of a new member whose handle is taken would update the member
// holding the handle.
type Member struct {
	_        struct{} `crypt:"record=member"`
	ID       string   `gorm:"primaryKey;size:64" crypt:"id"`
	TenantID string   `gorm:"size:64" crypt:"scope"`
	Handle   string   `gorm:"size:64;uniqueIndex"`
	Email    string   `crypt:"encrypt"`
}

// TestUpsertOtherUniqueKey: an upsert that could update, through another
// unique key, a row whose identity its ciphertexts do not bind is refused
// on every database, and the other row is left as it was.
func TestUpsertOtherUniqueKey(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, _ *crypt.Encryptor) {
		if err := db.AutoMigrate(&Member{}); err != nil {
			t.Fatal(err)
		}
		first := &Member{ID: "m-1", TenantID: "acme", Handle: "zeb", Email: "first@secret-mail.example"}
		if err := db.Create(first).Error; err != nil {
			t.Fatal(err)
		}
		var before string
		if err := db.Raw("SELECT email FROM members WHERE id = ?", "m-1").Row().Scan(&before); err != nil {
			t.Fatal(err)
		}
		upserts := map[string]func(m *Member) error{
			"OnConflict{id, UpdateAll}": func(m *Member) error {
				return db.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "id"}}, UpdateAll: true}).Create(m).Error
			},
			"OnConflict{UpdateAll}": func(m *Member) error {
				return db.Clauses(clause.OnConflict{UpdateAll: true}).Create(m).Error
			},
			"OnConflict{DoUpdates} without a target": func(m *Member) error {
				return db.Clauses(clause.OnConflict{DoUpdates: clause.AssignmentColumns([]string{"email", "tenant_id"})}).Create(m).Error
			},
			"OnConflict{OnConstraint}": func(m *Member) error {
				return db.Clauses(clause.OnConflict{OnConstraint: "idx_members_handle", UpdateAll: true}).Create(m).Error
			},
			"Save(slice)": func(m *Member) error { return db.Save(&[]Member{*m}).Error },
			"Save(new)":   func(m *Member) error { return db.Save(m).Error },
		}
		for name, upsert := range upserts {
			t.Run(name, func(t *testing.T) {
				err := upsert(&Member{ID: "m-2", TenantID: "acme", Handle: "zeb", Email: "second@secret-mail.example"})
				if err == nil {
					t.Fatalf("upsert of a new member whose handle is taken: err = nil, want an error")
				}
				if db.Dialector.Name() == "mysql" || strings.HasPrefix(name, "OnConflict{DoUpdates}") || strings.HasPrefix(name, "OnConflict{OnConstraint}") {
					assertRefused(t, err, gormcrypt.ErrUnsupportedWrite, "email")
				}
				var after string
				if err := db.Raw("SELECT email FROM members WHERE id = ?", "m-1").Row().Scan(&after); err != nil {
					t.Fatal(err)
				}
				if after != before {
					t.Errorf("the upsert rewrote another member's email")
				}
				var got Member
				if err := db.First(&got, "id = ?", "m-1").Error; err != nil || !reflect.DeepEqual(got, *first) {
					t.Errorf("First(m-1) = %+v, %v; want %+v", got, err, *first)
				}
			})
		}
		// Without encrypted columns in the update, nothing is bound to
		// the wrong identity: allowed everywhere.
		err := db.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "id"}}, DoUpdates: clause.AssignmentColumns([]string{"handle"})}).
			Create(&Member{ID: "m-1", TenantID: "acme", Handle: "zebulon", Email: "x@secret-mail.example"}).Error
		if err != nil {
			t.Errorf("upsert updating only handle: %v", err)
		}
	})
}

// Scoped has a primary key of its scope and its identity: an upsert on it
// can only update the same record of the same tenant.
type Scoped struct {
	_        struct{} `crypt:"record=scoped"`
	TenantID string   `gorm:"primaryKey;size:64" crypt:"scope"`
	ID       string   `gorm:"primaryKey;size:64" crypt:"id"`
	Secret   string   `crypt:"encrypt"`
}

// TestUpsertScopedKey: a conflict target that holds the identity and the
// scope is accepted, by Save and by an explicit upsert, on every database;
// on MySQL and MariaDB once those columns compare byte for byte (a binary
// collation that does not pad: TestSaveUnderAnotherSpellingOfTheKey shows
// the refusal under the default one).
func TestUpsertScopedKey(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, _ *crypt.Encryptor) {
		if err := db.AutoMigrate(&Scoped{}); err != nil {
			t.Fatal(err)
		}
		if db.Dialector.Name() == "mysql" {
			if err := db.Exec("ALTER TABLE scopeds MODIFY tenant_id VARCHAR(64) COLLATE utf8mb4_nopad_bin, MODIFY id VARCHAR(64) COLLATE utf8mb4_nopad_bin").Error; err != nil {
				t.Fatal(err)
			}
		}
		s := &Scoped{TenantID: "acme", ID: "s-1", Secret: "first secret"}
		if err := db.Save(s).Error; err != nil {
			t.Fatalf("Save(new): %v", err)
		}
		s.Secret = "second secret"
		if err := db.Save(&[]Scoped{*s}).Error; err != nil {
			t.Fatalf("Save(slice): %v", err)
		}
		s.Secret = "third secret"
		err := db.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "tenant_id"}, {Name: "id"}}, DoUpdates: clause.AssignmentColumns([]string{"secret"})}).Create(s).Error
		if err != nil {
			t.Fatalf("upsert on (tenant_id, id): %v", err)
		}
		// The same ID in another tenant is another row.
		if err := db.Save(&Scoped{TenantID: "globex", ID: "s-1", Secret: "globex secret"}).Error; err != nil {
			t.Fatalf("Save(other tenant): %v", err)
		}
		var got []Scoped
		if err := db.Order("tenant_id").Find(&got).Error; err != nil || len(got) != 2 || got[0].Secret != "third secret" || got[1].Secret != "globex secret" {
			t.Errorf("Find = %+v, %v", got, err)
		}
	})
}
