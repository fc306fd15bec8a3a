package storetest

import (
	"slices"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// listFixture is deliberately created out of order, with names whose byte
// order differs from a case-insensitive or locale-aware order.
var listFixture = []keyring.KeysetID{
	id("b", "pii", keyring.PurposeIndex),
	id("a", "support", keyring.PurposeData),
	id("B", "pii", keyring.PurposeData),
	id("a", "pii", keyring.PurposeIndex),
	id("a b", "pii", keyring.PurposeData),
	id("é", "pii", keyring.PurposeData),
	id("a", "pii", keyring.PurposeData),
	id("a", "Pii", keyring.PurposeData),
	id("ab", "pii", keyring.PurposeData),
	id("a_", "pii", keyring.PurposeData),
	id("z", "pii", keyring.PurposeData),
	id("a", "pii ", keyring.PurposeData),
}

// createAll creates one record per ID and returns them as stored, sorted by
// keyring.CompareIDs.
func createAll(t *testing.T, s keyring.Store, ids []keyring.KeysetID) []*keyring.Record {
	t.Helper()
	var want []*keyring.Record
	for _, id := range ids {
		rec := newRecord(id, id.String())
		mustCreate(t, s, rec)
		want = append(want, rec)
	}
	slices.SortFunc(want, func(a, b *keyring.Record) int { return keyring.CompareIDs(a.ID, b.ID) })
	return want
}

// wantList fails t unless List(scope) returns exactly want, in order.
func wantList(t *testing.T, s keyring.Store, scope string, want []*keyring.Record) {
	t.Helper()
	got, err := s.List(t.Context(), scope)
	if err != nil {
		t.Fatalf("List(%q) err = %v, want nil", scope, err)
	}
	ids := func(recs []*keyring.Record) []keyring.KeysetID {
		out := make([]keyring.KeysetID, len(recs))
		for i, r := range recs {
			out[i] = r.ID
		}
		return out
	}
	if !slices.Equal(ids(got), ids(want)) {
		t.Fatalf("List(%q) IDs = %q, want %q", scope, ids(got), ids(want))
	}
	for i := range got {
		if d := diffRecord(got[i], want[i]); d != "" {
			t.Fatalf("List(%q)[%d] (%v): %s", scope, i, want[i].ID, d)
		}
	}
}

func testList(t *testing.T, s keyring.Store) {
	wantList(t, s, "", nil)
	want := createAll(t, s, listFixture)
	wantList(t, s, "", want)
}

func testListScope(t *testing.T, s keyring.Store) {
	all := createAll(t, s, listFixture)
	for _, scope := range []string{"a", "B", "b", "é", "a b", "z", "missing", "A", "a%", "_"} {
		t.Run(scope, func(t *testing.T) {
			var want []*keyring.Record
			for _, r := range all {
				if r.ID.Scope == scope {
					want = append(want, r)
				}
			}
			wantList(t, s, scope, want)
		})
	}
}
