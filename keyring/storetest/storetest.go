// Package storetest is the conformance suite every [keyring.Store] passes.
//
// A store's test supplies a function that returns a new, empty store and
// calls [Run]:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) keyring.Store {
//			s, err := filestore.Open(t.TempDir())
//			if err != nil {
//				t.Fatal(err)
//			}
//			return s
//		})
//	}
//
// # What it checks
//
//   - Round trip: Create then Get returns every field as given (times are
//     compared at microsecond precision; truncation below a microsecond is
//     allowed, rounding is not), with Version 1 whatever the caller set.
//     Zero times, empty metadata and keysets larger than 64 KiB survive.
//   - Errors: Create of an existing ID fails with [keyring.ErrKeysetExists],
//     Get, Update and Delete of a missing ID with [keyring.ErrKeysetNotFound],
//     Update with a stale version with [keyring.ErrVersionConflict] and no
//     change, Create of an ID that fails [keyring.KeysetID.Validate] with
//     [keyring.ErrInvalidName]. A failed call leaves the caller's record as
//     it was.
//   - Isolation: writing one keyset never touches another that shares its
//     scope, class or purpose.
//   - Listing: List("") returns every record ordered by
//     [keyring.CompareIDs]; List(scope) returns exactly that scope's.
//   - Names: scopes and classes with Unicode, spaces, dots, "..", percent
//     signs, quotes, SQL and path syntax round-trip, and names that differ
//     only by case, a trailing space or Unicode normalisation are distinct.
//   - Compare-and-swap: of 8 goroutines creating one ID, exactly one
//     succeeds; of 8 goroutines updating one record from the same version,
//     exactly one succeeds and its write is the one stored.
//   - Copies: records passed in and handed out are not shared with the store.
//
// The suite runs its subtests one after another; each asks for its own
// store.
package storetest

import (
	"testing"

	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// Run runs the conformance suite as subtests of t. newStore returns a new,
// empty store; it fails t if it cannot.
func Run(t *testing.T, newStore func(t *testing.T) keyring.Store) {
	t.Helper()
	if newStore == nil {
		t.Fatal("storetest: newStore is nil")
	}
	for _, tc := range []struct {
		name string
		test func(*testing.T, keyring.Store)
	}{
		{"CreateGet", testCreateGet},
		{"CreateSetsVersion", testCreateSetsVersion},
		{"CreateExisting", testCreateExisting},
		{"CreateInvalidName", testCreateInvalidName},
		{"GetMissing", testGetMissing},
		{"Update", testUpdate},
		{"UpdateStale", testUpdateStale},
		{"UpdateMissing", testUpdateMissing},
		{"Delete", testDelete},
		{"DeleteMissing", testDeleteMissing},
		{"ZeroTimesAndEmptyMetadata", testZeroTimes},
		{"LargeKeyset", testLargeKeyset},
		{"List", testList},
		{"ListScope", testListScope},
		{"Names", testNames},
		{"ConcurrentCreate", testConcurrentCreate},
		{"ConcurrentUpdate", testConcurrentUpdate},
		{"ReturnsCopies", testReturnsCopies},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.test(t, newStore(t)) })
	}
}
