package main

import (
	"context"
	"errors"

	"gorm.io/gorm"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/gormcrypt"
)

// The data layer: GORM calls on the models of model.go. The plugin
// registered in newServer encrypts what they write and decrypts what they
// read; a read by a role without some class's KEK returns its other fields
// decrypted and an error matching crypt.ErrNoAccess.

// errNotFound means no row has the tenant and ID asked for.
var errNotFound = errors.New("not found")

func notFound(err error) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return errNotFound
	}
	return err
}

// contact reads and decrypts one contact of tenant.
func (d *database) contact(ctx context.Context, tenant, id string) (Contact, error) {
	var c Contact
	err := d.WithContext(ctx).Where("id = ? AND tenant_id = ?", id, tenant).Take(&c).Error
	return c, notFound(err)
}

// contactExists reports whether tenant has a contact id, without reading
// any encrypted column.
func (d *database) contactExists(ctx context.Context, tenant, id string) (bool, error) {
	var n int64
	err := d.WithContext(ctx).Model(&Contact{}).Where("id = ? AND tenant_id = ?", id, tenant).Count(&n).Error
	return n > 0, err
}

// updateContact replaces the mutable fields of tenant's contact id. The
// plugin encrypts the new values bound to the contact's ID and tenant,
// recomputes both blind indexes and restricts the UPDATE to that row.
func (d *database) updateContact(ctx context.Context, tenant, id string, in contactInput) error {
	res := d.WithContext(ctx).Model(&Contact{ID: id, TenantID: tenant}).Updates(map[string]any{
		"name": in.Name, "email": in.Email, "phone": in.Phone, "birthday": in.Birthday, "company": in.Company, "notes": in.Notes,
	})
	if res.Error == nil && res.RowsAffected == 0 {
		return errNotFound
	}
	return res.Error
}

// deleteContact deletes a contact and, by cascade, its interactions.
func (d *database) deleteContact(ctx context.Context, tenant, id string) error {
	res := d.WithContext(ctx).Where("tenant_id = ?", tenant).Delete(&Contact{ID: id})
	if res.Error == nil && res.RowsAffected == 0 {
		return errNotFound
	}
	return res.Error
}

// findContacts finds the contacts whose blind index holds probe's value, in
// probe's tenant, in ID order. The plugin drops the index's false
// positives after decrypting.
func (d *database) findContacts(ctx context.Context, probe *Contact, index string) ([]Contact, error) {
	var out []Contact
	err := d.WithContext(ctx).Scopes(gormcrypt.Matching(probe, index)).Order("id").Find(&out).Error
	return out, err
}

// searchContacts finds the contacts of probe's tenant that satisfy term
// on the token index index, in ID order. The query asks for the term's
// tokens under every enabled index key, and the plugin decrypts the rows
// found and drops those whose name or birthday does not satisfy the term.
func (d *database) searchContacts(ctx context.Context, probe *Contact, index string, term crypt.Term) ([]Contact, error) {
	var out []Contact
	err := d.WithContext(ctx).Scopes(gormcrypt.Search(probe, index, term)).Order("id").Find(&out).Error
	return out, err
}

// listContacts reads up to limit contacts of tenant with IDs after after,
// in ID order, and the error of each one's decryption (recordErrors).
func (d *database) listContacts(ctx context.Context, tenant, after string, limit int) ([]Contact, []error, error) {
	var out []Contact
	err := d.WithContext(ctx).Where("tenant_id = ? AND id > ?", tenant, after).Order("id").Limit(limit).Find(&out).Error
	return recordErrors(out, err)
}

// interactions reads a contact's history, oldest first, and the error of
// each interaction's decryption (recordErrors).
func (d *database) interactions(ctx context.Context, tenant, contactID string) ([]Interaction, []error, error) {
	var out []Interaction
	err := d.WithContext(ctx).Where("tenant_id = ? AND contact_id = ?", tenant, contactID).Order("at, id").Find(&out).Error
	return recordErrors(out, err)
}

// recordErrors splits the error of a Find of several records: the plugin
// decrypts every record it can and names each one that did not decrypt
// whole (gormcrypt.RecordErrors): nil, a *crypt.AccessError when the
// record's fields of a class this process holds no key for were left
// encrypted, or the error of a record that did not decrypt (left as
// stored). Any other error fails the read. A listing must decide record
// by record: a first contact whose pii was left encrypted for want of its
// key says nothing of a second whose notes did not decrypt at all.
func recordErrors[T any](records []T, err error) ([]T, []error, error) {
	errs := make([]error, len(records))
	if err == nil {
		return records, errs, nil
	}
	var recs gormcrypt.RecordErrors
	if !errors.As(err, &recs) {
		return nil, nil, err
	}
	for _, r := range recs {
		if r.Index < 0 || r.Index >= len(errs) {
			return nil, nil, err // not this result's positions
		}
		errs[r.Index] = r.Err
	}
	return records, errs, nil
}

// countContacts counts the contacts of every tenant.
func (d *database) countContacts(ctx context.Context) (int64, error) {
	var n int64
	err := d.WithContext(ctx).Model(&Contact{}).Count(&n).Error
	return n, err
}

// someTenants returns up to n tenants that have stored contacts, in
// order.
func (d *database) someTenants(ctx context.Context, n int) ([]string, error) {
	var tenants []string
	err := d.WithContext(ctx).Model(&Contact{}).Distinct("tenant_id").Order("tenant_id").Limit(n).Pluck("tenant_id", &tenants).Error
	return tenants, err
}
