package filestore_test

import (
	"testing"

	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/keyring/filestore"
	"github.com/fieldcrypt/fieldcrypt/keyring/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) keyring.Store { return open(t, t.TempDir()) })
}

// open opens the store in dir and fails t if it cannot.
func open(t testing.TB, dir string) *filestore.Store {
	t.Helper()
	s, err := filestore.Open(dir)
	if err != nil {
		t.Fatalf("Open(%q) err = %v, want nil", dir, err)
	}
	return s
}
