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

// Client is a record type with a token index: a Tokens field, stored in a
// side table of its own, not a column (db:"-").
type Client struct {
	_          struct{}     `crypt:"record=client"`
	ID         int64        `db:"id" crypt:"id"`
	TenantID   string       `db:"tenant_id" crypt:"scope"`
	Name       string       `db:"name" crypt:"encrypt,class=pii"`
	NamePrefix crypt.Tokens `db:"-" crypt:"prefix=Name,len=3..8,bits=12,transform=lower"`
}

func ExampleSearch() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "sqlcrypt-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
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
	defer kr.Close()
	enc := crypt.New(kr, nil)

	// Foreign keys on, so that deleting a client deletes its tokens.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "crm.db")+"?_pragma=foreign_keys(1)")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE TABLE clients (id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL, name TEXT NOT NULL)"); err != nil {
		log.Fatal(err)
	}
	// The side tables, keyed as the table's key column is (TokenTableDDL
	// gives the statements, for a migration file).
	if err := sqlcrypt.CreateTokenTables(ctx, db, sqlcrypt.SQLite, "clients", &Client{}); err != nil {
		log.Fatal(err)
	}

	// Each client and its tokens, in one transaction.
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	for i, name := range []string{"Ada Lovelace", "Lovell Jones", "Grace Hopper", "LOVE Bug"} {
		e, err := crypt.Encrypted(ctx, enc, &Client{ID: int64(i + 1), TenantID: "acme", Name: name})
		if err != nil {
			log.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO clients VALUES (?, ?, ?)", e.ID, e.TenantID, e.Name); err != nil {
			log.Fatal(err)
		}
		if err := sqlcrypt.ReplaceTokens(ctx, tx, sqlcrypt.SQLite, "clients", e); err != nil {
			log.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		log.Fatal(err)
	}

	probe := &Client{TenantID: "acme"}
	cond, args, match, err := sqlcrypt.Search(ctx, enc, sqlcrypt.SQLite, "clients", probe, "NamePrefix", crypt.HasPrefix("lov"), 1)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("WHERE", cond)
	rows, err := db.QueryContext(ctx, "SELECT * FROM clients WHERE "+cond+" ORDER BY id", args...)
	if err != nil {
		log.Fatal(err)
	}
	found, err := sqlcrypt.ScanAll[Client](ctx, enc, rows, match)
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range found {
		fmt.Println(c.ID, c.Name)
	}
	// Output:
	// WHERE "tenant_id" = ? COLLATE BINARY AND "id" IN (SELECT "id" FROM "clients_name_prefix" WHERE "token" = ?)
	// 2 Lovell Jones
	// 4 LOVE Bug
}
