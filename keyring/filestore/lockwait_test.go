//go:build unix

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
