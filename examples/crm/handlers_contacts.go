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

// newID returns a random ID such as "c_3f9a0c1e5b7d2a46e1c07b9f": 96
// random bits, unique across tenants, as the tables' single-column primary
// keys need. It is generated before the INSERT because every ciphertext of
// the record is bound to it.
func newID(prefix string) string {
	b := make([]byte, 12)
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
		Birthday: in.Birthday, Company: in.Company, Notes: in.Notes, CreatedAt: now, UpdatedAt: now}
	// The plugin writes an encrypted copy; c keeps its plaintext. A role
	// without the pii KEK fails here: 403.
	if err := s.db.WithContext(r.Context()).Create(&c).Error; err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := newContactView(&c, nil)
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
	v, err := s.readContact(r.Context(), tenant, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// readContact reads a contact and returns its view. Fields of classes the
// role cannot read come back null and listed in "redacted": a support
// process reads a contact's notes, not its personal data, and that is a
// normal answer, not an error.
func (s *server) readContact(ctx context.Context, tenant, id string) (contactView, error) {
	c, err := s.db.contact(ctx, tenant, id)
	access, err := accessOnly(err)
	if err != nil {
		return contactView{}, err
	}
	return newContactView(&c, access)
}

// accessOnly splits the error of a read: an *crypt.AccessError (fields of
// a class this process holds no key for, left encrypted while the others
// were decrypted) is returned as access, any other error as err.
func accessOnly(readErr error) (access *crypt.AccessError, err error) {
	if readErr != nil && errors.As(readErr, &access) {
		return access, nil
	}
	return nil, readErr
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
	if err := s.db.updateContact(r.Context(), tenant, id, in); err != nil {
		s.fail(w, r, err) // a role without the pii KEK: 403
		return
	}
	// Read it back: the answer is what is stored, decrypted.
	v, err := s.readContact(r.Context(), tenant, id)
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
