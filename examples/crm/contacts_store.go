package main

import (
	"context"
	"database/sql"
	"errors"
)

// errNotFound means no row has the tenant and ID asked for.
var errNotFound = errors.New("not found")

// The contacts table's columns, in the order scanContact reads them.
const contactColumns = `tenant_id, id, name, email, email_idx, phone, phone_last4_idx, company, notes, created_at, updated_at`

// Blind-index columns a lookup may name. Queries never take a column name
// from a request.
const (
	columnEmailIdx      = "email_idx"
	columnPhoneLast4Idx = "phone_last4_idx"
)

type scanner interface{ Scan(dest ...any) error }

func scanContact(row scanner) (Contact, error) {
	var c Contact
	err := row.Scan(&c.TenantID, &c.ID, &c.Name, &c.Email, &c.EmailIdx, &c.Phone, &c.PhoneLast4Idx,
		&c.Company, &c.Notes, dbTime{&c.CreatedAt}, dbTime{&c.UpdatedAt})
	return c, err
}

// insertContact inserts an encrypted contact.
func (d *database) insertContact(ctx context.Context, c *Contact) error {
	_, err := d.ExecContext(ctx, d.q(`INSERT INTO contacts (`+contactColumns+`) VALUES (`+placeholders(11)+`)`),
		c.TenantID, c.ID, c.Name, c.Email, c.EmailIdx, c.Phone, c.PhoneLast4Idx,
		c.Company, c.Notes, d.timeArg(c.CreatedAt), d.timeArg(c.UpdatedAt))
	return err
}

// getContact reads one contact of tenant, still encrypted.
func (d *database) getContact(ctx context.Context, tenant, id string) (Contact, error) {
	row := d.QueryRowContext(ctx, d.q(`SELECT `+contactColumns+` FROM contacts WHERE tenant_id = ? AND id = ?`), tenant, id)
	c, err := scanContact(row)
	if errors.Is(err, sql.ErrNoRows) {
		return Contact{}, errNotFound
	}
	return c, err
}

// contactExists reports whether tenant has a contact id, without reading
// any encrypted column.
func (d *database) contactExists(ctx context.Context, tenant, id string) (bool, error) {
	var one int
	err := d.QueryRowContext(ctx, d.q(`SELECT 1 FROM contacts WHERE tenant_id = ? AND id = ?`), tenant, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// updateContact rewrites the mutable columns of an encrypted contact. It
// returns errNotFound when the row is gone.
func (d *database) updateContact(ctx context.Context, c *Contact) error {
	res, err := d.ExecContext(ctx, d.q(`UPDATE contacts SET name = ?, email = ?, email_idx = ?, phone = ?,
		phone_last4_idx = ?, company = ?, notes = ?, updated_at = ? WHERE tenant_id = ? AND id = ?`),
		c.Name, c.Email, c.EmailIdx, c.Phone, c.PhoneLast4Idx, c.Company, c.Notes, d.timeArg(c.UpdatedAt),
		c.TenantID, c.ID)
	return oneRow(res, err)
}

// deleteContact deletes a contact and, by cascade, its interactions.
func (d *database) deleteContact(ctx context.Context, tenant, id string) error {
	res, err := d.ExecContext(ctx, d.q(`DELETE FROM contacts WHERE tenant_id = ? AND id = ?`), tenant, id)
	return oneRow(res, err)
}

func oneRow(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return errNotFound
	}
	return nil
}

// contactsByIndex reads the contacts of tenant whose blind-index column
// holds one of values: the candidates of a lookup, false positives
// included.
func (d *database) contactsByIndex(ctx context.Context, tenant, column string, values []string) ([]Contact, error) {
	if column != columnEmailIdx && column != columnPhoneLast4Idx {
		return nil, errors.New("contactsByIndex: not a blind-index column")
	}
	if len(values) == 0 {
		return nil, nil
	}
	args := []any{tenant}
	for _, v := range values {
		args = append(args, v)
	}
	return d.queryContacts(ctx, `SELECT `+contactColumns+` FROM contacts WHERE tenant_id = ? AND `+column+
		` IN (`+placeholders(len(values))+`) ORDER BY id`, args...)
}

// listContacts reads up to limit contacts of tenant with IDs after after,
// in ID order.
func (d *database) listContacts(ctx context.Context, tenant, after string, limit int) ([]Contact, error) {
	return d.queryContacts(ctx, `SELECT `+contactColumns+` FROM contacts WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?`,
		tenant, after, limit)
}

func (d *database) queryContacts(ctx context.Context, query string, args ...any) ([]Contact, error) {
	rows, err := d.QueryContext(ctx, d.q(query), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Contact
	for rows.Next() {
		c, err := scanContact(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// countContacts counts the contacts of every tenant.
func (d *database) countContacts(ctx context.Context) (int, error) {
	var n int
	err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM contacts`).Scan(&n)
	return n, err
}

// someTenant returns the tenant of one stored contact, or "" when there are
// none.
func (d *database) someTenant(ctx context.Context) (string, error) {
	var tenant string
	err := d.QueryRowContext(ctx, `SELECT tenant_id FROM contacts ORDER BY tenant_id LIMIT 1`).Scan(&tenant)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return tenant, err
}
