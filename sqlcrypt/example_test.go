package sqlcrypt_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/local"
	"github.com/fieldcrypt/fieldcrypt/sqlcrypt"
)

// Customer is the record type of the examples.
type Customer struct {
	_        struct{} `crypt:"record=customer"`
	ID       int64    `db:"id" crypt:"id"`
	TenantID string   `db:"tenant_id" crypt:"scope"`
	Name     string   `db:"name" crypt:"encrypt,class=pii"`
	Email    string   `db:"email" crypt:"encrypt,class=pii"`
	EmailIdx string   `db:"email_idx" crypt:"blind=Email,transform=lower+trim,bits=4"`
}

// exampleDB returns an Encryptor whose keysets are wrapped by a local
// development KEK, and an SQLite database holding a customers table, both
// in a temporary directory that cleanup removes. Production code opens a
// Vault Transit, Google Cloud KMS or AWS KMS KEK instead, and keeps its
// keysets in keyring/sqlstore.
func exampleDB() (enc *crypt.Encryptor, db *sql.DB, cleanup func()) {
	dir, err := os.MkdirTemp("", "sqlcrypt-example")
	if err != nil {
		log.Fatal(err)
	}
	uri, err := local.CreateInsecureKeyFile(filepath.Join(dir, "kek.json"))
	if err != nil {
		log.Fatal(err)
	}
	opener := kms.NewOpener()
	opener.Register(local.Scheme, local.OpenFunc(nil))
	kr, err := keyring.New(keyring.Config{Store: keyring.NewMemoryStore(), Opener: opener, DefaultKEK: uri})
	if err != nil {
		log.Fatal(err)
	}
	db, err = sql.Open("sqlite", filepath.Join(dir, "crm.db"))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE customers (id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL,
		name TEXT NOT NULL, email TEXT NOT NULL, email_idx TEXT NOT NULL)`); err != nil {
		log.Fatal(err)
	}
	return crypt.New(kr, nil), db, func() { db.Close(); kr.Close(); os.RemoveAll(dir) }
}

// insertCustomer writes an encrypted copy of c: c keeps its plaintext.
func insertCustomer(ctx context.Context, enc *crypt.Encryptor, db *sql.DB, c Customer) {
	e, err := crypt.Encrypted(ctx, enc, &c)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO customers VALUES (?, ?, ?, ?, ?)", e.ID, e.TenantID, e.Name, e.Email, e.EmailIdx); err != nil {
		log.Fatal(err)
	}
}

func ExampleScanAll() {
	ctx := context.Background()
	enc, db, cleanup := exampleDB()
	defer cleanup()
	insertCustomer(ctx, enc, db, Customer{ID: 1, TenantID: "acme", Name: "Ada Lovelace", Email: "ada@example.com"})
	insertCustomer(ctx, enc, db, Customer{ID: 2, TenantID: "acme", Name: "Alan Turing", Email: "alan@example.com"})

	var stored string
	if err := db.QueryRowContext(ctx, "SELECT name FROM customers WHERE id = 1").Scan(&stored); err != nil {
		log.Fatal(err)
	}
	fmt.Println("stored:", stored[:4], "...")

	rows, err := db.QueryContext(ctx, "SELECT * FROM customers WHERE tenant_id = ? ORDER BY id", "acme")
	if err != nil {
		log.Fatal(err)
	}
	customers, err := sqlcrypt.ScanAll[Customer](ctx, enc, rows)
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range customers {
		fmt.Println(c.ID, c.Name, c.Email)
	}
	// Output:
	// stored: fc1: ...
	// 1 Ada Lovelace ada@example.com
	// 2 Alan Turing alan@example.com
}

func ExampleLookup() {
	ctx := context.Background()
	enc, db, cleanup := exampleDB()
	defer cleanup()
	for i, email := range []string{"ada@example.com", "alan@example.com", "grace@example.com", "ADA@example.com "} {
		insertCustomer(ctx, enc, db, Customer{ID: int64(i + 1), TenantID: "acme", Name: fmt.Sprint("Customer ", i+1), Email: email})
	}

	probe := &Customer{TenantID: "acme", Email: "Ada@Example.com"}
	cond, args, err := sqlcrypt.Lookup(ctx, enc, sqlcrypt.SQLite, probe, "EmailIdx", 1)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("WHERE", cond)
	rows, err := db.QueryContext(ctx, "SELECT * FROM customers WHERE "+cond+" ORDER BY id", args...)
	if err != nil {
		log.Fatal(err)
	}
	found, err := sqlcrypt.ScanAll[Customer](ctx, enc, rows, sqlcrypt.Match(probe, "EmailIdx"))
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range found {
		fmt.Printf("%d %s %q\n", c.ID, c.Name, c.Email)
	}

	// The same condition for PostgreSQL, after two parameters of the
	// caller's own:
	cond, _, err = sqlcrypt.Lookup(ctx, enc, sqlcrypt.Postgres, probe, "EmailIdx", 3)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("WHERE", cond)
	// Output:
	// WHERE "tenant_id" = ? COLLATE BINARY AND "email_idx" IN (?)
	// 1 Customer 1 "ada@example.com"
	// 4 Customer 4 "ADA@example.com "
	// WHERE "tenant_id" = $3 AND "email_idx" = ANY($4)
}
