// Command gormcontacts is the new developer's task, done with GORM and
// fieldcrypt: a contacts table of eight columns whose personal data is
// encrypted, with a blind index on the e-mail; insert 1,000 contacts, find
// one by e-mail, update it, and list the tenant's contacts.
//
//	go run ./examples/gormcontacts
//
// It writes a SQLite database and a development KEK file to a fresh
// temporary directory, removed at the end.
//
// The fieldcrypt part is the crypt tags of Contact, building the keyring
// and registering the plugin in run, and the Matching scope of the search.
// Everything else is the GORM code the task needs anyway. The keyring here
// keeps its wrapped keysets in memory; a service keeps them in a SQL table
// (keyring/sqlstore) and names a KMS key instead of a local file.
package main

import (
	"context"
	"fmt"
	"io"
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

// Contact is a CRM contact: eight columns, four of them encrypted, one a
// blind index for finding a contact by e-mail.
type Contact struct {
	ID       string `gorm:"primaryKey;size:36" crypt:"id"`
	TenantID string `gorm:"size:64;index:tenant_email" crypt:"scope"`
	Name     string `crypt:"encrypt,class=pii"`
	Email    string `crypt:"encrypt,class=pii"`
	EmailIdx string `gorm:"size:16;index:tenant_email" crypt:"blind=Email,transform=lower+trim,population=1000000"`
	Phone    string `crypt:"encrypt,class=pii"`
	Company  string
	Stage    string
}

func main() {
	dir, err := os.MkdirTemp("", "gormcontacts-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := run(context.Background(), os.Stdout, dir); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, out io.Writer, dir string) error {
	db, err := gorm.Open(sqlite.Open(filepath.Join(dir, "crm.db")), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		return err
	}
	db = db.WithContext(ctx)
	kekURI, err := local.CreateInsecureKeyFile(filepath.Join(dir, "pii-kek.json")) // development only
	if err != nil {
		return err
	}
	opener := kms.NewOpener()
	opener.Register(local.Scheme, local.OpenFunc(nil))
	kr, err := keyring.New(keyring.Config{Store: keyring.NewMemoryStore(), Opener: opener, KEKs: map[string]string{"pii": kekURI}})
	if err != nil {
		return err
	}
	if err := db.Use(gormcrypt.New(crypt.New(kr, nil), &Contact{})); err != nil {
		return err
	}
	if err := db.AutoMigrate(&Contact{}); err != nil {
		return err
	}

	// Insert 1,000 contacts. IDs are generated here: every ciphertext is
	// bound to its row's ID, which must be known before the INSERT.
	contacts := make([]Contact, 1000)
	for i := range contacts {
		contacts[i] = Contact{ID: fmt.Sprintf("c-%04d", i), TenantID: "acme", Name: fmt.Sprintf("Contact %d", i),
			Email: fmt.Sprintf("user%d@example.com", i), Phone: fmt.Sprintf("+1 555 %07d", i), Company: "Initech", Stage: "lead"}
	}
	if err := db.CreateInBatches(contacts, 200).Error; err != nil {
		return err
	}

	// Find one by e-mail, whatever its case.
	var found []Contact
	byEmail := gormcrypt.Matching(&Contact{TenantID: "acme", Email: "User42@Example.com"}, "EmailIdx")
	if err := db.Scopes(byEmail).Find(&found).Error; err != nil {
		return err
	}
	if len(found) != 1 {
		return fmt.Errorf("found %d contacts with that e-mail, want 1", len(found))
	}
	fmt.Fprintf(out, "found %s: %s <%s>\n", found[0].ID, found[0].Name, found[0].Email)

	// Update it.
	if err := db.Model(&found[0]).Updates(map[string]any{"email": "ada@example.com", "stage": "customer"}).Error; err != nil {
		return err
	}

	// List a page of the tenant's contacts.
	var list []Contact
	if err := db.Where("tenant_id = ?", "acme").Order("id").Offset(41).Limit(3).Find(&list).Error; err != nil {
		return err
	}
	for _, c := range list {
		fmt.Fprintf(out, "%s %s <%s> %s %s\n", c.ID, c.Name, c.Email, c.Phone, c.Stage)
	}
	var n int64
	if err := db.Model(&Contact{}).Count(&n).Error; err != nil {
		return err
	}
	fmt.Fprintf(out, "%d contacts\n", n)
	return nil
}
