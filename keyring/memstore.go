package keyring

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
)

// MemoryStore is a [Store] that keeps records in memory, for tests and
// short-lived tools. The zero value is ready to use.
type MemoryStore struct {
	mu      sync.Mutex
	records map[KeysetID]*Record
	scopes  map[string]map[KeysetID]struct{} // the IDs of each scope, for List
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{} }

func cloneRecord(r *Record) *Record {
	c := *r
	c.EncryptedKeyset = bytes.Clone(r.EncryptedKeyset)
	c.Metadata = bytes.Clone(r.Metadata)
	return &c
}

// Get implements [Store].
func (s *MemoryStore) Get(_ context.Context, id KeysetID) (*Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.records[id]
	if !ok {
		return nil, fmt.Errorf("%w: %v", ErrKeysetNotFound, id)
	}
	return cloneRecord(r), nil
}

// Create implements [Store].
func (s *MemoryStore) Create(_ context.Context, rec *Record) error {
	if err := rec.ID.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.records[rec.ID]; ok {
		return fmt.Errorf("%w: %v", ErrKeysetExists, rec.ID)
	}
	if s.records == nil {
		s.records = make(map[KeysetID]*Record)
		s.scopes = make(map[string]map[KeysetID]struct{})
	}
	rec.Version = 1
	s.records[rec.ID] = cloneRecord(rec)
	ids := s.scopes[rec.ID.Scope]
	if ids == nil {
		ids = make(map[KeysetID]struct{})
		s.scopes[rec.ID.Scope] = ids
	}
	ids[rec.ID] = struct{}{}
	return nil
}

// Update implements [Store].
func (s *MemoryStore) Update(_ context.Context, rec *Record, prevVersion int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.records[rec.ID]
	if !ok {
		return fmt.Errorf("%w: %v", ErrKeysetNotFound, rec.ID)
	}
	if cur.Version != prevVersion {
		return fmt.Errorf("%w: %v is at version %d, not %d", ErrVersionConflict, rec.ID, cur.Version, prevVersion)
	}
	rec.Version = prevVersion + 1
	s.records[rec.ID] = cloneRecord(rec)
	return nil
}

// Delete implements [Store].
func (s *MemoryStore) Delete(_ context.Context, id KeysetID) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.records[id]; !ok {
		return fmt.Errorf("%w: %v", ErrKeysetNotFound, id)
	}
	delete(s.records, id)
	if ids := s.scopes[id.Scope]; len(ids) == 1 {
		delete(s.scopes, id.Scope)
	} else {
		delete(ids, id)
	}
	return nil
}

// List implements [Store]. Listing one scope costs O(its keysets), not
// O(all keysets).
func (s *MemoryStore) List(_ context.Context, scope string) ([]*Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*Record
	if scope == "" {
		for _, r := range s.records {
			out = append(out, cloneRecord(r))
		}
	} else {
		for id := range s.scopes[scope] {
			out = append(out, cloneRecord(s.records[id]))
		}
	}
	slices.SortFunc(out, func(a, b *Record) int { return CompareIDs(a.ID, b.ID) })
	return out, nil
}

// CompareIDs orders keyset IDs by scope, class and purpose, as [Store.List]
// returns them.
func CompareIDs(a, b KeysetID) int {
	return cmp.Or(cmp.Compare(a.Scope, b.Scope), cmp.Compare(a.Class, b.Class), cmp.Compare(a.Purpose, b.Purpose))
}
