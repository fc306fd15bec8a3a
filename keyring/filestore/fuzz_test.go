package filestore_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// FuzzRecordFile feeds arbitrary bytes to the decoder as a record file: Get
// must return an error or the record of the ID the file is named after,
// never panic.
func FuzzRecordFile(f *testing.F) {
	golden, err := os.ReadFile(filepath.Join("testdata", "acme.pii.data.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(golden)
	f.Add([]byte("{}"))
	f.Add([]byte(`{"format":"fieldcrypt-keyset-record/v1","scope":"acme","class":"pii","purpose":"data","version":1}`))
	f.Add([]byte(`{"format":"fieldcrypt-keyset-record/v1","scope":"acme","class":"pii","purpose":"data","version":1,"created":"0001-01-01T00:00:00Z","encrypted_keyset":null}`))
	id := keyring.KeysetID{Scope: "acme", Class: "pii", Purpose: keyring.PurposeData}
	dir := f.TempDir()
	s := open(f, dir)
	path := filepath.Join(dir, "acme.pii.data.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		rec, err := s.Get(t.Context(), id)
		if err == nil && (rec.ID != id || rec.Version < 1) {
			t.Fatalf("Get(%v) = record %v at version %d, want %v at version >= 1", id, rec.ID, rec.Version, id)
		}
	})
}
