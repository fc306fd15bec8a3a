package filestore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// Store is a [keyring.Store] that keeps one file per keyset in a directory.
// It is safe for concurrent use by goroutines and by processes on the same
// machine.
type Store struct {
	dir string
	// sem serialises this Store's writers before they contend for the
	// cross-process flock, so waiting goroutines honour their contexts.
	sem chan struct{}
}

var _ keyring.Store = (*Store)(nil)

// Open returns the store in dir, creating the directory with mode 0700 if
// it does not exist. An existing directory keeps its mode. Open takes the
// write lock once, which proves the directory writable, and removes
// temporary files that a writer killed mid-write left behind.
func Open(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("filestore: empty directory name")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("filestore: open: %w", err)
	}
	if fi, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("filestore: open: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("filestore: open %s: not a directory", dir)
	}
	s := &Store{dir: dir, sem: make(chan struct{}, 1)}
	unlock, err := s.lock(context.Background())
	if err != nil {
		return nil, fmt.Errorf("filestore: open: %w", err)
	}
	defer unlock()
	if err := removeTemps(dir); err != nil {
		return nil, fmt.Errorf("filestore: open: removing temporary files: %w", err)
	}
	return s, nil
}

// Dir returns the directory the store keeps its files in.
func (s *Store) Dir() string { return s.dir }

// lock takes the store's write lock: first among this Store's goroutines,
// then among processes through a flock on the lock file.
func (s *Store) lock(ctx context.Context) (unlock func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, err // select below would pick a free semaphore at random
	}
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	f, err := lockFile(ctx, filepath.Join(s.dir, lockName))
	if err != nil {
		<-s.sem
		return nil, err
	}
	return func() {
		f.Close()
		<-s.sem
	}, nil
}

// read returns the record in the named file, checking that the file is the
// one its record's ID maps to (a record under any other name was copied or
// renamed by hand). A missing file is keyring.ErrKeysetNotFound.
func (s *Store) read(name string) (*keyring.Record, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, name))
	if errors.Is(err, os.ErrNotExist) {
		return nil, keyring.ErrKeysetNotFound
	}
	if err != nil {
		return nil, err
	}
	rec, err := unmarshalRecord(b)
	if err != nil {
		return nil, fmt.Errorf("file %s is damaged: %w", name, err)
	}
	if want := fileName(rec.ID); want != name {
		return nil, fmt.Errorf("file %s holds keyset %q, whose file is %s", name, rec.ID, want)
	}
	return rec, nil
}

// Get implements [keyring.Store].
func (s *Store) Get(ctx context.Context, id keyring.KeysetID) (*keyring.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("filestore: get %v: %w", id, err)
	}
	rec, err := s.read(fileName(id))
	if err != nil {
		return nil, fmt.Errorf("filestore: get %v: %w", id, err)
	}
	return rec, nil
}

// Create implements [keyring.Store].
func (s *Store) Create(ctx context.Context, rec *keyring.Record) error {
	if err := rec.ID.Validate(); err != nil {
		return fmt.Errorf("filestore: create: %w", err)
	}
	data, err := marshalRecord(rec, 1)
	if err != nil {
		return fmt.Errorf("filestore: create %v: %w", rec.ID, err)
	}
	unlock, err := s.lock(ctx)
	if err != nil {
		return fmt.Errorf("filestore: create %v: %w", rec.ID, err)
	}
	defer unlock()
	name := fileName(rec.ID)
	if _, err := os.Lstat(filepath.Join(s.dir, name)); err == nil {
		return fmt.Errorf("filestore: create %v: %w", rec.ID, keyring.ErrKeysetExists)
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("filestore: create %v: %w", rec.ID, err)
	}
	if err := writeAtomic(s.dir, name, data); err != nil {
		return fmt.Errorf("filestore: create %v: %w", rec.ID, err)
	}
	rec.Version = 1
	return nil
}

// Update implements [keyring.Store].
func (s *Store) Update(ctx context.Context, rec *keyring.Record, prevVersion int64) error {
	data, err := marshalRecord(rec, prevVersion+1)
	if err != nil {
		return fmt.Errorf("filestore: update %v: %w", rec.ID, err)
	}
	unlock, err := s.lock(ctx)
	if err != nil {
		return fmt.Errorf("filestore: update %v: %w", rec.ID, err)
	}
	defer unlock()
	name := fileName(rec.ID)
	cur, err := s.read(name)
	if err != nil {
		return fmt.Errorf("filestore: update %v: %w", rec.ID, err)
	}
	if cur.Version != prevVersion {
		return fmt.Errorf("filestore: update %v: %w: stored version is %d, not %d", rec.ID, keyring.ErrVersionConflict, cur.Version, prevVersion)
	}
	if err := writeAtomic(s.dir, name, data); err != nil {
		return fmt.Errorf("filestore: update %v: %w", rec.ID, err)
	}
	rec.Version = prevVersion + 1
	return nil
}

// Delete implements [keyring.Store].
func (s *Store) Delete(ctx context.Context, id keyring.KeysetID) error {
	unlock, err := s.lock(ctx)
	if err != nil {
		return fmt.Errorf("filestore: delete %v: %w", id, err)
	}
	defer unlock()
	err = os.Remove(filepath.Join(s.dir, fileName(id)))
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("filestore: delete %v: %w", id, keyring.ErrKeysetNotFound)
	}
	if err == nil {
		err = syncDir(s.dir)
	}
	if err != nil {
		return fmt.Errorf("filestore: delete %v: %w", id, err)
	}
	return nil
}

// List implements [keyring.Store]. It reads without the write lock: each
// file it reads is whole, though a record written during the call may or
// may not be listed.
func (s *Store) List(ctx context.Context, scope string) ([]*keyring.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("filestore: list: %w", err)
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("filestore: list: %w", err)
	}
	prefix := scopePrefix(scope)
	var out []*keyring.Record
	for _, e := range entries {
		name := e.Name()
		switch {
		case !e.Type().IsRegular(), !strings.HasSuffix(name, recordExt), strings.HasPrefix(name, "."):
			continue // the lock, temporary files, anything not ours
		case scope != "" && !strings.HasPrefix(name, prefix) && !strings.HasPrefix(name, hashedPrefix):
			continue // a readable name of another scope
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("filestore: list: %w", err)
		}
		rec, err := s.read(name)
		if errors.Is(err, keyring.ErrKeysetNotFound) {
			continue // deleted since ReadDir
		}
		if err != nil {
			return nil, fmt.Errorf("filestore: list: %w", err)
		}
		if scope == "" || rec.ID.Scope == scope {
			out = append(out, rec)
		}
	}
	slices.SortFunc(out, func(a, b *keyring.Record) int { return keyring.CompareIDs(a.ID, b.ID) })
	return out, nil
}
