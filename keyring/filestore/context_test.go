package filestore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fieldcrypt/fieldcrypt/keyring"
)

func TestCanceledContext(t *testing.T) {
	s := open(t, t.TempDir())
	rec := &keyring.Record{ID: keyring.KeysetID{Scope: "acme", Class: "pii", Purpose: keyring.PurposeData}, KEKURI: "local://one"}
	if err := s.Create(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	other := &keyring.Record{ID: keyring.KeysetID{Scope: "acme", Class: "pii", Purpose: keyring.PurposeIndex}}
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"Get", func() error { _, err := s.Get(ctx, rec.ID); return err }},
		{"List", func() error { _, err := s.List(ctx, ""); return err }},
		{"Create", func() error { return s.Create(ctx, other) }},
		{"Update", func() error { return s.Update(ctx, &keyring.Record{ID: rec.ID, KEKURI: "local://two"}, 1) }},
		{"Delete", func() error { return s.Delete(ctx, rec.ID) }},
	} {
		if err := tc.call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s(canceled context) err = %v, want context.Canceled", tc.name, err)
		}
	}
	recs, err := s.List(t.Context(), "")
	if err != nil || len(recs) != 1 || recs[0].KEKURI != "local://one" || recs[0].Version != 1 {
		t.Errorf("after calls with a canceled context, List = %v, %v, want the one record unchanged", recs, err)
	}
}

// TestLockWait holds the lock file as another process would and checks
// that a writer waits for it, gives up when its context ends, and goes on
// once the lock is released.
func TestLockWait(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	rec := &keyring.Record{ID: keyring.KeysetID{Scope: "acme", Class: "pii", Purpose: keyring.PurposeData}}
	if err := s.Create(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := s.Update(ctx, rec, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Update while another holds the lock: err = %v, want context.DeadlineExceeded", err)
	}
	// Readers do not wait for the lock.
	if _, err := s.Get(t.Context(), rec.ID); err != nil {
		t.Errorf("Get while another holds the lock: err = %v, want nil", err)
	}

	done := make(chan error, 1)
	go func() { done <- s.Update(t.Context(), rec, 1) }()
	select {
	case err := <-done:
		t.Fatalf("Update returned %v while another holds the lock, want it to wait", err)
	case <-time.After(30 * time.Millisecond):
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_UN); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Update after the lock was released: err = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Update still waiting 5s after the lock was released")
	}
}
