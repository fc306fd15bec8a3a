package main

import (
	"net/http"
	"time"
)

// interactionList is the answer of GET .../interactions.
type interactionList struct {
	Interactions []interactionView `json:"interactions"`
}

// GET /tenants/{tenant}/contacts/{id}/interactions
//
// The history is class support: both roles read it.
func (s *server) listInteractions(w http.ResponseWriter, r *http.Request) {
	tenant, id, err := pathIDs(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.requireContact(r, tenant, id); err != nil {
		s.fail(w, r, err)
		return
	}
	rows, errs, err := s.db.interactions(r.Context(), tenant, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	list := interactionList{Interactions: []interactionView{}}
	for i := range rows {
		access, err := accessOnly(errs[i])
		if err != nil {
			s.fail(w, r, err)
			return
		}
		v, err := newInteractionView(&rows[i], access)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		list.Interactions = append(list.Interactions, v)
	}
	writeJSON(w, http.StatusOK, list)
}

// POST /tenants/{tenant}/contacts/{id}/interactions
func (s *server) addInteraction(w http.ResponseWriter, r *http.Request) {
	tenant, id, err := pathIDs(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var body interactionInput
	if err := decodeJSON(w, r, &body); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := body.validate(); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.requireContact(r, tenant, id); err != nil {
		s.fail(w, r, err)
		return
	}
	in := Interaction{ID: newID("i"), ContactID: id, TenantID: tenant, Channel: body.Channel,
		Summary: body.Summary, At: s.nowMicros()}
	if body.At != nil {
		in.At = body.At.UTC().Truncate(time.Microsecond)
	}
	if err := s.db.WithContext(r.Context()).Create(&in).Error; err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := newInteractionView(&in, nil)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, v)
}

// requireContact fails with errNotFound unless tenant has contact id. It
// reads no encrypted column, so it works for every role.
func (s *server) requireContact(r *http.Request, tenant, id string) error {
	ok, err := s.db.contactExists(r.Context(), tenant, id)
	if err != nil {
		return err
	}
	if !ok {
		return errNotFound
	}
	return nil
}
