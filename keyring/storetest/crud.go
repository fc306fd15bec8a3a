package storetest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fieldcrypt/fieldcrypt/keyring"
)

func testCreateGet(t *testing.T, s keyring.Store) {
	rec := newRecord(id("acme", "pii", keyring.PurposeData), "one")
	want := withVersion(rec, 1)
	mustCreate(t, s, rec)
	if rec.Version != 1 {
		t.Errorf("after Create, rec.Version = %d, want 1", rec.Version)
	}
	wantStored(t, s, want)
}

func testCreateSetsVersion(t *testing.T, s keyring.Store) {
	rec := newRecord(id("acme", "pii", keyring.PurposeIndex), "one")
	rec.Version = 42
	mustCreate(t, s, rec)
	wantStored(t, s, withVersion(rec, 1))
}

func testCreateExisting(t *testing.T, s keyring.Store) {
	first := newRecord(id("acme", "pii", keyring.PurposeData), "first")
	mustCreate(t, s, first)
	second := newRecord(first.ID, "second")
	err := s.Create(t.Context(), second)
	if !errors.Is(err, keyring.ErrKeysetExists) {
		t.Fatalf("second Create(%v) err = %v, want ErrKeysetExists", second.ID, err)
	}
	if second.Version != 0 {
		t.Errorf("after failed Create, rec.Version = %d, want 0 (unchanged)", second.Version)
	}
	wantStored(t, s, first)
}

func testCreateInvalidName(t *testing.T, s keyring.Store) {
	for _, tc := range []struct {
		name string
		id   keyring.KeysetID
	}{
		{"empty scope", id("", "pii", keyring.PurposeData)},
		{"empty class", id("acme", "", keyring.PurposeData)},
		{"slash in scope", id("a/b", "pii", keyring.PurposeData)},
		{"slash alone", id("acme", "/", keyring.PurposeData)},
		{"parent path", id("../../etc", "pii", keyring.PurposeData)},
		{"NUL", id("a\x00b", "pii", keyring.PurposeData)},
		{"newline", id("acme", "pii\n", keyring.PurposeData)},
		{"tab", id("\tacme", "pii", keyring.PurposeData)},
		{"DEL", id("acme", "p\x7fi", keyring.PurposeData)},
		{"invalid UTF-8", id("\xff\xfe", "pii", keyring.PurposeData)},
		{"201 bytes", id(strings.Repeat("x", 201), "pii", keyring.PurposeData)},
		{"empty purpose", id("acme", "pii", "")},
		{"unknown purpose", id("acme", "pii", "other")},
		{"purpose in capitals", id("acme", "pii", "DATA")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecord(tc.id, "invalid")
			if err := s.Create(t.Context(), rec); !errors.Is(err, keyring.ErrInvalidName) {
				t.Errorf("Create(%q) err = %v, want ErrInvalidName", tc.id, err)
			}
		})
	}
	wantCount(t, s, 0)
}

func testGetMissing(t *testing.T, s keyring.Store) {
	mustCreate(t, s, newRecord(id("acme", "pii", keyring.PurposeData), "one"))
	for _, missing := range []keyring.KeysetID{
		id("acme", "pii", keyring.PurposeIndex),
		id("acme", "support", keyring.PurposeData),
		id("globex", "pii", keyring.PurposeData),
		id("ACME", "pii", keyring.PurposeData),
	} {
		got, err := s.Get(t.Context(), missing)
		if !errors.Is(err, keyring.ErrKeysetNotFound) {
			t.Errorf("Get(%v) = %v, %v, want ErrKeysetNotFound", missing, got, err)
		}
	}
}

func testUpdate(t *testing.T, s keyring.Store) {
	rec := newRecord(id("acme", "pii", keyring.PurposeData), "one")
	mustCreate(t, s, rec)
	// Siblings that share scope, class or purpose must not be touched.
	siblings := []*keyring.Record{
		newRecord(id("acme", "pii", keyring.PurposeIndex), "sibling-purpose"),
		newRecord(id("acme", "support", keyring.PurposeData), "sibling-class"),
		newRecord(id("globex", "pii", keyring.PurposeData), "sibling-scope"),
	}
	for _, sib := range siblings {
		mustCreate(t, s, sib)
	}

	for prev := int64(1); prev <= 3; prev++ {
		next := newRecord(rec.ID, "update-"+strings.Repeat("x", int(prev)))
		next.Created = rec.Created.Add(-time.Minute) // Update replaces every field
		if err := s.Update(t.Context(), next, prev); err != nil {
			t.Fatalf("Update(%v, prevVersion %d) err = %v, want nil", next.ID, prev, err)
		}
		if next.Version != prev+1 {
			t.Errorf("after Update(prevVersion %d), rec.Version = %d, want %d", prev, next.Version, prev+1)
		}
		wantStored(t, s, withVersion(next, prev+1))
	}
	for _, sib := range siblings {
		wantStored(t, s, sib)
	}
}

func testUpdateStale(t *testing.T, s keyring.Store) {
	rec := newRecord(id("acme", "pii", keyring.PurposeData), "one")
	mustCreate(t, s, rec)
	second := newRecord(rec.ID, "two")
	if err := s.Update(t.Context(), second, 1); err != nil {
		t.Fatalf("Update(%v, 1) err = %v, want nil", rec.ID, err)
	}
	for _, stale := range []int64{1, 0, 3, -1} {
		late := newRecord(rec.ID, "late")
		late.Version = 99
		err := s.Update(t.Context(), late, stale)
		if !errors.Is(err, keyring.ErrVersionConflict) {
			t.Errorf("Update(%v, prevVersion %d) at version 2: err = %v, want ErrVersionConflict", rec.ID, stale, err)
		}
		if late.Version != 99 {
			t.Errorf("after failed Update, rec.Version = %d, want 99 (unchanged)", late.Version)
		}
	}
	wantStored(t, s, withVersion(second, 2))
}

func testUpdateMissing(t *testing.T, s keyring.Store) {
	mustCreate(t, s, newRecord(id("acme", "pii", keyring.PurposeData), "one"))
	missing := newRecord(id("acme", "pii", keyring.PurposeIndex), "missing")
	if err := s.Update(t.Context(), missing, 1); !errors.Is(err, keyring.ErrKeysetNotFound) {
		t.Errorf("Update(%v, 1) err = %v, want ErrKeysetNotFound", missing.ID, err)
	}
	if _, err := s.Get(t.Context(), missing.ID); !errors.Is(err, keyring.ErrKeysetNotFound) {
		t.Errorf("after failed Update, Get(%v) err = %v, want ErrKeysetNotFound", missing.ID, err)
	}
}

func testDelete(t *testing.T, s keyring.Store) {
	rec := newRecord(id("acme", "pii", keyring.PurposeData), "one")
	sibling := newRecord(id("acme", "pii", keyring.PurposeIndex), "sibling")
	mustCreate(t, s, rec)
	mustCreate(t, s, sibling)
	if err := s.Delete(t.Context(), rec.ID); err != nil {
		t.Fatalf("Delete(%v) err = %v, want nil", rec.ID, err)
	}
	if got, err := s.Get(t.Context(), rec.ID); !errors.Is(err, keyring.ErrKeysetNotFound) {
		t.Fatalf("after Delete, Get(%v) = %v, %v, want ErrKeysetNotFound", rec.ID, got, err)
	}
	wantStored(t, s, sibling)

	// A deleted ID can be created again, starting over at version 1.
	again := newRecord(rec.ID, "again")
	mustCreate(t, s, again)
	wantStored(t, s, withVersion(again, 1))
}

func testDeleteMissing(t *testing.T, s keyring.Store) {
	rec := newRecord(id("acme", "pii", keyring.PurposeData), "one")
	mustCreate(t, s, rec)
	for _, missing := range []keyring.KeysetID{
		id("acme", "pii", keyring.PurposeIndex),
		id("acme", "PII", keyring.PurposeData),
	} {
		if err := s.Delete(t.Context(), missing); !errors.Is(err, keyring.ErrKeysetNotFound) {
			t.Errorf("Delete(%v) err = %v, want ErrKeysetNotFound", missing, err)
		}
	}
	if err := s.Delete(t.Context(), rec.ID); err != nil {
		t.Fatalf("Delete(%v) err = %v, want nil", rec.ID, err)
	}
	if err := s.Delete(t.Context(), rec.ID); !errors.Is(err, keyring.ErrKeysetNotFound) {
		t.Errorf("second Delete(%v) err = %v, want ErrKeysetNotFound", rec.ID, err)
	}
}

func testZeroTimes(t *testing.T, s keyring.Store) {
	for i, tc := range []struct {
		name     string
		metadata []byte
		created  time.Time
		updated  time.Time
	}{
		{"zero times, nil metadata", nil, time.Time{}, time.Time{}},
		{"zero updated, empty metadata", []byte{}, baseTime, time.Time{}},
		{"UTC times", []byte("{}"), baseTime.UTC(), baseTime.UTC().Add(time.Nanosecond)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecord(id("acme", "pii"+strings.Repeat("i", i), keyring.PurposeData), tc.name)
			rec.Metadata, rec.Created, rec.Updated = tc.metadata, tc.created, tc.updated
			mustCreate(t, s, rec)
			wantStored(t, s, withVersion(rec, 1))
		})
	}
}

func testLargeKeyset(t *testing.T, s keyring.Store) {
	rec := newRecord(id("acme", "pii", keyring.PurposeData), "large")
	// More than 64 KiB, the limit of a MySQL BLOB, in both byte fields.
	rec.EncryptedKeyset = make([]byte, 256<<10)
	for i := range rec.EncryptedKeyset {
		rec.EncryptedKeyset[i] = byte(i*7 + i>>8)
	}
	rec.Metadata = []byte(`{"pad":"` + strings.Repeat("m", 70<<10) + `"}`)
	mustCreate(t, s, rec)
	wantStored(t, s, withVersion(rec, 1))
}
