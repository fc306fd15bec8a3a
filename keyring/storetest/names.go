package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// names are valid scope and class names that trip up escaping, path
// handling, SQL quoting, collations and case-insensitive file systems.
var names = []string{
	"acme", "Acme", "ACME", "a", "A", "a ", " a", "a  b", "acme corp",
	"tenant.example.com", ".", "..", "...", ".hidden", "a.json",
	"%", "100%", "%2F", "%2e%2e", "a%2Fb", "%%", "_", "a_b", "a-b", "~", "~a",
	`"quoted"`, "it's", "`back`", `back\slash`, `\`, "$1", "?", ":name", "*", "[x]",
	"x'; DROP TABLE fieldcrypt_keysets; --",
	"\u00e9", "e\u0301", "ß", "ss", "İ", "i", "ﬁ", "fi", "客户-42", "🔑", "\u200b",
	"CON", "nul", "aux.txt", "default",
	"sha256-" + strings.Repeat("ab", 32),
	strings.Repeat("x", 200),
	strings.Repeat("é", 100),
	strings.Repeat("%", 200),
	strings.Repeat(".", 200),
	strings.Repeat("🔑", 50),
}

func testNames(t *testing.T, s keyring.Store) {
	// Every name as a scope and as a class, all in one store, so names that
	// a store confuses with each other collide.
	var ids []keyring.KeysetID
	for i, name := range names {
		ids = append(ids, id(name, "pii", keyring.PurposeData), id("default", name, keyring.PurposeIndex))
		if i%2 == 0 {
			ids = append(ids, id(name, name, keyring.PurposeIndex))
		}
	}
	for _, id := range ids {
		if err := id.Validate(); err != nil {
			t.Fatalf("storetest: fixture %q is invalid: %v", id, err)
		}
	}
	want := createAll(t, s, ids)

	t.Run("Get", func(t *testing.T) {
		for _, rec := range want {
			wantStored(t, s, rec)
		}
	})
	t.Run("List", func(t *testing.T) {
		wantList(t, s, "", want)
		for _, name := range names {
			wantList(t, s, name, slices.DeleteFunc(slices.Clone(want), func(r *keyring.Record) bool { return r.ID.Scope != name }))
		}
	})
	t.Run("CreateExisting", func(t *testing.T) {
		for _, rec := range want {
			if err := s.Create(t.Context(), newRecord(rec.ID, "again")); !errors.Is(err, keyring.ErrKeysetExists) {
				t.Errorf("second Create(%q) err = %v, want ErrKeysetExists", rec.ID, err)
			}
		}
	})
	t.Run("Update", func(t *testing.T) {
		for i, rec := range want {
			next := newRecord(rec.ID, fmt.Sprint("updated ", i))
			if err := s.Update(t.Context(), next, 1); err != nil {
				t.Fatalf("Update(%q, 1) err = %v, want nil", rec.ID, err)
			}
			want[i] = next
		}
		for _, rec := range want {
			wantStored(t, s, rec)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		for i, rec := range want {
			if err := s.Delete(t.Context(), rec.ID); err != nil {
				t.Fatalf("Delete(%q) err = %v, want nil", rec.ID, err)
			}
			// The others are still there.
			if i+1 < len(want) {
				wantStored(t, s, want[len(want)-1])
			}
		}
		wantCount(t, s, 0)
	})
}
