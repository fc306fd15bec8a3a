package main

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/sqlcrypt"
)

// Contact is a row of the contacts table: eight columns, three of them
// encrypted, and a blind index to find a contact by e-mail.
type Contact struct {
	_         struct{}  `crypt:"record=contact"`
	ID        int64     `db:"id" crypt:"id"`
	TenantID  string    `db:"tenant_id" crypt:"scope"`
	Name      string    `db:"name" crypt:"encrypt,class=pii"`
	Email     string    `db:"email" crypt:"encrypt,class=pii"`
	EmailIdx  string    `db:"email_idx" crypt:"blind=Email,transform=lower+trim,population=100000"`
	Phone     *string   `db:"phone" crypt:"encrypt,class=pii"`
	Company   string    `db:"company"`
	CreatedAt time.Time `db:"created_at"`
}

// contactsTable creates the table. The blind index is a plain column with
// a plain B-tree index, next to the tenant.
const contactsTable = `CREATE TABLE IF NOT EXISTS contacts (
	id         BIGINT PRIMARY KEY,
	tenant_id  TEXT NOT NULL,
	name       TEXT NOT NULL,
	email      TEXT NOT NULL,
	email_idx  TEXT NOT NULL,
	phone      TEXT,
	company    TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS contacts_email_idx ON contacts (tenant_id, email_idx)`

var contactColumns = []string{"id", "tenant_id", "name", "email", "email_idx", "phone", "company", "created_at"}

// Contacts keeps contacts in PostgreSQL: the caller's structs always hold
// plaintext, the table only ciphertexts.
type Contacts struct {
	pool *pgxpool.Pool
	enc  *crypt.Encryptor
}

// Insert writes contacts in one COPY.
func (s *Contacts) Insert(ctx context.Context, contacts []Contact) error {
	_, err := sqlcrypt.CopyFrom(ctx, s.enc, s.pool, pgx.Identifier{"contacts"}, contactColumns, contacts)
	return err
}

// FindByEmail returns the tenant's contacts with the e-mail address email,
// whatever its case and surrounding spaces.
func (s *Contacts) FindByEmail(ctx context.Context, tenant, email string) ([]Contact, error) {
	probe := &Contact{TenantID: tenant, Email: email}
	cond, args, err := sqlcrypt.Lookup(ctx, s.enc, sqlcrypt.Postgres, probe, "EmailIdx", 1)
	if err != nil {
		return nil, err
	}
	rows, _ := s.pool.Query(ctx, "SELECT * FROM contacts WHERE "+cond+" ORDER BY id", args...)
	return sqlcrypt.CollectRows(ctx, s.enc, rows, pgx.RowToStructByName[Contact], sqlcrypt.Match(probe, "EmailIdx"))
}

// Update rewrites a contact's mutable columns. It reports whether the
// contact exists.
func (s *Contacts) Update(ctx context.Context, c *Contact) (bool, error) {
	e, err := crypt.Encrypted(ctx, s.enc, c)
	if err != nil {
		return false, err
	}
	tag, err := s.pool.Exec(ctx, `UPDATE contacts SET name = $1, email = $2, email_idx = $3, phone = $4, company = $5
		WHERE tenant_id = $6 AND id = $7`, e.Name, e.Email, e.EmailIdx, e.Phone, e.Company, e.TenantID, e.ID)
	return tag.RowsAffected() == 1, err
}

// List returns up to limit of the tenant's contacts with IDs above after,
// in ID order.
func (s *Contacts) List(ctx context.Context, tenant string, after int64, limit int) ([]Contact, error) {
	rows, _ := s.pool.Query(ctx, "SELECT * FROM contacts WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3", tenant, after, limit)
	return sqlcrypt.CollectRows(ctx, s.enc, rows, pgx.RowToStructByName[Contact])
}
