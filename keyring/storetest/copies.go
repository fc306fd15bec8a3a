package storetest

import (
	"testing"

	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// scribble changes every field of rec in place, through the pointers a store
// might have kept.
func scribble(rec *keyring.Record) {
	rec.KEKURI = "local://scribbled"
	rec.Version = 1000
	rec.Created = rec.Created.AddDate(1, 0, 0)
	for i := range rec.EncryptedKeyset {
		rec.EncryptedKeyset[i] ^= 0xff
	}
	for i := range rec.Metadata {
		rec.Metadata[i] = 'X'
	}
}

func testReturnsCopies(t *testing.T, s keyring.Store) {
	t.Run("Create input", func(t *testing.T) {
		rec := newRecord(id("acme", "pii", keyring.PurposeData), "create")
		mustCreate(t, s, rec)
		want := cloneRecord(rec)
		scribble(rec)
		wantStored(t, s, want)
	})
	t.Run("Update input", func(t *testing.T) {
		rec := newRecord(id("acme", "pii", keyring.PurposeData), "update")
		if err := s.Update(t.Context(), rec, 1); err != nil {
			t.Fatalf("Update(%v, 1) err = %v, want nil", rec.ID, err)
		}
		want := cloneRecord(rec)
		scribble(rec)
		wantStored(t, s, want)
	})
	t.Run("Get result", func(t *testing.T) {
		want, err := s.Get(t.Context(), id("acme", "pii", keyring.PurposeData))
		if err != nil {
			t.Fatalf("Get err = %v, want nil", err)
		}
		want = cloneRecord(want)
		got, err := s.Get(t.Context(), want.ID)
		if err != nil {
			t.Fatalf("Get err = %v, want nil", err)
		}
		scribble(got)
		wantStored(t, s, want)
	})
	t.Run("List result", func(t *testing.T) {
		want, err := s.Get(t.Context(), id("acme", "pii", keyring.PurposeData))
		if err != nil {
			t.Fatalf("Get err = %v, want nil", err)
		}
		recs, err := s.List(t.Context(), "")
		if err != nil || len(recs) != 1 {
			t.Fatalf(`List("") = %d records, %v, want 1, nil`, len(recs), err)
		}
		scribble(recs[0])
		wantStored(t, s, want)
	})
}
