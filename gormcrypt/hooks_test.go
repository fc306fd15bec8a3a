package gormcrypt_test

import (
	"errors"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"gorm.io/gorm"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/gormcrypt"
)

var noteIDs atomic.Int64

// Note gets its ID from a BeforeCreate hook, which runs before the plugin
// encrypts, so the ciphertexts bind it.
type Note struct {
	_        struct{} `crypt:"record=note"`
	ID       int64    `gorm:"primaryKey;autoIncrement:false" crypt:"id"`
	TenantID string   `gorm:"size:64" crypt:"scope"`
	Body     string   `crypt:"encrypt"`
}

func (n *Note) BeforeCreate(*gorm.DB) error {
	if n.ID == 0 {
		n.ID = 1000 + noteIDs.Add(1)
	}
	return nil
}

func TestCreateIDFromHook(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, _ *crypt.Encryptor) {
		if err := db.AutoMigrate(&Note{}); err != nil {
			t.Fatal(err)
		}
		n := &Note{TenantID: "acme", Body: "secret note body"}
		if err := db.Create(n).Error; err != nil {
			t.Fatalf("Create with a hook-assigned ID: %v", err)
		}
		if n.ID == 0 || n.Body != "secret note body" {
			t.Errorf("after Create: ID %d, body %q; want an ID and the plaintext", n.ID, n.Body)
		}
		var body string
		if err := db.Raw("SELECT body FROM notes WHERE id = ?", n.ID).Row().Scan(&body); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(body, "fc1:") {
			t.Errorf("stored body %q, want a ciphertext", body)
		}
		var got Note
		if err := db.First(&got, n.ID).Error; err != nil || got.Body != n.Body {
			t.Errorf("First = %q, %v; want the plaintext", got.Body, err)
		}
	})
}

// TestFailedCreateLeavesCaller: a write that fails leaves the caller's
// struct exactly as it was.
func TestFailedCreateLeavesCaller(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, _ *crypt.Encryptor) {
		c := newContact("acme")
		mustCreate(t, db, c)
		dup := newContact("acme")
		dup.ID = c.ID // the primary key is taken
		before := *dup
		before.Phone = ptr(*dup.Phone)
		before.Notes = append([]byte(nil), dup.Notes...)
		if err := db.Create(dup).Error; err == nil {
			t.Fatal("Create of a duplicate key: err = nil, want the database's error")
		}
		if !reflect.DeepEqual(*dup, before) {
			t.Errorf("failed Create changed the caller's struct: %+v, want %+v", *dup, before)
		}
		assertReadsBack(t, db, c)
	})
}

// TestCreateByValue: a record passed by value is written encrypted, as
// one passed by pointer (the plugin encrypts a copy, which GORM writes),
// never as plaintext, and is found by its blind index.
func TestCreateByValue(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, _ *crypt.Encryptor) {
		c := newContact("acme")
		if err := db.Create(*c).Error; err != nil {
			t.Fatalf("Create by value: %v", err)
		}
		if n := countRows(t, db, "contacts"); n != 1 {
			t.Fatalf("Create by value wrote %d rows, want 1", n)
		}
		if c.EmailIdx != "" {
			t.Errorf("the caller's struct, passed by value, received an index value")
		}
		c.EmailIdx = stored(t, db, c.ID).EmailIdx
		assertStoredEncrypted(t, db, c)
		assertReadsBack(t, db, c)
		assertFindsByEmail(t, db, "acme", c.Email, c.ID)
	})
}

// Account holds a record of its own by value, which GORM leaves zero when
// it is not loaded: refused with a clear error instead of failing deep in
// crypt on an empty scope.
type Account struct {
	ID        string  `gorm:"primaryKey;size:64" crypt:"id"`
	TenantID  string  `gorm:"size:64" crypt:"scope"`
	Name      string  `crypt:"encrypt"`
	CompanyID *string `gorm:"size:64"`
	Company   Company
}

func TestValueAssociationRefused(t *testing.T) {
	db, _ := setup(t, backends[0])
	if err := db.AutoMigrate(&Account{}); err != nil {
		t.Fatal(err)
	}
	err := db.Create(&Account{ID: "a-1", TenantID: "acme", Name: "secret account"}).Error
	if !errors.Is(err, gormcrypt.ErrUnsupportedModel) || !strings.Contains(err.Error(), "Company") {
		t.Errorf("Create of a model holding a record by value: err = %v, want ErrUnsupportedModel naming Company", err)
	}
	if n := countRows(t, db, "accounts"); n != 0 {
		t.Errorf("refused Create wrote %d rows", n)
	}
	var out []Account
	if err := db.Find(&out).Error; !errors.Is(err, gormcrypt.ErrUnsupportedModel) {
		t.Errorf("Find: err = %v, want ErrUnsupportedModel", err)
	}
}
