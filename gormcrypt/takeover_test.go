package gormcrypt_test

import (
	"errors"
	"reflect"
	"testing"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/gormcrypt"
)

// RvOwner has many RvNotes, whose foreign key is one of their identity
// fields: a note's body is bound to its owner.
type RvOwner struct {
	_        struct{} `crypt:"record=rvowner"`
	ID       string   `gorm:"primaryKey;size:64" crypt:"id"`
	TenantID string   `gorm:"size:64" crypt:"scope"`
	Name     string   `crypt:"encrypt"`
	RvNotes  []RvNote `gorm:"foreignKey:OwnerID"`
}

type RvNote struct {
	_        struct{} `crypt:"record=rvnote"`
	ID       string   `gorm:"primaryKey;size:64" crypt:"id"`
	OwnerID  string   `gorm:"size:64" crypt:"id"`
	TenantID string   `gorm:"size:64" crypt:"scope"`
	Body     string   `crypt:"encrypt"`
}

// rawNote reads a note's owner and stored body with raw SQL.
func rawNote(t *testing.T, db *gorm.DB, id string) [2]string {
	t.Helper()
	var r [2]string
	if err := db.Raw("SELECT owner_id, body FROM rv_notes WHERE id = ?", id).Row().Scan(&r[0], &r[1]); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestAssociationIdentityChange plays a caller who moves a note to another
// owner through an association write, which GORM saves as an upsert that
// sets owner_id on conflict: the note's body is bound to its old owner, so
// the write is refused (PostgreSQL and SQLite: the DO UPDATE is kept to the
// row of the same identity and the write reports the row it left; MySQL
// and MariaDB: refused before SQL), and the note still reads back.
func TestAssociationIdentityChange(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, _ *crypt.Encryptor) {
		if err := db.AutoMigrate(&RvOwner{}, &RvNote{}); err != nil {
			t.Fatal(err)
		}
		a := &RvOwner{ID: "a", TenantID: "acme", Name: "owner a", RvNotes: []RvNote{{ID: "n-1", TenantID: "acme", Body: "note of a"}}}
		err := db.Create(a).Error
		if mysqlLike(db) {
			// A nested Create is an upsert setting owner_id: refused,
			// and rolled back.
			assertRefused(t, err, gormcrypt.ErrUnsupportedWrite, "owner_id")
			if n := countRows(t, db, "rv_owners") + countRows(t, db, "rv_notes"); n != 0 {
				t.Fatalf("refused nested Create wrote %d rows", n)
			}
			a.RvNotes = nil
			if err := db.Create(a).Error; err != nil {
				t.Fatal(err)
			}
			if err := db.Create(&RvNote{ID: "n-1", OwnerID: "a", TenantID: "acme", Body: "note of a"}).Error; err != nil {
				t.Fatal(err)
			}
		} else if err != nil {
			t.Fatalf("nested Create: %v", err)
		}
		b := &RvOwner{ID: "b", TenantID: "acme", Name: "owner b"}
		if err := db.Create(b).Error; err != nil {
			t.Fatal(err)
		}
		before := rawNote(t, db, "n-1")
		var note RvNote
		if err := db.First(&note, "id = ?", "n-1").Error; err != nil {
			t.Fatal(err)
		}
		err = db.Model(b).Association("RvNotes").Append(&note)
		if err == nil {
			t.Fatalf("Append of a's note to b: err = nil, want a refusal")
		}
		if !errors.Is(err, gormcrypt.ErrUnsupportedWrite) {
			t.Errorf("Append: err = %v, want ErrUnsupportedWrite", err)
		}
		if after := rawNote(t, db, "n-1"); after != before {
			t.Errorf("refused Append changed the row: owner %q -> %q", before[0], after[0])
		}
		var got RvNote
		if err := db.First(&got, "id = ?", "n-1").Error; err != nil || got.Body != "note of a" || got.OwnerID != "a" {
			t.Errorf("First(n-1) after the Append = %+v, %v; want a's note, readable", got, err)
		}
		// Saving an owner with its loaded notes, whose owner does not
		// change, still works where the upsert can be kept to the same
		// identity.
		var loaded RvOwner
		if err := db.Preload("RvNotes").First(&loaded, "id = ?", "a").Error; err != nil || len(loaded.RvNotes) != 1 {
			t.Fatalf("Preload: %+v, %v", loaded, err)
		}
		loaded.Name = "owner a renamed"
		err = db.Save(&loaded).Error
		if mysqlLike(db) {
			assertRefused(t, err, gormcrypt.ErrUnsupportedWrite, "owner_id")
		} else if err != nil {
			t.Errorf("Save of an owner with its notes: %v", err)
		}
		if err := db.First(&got, "id = ?", "n-1").Error; err != nil || got.Body != "note of a" {
			t.Errorf("First(n-1) after Save = %+v, %v", got, err)
		}
	})
}

// TestSaveOtherTenant plays a tenant that saves a record with another
// tenant's ID: Save's UPDATE, kept to the ID and the scope, matches no row,
// and GORM falls back to an upsert on the ID. The other tenant's row must
// be left as it was, and the caller told (an error), on every database;
// an explicit upsert on the ID alone likewise.
func TestSaveOtherTenant(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, _ *crypt.Encryptor) {
		acme := newContact("acme")
		mustCreate(t, db, acme)
		before := stored(t, db, acme.ID)
		var stage string
		// The plaintext-only upsert runs last: MySQL and MariaDB cannot
		// keep it from another tenant's row (see doc.go).
		attempts := []struct {
			name    string
			attempt func(c *Contact) error
		}{
			{"Save", func(c *Contact) error { return db.Save(c).Error }},
			{"Save(slice)", func(c *Contact) error { return db.Save(&[]Contact{*c}).Error }},
			{"OnConflict{id, UpdateAll}", func(c *Contact) error {
				return db.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "id"}}, UpdateAll: true}).Create(c).Error
			}},
			{"OnConflict{id, every column}", func(c *Contact) error {
				return db.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "id"}},
					DoUpdates: clause.AssignmentColumns([]string{"tenant_id", "name", "name_idx", "email", "email_idx", "phone", "notes", "stage"})}).Create(c).Error
			}},
			{"OnConflict{id, plaintext column}", func(c *Contact) error {
				return db.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "id"}}, DoUpdates: clause.AssignmentColumns([]string{"stage"})}).Create(c).Error
			}},
		}
		for _, tc := range attempts {
			name, attempt := tc.name, tc.attempt
			t.Run(name, func(t *testing.T) {
				globex := newContact("globex")
				globex.ID, globex.Stage = acme.ID, "stolen"
				err := attempt(globex)
				plainOnly := name == "OnConflict{id, plaintext column}"
				if err == nil && !(plainOnly && mysqlLike(db)) {
					t.Errorf("write of another tenant's ID: err = nil, want an error")
				} else if err != nil && !errors.Is(err, gormcrypt.ErrUnsupportedWrite) {
					t.Errorf("err = %v, want ErrUnsupportedWrite", err)
				}
				if after := stored(t, db, acme.ID); !reflect.DeepEqual(after, before) {
					t.Errorf("acme's row changed: tenant %q -> %q", before.Tenant, after.Tenant)
				}
				var got Contact
				if err := db.First(&got, "id = ?", acme.ID).Error; err != nil {
					t.Fatalf("First: %v", err)
				}
				assertSamePlaintext(t, &got, acme)
				if !mysqlLike(db) || !plainOnly {
					if err := db.Raw("SELECT stage FROM contacts WHERE id = ?", acme.ID).Row().Scan(&stage); err != nil || stage != acme.Stage {
						t.Errorf("acme's stage = %q, %v; want %q", stage, err, acme.Stage)
					}
				}
			})
		}
		if n := countRows(t, db, "contacts"); n != 1 {
			t.Errorf("%d rows, want acme's only", n)
		}
	})
}

// TestAssociationIdentityCleared: an association's Delete, Clear and
// Replace set the held records' foreign key to NULL with an UPDATE through
// a model that names no record; when the foreign key is an identity field
// the notes' bodies would stay bound to their owner and become unreadable:
// refused, on every database, with the rows unchanged.
func TestAssociationIdentityCleared(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, _ *crypt.Encryptor) {
		if err := db.AutoMigrate(&RvOwner{}, &RvNote{}); err != nil {
			t.Fatal(err)
		}
		owner := &RvOwner{ID: "a", TenantID: "acme", Name: "owner a"}
		if err := db.Create(owner).Error; err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"n-1", "n-2"} {
			if err := db.Create(&RvNote{ID: id, OwnerID: "a", TenantID: "acme", Body: "body of " + id}).Error; err != nil {
				t.Fatal(err)
			}
		}
		var n1 RvNote
		if err := db.First(&n1, "id = ?", "n-1").Error; err != nil {
			t.Fatal(err)
		}
		for name, write := range map[string]func() error{
			"Delete":  func() error { return db.Model(owner).Association("RvNotes").Delete(&n1) },
			"Clear":   func() error { return db.Model(owner).Association("RvNotes").Clear() },
			"Replace": func() error { return db.Model(owner).Association("RvNotes").Replace(&n1) },
		} {
			t.Run(name, func(t *testing.T) {
				if err := write(); !errors.Is(err, gormcrypt.ErrUnsupportedWrite) {
					t.Errorf("err = %v, want ErrUnsupportedWrite", err)
				}
				for _, id := range []string{"n-1", "n-2"} {
					var got RvNote
					if err := db.First(&got, "id = ?", id).Error; err != nil || got.OwnerID != "a" || got.Body != "body of "+id {
						t.Errorf("First(%s) = %+v, %v; want a's note, readable", id, got, err)
					}
				}
			})
		}
	})
}
