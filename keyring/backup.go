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
const ExportFormat = "fieldcrypt-keysets-v1"

// export is the document Export writes: the stored records as they are,
// wrapped under their KEKs. It holds no key material in clear.
type export struct {
	Format   string           `json:"format"`
	Exported time.Time        `json:"exported_at"`
	Keysets  []exportedRecord `json:"keysets"`
}

type exportedRecord struct {
	Scope           string          `json:"scope"`
	Class           string          `json:"class"`
	Purpose         Purpose         `json:"purpose"`
	KEKURI          string          `json:"kek_uri"`
	EncryptedKeyset []byte          `json:"encrypted_keyset"` // base64 in JSON
	Metadata        json.RawMessage `json:"metadata,omitempty"`
	Created         time.Time       `json:"created"`
	Updated         time.Time       `json:"updated"`
}

// Export writes every keyset of scope (every scope when scope is "") to w
// as a JSON document, exactly as stored: wrapped under their KEKs, so the
// export is as safe to keep as the store itself and useless without the
// KEKs. It makes no KMS call. It returns how many keysets it wrote.
func (k *Keyring) Export(ctx context.Context, w io.Writer, scope string) (int, error) {
	recs, err := k.cfg.Store.List(ctx, scope)
	if err != nil {
		return 0, fmt.Errorf("keyring: export: %w", err)
	}
	doc := export{Format: ExportFormat, Exported: k.now().UTC(), Keysets: make([]exportedRecord, 0, len(recs))}
	for _, r := range recs {
		er := exportedRecord{
			Scope: r.ID.Scope, Class: r.ID.Class, Purpose: r.ID.Purpose, KEKURI: r.KEKURI,
			EncryptedKeyset: r.EncryptedKeyset, Created: r.Created, Updated: r.Updated,
		}
		if len(r.Metadata) > 0 {
			er.Metadata = json.RawMessage(r.Metadata)
		}
		doc.Keysets = append(doc.Keysets, er)
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
// checks the whole document (and, with Verify, unwraps every keyset) before
// writing any of them. It returns how many keysets it stored.
func (k *Keyring) Import(ctx context.Context, r io.Reader, opts ImportOptions) (int, error) {
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
	for _, er := range doc.Keysets {
		rec := &Record{
			ID:     KeysetID{Scope: er.Scope, Class: er.Class, Purpose: er.Purpose},
			KEKURI: er.KEKURI, EncryptedKeyset: er.EncryptedKeyset, Metadata: er.Metadata,
			Created: er.Created, Updated: er.Updated,
		}
		if err := rec.ID.Validate(); err != nil {
			return 0, fmt.Errorf("%w: %w", ErrBadExport, err)
		}
		if _, err := parseMetadata(rec.Metadata); err != nil {
			return 0, &Error{Op: "import", ID: rec.ID, Err: err}
		}
		if opts.Verify {
			if _, err := k.unwrap(ctx, rec); err != nil {
				return 0, &Error{Op: "verify import", ID: rec.ID, Err: err}
			}
		}
		if !opts.Overwrite {
			if _, err := k.cfg.Store.Get(ctx, rec.ID); err == nil {
				return 0, &Error{Op: "import", ID: rec.ID, Err: ErrKeysetExists}
			} else if !errors.Is(err, ErrKeysetNotFound) {
				return 0, &Error{Op: "import", ID: rec.ID, Err: err}
			}
		}
		recs = append(recs, rec)
	}
	n := 0
	for _, rec := range recs {
		err := k.cfg.Store.Create(ctx, rec)
		if errors.Is(err, ErrKeysetExists) && opts.Overwrite {
			var cur *Record
			if cur, err = k.cfg.Store.Get(ctx, rec.ID); err == nil {
				err = k.cfg.Store.Update(ctx, rec, cur.Version)
			}
		}
		k.audit(ctx, "keyset imported", rec.ID, err, "kek", rec.KEKURI)
		if err != nil {
			return n, &Error{Op: "import", ID: rec.ID, Err: err}
		}
		k.cache.remove(rec.ID)
		n++
	}
	return n, nil
}
