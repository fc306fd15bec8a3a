package keyring

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// StateFormat names the format of a keyset's authenticated state, the
// document stored as [Record.Metadata].
const StateFormat = "fieldcrypt-keyset-state-v2"

// state is everything about a keyset that decides the keyring's behaviour
// and is not inside the Tink keyset itself (which carries the key IDs,
// statuses and the primary): the state version, the destroyed key IDs, when
// each key was created, and whether the keyset was shredded. It is stored
// as JSON in Record.Metadata and authenticated under the KEK: the exact
// stored bytes are part of the wrap's associated data
// ([WrapAssociatedData]), so a store writer who changes one byte makes the
// keyset fail to unwrap. No part of it is secret.
type state struct {
	Format string `json:"format"`
	// Version counts the keyring's writes of this keyset: 1 when created,
	// one more on every change. A keyring never accepts a version lower
	// than one it has seen, nor one lower than its Anchor holds.
	Version uint64 `json:"version"`
	// Created maps a key ID (decimal) to when the key was added.
	Created map[string]time.Time `json:"created,omitempty"`
	// Destroyed lists the IDs of keys whose material was deleted.
	Destroyed []uint32 `json:"destroyed,omitempty"`
	// Shredded is set on a tombstone: the scope's keysets were destroyed
	// and its data is unreadable for good. A tombstone holds no keys.
	Shredded *time.Time `json:"shredded_at,omitempty"`
}

// maxStateVersion bounds state versions, so that one more always fits and
// every JSON reader reads them exactly. A keyset changed once a second would
// take 285 million years to reach it.
const maxStateVersion = 1 << 53

// parseState decodes a stored state document strictly: unknown fields, a
// missing or unknown format and a zero version are refused. The result is
// not yet authenticated; only a successful unwrap proves it.
func parseState(b []byte) (*state, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: the keyset has no state document (written before fieldcrypt authenticated keyset state; see docs/FORMAT.md section 10)", ErrIntegrity)
	}
	st := &state{}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(st); err != nil {
		return nil, fmt.Errorf("%w: the keyset's state document does not parse: %w", ErrIntegrity, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after the keyset's state document", ErrIntegrity)
	}
	if st.Format != StateFormat {
		return nil, fmt.Errorf("%w: state format %q, want %q", ErrIntegrity, st.Format, StateFormat)
	}
	if st.Version == 0 || st.Version > maxStateVersion {
		return nil, fmt.Errorf("%w: state version %d out of range 1..2^53", ErrIntegrity, st.Version)
	}
	return st, nil
}

// marshal encodes st; the bytes are what the wrap authenticates.
func (st *state) marshal() ([]byte, error) {
	st.Format = StateFormat
	b, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("marshal keyset state: %w", err)
	}
	return b, nil
}

// next returns a copy of st for the following write: the version is one
// higher, the maps and slices are the copy's own.
func (st *state) next() *state {
	n := &state{Version: st.Version + 1, Destroyed: slices.Clone(st.Destroyed), Shredded: st.Shredded}
	if st.Created != nil {
		n.Created = make(map[string]time.Time, len(st.Created))
		for k, v := range st.Created {
			n.Created[k] = v
		}
	}
	return n
}

func (st *state) setCreated(keyID uint32, t time.Time) {
	if st.Created == nil {
		st.Created = make(map[string]time.Time)
	}
	st.Created[strconv.FormatUint(uint64(keyID), 10)] = t.UTC()
}

func (st *state) created(keyID uint32) time.Time {
	return st.Created[strconv.FormatUint(uint64(keyID), 10)]
}

func (st *state) markDestroyed(keyID uint32) {
	if !slices.Contains(st.Destroyed, keyID) {
		st.Destroyed = append(st.Destroyed, keyID)
	}
}
