package gormcrypt_test

import (
	"errors"
	"strings"
	"testing"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/gormcrypt"
)

// Address is a nested struct held by a Person, embedded into its columns.
type Address struct {
	Street string `crypt:"encrypt"`
	City   string `gorm:"size:64"`
}

// Person has an encrypted column of a custom name and an embedded struct
// with a prefix.
type Person struct {
	_        struct{} `crypt:"record=person"`
	ID       string   `gorm:"primaryKey;size:64" crypt:"id"`
	TenantID string   `gorm:"size:64" crypt:"scope"`
	Mail     string   `gorm:"column:mail_ct" crypt:"encrypt"`
	MailIdx  string   `gorm:"size:16" crypt:"blind=Mail,bits=32"`
	Home     Address  `gorm:"embedded;embeddedPrefix:home_"`
}

func TestHuntWrites(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, _ *crypt.Encryptor) {
		t.Run("Save with a changed ID", func(t *testing.T) {
			c := newContact("acme")
			mustCreate(t, db, c)
			old := c.ID
			c.ID += "-moved"
			if mysqlLike(db) {
				assertRefused(t, db.Save(c).Error, gormcrypt.ErrUnsupportedWrite, "tenant_id")
				return
			}
			if err := db.Save(c).Error; err != nil {
				t.Fatalf("Save: %v", err)
			}
			assertStoredEncrypted(t, db, c)
			assertReadsBack(t, db, c)
			var o Contact
			if err := db.First(&o, "id = ?", old).Error; err != nil {
				t.Errorf("the old row: %v", err)
			}
		})
		t.Run("Updates with Select(*)", func(t *testing.T) {
			c := newContact("acme")
			mustCreate(t, db, c)
			err := db.Model(c).Select("*").Updates(Contact{Email: "star@secret-mail.example"}).Error
			if err == nil {
				t.Errorf("Select(*).Updates of a struct whose scope is zero: err = nil, want a refusal")
			}
			assertStoredEncrypted(t, db, c)
			assertReadsBack(t, db, c)
		})
		t.Run("Updates with Omit", func(t *testing.T) {
			c := newContact("acme")
			mustCreate(t, db, c)
			if err := db.Model(c).Omit("email").Updates(map[string]any{"email": "omit@secret-mail.example", "name": "Omit Name"}).Error; err != nil {
				t.Fatalf("Omit(email).Updates: %v", err)
			}
			c.Email = stored(t, db, c.ID).Email // not written
			var got Contact
			if err := db.First(&got, "id = ?", c.ID).Error; err != nil || got.Name != "Omit Name" || strings.Contains(got.Email, "omit@") {
				t.Errorf("after Omit(email).Updates: %q %q %v", got.Name, got.Email, err)
			}
		})
		t.Run("SkipHooks and RETURNING on Create", func(t *testing.T) {
			c := newContact("acme")
			name, email := c.Name, c.Email
			tx := db.Session(&gorm.Session{SkipHooks: true})
			if db.Dialector.Name() != "mysql" {
				tx = tx.Clauses(clause.Returning{})
			}
			if err := tx.Create(c).Error; err != nil {
				t.Fatalf("Create: %v", err)
			}
			assertCallerPlain(t, c, name, email)
			assertStoredEncrypted(t, db, c)
			assertReadsBack(t, db, c)
		})
		t.Run("Create *[]T", func(t *testing.T) {
			cs := []Contact{*newContact("acme"), *newContact("acme")}
			plain := append([]Contact(nil), cs...)
			if err := db.Create(&cs).Error; err != nil {
				t.Fatalf("Create: %v", err)
			}
			for i := range cs {
				assertCallerPlain(t, &cs[i], plain[i].Name, plain[i].Email)
				assertStoredEncrypted(t, db, &cs[i])
			}
		})
		t.Run("CreateInBatches failing midway", func(t *testing.T) {
			dup := newContact("acme")
			mustCreate(t, db, dup)
			cs := []Contact{*newContact("acme"), *newContact("acme"), *newContact("acme")}
			cs[2].ID = dup.ID
			plain := append([]Contact(nil), cs...)
			if err := db.CreateInBatches(&cs, 2).Error; err == nil {
				t.Fatalf("CreateInBatches with a duplicate key: err = nil")
			}
			for i := range cs {
				assertCallerPlain(t, &cs[i], plain[i].Name, plain[i].Email)
			}
		})
		t.Run("FirstOrCreate with Assign(map)", func(t *testing.T) {
			c := newContact("acme")
			var got Contact
			if err := db.Where(Contact{ID: c.ID, TenantID: "acme"}).Assign(map[string]any{"email": "assign@secret-mail.example", "name": "Assign Name"}).FirstOrCreate(&got).Error; err != nil {
				t.Fatalf("FirstOrCreate(create): %v", err)
			}
			assertCallerPlain(t, &got, "Assign Name", "assign@secret-mail.example")
			r := stored(t, db, c.ID)
			if !strings.HasPrefix(r.Email, "fc1:") || !strings.HasPrefix(r.Name, "fc1:") {
				t.Errorf("stored %q %q, want ciphertexts", r.Name, r.Email)
			}
			var again Contact
			if err := db.Where(Contact{ID: c.ID, TenantID: "acme"}).Assign(map[string]any{"email": "again@secret-mail.example"}).FirstOrCreate(&again).Error; err != nil {
				t.Fatalf("FirstOrCreate(update): %v", err)
			}
			if r := stored(t, db, c.ID); !strings.HasPrefix(r.Email, "fc1:") {
				t.Errorf("stored %q, want a ciphertext", r.Email)
			}
			assertFindsByEmail(t, db, "acme", "again@secret-mail.example", c.ID)
		})
		t.Run("Association Append and Replace", func(t *testing.T) {
			c := newContact("acme")
			mustCreate(t, db, c)
			in := &Interaction{ID: c.ID + "-i1", TenantID: "acme", Summary: "appended secret summary"}
			if err := db.Model(c).Association("Interactions").Append(in); err != nil {
				t.Fatalf("Append: %v", err)
			}
			if in.Summary != "appended secret summary" {
				t.Errorf("caller's interaction holds %q after Append", in.Summary)
			}
			in2 := &Interaction{ID: c.ID + "-i2", TenantID: "acme", Summary: "replacing secret summary"}
			if err := db.Model(c).Association("Interactions").Replace(in2); err != nil {
				t.Fatalf("Replace: %v", err)
			}
			var sums []string
			if err := db.Raw("SELECT summary FROM interactions WHERE id IN ?", []string{in.ID, in2.ID}).Scan(&sums).Error; err != nil {
				t.Fatal(err)
			}
			for _, s := range sums {
				if !strings.HasPrefix(s, "fc1:") {
					t.Errorf("stored summary %q, want a ciphertext", s)
				}
			}
			var got Contact
			if err := db.Preload("Interactions").First(&got, "id = ?", c.ID).Error; err != nil || len(got.Interactions) != 1 || got.Interactions[0].Summary != in2.Summary {
				t.Errorf("Preload after Replace = %+v, %v", got.Interactions, err)
			}
			assertReadsBack(t, db, c)
		})
		t.Run("nested Create", func(t *testing.T) {
			c := newContact("acme")
			c.Company = &Company{ID: c.ID + "-co", TenantID: "acme", Name: "Secret Company"}
			c.Interactions = []Interaction{{ID: c.ID + "-n1", TenantID: "acme", Summary: "nested secret one"}, {ID: c.ID + "-n2", TenantID: "acme", Summary: "nested secret two"}}
			mustCreate(t, db, c)
			if c.Company.Name != "Secret Company" || c.Interactions[1].Summary != "nested secret two" {
				t.Errorf("caller's children hold %q %q", c.Company.Name, c.Interactions[1].Summary)
			}
			var got Contact
			if err := db.Preload("Company").Preload("Interactions").First(&got, "id = ?", c.ID).Error; err != nil {
				t.Fatal(err)
			}
			if got.Company == nil || got.Company.Name != "Secret Company" || len(got.Interactions) != 2 {
				t.Errorf("read back %+v", got)
			}
		})
		t.Run("embedded struct and custom column", func(t *testing.T) {
			if err := db.AutoMigrate(&Person{}); err != nil {
				t.Fatal(err)
			}
			p := &Person{ID: "p-1", TenantID: "acme", Mail: "person@secret-mail.example", Home: Address{Street: "1 Secret Street", City: "Springfield"}}
			if err := db.Create(p).Error; err != nil {
				t.Fatalf("Create: %v", err)
			}
			if p.Mail != "person@secret-mail.example" || p.Home.Street != "1 Secret Street" {
				t.Errorf("caller's struct holds %q %q", p.Mail, p.Home.Street)
			}
			checkStored := func() {
				t.Helper()
				var mail, street string
				if err := db.Raw("SELECT mail_ct, home_street FROM people WHERE id = ?", "p-1").Row().Scan(&mail, &street); err != nil {
					t.Fatal(err)
				}
				if !strings.HasPrefix(mail, "fc1:") || !strings.HasPrefix(street, "fc1:") {
					t.Errorf("stored %q %q, want ciphertexts", mail, street)
				}
			}
			checkStored()
			if err := db.Model(p).Updates(map[string]any{"home_street": "2 Secret Street", "mail_ct": "new@secret-mail.example"}).Error; err != nil {
				t.Fatalf("Updates: %v", err)
			}
			checkStored()
			var got Person
			if err := db.First(&got, "id = ?", "p-1").Error; err != nil || got.Home.Street != "2 Secret Street" || got.Mail != "new@secret-mail.example" {
				t.Errorf("First = %+v, %v", got, err)
			}
			var found []Person
			if err := db.Scopes(gormcrypt.Matching(&Person{TenantID: "acme", Mail: "new@secret-mail.example"}, "MailIdx")).Find(&found).Error; err != nil || len(found) != 1 {
				t.Errorf("search = %d, %v", len(found), err)
			}
		})
		t.Run("Find into maps and other types", func(t *testing.T) {
			c := newContact("acme")
			mustCreate(t, db, c)
			var rows []map[string]any
			if err := db.Model(&Contact{}).Where("id = ?", c.ID).Find(&rows).Error; err != nil {
				t.Fatalf("Find into maps: %v", err)
			}
			if len(rows) != 1 || strings.Contains(asString(rows[0]["email"]), "secret-mail") {
				t.Errorf("Find into maps: %d rows, email %v", len(rows), rows)
			}
			var lite []ContactLite
			if err := db.Model(&Contact{}).Where("id = ?", c.ID).Find(&lite).Error; err != nil {
				t.Fatalf("Find into another type: %v", err)
			}
			if len(lite) != 1 || !strings.HasPrefix(lite[0].Email, "fc1:") {
				t.Errorf("Find into a struct without crypt tags: %+v", lite)
			}
		})
	})
}

func asString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []byte:
		return string(v)
	}
	return ""
}

// Ambiguous column options on encrypted columns are refused when the
// model is first used.
type Serialized struct {
	_        struct{} `crypt:"record=serialized"`
	ID       string   `gorm:"primaryKey;size:64" crypt:"id"`
	TenantID string   `gorm:"size:64" crypt:"scope"`
	Tags     string   `gorm:"serializer:json" crypt:"encrypt"`
}

type Defaulted struct {
	_        struct{} `crypt:"record=defaulted"`
	ID       string   `gorm:"primaryKey;size:64" crypt:"id"`
	TenantID string   `gorm:"size:64" crypt:"scope"`
	Email    *string  `gorm:"default:'none@example.org'" crypt:"encrypt"`
}

func TestAmbiguousColumnsRefused(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, _ *crypt.Encryptor) {
		if err := db.AutoMigrate(&Serialized{}, &Defaulted{}); err != nil {
			t.Fatal(err)
		}
		err := db.Create(&Serialized{ID: "s-1", TenantID: "acme", Tags: "secret tags"}).Error
		assertRefused(t, err, gormcrypt.ErrUnsupportedModel, "tags")
		err = db.Create(&Defaulted{ID: "d-1", TenantID: "acme"}).Error
		assertRefused(t, err, gormcrypt.ErrUnsupportedModel, "email")
		if n := countRows(t, db, "serializeds") + countRows(t, db, "defaulteds"); n != 0 {
			t.Errorf("refused Creates wrote %d rows", n)
		}
		var out []Defaulted
		if err := db.Find(&out).Error; !errors.Is(err, gormcrypt.ErrUnsupportedModel) {
			t.Errorf("Find: err = %v, want ErrUnsupportedModel", err)
		}
	})
}

// TestSearchOtherTenant: a condition ORed into a search (by mistake, or by
// whoever builds the query from input) cannot return another tenant's row,
// even one with the same value.
func TestSearchOtherTenant(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, _ *crypt.Encryptor) {
		mine, theirs := newContact("acme"), newContact("globex")
		theirs.Email = mine.Email
		mustCreate(t, db, mine)
		mustCreate(t, db, theirs)
		probe := &Contact{TenantID: "acme", Email: mine.Email}
		queries := map[string]func() *gorm.DB{
			"Or after":  func() *gorm.DB { return db.Scopes(gormcrypt.Matching(probe, "EmailIdx")).Or("1 = 1") },
			"Or before": func() *gorm.DB { return db.Where("1 = 0").Or("1 = 1").Scopes(gormcrypt.Matching(probe, "EmailIdx")) },
			"Where, Or before": func() *gorm.DB {
				return db.Where("tenant_id = ?", "globex").Or("1 = 0").Scopes(gormcrypt.Matching(probe, "EmailIdx"))
			},
			"Unscoped": func() *gorm.DB {
				return db.Unscoped().Scopes(gormcrypt.Matching(probe, "EmailIdx")).Or("tenant_id = ?", "globex")
			},
		}
		for name, q := range queries {
			t.Run(name, func(t *testing.T) {
				var out []Contact
				if err := q().Find(&out).Error; err != nil {
					t.Fatalf("search: %v", err)
				}
				for _, c := range out {
					if c.TenantID != "acme" {
						t.Errorf("search of tenant acme returned contact %s of tenant %s", c.ID, c.TenantID)
					}
				}
				if len(out) > 1 || len(out) == 1 && out[0].ID != mine.ID {
					t.Errorf("search found %v, want %s alone", ids(out), mine.ID)
				}
			})
		}
	})
}

// TestColumnSpellings: a map key that GORM does not resolve to a field
// goes into the SQL as written, and the database may still read it as an
// encrypted column: a qualified, quoted or upper-case name.
func TestColumnSpellings(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, _ *crypt.Encryptor) {
		c := newContact("acme")
		mustCreate(t, db, c)
		const plain = "spelled@secret-mail.example"
		for _, key := range []string{"contacts.email", "EMAIL", "`email`", "\"email\"", " email", "Contacts.Email", "contacts.tenant_id"} {
			t.Run(key, func(t *testing.T) {
				model := *c
				check := func(op string, err error) {
					t.Helper()
					r := stored(t, db, c.ID)
					if !strings.HasPrefix(r.Email, "fc1:") || r.Tenant != "acme" || strings.Contains(r.Email+r.Name, "spelled") {
						t.Errorf("%s with key %q (err = %v) stored a plaintext or changed the scope", op, key, err)
					}
					var n int64
					if err := db.Raw("SELECT COUNT(*) FROM contacts WHERE id = 'c-spelled'").Row().Scan(&n); err != nil || n != 0 {
						t.Errorf("%s with key %q created a row", op, key)
					}
				}
				check("Model.Updates", db.Model(&model).Updates(map[string]any{key: plain}).Error)
				check("Table.Updates", db.Table("contacts").Where("id = ?", c.ID).Updates(map[string]any{key: plain}).Error)
				check("Create(map)", db.Model(&Contact{}).Create(map[string]any{"id": "c-spelled", "tenant_id": "acme", key: plain}).Error)
				err := db.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "id"}}, DoUpdates: clause.Assignments(map[string]any{key: plain})}).Create(&model).Error
				assertRefused(t, err, gormcrypt.ErrUnsupportedWrite, strings.TrimPrefix(strings.ToLower(strings.Trim(strings.TrimSpace(key[strings.LastIndex(key, ".")+1:]), "`\"")), ""))
				check("upsert", err)
			})
		}
		// A struct of another type is read through the model's columns
		// and encrypted.
		if err := db.Model(c).Updates(ContactLite{Email: "lite@secret-mail.example"}).Error; err != nil {
			t.Fatalf("Updates(ContactLite): %v", err)
		}
		c.Email = "lite@secret-mail.example"
		assertStoredEncrypted(t, db, c)
		assertReadsBack(t, db, c)
	})
}

// TestSearchSelect: a search whose Select or Omit leaves out the index's
// source would drop every match as a false positive: it is refused.
func TestSearchSelect(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, _ *crypt.Encryptor) {
		c := newContact("acme")
		mustCreate(t, db, c)
		probe := &Contact{TenantID: "acme", Email: c.Email}
		for name, tx := range map[string]*gorm.DB{
			"Select without the source": db.Select("id", "tenant_id"),
			"Omit the source":           db.Omit("email"),
			"Omit the scope":            db.Omit("tenant_id"),
		} {
			t.Run(name, func(t *testing.T) {
				var out []Contact
				err := tx.Scopes(gormcrypt.Matching(probe, "EmailIdx")).Find(&out).Error
				if !errors.Is(err, gormcrypt.ErrUnsupportedSearch) {
					t.Errorf("search: err = %v, %d rows; want ErrUnsupportedSearch", err, len(out))
				}
			})
		}
		var out []Contact
		if err := db.Select("id", "tenant_id", "email", "name", "phone", "notes").Scopes(gormcrypt.Matching(probe, "EmailIdx")).Find(&out).Error; err != nil || len(out) != 1 {
			t.Errorf("search selecting its source: %d rows, %v; want 1", len(out), err)
		}
	})
}

// TestCreateSelectOmit: a Create that leaves out a blind index whose
// source it writes, or the scope its ciphertexts are bound to, is refused.
func TestCreateSelectOmit(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, _ *crypt.Encryptor) {
		cases := map[string]struct {
			tx     *gorm.DB
			column string
		}{
			"Omit the index":              {db.Omit("email_idx"), "email_idx"},
			"Select the source, no index": {db.Select("id", "tenant_id", "email", "name", "name_idx"), "email_idx"},
			"Omit the scope":              {db.Omit("tenant_id"), "tenant_id"},
		}
		for name, tc := range cases {
			t.Run(name, func(t *testing.T) {
				c := newContact("acme")
				assertRefused(t, tc.tx.Create(c).Error, gormcrypt.ErrUnsupportedWrite, tc.column)
				var n int64
				if err := db.Raw("SELECT COUNT(*) FROM contacts WHERE id = ?", c.ID).Row().Scan(&n); err != nil || n != 0 {
					t.Errorf("refused Create wrote the row")
				}
			})
		}
		c := newContact("acme")
		if err := db.Omit("stage").Create(c).Error; err != nil {
			t.Fatalf("Omit(stage).Create: %v", err)
		}
		assertFindsByEmail(t, db, "acme", c.Email, c.ID)
	})
}

// TestEncryptedConditions: a condition GORM builds on an encrypted column
// would send the plaintext to the database and match nothing: refused in
// queries, updates, deletes and Pluck, before any SQL is sent.
func TestEncryptedConditions(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, _ *crypt.Encryptor) {
		c := newContact("acme")
		mustCreate(t, db, c)
		cases := map[string]func() error{
			"Where(struct).First": func() error { var o Contact; return db.Where(&Contact{Email: c.Email}).First(&o).Error },
			"Where(whole record)": func() error { var o []Contact; return db.Where(c).Find(&o).Error },
			"First(map)":          func() error { var o Contact; return db.First(&o, map[string]any{"name": c.Name}).Error },
			"Find(inline struct)": func() error { var o []Contact; return db.Find(&o, Contact{Email: c.Email}).Error },
			"Not":                 func() error { var o []Contact; return db.Not(map[string]any{"email": c.Email}).Find(&o).Error },
			"Or":                  func() error { var o []Contact; return db.Where("1 = 0").Or(&Contact{Email: c.Email}).Find(&o).Error },
			"IN": func() error {
				var o []Contact
				return db.Where(map[string]any{"email": []string{c.Email}}).Find(&o).Error
			},
			"FirstOrCreate": func() error {
				var o Contact
				return db.Where(Contact{ID: c.ID, Email: c.Email}).FirstOrCreate(&o).Error
			},
			"Pluck": func() error {
				var ids []string
				return db.Model(&Contact{}).Where(&Contact{Email: c.Email}).Pluck("id", &ids).Error
			},
			"Count": func() error {
				var n int64
				return db.Model(&Contact{}).Where(&Contact{Email: c.Email}).Count(&n).Error
			},
			"Update": func() error {
				return db.Model(&Contact{}).Where(&Contact{Email: c.Email}).Update("stage", "won").Error
			},
			"Delete": func() error { return db.Where(&Contact{Email: c.Email}).Delete(&Contact{}).Error },
		}
		for name, run := range cases {
			t.Run(name, func(t *testing.T) {
				assertRefused(t, run(), gormcrypt.ErrEncryptedCondition, map[bool]string{true: "name", false: "email"}[name == "First(map)" || name == "Where(whole record)"])
			})
		}
		assertReadsBack(t, db, c)
		// NULL and empty values are stored as they are: comparable.
		var none []Contact
		if err := db.Where(map[string]any{"phone": nil}).Find(&none).Error; err != nil {
			t.Errorf("Where(phone IS NULL): %v", err)
		}
	})
}
