package filestore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// format names the layout of a record file. A file with another format is
// refused rather than guessed at.
const format = "fieldcrypt-keyset-record/v1"

// document is a record file: a self-describing JSON object. encoding/json
// writes the byte fields in standard base64 and the times in RFC 3339 with
// nanoseconds.
type document struct {
	Format          string    `json:"format"`
	Scope           string    `json:"scope"`
	Class           string    `json:"class"`
	Purpose         string    `json:"purpose"`
	KEKURI          string    `json:"kek_uri"`
	EncryptedKeyset []byte    `json:"encrypted_keyset"`
	Metadata        []byte    `json:"metadata"`
	Version         int64     `json:"version"`
	Created         time.Time `json:"created"`
	Updated         time.Time `json:"updated"`
}

// marshalRecord encodes rec as stored at version.
func marshalRecord(rec *keyring.Record, version int64) ([]byte, error) {
	if !utf8.ValidString(rec.KEKURI) {
		return nil, errors.New("KEK URI is not valid UTF-8")
	}
	doc := document{
		Format:          format,
		Scope:           rec.ID.Scope,
		Class:           rec.ID.Class,
		Purpose:         string(rec.ID.Purpose),
		KEKURI:          rec.KEKURI,
		EncryptedKeyset: rec.EncryptedKeyset,
		Metadata:        rec.Metadata,
		Version:         version,
		Created:         rec.Created,
		Updated:         rec.Updated,
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// unmarshalRecord decodes a record file strictly: unknown fields, another
// format, an invalid ID or a version below 1 are errors.
func unmarshalRecord(b []byte) (*keyring.Record, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var doc document
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("data after the JSON object")
	}
	if doc.Format != format {
		return nil, fmt.Errorf("format is %q, want %q", doc.Format, format)
	}
	rec := &keyring.Record{
		ID:              keyring.KeysetID{Scope: doc.Scope, Class: doc.Class, Purpose: keyring.Purpose(doc.Purpose)},
		KEKURI:          doc.KEKURI,
		EncryptedKeyset: doc.EncryptedKeyset,
		Metadata:        doc.Metadata,
		Version:         doc.Version,
		Created:         doc.Created,
		Updated:         doc.Updated,
	}
	if err := rec.ID.Validate(); err != nil {
		return nil, err
	}
	if rec.Version < 1 {
		return nil, fmt.Errorf("version is %d, want at least 1", rec.Version)
	}
	return rec, nil
}
