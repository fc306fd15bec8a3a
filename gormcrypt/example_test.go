package gormcrypt_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/glebarez/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/gormcrypt"
	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/local"
)

// Customer is a tagged GORM model.
type Customer struct {
	ID       string `gorm:"primaryKey" crypt:"id"`
	TenantID string `crypt:"scope"`
	Email    string `crypt:"encrypt,class=pii"`
	EmailIdx string `crypt:"blind=Email,transform=lower+trim,bits=32"`
}

func Example() {
	dir, err := os.MkdirTemp("", "gormcrypt-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// A keyring with a development KEK; a service names a KMS key.
	kek, err := local.CreateInsecureKeyFile(filepath.Join(dir, "pii.json"))
	if err != nil {
		log.Fatal(err)
	}
	opener := kms.NewOpener()
	opener.Register(local.Scheme, local.OpenFunc(nil))
	kr, err := keyring.New(keyring.Config{Store: keyring.NewMemoryStore(), Opener: opener, KEKs: map[string]string{"pii": kek}})
	if err != nil {
		log.Fatal(err)
	}

	db, err := gorm.Open(sqlite.Open(filepath.Join(dir, "crm.db")), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		log.Fatal(err)
	}
	db = db.WithContext(context.Background())
	if err := db.Use(gormcrypt.New(crypt.New(kr, nil), &Customer{})); err != nil {
		log.Fatal(err)
	}
	if err := db.AutoMigrate(&Customer{}); err != nil {
		log.Fatal(err)
	}

	c := &Customer{ID: "cu-1", TenantID: "acme", Email: "ada@example.com"}
	if err := db.Create(c).Error; err != nil {
		log.Fatal(err)
	}
	fmt.Println("caller's struct:", c.Email)

	var stored string
	if err := db.Raw("SELECT email FROM customers WHERE id = ?", "cu-1").Row().Scan(&stored); err != nil {
		log.Fatal(err)
	}
	fmt.Println("stored:", strings.HasPrefix(stored, "fc1:"), strings.Contains(stored, "ada"))

	var found []Customer
	probe := &Customer{TenantID: "acme", Email: " ADA@example.com"}
	if err := db.Scopes(gormcrypt.Matching(probe, "EmailIdx")).Find(&found).Error; err != nil {
		log.Fatal(err)
	}
	fmt.Println("found:", len(found), found[0].ID, found[0].Email)
	// Output:
	// caller's struct: ada@example.com
	// stored: true false
	// found: 1 cu-1 ada@example.com
}
