package main

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

// contactList is the answer of GET /tenants/{tenant}/contacts.
type contactList struct {
	Contacts []contactView `json:"contacts"`

	// NextAfter, in a listing, is the after= of the next page.
	NextAfter string `json:"next_after,omitempty"`
}

const (
	defaultPageSize = 50
	maxPageSize     = 500
)

var last4Pattern = regexp.MustCompile(`^[0-9]{4}$`)

// GET /tenants/{tenant}/contacts
//
//	?email=ada@example.com   lookup through the e-mail blind index
//	?phone_last4=0018        lookup through the phone last-4 blind index
//	?after=ID&limit=N        listing, in ID order
func (s *server) listContacts(w http.ResponseWriter, r *http.Request) {
	tenant, err := pathTenant(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	var list contactList
	switch {
	case q.Has("email"):
		err = onlyParams(q, "email")
		if err == nil {
			list, err = s.findByEmail(r.Context(), tenant, q.Get("email"))
		}
	case q.Has("phone_last4"):
		err = onlyParams(q, "phone_last4")
		if err == nil {
			list, err = s.findByPhoneLast4(r.Context(), tenant, q.Get("phone_last4"))
		}
	default:
		err = onlyParams(q, "after", "limit")
		if err == nil {
			list, err = s.list(r.Context(), tenant, q.Get("after"), q.Get("limit"))
		}
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list)
}

// onlyParams refuses query parameters other than allowed, and repeated
// ones, so that a typo is not silently read as "list everything".
func onlyParams(q url.Values, allowed ...string) error {
	for k, vs := range q {
		ok := false
		for _, a := range allowed {
			ok = ok || k == a
		}
		if !ok {
			return badRequest("invalid_query", "unexpected query parameter "+strconv.Quote(k)+"; use one of email=, phone_last4=, or after= and limit=")
		}
		if len(vs) > 1 {
			return badRequest("invalid_query", "query parameter "+strconv.Quote(k)+" is repeated")
		}
	}
	return nil
}

func (s *server) findByEmail(ctx context.Context, tenant, email string) (contactList, error) {
	if strings.TrimSpace(email) == "" || len(email) > 254 {
		return contactList{}, badRequest("invalid_query", "email= must be a non-empty address of at most 254 bytes")
	}
	return s.lookup(ctx, "e-mail", &Contact{TenantID: tenant, Email: email}, "EmailIdx")
}

func (s *server) findByPhoneLast4(ctx context.Context, tenant, last4 string) (contactList, error) {
	if !last4Pattern.MatchString(last4) {
		return contactList{}, badRequest("invalid_query", "phone_last4= must be exactly four digits")
	}
	return s.lookup(ctx, "phone", &Contact{TenantID: tenant, Phone: last4}, "PhoneLast4Idx")
}

// lookup finds contacts through a blind index (gormcrypt.Matching): the
// query asks for the probe's index values under every enabled index key (so
// lookups keep working during an index-key rotation), and the plugin
// decrypts the rows found and drops those that hold another value. The
// index alone is not enough: by design it also matches other values.
func (s *server) lookup(ctx context.Context, what string, probe *Contact, index string) (contactList, error) {
	rows, err := s.db.findContacts(ctx, probe, index)
	if errors.Is(err, crypt.ErrNoAccess) {
		// Computing the index values needs the index keys of class pii;
		// and without the plaintext there would be no telling a match from
		// a false positive anyway.
		return contactList{}, &httpError{status: http.StatusForbidden, code: "no_access",
			msg: "searching by " + what + " needs the index keys of class pii, which role " + string(s.cfg.Role) + " does not hold"}
	}
	if err != nil {
		return contactList{}, err
	}
	list := contactList{Contacts: []contactView{}}
	for i := range rows {
		v, err := newContactView(&rows[i], nil)
		if err != nil {
			return contactList{}, err
		}
		list.Contacts = append(list.Contacts, v)
	}
	return list, nil
}

// list returns a page of the tenant's contacts in ID order.
func (s *server) list(ctx context.Context, tenant, after, limitParam string) (contactList, error) {
	limit := defaultPageSize
	if limitParam != "" {
		n, err := strconv.Atoi(limitParam)
		if err != nil || n < 1 || n > maxPageSize {
			return contactList{}, badRequest("invalid_query", "limit= must be a number from 1 to "+strconv.Itoa(maxPageSize))
		}
		limit = n
	}
	if after != "" && !idPattern.MatchString(after) {
		return contactList{}, badRequest("invalid_query", "after= must be a contact ID")
	}
	rows, err := s.db.listContacts(ctx, tenant, after, limit)
	access, err := accessOnly(err)
	if err != nil {
		return contactList{}, err
	}
	list := contactList{Contacts: []contactView{}}
	for i := range rows {
		v, err := newContactView(&rows[i], access)
		if err != nil {
			return contactList{}, err
		}
		list.Contacts = append(list.Contacts, v)
	}
	if len(rows) == limit {
		list.NextAfter = rows[len(rows)-1].ID
	}
	return list, nil
}
