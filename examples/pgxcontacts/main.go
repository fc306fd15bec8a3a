// Command pgxcontacts is fieldcrypt's new-developer task with pgx on
// PostgreSQL: an eight-column contact with three encrypted columns and a
// blind index on the e-mail address; insert 1,000 contacts, find one by
// e-mail, update it, list a page.
//
//	go run ./examples/pgxcontacts -dsn 'postgres://user@host:5432/db'
//
// contacts.go is the code a developer writes for the entity; keys.go is
// what a service writes once, whatever its entities. The contacts table and
// the keyset table are created if missing, so point -dsn at a scratch
// database (or a search_path of its own). The key-encryption key is a
// local development key file in a temporary directory, removed at the end:
// production code opens a Vault Transit, Google Cloud KMS or AWS KMS KEK
// instead (see package kms).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fieldcrypt/fieldcrypt/kms/local"
)

const tenant = "acme"

func main() {
	dsn := flag.String("dsn", os.Getenv("DATABASE_URL"), "PostgreSQL connection string (default $DATABASE_URL)")
	flag.Parse()
	if *dsn == "" {
		log.Fatal("pgxcontacts: give -dsn or set DATABASE_URL")
	}
	if err := run(context.Background(), os.Stdout, *dsn); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, out io.Writer, dsn string) error {
	say := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return err
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, contactsTable); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "pgxcontacts-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	kek, err := local.CreateInsecureKeyFile(filepath.Join(dir, "pii-kek.json"))
	if err != nil {
		return err
	}
	contacts, closeKeys, err := openContacts(ctx, pool, map[string]string{"pii": kek})
	if err != nil {
		return err
	}
	defer closeKeys()

	// Insert 1,000 contacts.
	batch := make([]Contact, 1000)
	created := time.Now().UTC().Truncate(time.Microsecond)
	for i := range batch {
		batch[i] = Contact{ID: int64(i + 1), TenantID: tenant, Name: fmt.Sprintf("Person %d", i+1),
			Email: fmt.Sprintf("person%d@example.com", i+1), Company: "Initech", CreatedAt: created}
		if i%3 == 0 {
			batch[i].Phone = new(fmt.Sprintf("+44 20 7946 %04d", i+1))
		}
	}
	if err := contacts.Insert(ctx, batch); err != nil {
		return err
	}
	say("inserted %d contacts; the caller's first one still reads %q", len(batch), batch[0].Email)

	// What the table holds.
	var stored string
	if err := pool.QueryRow(ctx, "SELECT email FROM contacts WHERE tenant_id = $1 AND id = 42", tenant).Scan(&stored); err != nil {
		return err
	}
	say("stored e-mail of contact 42: %s...", stored[:12])

	// Find by e-mail, whatever its case and spaces.
	found, err := contacts.FindByEmail(ctx, tenant, " Person42@Example.COM")
	if err != nil {
		return err
	}
	say("find %q: %s", " Person42@Example.COM", describe(found))

	// Update: a new e-mail address, so a new index value.
	c := found[0]
	c.Email = "ada@example.org"
	if ok, err := contacts.Update(ctx, &c); err != nil || !ok {
		return fmt.Errorf("update contact 42: found %v, %w", ok, err)
	}
	old, err := contacts.FindByEmail(ctx, tenant, "person42@example.com")
	if err != nil {
		return err
	}
	updated, err := contacts.FindByEmail(ctx, tenant, "ADA@example.org")
	if err != nil {
		return err
	}
	say("after the update: old e-mail finds %s; new e-mail finds %s", describe(old), describe(updated))

	// List a page.
	page, err := contacts.List(ctx, tenant, 40, 3)
	if err != nil {
		return err
	}
	say("contacts after 40: %s", describe(page))
	return nil
}

// describe spells out the contacts found.
func describe(cs []Contact) string {
	if len(cs) == 0 {
		return "no contact"
	}
	s := ""
	for i, c := range cs {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%d %s <%s>", c.ID, c.Name, c.Email)
	}
	return s
}
