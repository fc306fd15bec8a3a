// Command quickstart shows fieldcrypt's whole flow on an embedded SQLite
// database and local development KEKs: create keys, insert encrypted
// contacts, find one by e-mail through its blind index, decrypt it, show
// what the table really holds, and show a support-role process that can read
// interaction notes but not personal data.
//
//	go run ./examples/quickstart
//
// Everything it writes goes to a fresh temporary directory, removed at the
// end unless -keep is given.
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"

	_ "modernc.org/sqlite"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/keyring/sqlstore"
	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/local"
)

// Contact is a CRM record. Personal data is in class "pii"; the interaction
// notes are in class "support", which the support team may read.
type Contact struct {
	_        struct{} `crypt:"record=contact"`
	ID       string   `crypt:"id"`
	TenantID string   `crypt:"scope"`
	Name     string   `crypt:"encrypt,class=pii"`
	Email    string   `crypt:"encrypt,class=pii"`
	EmailIdx string   `crypt:"blind=Email,transform=lower+trim,population=50000"` // the planner: 11 bits
	Phone    *string  `crypt:"encrypt,class=pii"`
	Notes    string   `crypt:"encrypt,class=support"`
}

func main() {
	keep := flag.Bool("keep", false, "keep the temporary directory (database and key files)")
	flag.Parse()
	if err := run(context.Background(), os.Stdout, *keep); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, out io.Writer, keep bool) error {
	dir, err := os.MkdirTemp("", "fieldcrypt-quickstart-")
	if err != nil {
		return err
	}
	if !keep {
		defer os.RemoveAll(dir)
	}
	say := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }

	// 1. Development KEKs: one per field class. In production these are
	//    hcvault://, gcp-kms:// or aws-kms:// URIs and never leave the KMS.
	keks := map[string]string{}
	for _, class := range []string{"pii", "support"} {
		uri, err := local.CreateInsecureKeyFile(filepath.Join(dir, class+"-kek.json"))
		if err != nil {
			return err
		}
		keks[class] = uri
	}
	opener := kms.NewOpener()
	opener.Register(local.Scheme, local.OpenFunc(nil))

	// 2. One SQLite database holds the wrapped keysets and the contacts.
	db, err := sql.Open("sqlite", filepath.Join(dir, "crm.db"))
	if err != nil {
		return err
	}
	defer db.Close()
	store, err := sqlstore.New(db, sqlstore.SQLite, nil)
	if err != nil {
		return err
	}
	if err := store.Migrate(ctx); err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE contacts (
		id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, name TEXT, email TEXT,
		email_idx TEXT, phone TEXT, notes TEXT)`); err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, `CREATE INDEX contacts_email_idx ON contacts (tenant_id, email_idx)`); err != nil {
		return err
	}

	kr, err := keyring.New(keyring.Config{Store: store, Opener: opener, KEKs: keks})
	if err != nil {
		return err
	}
	admin := keyring.NewManager(kr) // key administration; a service needs only kr
	enc := crypt.New(kr, nil)
	if err := crypt.Validate(&Contact{}); err != nil {
		return err
	}

	// 3. Create the tenant's keys (they would also be created on first use).
	if err := admin.CreateKeysets(ctx, "acme", "pii", "support"); err != nil {
		return err
	}
	say("== keys for tenant acme")
	for _, class := range []string{"pii", "support"} {
		for _, purpose := range []keyring.Purpose{keyring.PurposeData, keyring.PurposeIndex} {
			id := keyring.KeysetID{Scope: "acme", Class: class, Purpose: purpose}
			keys, err := admin.Keys(ctx, id)
			if err != nil {
				return err
			}
			say("  %-24s %d key, primary %d, wrapped by %s", id, len(keys), keys[0].ID, filepath.Base(keks[class]))
		}
	}

	// 4. Encrypt and insert.
	phone := "+44 20 7946 0018"
	contacts := []Contact{
		{ID: "c-1", TenantID: "acme", Name: "Ada Lovelace", Email: "ada@example.com", Phone: &phone, Notes: "asked about invoice 42"},
		{ID: "c-2", TenantID: "acme", Name: "Charles Babbage", Email: "charles@example.com", Notes: "prefers e-mail"},
		{ID: "c-3", TenantID: "acme", Name: "Mary Somerville", Email: "mary@example.org", Notes: "renewal due in March"},
	}
	if err := crypt.EncryptAll(ctx, enc, contacts); err != nil {
		return err
	}
	for _, c := range contacts {
		if _, err := db.ExecContext(ctx, `INSERT INTO contacts VALUES (?, ?, ?, ?, ?, ?, ?)`,
			c.ID, c.TenantID, c.Name, c.Email, c.EmailIdx, c.Phone, c.Notes); err != nil {
			return err
		}
	}
	say("\n== inserted %d encrypted contacts", len(contacts))

	// 5. Find a contact by e-mail through the blind index, then decrypt.
	query := &Contact{TenantID: "acme", Email: "  ADA@example.com"}
	idx, err := enc.BlindIndexValues(ctx, query, "EmailIdx")
	if err != nil {
		return err
	}
	found, err := selectContacts(ctx, db, `WHERE tenant_id = ? AND email_idx IN (`+placeholders(len(idx))+`)`,
		append([]any{"acme"}, toAny(idx)...)...)
	if err != nil {
		return err
	}
	say("\n== lookup by e-mail %q: index values %v matched %d row(s)", query.Email, idx, len(found))
	for _, c := range found {
		if err := enc.Decrypt(ctx, &c); err != nil {
			return err
		}
		// A blind index can match other e-mails too: compare after decrypting.
		if strings.EqualFold(strings.TrimSpace(c.Email), strings.TrimSpace(query.Email)) {
			say("  %s: %s <%s> phone %s, notes %q", c.ID, c.Name, c.Email, deref(c.Phone), c.Notes)
		}
	}

	// 6. What the table really holds.
	raw, err := selectContacts(ctx, db, `ORDER BY id`)
	if err != nil {
		return err
	}
	say("\n== what the contacts table holds")
	for _, c := range raw {
		say("  %s name=%s email=%s email_idx=%s", c.ID, short(c.Name), short(c.Email), c.EmailIdx)
	}

	// 7. The hot path made no KMS call after the keys were loaded.
	before := kr.Stats().KMSCalls
	for range 1000 {
		c := raw[0]
		if err := enc.Decrypt(ctx, &c); err != nil {
			return err
		}
	}
	say("\n== 1000 more decryptions made %d KMS calls (keyring stats: %+v)", kr.Stats().KMSCalls-before, kr.Stats())

	// 8. A support-role process holds only the support KEK: it reads the
	//    notes, and the personal fields stay encrypted.
	supportKR, err := keyring.New(keyring.Config{Store: store, Opener: opener, KEKs: map[string]string{"support": keks["support"]}})
	if err != nil {
		return err
	}
	support := crypt.New(supportKR, nil)
	c := raw[0]
	err = support.Decrypt(ctx, &c)
	var access *crypt.AccessError
	if !errors.As(err, &access) {
		return fmt.Errorf("support process: want an AccessError, got %v", err)
	}
	say("\n== support role: notes %q; name %s; %v", c.Notes, short(c.Name), err)
	if keep {
		say("\nfiles kept in %s", dir)
	}
	return nil
}

func selectContacts(ctx context.Context, db *sql.DB, where string, args ...any) ([]Contact, error) {
	rows, err := db.QueryContext(ctx, `SELECT id, tenant_id, name, email, email_idx, phone, notes FROM contacts `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Contact
	for rows.Next() {
		var c Contact
		if err := rows.Scan(&c.ID, &c.TenantID, &c.Name, &c.Email, &c.EmailIdx, &c.Phone, &c.Notes); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return "(none)"
	}
	return *s
}

func short(s string) string {
	if len(s) > 28 {
		return s[:28] + "…"
	}
	return s
}
