package filestore_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/keyring/filestore"
)

// files returns the names in dir, without the lock file.
func files(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.Name() != ".lock" {
			names = append(names, e.Name())
		}
	}
	return names
}

func TestFileNames(t *testing.T) {
	hashed := regexp.MustCompile(`^sha256-[0-9a-f]{64}\.json$`)
	for _, tc := range []struct {
		id   keyring.KeysetID
		want string // "" means a hashed name
	}{
		{keyring.KeysetID{Scope: "acme", Class: "pii", Purpose: keyring.PurposeData}, "acme.pii.data.json"},
		{keyring.KeysetID{Scope: "tenant-42_b", Class: "support", Purpose: keyring.PurposeIndex}, "tenant-42_b.support.index.json"},
		{keyring.KeysetID{Scope: "Acme Corp", Class: "pii", Purpose: keyring.PurposeData}, "%41cme%20%43orp.pii.data.json"},
		{keyring.KeysetID{Scope: "..", Class: ".", Purpose: keyring.PurposeData}, "%2e%2e.%2e.data.json"},
		{keyring.KeysetID{Scope: "50%", Class: "é", Purpose: keyring.PurposeData}, "50%25.%c3%a9.data.json"},
		{keyring.KeysetID{Scope: `\`, Class: "~", Purpose: keyring.PurposeData}, "%5c.%7e.data.json"},
		{keyring.KeysetID{Scope: strings.Repeat("x", 200), Class: "pii", Purpose: keyring.PurposeData}, ""},
		{keyring.KeysetID{Scope: strings.Repeat(".", 40), Class: "pii", Purpose: keyring.PurposeData}, ""},
	} {
		t.Run(tc.id.String(), func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "keys")
			s := open(t, dir)
			if err := s.Create(t.Context(), &keyring.Record{ID: tc.id}); err != nil {
				t.Fatalf("Create(%q) err = %v", tc.id, err)
			}
			got := files(t, dir)
			switch {
			case len(got) != 1:
				t.Fatalf("after Create(%q), directory holds %q, want one record file", tc.id, got)
			case tc.want != "" && got[0] != tc.want:
				t.Errorf("Create(%q) wrote %q, want %q", tc.id, got[0], tc.want)
			case tc.want == "" && !hashed.MatchString(got[0]):
				t.Errorf("Create(%q) wrote %q, want sha256-<hex>.json", tc.id, got[0])
			}
			if p := files(t, parent); !slices.Equal(p, []string{"keys"}) {
				t.Errorf("after Create(%q), parent directory holds %q, want only the store", tc.id, p)
			}
		})
	}
}

func TestPermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "keys")
	s := open(t, dir)
	rec := &keyring.Record{ID: keyring.KeysetID{Scope: "acme", Class: "pii", Purpose: keyring.PurposeData}}
	if err := s.Create(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(t.Context(), rec, 1); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		want os.FileMode
	}{
		{dir, 0o700 | os.ModeDir},
		{filepath.Join(dir, ".lock"), 0o600},
		{filepath.Join(dir, "acme.pii.data.json"), 0o600},
	} {
		fi, err := os.Stat(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		// The umask may take bits away, never add them.
		if got := fi.Mode(); got&^tc.want != 0 || got&0o600 != 0o600 {
			t.Errorf("mode of %s = %v, want %v", filepath.Base(tc.path), got, tc.want)
		}
	}
}

func goldenRecord() *keyring.Record {
	return &keyring.Record{
		ID:              keyring.KeysetID{Scope: "acme", Class: "pii", Purpose: keyring.PurposeData},
		KEKURI:          "hcvault://transit/keys/pii",
		EncryptedKeyset: []byte("\x00\xff\n\rkeyset"),
		Metadata:        []byte(`{"keys":[]}`),
		Version:         3,
		Created:         time.Date(2025, 3, 14, 9, 26, 53, 123456789, time.FixedZone("", 5*3600+30*60)),
		Updated:         time.Date(2025, 4, 1, 12, 0, 0, 0, time.UTC),
	}
}

// TestGoldenFile freezes the file format in both directions: the store
// writes testdata/acme.pii.data.json byte for byte, and reads it back.
func TestGoldenFile(t *testing.T) {
	golden, err := os.ReadFile(filepath.Join("testdata", "acme.pii.data.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := goldenRecord()

	t.Run("write", func(t *testing.T) {
		dir := t.TempDir()
		s := open(t, dir)
		rec := *want
		if err := s.Create(t.Context(), &rec); err != nil {
			t.Fatal(err)
		}
		for prev := int64(1); prev < want.Version; prev++ {
			if err := s.Update(t.Context(), &rec, prev); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(filepath.Join(dir, "acme.pii.data.json"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, golden) {
			t.Errorf("record file =\n%s\nwant\n%s", got, golden)
		}
	})
	t.Run("read", func(t *testing.T) {
		dir := t.TempDir()
		s := open(t, dir)
		if err := os.WriteFile(filepath.Join(dir, "acme.pii.data.json"), golden, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(t.Context(), want.ID)
		if err != nil {
			t.Fatalf("Get(%v) err = %v", want.ID, err)
		}
		if got.KEKURI != want.KEKURI || !bytes.Equal(got.EncryptedKeyset, want.EncryptedKeyset) ||
			!bytes.Equal(got.Metadata, want.Metadata) || got.Version != want.Version ||
			!got.Created.Equal(want.Created) || !got.Updated.Equal(want.Updated) {
			t.Errorf("Get(%v) = %+v, want %+v", want.ID, got, want)
		}
	})
}

// TestDamagedFiles checks that a file the store did not write as it does is
// an error naming the file, not a missing keyset, and is not overwritten.
func TestDamagedFiles(t *testing.T) {
	golden, err := os.ReadFile(filepath.Join("testdata", "acme.pii.data.json"))
	if err != nil {
		t.Fatal(err)
	}
	replace := func(old, new string) []byte { return bytes.Replace(golden, []byte(old), []byte(new), 1) }
	id := goldenRecord().ID
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"not JSON", []byte("keyset")},
		{"truncated", golden[:len(golden)/2]},
		{"empty object", []byte("{}")},
		{"other format", replace("record/v1", "record/v2")},
		{"unknown field", replace(`"version"`, `"extra": 1, "version"`)},
		{"another keyset's record", replace(`"acme"`, `"globex"`)},
		{"invalid scope", replace(`"acme"`, `"a/b"`)},
		{"version 0", replace(`"version": 3`, `"version": 0`)},
		{"bad base64", replace(`AP8KDWtleXNldA==`, `AP8KDWtleXNldA=`)},
		{"data after the object", append(slices.Clone(golden), "{}"...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := open(t, dir)
			path := filepath.Join(dir, "acme.pii.data.json")
			if err := os.WriteFile(path, tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			if got, err := s.Get(t.Context(), id); err == nil || errors.Is(err, keyring.ErrKeysetNotFound) || !strings.Contains(err.Error(), "acme.pii.data.json") {
				t.Errorf("Get(%v) = %v, %v, want an error naming the file", id, got, err)
			}
			if _, err := s.List(t.Context(), ""); err == nil {
				t.Errorf(`List("") err = nil, want error`)
			}
			if err := s.Update(t.Context(), &keyring.Record{ID: id}, 3); err == nil {
				t.Errorf("Update(%v) err = nil, want error", id)
			}
			if err := s.Create(t.Context(), &keyring.Record{ID: id}); !errors.Is(err, keyring.ErrKeysetExists) {
				t.Errorf("Create(%v) err = %v, want ErrKeysetExists", id, err)
			}
			if got, _ := os.ReadFile(path); !bytes.Equal(got, tc.data) {
				t.Errorf("damaged file was rewritten")
			}
		})
	}
}

func TestOpen(t *testing.T) {
	t.Run("removes temporary files", func(t *testing.T) {
		dir := t.TempDir()
		s := open(t, dir)
		rec := &keyring.Record{ID: keyring.KeysetID{Scope: "acme", Class: "pii", Purpose: keyring.PurposeData}}
		if err := s.Create(t.Context(), rec); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, ".tmp-12345"), []byte("half a rec"), 0o600); err != nil {
			t.Fatal(err)
		}
		open(t, dir)
		if got := files(t, dir); !slices.Equal(got, []string{"acme.pii.data.json"}) {
			t.Errorf("after Open, directory holds %q, want only the record", got)
		}
	})
	t.Run("not a directory", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := filestore.Open(path); err == nil {
			t.Errorf("Open(a file) err = nil, want error")
		}
	})
	t.Run("empty name", func(t *testing.T) {
		if _, err := filestore.Open(""); err == nil {
			t.Errorf(`Open("") err = nil, want error`)
		}
	})
	t.Run("ignores other files", func(t *testing.T) {
		dir := t.TempDir()
		s := open(t, dir)
		for _, name := range []string{"README", ".hidden.json", "notes.txt"} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Mkdir(filepath.Join(dir, "sub.json"), 0o700); err != nil {
			t.Fatal(err)
		}
		if recs, err := s.List(t.Context(), ""); err != nil || len(recs) != 0 {
			t.Errorf(`List("") = %d records, %v, want 0, nil`, len(recs), err)
		}
	})
}
