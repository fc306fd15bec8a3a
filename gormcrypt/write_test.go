package gormcrypt_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/gormcrypt"
)

func TestCreate(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, _ *crypt.Encryptor) {
		c := newContact("acme")
		name, email := c.Name, c.Email
		if err := db.Create(c).Error; err != nil {
			t.Fatalf("Create: %v", err)
		}
		assertCallerPlain(t, c, name, email)
		if c.CreatedAt.IsZero() || c.EmailIdx == "" {
			t.Errorf("Create left CreatedAt %v and EmailIdx %q in the caller's struct, want them set", c.CreatedAt, c.EmailIdx)
		}
		assertStoredEncrypted(t, db, c)
		assertReadsBack(t, db, c)
	})
}

func TestCreateSlice(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, _ *crypt.Encryptor) {
		cs := []*Contact{newContact("acme"), newContact("acme"), newContact("globex")}
		if err := db.Create(&cs).Error; err != nil {
			t.Fatalf("Create(slice): %v", err)
		}
		for _, c := range cs {
			assertStoredEncrypted(t, db, c)
			assertReadsBack(t, db, c)
		}
	})
}

func TestCreateInBatches(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, _ *crypt.Encryptor) {
		var cs []Contact
		for range 5 {
			cs = append(cs, *newContact("acme"))
		}
		plain := append([]Contact(nil), cs...)
		if err := db.CreateInBatches(cs, 2).Error; err != nil {
			t.Fatalf("CreateInBatches: %v", err)
		}
		for i := range cs {
			assertCallerPlain(t, &cs[i], plain[i].Name, plain[i].Email)
			assertStoredEncrypted(t, db, &cs[i])
			assertReadsBack(t, db, &cs[i])
		}
	})
}

func TestSave(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, _ *crypt.Encryptor) {
		c := newContact("acme")
		if mysqlLike(db) {
			// ON DUPLICATE KEY UPDATE cannot be kept from another
			// tenant's row with the same ID: the upsert is refused.
			assertRefused(t, db.Save(c).Error, gormcrypt.ErrUnsupportedWrite, "tenant_id")
			if n := countRows(t, db, "contacts"); n != 0 {
				t.Fatalf("refused Save wrote %d rows", n)
			}
			mustCreate(t, db, c)
		} else if err := db.Save(c).Error; err != nil { // no such row yet: an upsert on the primary key
			t.Fatalf("Save(new): %v", err)
		}
		assertStoredEncrypted(t, db, c)
		c.Email = "Changed.Address@secret-mail.example"
		c.Name = "Changed Name"
		before := c.EmailIdx
		if err := db.Save(c).Error; err != nil {
			t.Fatalf("Save(existing): %v", err)
		}
		assertCallerPlain(t, c, "Changed Name", "Changed.Address@secret-mail.example")
		if c.EmailIdx == before {
			t.Errorf("Save left email_idx %q in the struct, want the new e-mail's", c.EmailIdx)
		}
		assertStoredEncrypted(t, db, c)
		assertReadsBack(t, db, c)

		// Save of a slice: an upsert on the primary key.
		d := newContact("acme")
		batch := []Contact{*c, *d}
		batch[0].Email = "Batch@secret-mail.example"
		if mysqlLike(db) {
			assertRefused(t, db.Save(&batch).Error, gormcrypt.ErrUnsupportedWrite, "tenant_id")
			return
		}
		if err := db.Save(&batch).Error; err != nil {
			t.Fatalf("Save(slice): %v", err)
		}
		assertCallerPlain(t, &batch[0], c.Name, "Batch@secret-mail.example")
		for i := range batch {
			assertStoredEncrypted(t, db, &batch[i])
			assertReadsBack(t, db, &batch[i])
		}
	})
}

func TestUpdatesStruct(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, _ *crypt.Encryptor) {
		c := newContact("acme")
		mustCreate(t, db, c)
		if err := db.Model(c).Updates(Contact{Email: "New@secret-mail.example", Stage: "won"}).Error; err != nil {
			t.Fatalf("Updates(struct): %v", err)
		}
		assertCallerPlain(t, c, c.Name, "New@secret-mail.example")
		assertStoredEncrypted(t, db, c)
		assertReadsBack(t, db, c)
		assertFindsByEmail(t, db, "acme", "new@secret-mail.example", c.ID)
	})
}

func TestUpdatesMap(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, _ *crypt.Encryptor) {
		c := newContact("acme")
		mustCreate(t, db, c)
		// A column name and a Go field name, both encrypted, in plaintext.
		if err := db.Model(c).Updates(map[string]any{"email": "Map@secret-mail.example", "Name": "Map Name", "stage": "won"}).Error; err != nil {
			t.Fatalf("Updates(map): %v", err)
		}
		assertCallerPlain(t, c, "Map Name", "Map@secret-mail.example")
		assertStoredEncrypted(t, db, c)
		assertReadsBack(t, db, c)
		assertFindsByEmail(t, db, "acme", "map@secret-mail.example", c.ID)
	})
}

func TestUpdateColumn(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, _ *crypt.Encryptor) {
		c := newContact("acme")
		mustCreate(t, db, c)
		if err := db.Model(c).Update("email", "One@secret-mail.example").Error; err != nil {
			t.Fatalf("Update: %v", err)
		}
		assertStoredEncrypted(t, db, c)
		assertReadsBack(t, db, c)
		if err := db.Model(c).UpdateColumn("Name", "Column Name").Error; err != nil {
			t.Fatalf("UpdateColumn: %v", err)
		}
		if err := db.Model(c).UpdateColumns(map[string]any{"phone": "+1 555 0199 0000", "notes": []byte("column notes")}).Error; err != nil {
			t.Fatalf("UpdateColumns(map): %v", err)
		}
		if err := db.Model(c).UpdateColumns(Contact{Email: "Two@secret-mail.example"}).Error; err != nil {
			t.Fatalf("UpdateColumns(struct): %v", err)
		}
		assertCallerPlain(t, c, "Column Name", "Two@secret-mail.example")
		if *c.Phone != "+1 555 0199 0000" || string(c.Notes) != "column notes" {
			t.Errorf("model holds phone %v, notes %q after UpdateColumns, want the new plaintext", c.Phone, c.Notes)
		}
		assertStoredEncrypted(t, db, c)
		assertReadsBack(t, db, c)
		assertFindsByEmail(t, db, "acme", "two@secret-mail.example", c.ID)
	})
}

func TestFirstOrCreate(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, _ *crypt.Encryptor) {
		c := newContact("acme")
		want := *c
		var got Contact
		if err := db.Where(Contact{ID: c.ID}).Attrs(*c).FirstOrCreate(&got).Error; err != nil {
			t.Fatalf("FirstOrCreate (creating): %v", err)
		}
		assertCallerPlain(t, &got, want.Name, want.Email)
		assertStoredEncrypted(t, db, &got)
		var again Contact
		if err := db.Where(Contact{ID: c.ID}).Assign(Contact{Email: "Assigned@secret-mail.example"}).FirstOrCreate(&again).Error; err != nil {
			t.Fatalf("FirstOrCreate (found, assigning): %v", err)
		}
		assertCallerPlain(t, &again, want.Name, "Assigned@secret-mail.example")
		assertStoredEncrypted(t, db, &again)
		assertReadsBack(t, db, &again)
	})
}

func TestUpsert(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, _ *crypt.Encryptor) {
		c := newContact("acme")
		mustCreate(t, db, c)
		c2 := *c
		c2.Email, c2.Name = "Upserted@secret-mail.example", "Upserted Name"
		err := db.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "id"}}, UpdateAll: true}).Create(&c2).Error
		if mysqlLike(db) {
			// The scope is not in every unique key: refused (see
			// TestSaveOtherTenant).
			assertRefused(t, err, gormcrypt.ErrUnsupportedWrite, "tenant_id")
			return
		}
		if err != nil {
			t.Fatalf("Create with OnConflict{id, UpdateAll}: %v", err)
		}
		assertCallerPlain(t, &c2, "Upserted Name", "Upserted@secret-mail.example")
		assertStoredEncrypted(t, db, &c2)
		assertReadsBack(t, db, &c2)
		c3 := c2
		c3.Email = "Columns@secret-mail.example"
		err = db.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "id"}},
			DoUpdates: clause.AssignmentColumns([]string{"tenant_id", "name", "name_idx", "email", "email_idx", "phone", "notes", "updated_at"})}).Create(&c3).Error
		if err != nil {
			t.Fatalf("Create with OnConflict{id, DoUpdates: the scope and every encrypted column}: %v", err)
		}
		assertReadsBack(t, db, &c3)
		if err := db.Clauses(clause.OnConflict{DoNothing: true}).Create(newContact("acme")).Error; err != nil {
			t.Fatalf("Create with OnConflict{DoNothing}: %v", err)
		}
	})
}

func TestUpsertRefused(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, _ *crypt.Encryptor) {
		c := newContact("acme")
		mustCreate(t, db, c)
		before := stored(t, db, c.ID)
		cases := []struct {
			name   string
			clause clause.OnConflict
			column string
		}{
			{"target is not the identity", clause.OnConflict{Columns: []clause.Column{{Name: "email_idx"}}, UpdateAll: true}, "name"},
			{"plaintext assignment", clause.OnConflict{Columns: []clause.Column{{Name: "id"}}, DoUpdates: clause.Assignments(map[string]any{"email": "plain@secret-mail.example"})}, "email"},
			{"index left stale", clause.OnConflict{Columns: []clause.Column{{Name: "id"}}, DoUpdates: clause.AssignmentColumns([]string{"email", "tenant_id"})}, "email_idx"},
			{"scope not rewritten", clause.OnConflict{Columns: []clause.Column{{Name: "id"}}, DoUpdates: clause.AssignmentColumns([]string{"name", "name_idx"})}, "name"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				c2 := *c
				c2.Email, c2.Name = "Other@secret-mail.example", "Other Name"
				err := db.Clauses(tc.clause).Create(&c2).Error
				assertRefused(t, err, gormcrypt.ErrUnsupportedWrite, tc.column)
				if after := stored(t, db, c.ID); !reflect.DeepEqual(after, before) {
					t.Errorf("refused upsert changed the row")
				}
			})
		}
	})
}

// TestCreateAutoIncrementRefused: a key the database assigns is not known
// before the INSERT, so the ciphertexts could not bind it.
func TestCreateAutoIncrementRefused(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, _ *crypt.Encryptor) {
		err := db.Create(&Ticket{TenantID: "acme", Body: "printer on fire"}).Error
		assertRefused(t, err, gormcrypt.ErrUnknownIdentity, "id")
		if n := countRows(t, db, "tickets"); n != 0 {
			t.Errorf("refused Create wrote %d rows", n)
		}
		tk := &Ticket{ID: 42, TenantID: "acme", Body: "printer on fire"}
		if err := db.Create(tk).Error; err != nil {
			t.Fatalf("Create with a client-generated ID: %v", err)
		}
		var got Ticket
		if err := db.First(&got, 42).Error; err != nil || got.Body != "printer on fire" {
			t.Fatalf("First(ticket 42) = %q, %v; want the plaintext", got.Body, err)
		}
	})
}

// TestUpdateRefused: writes to encrypted columns that cannot be encrypted
// correctly are refused, name the column, and write nothing.
func TestUpdateRefused(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, _ *crypt.Encryptor) {
		c := newContact("acme")
		mustCreate(t, db, c)
		lead := &Lead{ID: "l-1", TenantID: "acme", First: "Ada", Last: "Lovelace"}
		if err := db.Create(lead).Error; err != nil {
			t.Fatal(err)
		}
		const plain = "plaintext@secret-mail.example"
		cases := []struct {
			name     string
			run      func() error
			sentinel error
			column   string
		}{
			{"Updates(map) without a model identity", func() error {
				return db.Model(&Contact{}).Where("id = ?", c.ID).Updates(map[string]any{"email": plain}).Error
			}, gormcrypt.ErrUnknownIdentity, "email"},
			{"Update(col) on a table, no model", func() error {
				return db.Table("contacts").Where("id = ?", c.ID).Update("email", plain).Error
			}, gormcrypt.ErrUnknownIdentity, "email"},
			{"Updates(map) on a table, no model", func() error {
				return db.Table("contacts").Where("id = ?", c.ID).Updates(map[string]any{"Name": plain}).Error
			}, gormcrypt.ErrUnknownIdentity, "name"},
			{"Update with an SQL expression", func() error {
				return db.Model(c).Update("email", gorm.Expr("LOWER(email)")).Error
			}, gormcrypt.ErrUnsupportedWrite, "email"},
			{"Update of a blind index", func() error {
				return db.Model(c).Update("email_idx", "00000000").Error
			}, gormcrypt.ErrUnsupportedWrite, "email_idx"},
			{"Update of the scope", func() error {
				return db.Model(c).Update("tenant_id", "globex").Error
			}, gormcrypt.ErrUnsupportedWrite, "tenant_id"},
			{"Updates of a slice of models", func() error {
				return db.Model(&[]Contact{*c}).Updates(map[string]any{"name": plain}).Error
			}, gormcrypt.ErrUnknownIdentity, "name"},
			{"Update with RETURNING", func() error {
				return db.Model(c).Clauses(clause.Returning{}).Update("stage", "won").Error
			}, gormcrypt.ErrUnsupportedWrite, ""},
			{"compound index, one source", func() error {
				return db.Model(lead).Update("first", "Augusta").Error
			}, gormcrypt.ErrUnsupportedWrite, "full_idx"},
		}
		before := stored(t, db, c.ID)
		model := *c
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				err := tc.run()
				assertRefused(t, err, tc.sentinel, tc.column)
				if after := stored(t, db, c.ID); !reflect.DeepEqual(after, before) {
					t.Errorf("refused write changed the row")
				}
				if !reflect.DeepEqual(*c, model) {
					t.Errorf("refused write changed the model: %+v, want %+v", *c, model)
				}
			})
		}
		var l Lead
		if err := db.First(&l, "id = ?", "l-1").Error; err != nil || l.First != "Ada" {
			t.Errorf("lead after refused update = %q, %v; want Ada", l.First, err)
		}
		if err := db.Model(lead).Updates(map[string]any{"first": "Augusta", "last": "King"}).Error; err != nil {
			t.Errorf("Updates of both sources of a compound index: %v", err)
		}
	})
}

func assertRefused(t *testing.T, err, sentinel error, column string) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want %v naming column %s", sentinel, column)
	}
	if !errors.Is(err, sentinel) {
		t.Errorf("err = %v, want errors.Is %v", err, sentinel)
	}
	var ge *gormcrypt.Error
	if !errors.As(err, &ge) || ge.Column != column {
		t.Errorf("err = %v, want a *gormcrypt.Error naming column %s", err, column)
	}
	if strings.Contains(err.Error(), "secret-mail") {
		t.Errorf("error quotes a plaintext: %v", err)
	}
}

// mysqlLike reports whether db is MySQL or MariaDB, whose ON DUPLICATE KEY
// UPDATE takes no WHERE.
func mysqlLike(db *gorm.DB) bool { return db.Dialector.Name() == "mysql" }

func mustCreate(t *testing.T, db *gorm.DB, c *Contact) {
	t.Helper()
	if err := db.Create(c).Error; err != nil {
		t.Fatalf("Create: %v", err)
	}
}

// assertFindsByEmail searches by e-mail and wants exactly the contact id.
func assertFindsByEmail(t *testing.T, db *gorm.DB, tenant, email, id string) {
	t.Helper()
	var out []Contact
	if err := db.Scopes(gormcrypt.Matching(&Contact{TenantID: tenant, Email: email}, "EmailIdx")).Find(&out).Error; err != nil {
		t.Fatalf("search by e-mail: %v", err)
	}
	if len(out) != 1 || out[0].ID != id {
		t.Errorf("search by e-mail found %d rows, want contact %s alone", len(out), id)
	}
}
