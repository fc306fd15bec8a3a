package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"time"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

// newID returns a random ID such as "c_3f9a0c1e5b7d2a46".
func newID(prefix string) string {
	b := make([]byte, 8)
	rand.Read(b) // never fails
	return prefix + "_" + hex.EncodeToString(b)
}

// nowMicros is the current time as the database keeps it.
func (s *server) nowMicros() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// POST /tenants/{tenant}/contacts
func (s *server) createContact(w http.ResponseWriter, r *http.Request) {
	tenant, err := pathTenant(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var in contactInput
	if err := decodeJSON(w, r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := in.validate(); err != nil {
		s.fail(w, r, err)
		return
	}
	now := s.nowMicros()
	c := Contact{ID: newID("c"), TenantID: tenant, Name: in.Name, Email: in.Email, Phone: in.Phone,
		Company: in.Company, Notes: in.Notes, CreatedAt: now, UpdatedAt: now}
	plain := c
	if err := s.enc.Encrypt(r.Context(), &c); err != nil {
		s.fail(w, r, err) // a role without the pii KEK: 403
		return
	}
	if err := s.db.insertContact(r.Context(), &c); err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := newContactView(&plain, nil)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/tenants/"+tenant+"/contacts/"+c.ID)
	writeJSON(w, http.StatusCreated, v)
}

// GET /tenants/{tenant}/contacts/{id}
func (s *server) getContact(w http.ResponseWriter, r *http.Request) {
	tenant, id, err := pathIDs(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	c, err := s.db.getContact(r.Context(), tenant, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.openContact(r.Context(), &c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// openContact decrypts a contact read from the database. Fields of classes
// the role cannot read come back null and listed in "redacted": a support
// process reads a contact's notes, not its personal data, and that is a
// normal answer, not an error.
func (s *server) openContact(ctx context.Context, c *Contact) (contactView, error) {
	err := s.enc.Decrypt(ctx, c)
	var access *crypt.AccessError
	if err != nil && !errors.As(err, &access) {
		return contactView{}, err
	}
	return newContactView(c, access)
}

// PUT /tenants/{tenant}/contacts/{id}
func (s *server) updateContact(w http.ResponseWriter, r *http.Request) {
	tenant, id, err := pathIDs(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var in contactInput
	if err := decodeJSON(w, r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := in.validate(); err != nil {
		s.fail(w, r, err)
		return
	}
	old, err := s.db.getContact(r.Context(), tenant, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	c := Contact{ID: id, TenantID: tenant, Name: in.Name, Email: in.Email, Phone: in.Phone,
		Company: in.Company, Notes: in.Notes, CreatedAt: old.CreatedAt, UpdatedAt: s.nowMicros()}
	plain := c
	if err := s.enc.Encrypt(r.Context(), &c); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.db.updateContact(r.Context(), &c); err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := newContactView(&plain, nil)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// DELETE /tenants/{tenant}/contacts/{id}
//
// Deleting needs no key, so keys cannot stop a role from doing it: the
// support role is refused here by an application rule (and should be by
// the database's grants too).
func (s *server) deleteContact(w http.ResponseWriter, r *http.Request) {
	tenant, id, err := pathIDs(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if s.cfg.Role != RoleAdmin {
		s.fail(w, r, &httpError{status: http.StatusForbidden, code: "forbidden",
			msg: "role " + string(s.cfg.Role) + " may not delete contacts"})
		return
	}
	if err := s.db.deleteContact(r.Context(), tenant, id); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
