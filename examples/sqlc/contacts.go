// Package sqlc shows fieldcrypt with sqlc: the crypt tags come from
// sqlc.yaml's overrides (go_struct_tag, one column at a time), so the
// generated contactsdb.Contact is a record crypt encrypts and decrypts as
// it is, and the generated queries read and write it.
//
// The code in contactsdb is generated, and committed; regenerate it after
// changing schema.sql, query.sql or sqlc.yaml with
//
//	go generate ./examples/sqlc
//
// which runs sqlc v1.31.1 (building it needs cgo). See README.md.
package sqlc

//go:generate go run github.com/sqlc-dev/sqlc/cmd/sqlc@v1.31.1 generate

import (
	"context"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/examples/sqlc/contactsdb"
	"github.com/fieldcrypt/fieldcrypt/sqlcrypt"
)

// Contacts keeps contacts through the queries sqlc generated: the
// caller's contactsdb.Contact values hold plaintext, the table only
// ciphertexts.
//
// Only contactsdb.Contact is encrypted. The generated Params structs carry
// the same crypt tags (sqlc puts a column's tag on every struct that has
// the column), but a record's type name is bound into its ciphertexts: a
// CreateContactParams encrypted as such would be another record type, and
// its values would not decrypt as a Contact. Create converts an encrypted
// Contact instead, which Go allows because the two structs have the same
// fields.
type Contacts struct {
	q   *contactsdb.Queries
	enc *crypt.Encryptor
}

// New returns the store of the queries q, encrypting with enc.
func New(q *contactsdb.Queries, enc *crypt.Encryptor) *Contacts {
	return &Contacts{q: q, enc: enc}
}

// Create inserts c, encrypted; c keeps its plaintext.
func (s *Contacts) Create(ctx context.Context, c contactsdb.Contact) error {
	e, err := crypt.Encrypted(ctx, s.enc, &c)
	if err != nil {
		return err
	}
	return s.q.CreateContact(ctx, contactsdb.CreateContactParams(*e))
}

// Get reads and decrypts one contact of tenant.
func (s *Contacts) Get(ctx context.Context, tenant string, id int64) (contactsdb.Contact, error) {
	c, err := s.q.GetContact(ctx, contactsdb.GetContactParams{TenantID: tenant, ID: id})
	if err != nil {
		return contactsdb.Contact{}, err
	}
	return c, s.enc.Decrypt(ctx, &c)
}

// List reads and decrypts up to limit contacts of tenant with IDs above
// after, in ID order. A contact with fields of a class this process cannot
// read keeps them encrypted, and the first crypt.AccessError is returned
// with every contact.
func (s *Contacts) List(ctx context.Context, tenant string, after int64, limit int32) ([]contactsdb.Contact, error) {
	cs, err := s.q.ListContacts(ctx, contactsdb.ListContactsParams{TenantID: tenant, After: after, PageSize: limit})
	if err != nil {
		return nil, err
	}
	return cs, crypt.DecryptAll(ctx, s.enc, cs)
}

// FindByEmail returns the contacts of tenant with the e-mail address
// email, whatever its case and surrounding spaces: the index values of
// every enabled index key go to the generated query as one text[], and
// Matching drops the contacts the index found that hold another address.
func (s *Contacts) FindByEmail(ctx context.Context, tenant, email string) ([]contactsdb.Contact, error) {
	probe := &contactsdb.Contact{TenantID: tenant, Email: email}
	values, err := s.enc.BlindIndexValues(ctx, probe, "EmailIdx")
	if err != nil || len(values) == 0 {
		return nil, err
	}
	cs, err := s.q.FindContactsByEmailIdx(ctx, contactsdb.FindContactsByEmailIdxParams{TenantID: tenant, EmailIdx: values})
	if err != nil {
		return nil, err
	}
	if err := crypt.DecryptAll(ctx, s.enc, cs); err != nil {
		return nil, err
	}
	return sqlcrypt.Matching(cs, probe, "EmailIdx")
}

// Update rewrites the mutable columns of c, encrypted; c keeps its
// plaintext. It reports whether the contact exists.
func (s *Contacts) Update(ctx context.Context, c contactsdb.Contact) (bool, error) {
	e, err := crypt.Encrypted(ctx, s.enc, &c)
	if err != nil {
		return false, err
	}
	n, err := s.q.UpdateContact(ctx, contactsdb.UpdateContactParams{Name: e.Name, Email: e.Email, EmailIdx: e.EmailIdx,
		Phone: e.Phone, Company: e.Company, TenantID: e.TenantID, ID: e.ID})
	return n == 1, err
}
