package storetest

import (
	"testing"

	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// mustCreate creates rec and fails t if the store refuses it.
func mustCreate(t *testing.T, s keyring.Store, rec *keyring.Record) {
	t.Helper()
	if err := s.Create(t.Context(), rec); err != nil {
		t.Fatalf("Create(%v) err = %v, want nil", rec.ID, err)
	}
}

// wantStored fails t unless the store holds want under want.ID.
func wantStored(t *testing.T, s keyring.Store, want *keyring.Record) {
	t.Helper()
	got, err := s.Get(t.Context(), want.ID)
	if err != nil {
		t.Fatalf("Get(%v) err = %v, want nil", want.ID, err)
	}
	if d := diffRecord(got, want); d != "" {
		t.Fatalf("Get(%v): %s", want.ID, d)
	}
}

// wantCount fails t unless List("") returns n records.
func wantCount(t *testing.T, s keyring.Store, n int) {
	t.Helper()
	recs, err := s.List(t.Context(), "")
	if err != nil {
		t.Fatalf(`List("") err = %v, want nil`, err)
	}
	if len(recs) != n {
		t.Fatalf(`List("") returned %d records, want %d`, len(recs), n)
	}
}
