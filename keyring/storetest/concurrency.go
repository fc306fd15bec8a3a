package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// racers is how many goroutines race for one write.
const racers = 8

// race runs write(i) for i in [0, racers) from as many goroutines, released
// together, and returns their errors by i.
func race(write func(i int) error) []error {
	errs := make([]error, racers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range racers {
		wg.Go(func() {
			<-start
			errs[i] = write(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// oneWinner fails t unless exactly one of errs is nil and every other one
// matches loss; it returns the winner's index.
func oneWinner(t *testing.T, call string, errs []error, loss error) int {
	t.Helper()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("%s: goroutines %d and %d both succeeded, want exactly one", call, winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, loss):
			t.Errorf("%s: goroutine %d err = %v, want nil or %v", call, i, err, loss)
		}
	}
	if winner < 0 {
		t.Fatalf("%s: no goroutine succeeded, want exactly one", call)
	}
	return winner
}

func testConcurrentCreate(t *testing.T, s keyring.Store) {
	for round := range 3 {
		id := id(fmt.Sprint("tenant-", round), "pii", keyring.PurposeData)
		recs := make([]*keyring.Record, racers)
		for i := range recs {
			recs[i] = newRecord(id, fmt.Sprint("racer-", i))
		}
		errs := race(func(i int) error { return s.Create(t.Context(), recs[i]) })
		w := oneWinner(t, fmt.Sprintf("Create(%v)", id), errs, keyring.ErrKeysetExists)
		wantStored(t, s, withVersion(recs[w], 1))
	}
	wantCount(t, s, 3)
}

func testConcurrentUpdate(t *testing.T, s keyring.Store) {
	rec := newRecord(id("acme", "pii", keyring.PurposeData), "start")
	mustCreate(t, s, rec)
	for prev := int64(1); prev <= 3; prev++ {
		recs := make([]*keyring.Record, racers)
		for i := range recs {
			recs[i] = newRecord(rec.ID, fmt.Sprint("racer-", prev, "-", i))
		}
		errs := race(func(i int) error { return s.Update(t.Context(), recs[i], prev) })
		w := oneWinner(t, fmt.Sprintf("Update(%v, %d)", rec.ID, prev), errs, keyring.ErrVersionConflict)
		// The stored record is the winner's, not a loser's written last.
		wantStored(t, s, withVersion(recs[w], prev+1))
	}
}
