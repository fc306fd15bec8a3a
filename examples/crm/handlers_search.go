package main

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

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
//	?name_prefix=lov         names starting with "lov" (3 letters or more, any case), through a prefix index
//	?born_from=1950-01-01&born_to=1959-12-31
//	                         birthdays in a range (either end may be left out), through a range index
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
	case q.Has("name_prefix"):
		err = onlyParams(q, "name_prefix")
		if err == nil {
			list, err = s.findByNamePrefix(r.Context(), tenant, q.Get("name_prefix"))
		}
	case q.Has("born_from") || q.Has("born_to"):
		err = onlyParams(q, "born_from", "born_to")
		if err == nil {
			list, err = s.findByBirthday(r.Context(), tenant, q.Get("born_from"), q.Get("born_to"))
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
			return badRequest("invalid_query", "unexpected query parameter "+strconv.Quote(k)+"; use one of email=, phone_last4=, name_prefix=, born_from= and born_to=, or after= and limit=")
		}
		if len(vs) > 1 {
			return badRequest("invalid_query", "query parameter "+strconv.Quote(k)+" is repeated")
		}
	}
	return nil
}

// searchClass is the class whose index keys compute every search index
// of Contact, blind and token: the class of their sources, the personal
// fields (TestSearchIndexesAreClassPII keeps it in line with the tags).
const searchClass = classPII

// requireIndexKeys refuses a search by what up front, before its terms
// are read, when this process holds no KEK for searchClass: it could
// compute no index value. The keyring would refuse it too (ErrNoAccess, on
// every tenant alike, whether or not the tenant has index keys), but only
// after the terms were parsed, so a malformed term would answer 400 where
// every other search by this role answers 403.
func (s *server) requireIndexKeys(what string) error {
	if _, err := s.kr.KEKURI(searchClass); err != nil {
		return s.noIndexKeys(what)
	}
	return nil
}

// noIndexKeys is the answer to a search by what that needs index keys
// this process does not hold.
func (s *server) noIndexKeys(what string) error {
	return &httpError{status: http.StatusForbidden, code: "no_access",
		msg: "searching by " + what + " needs the index keys of class " + searchClass + ", which role " + string(s.cfg.Role) + " does not hold"}
}

func (s *server) findByEmail(ctx context.Context, tenant, email string) (contactList, error) {
	if err := s.requireIndexKeys("e-mail"); err != nil {
		return contactList{}, err
	}
	if strings.TrimSpace(email) == "" || len(email) > 254 {
		return contactList{}, badRequest("invalid_query", "email= must be a non-empty address of at most 254 bytes")
	}
	return s.lookup(ctx, "e-mail", &Contact{TenantID: tenant, Email: email}, "EmailIdx")
}

func (s *server) findByPhoneLast4(ctx context.Context, tenant, last4 string) (contactList, error) {
	if err := s.requireIndexKeys("phone"); err != nil {
		return contactList{}, err
	}
	if !last4Pattern.MatchString(last4) {
		return contactList{}, badRequest("invalid_query", "phone_last4= must be exactly four digits")
	}
	return s.lookup(ctx, "phone", &Contact{TenantID: tenant, Phone: last4}, "PhoneLast4Idx")
}

// namePrefixMin is the shortest prefix the name index looks up (its
// len=3..10): a shorter one would need tokens of fewer letters, which
// would say too much about names (see indexes.go).
const namePrefixMin = 3

func (s *server) findByNamePrefix(ctx context.Context, tenant, prefix string) (contactList, error) {
	if err := s.requireIndexKeys("name prefix"); err != nil {
		return contactList{}, err
	}
	if n := utf8.RuneCountInString(strings.TrimSpace(prefix)); n < namePrefixMin || len(prefix) > 200 || !utf8.ValidString(prefix) {
		return contactList{}, badRequest("invalid_query", "name_prefix= must hold at least 3 letters and at most 200 bytes of UTF-8")
	}
	return s.search(ctx, "name prefix", tenant, "NamePrefix", crypt.HasPrefix(prefix))
}

func (s *server) findByBirthday(ctx context.Context, tenant, from, to string) (contactList, error) {
	if err := s.requireIndexKeys("birthday"); err != nil {
		return contactList{}, err
	}
	for _, b := range []struct{ name, value string }{{"born_from", from}, {"born_to", to}} {
		if b.value == "" {
			continue
		}
		if _, err := parseDate(b.value); err != nil {
			return contactList{}, badRequest("invalid_query", b.name+"= must be a date from 1900-01-01 to 2099-12-31, as 2006-01-02")
		}
	}
	return s.search(ctx, "birthday", tenant, "BirthdayRange", crypt.Between(from, to))
}

// search finds contacts through a token index (gormcrypt.Search): the
// query asks for the term's tokens under every enabled index key, and the
// plugin decrypts the rows found and keeps those whose value satisfies
// the term. As for lookup, a role without the index keys of class pii is
// refused.
func (s *server) search(ctx context.Context, what, tenant, index string, term crypt.Term) (contactList, error) {
	rows, err := s.db.searchContacts(ctx, &Contact{TenantID: tenant}, index, term)
	return s.contactsFound(what, rows, err)
}

// lookup finds contacts through a blind index (gormcrypt.Matching): the
// query asks for the probe's index values under every enabled index key (so
// lookups keep working during an index-key rotation), and the plugin
// decrypts the rows found and drops those that hold another value. The
// index alone is not enough: by design it also matches other values.
func (s *server) lookup(ctx context.Context, what string, probe *Contact, index string) (contactList, error) {
	rows, err := s.db.findContacts(ctx, probe, index)
	return s.contactsFound(what, rows, err)
}

// contactsFound is the answer of a lookup or search that found rows, or
// failed with err.
func (s *server) contactsFound(what string, rows []Contact, err error) (contactList, error) {
	if errors.Is(err, crypt.ErrNoAccess) {
		// Computing the index values needs the index keys of class pii;
		// and without the plaintext there would be no telling a match from
		// a false positive anyway. (A KEK configured but refusing gets
		// here; requireIndexKeys refuses a role given none.)
		return contactList{}, s.noIndexKeys(what)
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
	rows, errs, err := s.db.listContacts(ctx, tenant, after, limit)
	if err != nil {
		return contactList{}, err
	}
	list := contactList{Contacts: []contactView{}}
	for i := range rows {
		// A contact that does not decrypt fails the listing as a whole,
		// rather than be hidden.
		access, err := accessOnly(errs[i])
		if err != nil {
			return contactList{}, err
		}
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
