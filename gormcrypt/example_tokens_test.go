package gormcrypt_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/glebarez/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/gormcrypt"
	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/local"
)

// Patient is a tagged GORM model with token indexes: its Tokens fields
// are stored in side tables, not columns (gorm:"-").
type Patient struct {
	_          struct{}     `crypt:"record=patient"`
	ID         string       `gorm:"primaryKey" crypt:"id"`
	TenantID   string       `crypt:"scope"`
	Name       string       `crypt:"encrypt,class=pii"`
	Born       string       `crypt:"encrypt,class=pii"`
	NamePrefix crypt.Tokens `gorm:"-" crypt:"prefix=Name,len=3..8,bits=12,transform=lower"`
	BornRange  crypt.Tokens `gorm:"-" crypt:"range=Born,type=date,min=1900-01-01,max=2100-12-31"`
}

func ExampleSearch() {
	dir, err := os.MkdirTemp("", "gormcrypt-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
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
	defer kr.Close()

	// Foreign keys on: deleting a patient deletes its tokens.
	db, err := gorm.Open(sqlite.Open(filepath.Join(dir, "clinic.db")+"?_pragma=foreign_keys(1)"), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		log.Fatal(err)
	}
	db = db.WithContext(context.Background())
	if err := db.Use(gormcrypt.New(crypt.New(kr, nil), &Patient{})); err != nil {
		log.Fatal(err)
	}
	if err := db.AutoMigrate(&Patient{}); err != nil {
		log.Fatal(err)
	}
	// The side tables patients_name_prefix and patients_born_range.
	if err := gormcrypt.MigrateTokens(db, &Patient{}); err != nil {
		log.Fatal(err)
	}

	for i, p := range []Patient{
		{Name: "Ada Lovelace", Born: "1815-12-10"},
		{Name: "Lovell Jones", Born: "1962-03-14"},
		{Name: "Grace Hopper", Born: "1906-12-09"},
		{Name: "Alan Turing", Born: "1912-06-23"},
	} {
		p.ID, p.TenantID = fmt.Sprint("p-", i+1), "acme"
		if p.Born < "1900" {
			p.Born = "1900-01-01" // the range index's domain starts there
		}
		if err := db.Create(&p).Error; err != nil {
			log.Fatal(err)
		}
	}

	var found []Patient
	probe := &Patient{TenantID: "acme"}
	if err := db.Scopes(gormcrypt.Search(probe, "NamePrefix", crypt.HasPrefix("LOV"))).Order("id").Find(&found).Error; err != nil {
		log.Fatal(err)
	}
	for _, p := range found {
		fmt.Println("name starts with lov:", p.ID, p.Name)
	}
	found = nil
	if err := db.Scopes(gormcrypt.Search(probe, "BornRange", crypt.Between("1901-01-01", "1912-12-31"))).Order("id").Find(&found).Error; err != nil {
		log.Fatal(err)
	}
	for _, p := range found {
		fmt.Println("born 1901 to 1912:", p.ID, p.Name, p.Born)
	}
	// Output:
	// name starts with lov: p-2 Lovell Jones
	// born 1901 to 1912: p-3 Grace Hopper 1906-12-09
	// born 1901 to 1912: p-4 Alan Turing 1912-06-23
}
