package keyring

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// ExportFormat names the format of keyset exports.
const ExportFormat = "fieldcrypt-keysets-v2"

// export is the document Export writes: the stored records as they are,
// wrapped under their KEKs. It holds no key material in clear.
type export struct {
	Format   string           `json:"format"`
	Exported time.Time        `json:"exported_at"`
	Keysets  []exportedRecord `json:"keysets"`
}

type exportedRecord struct {
	Scope           string    `json:"scope"`
	Class           string    `json:"class"`
	Purpose         Purpose   `json:"purpose"`
	KEKURI          string    `json:"kek_uri"`
	EncryptedKeyset []byte    `json:"encrypted_keyset"` // base64 in JSON
	State           []byte    `json:"state"`            // the state document, byte for byte; base64 in JSON
	Created         time.Time `json:"created"`
	Updated         time.Time `json:"updated"`
}

// Export writes every keyset of scope (every scope when scope is "") to w
// as a JSON document, exactly as stored (the encrypted keyset and the state
// document byte for byte, base64 in JSON): wrapped under their KEKs, so the
// export is as safe to keep as the store itself and useless without the
// KEKs. Tombstones of shredded scopes are exported too, so a restore keeps
// them shredded. It makes no KMS call. A keyset wrapped by a KEK that is
// neither its class's nor accepted for its class is refused
// (ErrKEKNotAllowed) before anything is written. It returns how many
// keysets it wrote. docs/FORMAT.md section 7 specifies the document.
func (m *Manager) Export(ctx context.Context, w io.Writer, scope string) (int, error) {
	k := m.k
	recs, err := k.cfg.Store.List(ctx, scope)
	if err != nil {
		return 0, fmt.Errorf("keyring: export: %w", err)
	}
	doc := export{Format: ExportFormat, Exported: k.now().UTC(), Keysets: make([]exportedRecord, 0, len(recs))}
	for _, r := range recs {
		if err := k.checkKEKAllowed(r); err != nil {
			err = &Error{Op: "export", ID: r.ID, Err: err}
			k.audit(ctx, "keyset exported", r.ID, err, "kek", r.KEKURI)
			return 0, err
		}
		doc.Keysets = append(doc.Keysets, exportedRecord{
			Scope: r.ID.Scope, Class: r.ID.Class, Purpose: r.ID.Purpose, KEKURI: r.KEKURI,
			EncryptedKeyset: r.EncryptedKeyset, State: r.Metadata, Created: r.Created, Updated: r.Updated,
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(&doc); err != nil {
		return 0, fmt.Errorf("keyring: export: %w", err)
	}
	for _, r := range recs {
		k.audit(ctx, "keyset exported", r.ID, nil, "kek", r.KEKURI)
	}
	return len(recs), nil
}

// ImportOptions configures Import.
type ImportOptions struct {
	// Overwrite replaces keysets that already exist in the store. Without
	// it, an existing keyset makes Import fail before writing anything.
	Overwrite bool
	// Verify unwraps every keyset with its KEK before writing, proving the
	// backup is restorable by this process (one KMS call per keyset).
	Verify bool
}

// ErrBadExport means an import document is not a fieldcrypt keyset export.
var ErrBadExport = errors.New("keyring: not a fieldcrypt keyset export")

// Import reads a document written by Export and stores its keysets. It
// checks the whole document before writing any of them: every keyset's KEK
// must be trusted for its class, its state document must parse, and no
// keyset may be older than the stored one, than one this keyring has seen
// or than its anchor records (ErrRollback), nor replace a tombstone
// (ErrScopeShredded). With Verify it also unwraps every keyset, which
// authenticates its state. Each write checks again what another process
// may have changed since (a key change, a shred): an overwrite is
// compare-and-swap on the record it checked, and a live keyset stored in a
// scope shredded meanwhile is shredded itself (ErrScopeShredded); when
// that check fails (the anchor or the store is out), Import returns its
// error and leaves the keyset stored, since it may hold the only copy of
// its keys. It returns how many keysets it stored.
func (m *Manager) Import(ctx context.Context, r io.Reader, opts ImportOptions) (int, error) {
	k := m.k
	var doc export
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return 0, fmt.Errorf("%w: %w", ErrBadExport, err)
	}
	if doc.Format != ExportFormat {
		return 0, fmt.Errorf("%w: format %q, want %q", ErrBadExport, doc.Format, ExportFormat)
	}
	recs := make([]*Record, 0, len(doc.Keysets))
	seen := make(map[KeysetID]bool, len(doc.Keysets))
	shreddedIn := make(map[string]bool) // scopes with a tombstone in the document
	for _, er := range doc.Keysets {
		if st, err := parseState(er.State); err == nil && st.Shredded != nil {
			shreddedIn[er.Scope] = true
		}
	}
	for _, er := range doc.Keysets {
		rec := &Record{
			ID:     KeysetID{Scope: er.Scope, Class: er.Class, Purpose: er.Purpose},
			KEKURI: er.KEKURI, EncryptedKeyset: er.EncryptedKeyset, Metadata: er.State,
			Created: er.Created, Updated: er.Updated,
		}
		if err := rec.ID.Validate(); err != nil {
			return 0, fmt.Errorf("%w: %w", ErrBadExport, err)
		}
		if seen[rec.ID] {
			return 0, fmt.Errorf("%w: keyset %s appears twice", ErrBadExport, rec.ID)
		}
		seen[rec.ID] = true
		if st, err := parseState(rec.Metadata); err == nil && st.Shredded == nil && shreddedIn[rec.ID.Scope] {
			return 0, &Error{Op: "import", ID: rec.ID, Err: fmt.Errorf("%w: the document holds a tombstone of the same scope", ErrScopeShredded)}
		}
		if err := k.checkImport(ctx, rec, opts); err != nil {
			return 0, &Error{Op: "import", ID: rec.ID, Err: err}
		}
		recs = append(recs, rec)
	}
	n := 0
	for _, rec := range recs {
		st, _ := parseState(rec.Metadata) // checked above
		err := k.storeImported(ctx, rec, st, opts)
		if err == nil && opts.Verify {
			// Only an authenticated version may advance the anchor; an
			// unverified one is checked and recorded when first loaded.
			k.observe(ctx, rec.ID, st.Version)
		}
		k.audit(ctx, "keyset imported", rec.ID, err, "kek", rec.KEKURI, "version", st.Version)
		if err != nil {
			return n, &Error{Op: "import", ID: rec.ID, Err: err}
		}
		k.cache.remove(rec.ID)
		n++
	}
	return n, nil
}

// storeImported writes one imported record, which checkImport passed. A
// shred or a key change by another process may have landed since: an
// overwrite is checked again against the record it replaces and written
// with compare-and-swap on it, and a live keyset stored in a scope that
// was shredded meanwhile is shredded itself, as create does. A check that
// fails otherwise leaves the keyset stored, and returns its error.
func (k *Keyring) storeImported(ctx context.Context, rec *Record, st *state, opts ImportOptions) error {
	err := k.cfg.Store.Create(ctx, rec)
	if errors.Is(err, ErrKeysetExists) && opts.Overwrite {
		var cur *Record
		if cur, err = k.cfg.Store.Get(ctx, rec.ID); err == nil {
			if err = checkOverwrite(st, cur); err == nil {
				err = k.cfg.Store.Update(ctx, rec, cur.Version)
			}
		}
	}
	if err != nil || st.Shredded != nil {
		return err
	}
	if serr := k.checkNotShredded(ctx, rec.ID.Scope); serr != nil {
		if !errors.Is(serr, ErrScopeShredded) {
			// The check could not be made (the anchor or the store is
			// out). This keyset may hold the only copy of its keys: it
			// stays, as create leaves a keyset it made, and every load
			// checks the anchor's shred mark again. Import again to check
			// again.
			return serr
		}
		if _, err := k.shredOne(ctx, rec.ID, rec); err != nil {
			return errors.Join(serr, err)
		}
		return serr
	}
	return nil
}

// checkOverwrite fails unless the imported state st may replace the
// stored record cur: never with an older keyset, and never a tombstone
// with a live keyset. The stored state is not authenticated here;
// refusing is the safe side.
func checkOverwrite(st *state, cur *Record) error {
	cs, err := parseState(cur.Metadata)
	if err != nil {
		return nil // not authentic: the import replaces it
	}
	if cs.Shredded != nil && st.Shredded == nil {
		return fmt.Errorf("%w: the store holds a tombstone of the keyset", ErrScopeShredded)
	}
	if st.Version < cs.Version {
		return fmt.Errorf("%w: the export holds state version %d, the store %d", ErrRollback, st.Version, cs.Version)
	}
	return nil
}

// checkImport makes every check of one imported record that needs no
// write: its KEK, its state, rollback against the store, this keyring and
// the anchor, and with Verify its authenticity (one KMS call).
func (k *Keyring) checkImport(ctx context.Context, rec *Record, opts ImportOptions) error {
	if err := k.checkKEKAllowed(rec); err != nil {
		return err
	}
	st, err := parseState(rec.Metadata)
	if err != nil {
		return err
	}
	if opts.Verify {
		if _, err := k.open(ctx, rec); err != nil {
			return fmt.Errorf("verify: %w", err)
		}
	} else if err := k.checkFresh(ctx, rec.ID, st.Version); err != nil {
		return err
	}
	if st.Shredded == nil {
		if err := k.checkNotShredded(ctx, rec.ID.Scope); err != nil {
			return fmt.Errorf("%w; run Unshred (`fieldcrypt keys unshred`) to bring the scope back with new keys", err)
		}
	}
	cur, err := k.cfg.Store.Get(ctx, rec.ID)
	switch {
	case errors.Is(err, ErrKeysetNotFound):
		return nil
	case err != nil:
		return err
	case !opts.Overwrite:
		return ErrKeysetExists
	}
	return checkOverwrite(st, cur)
}
