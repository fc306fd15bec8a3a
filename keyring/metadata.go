package keyring

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// metadata is fieldcrypt's cleartext bookkeeping about a keyset's keys,
// stored as Record.Metadata. It holds no key material.
type metadata struct {
	// Created maps a key ID (decimal) to when the key was added.
	Created map[string]time.Time `json:"created,omitempty"`
	// Destroyed lists the IDs of keys whose material was deleted.
	Destroyed []uint32 `json:"destroyed,omitempty"`
}

func parseMetadata(b []byte) (*metadata, error) {
	m := &metadata{}
	if len(b) == 0 {
		return m, nil
	}
	if err := json.Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("keyset metadata is not valid JSON: %w", err)
	}
	return m, nil
}

func (m *metadata) marshal() ([]byte, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("marshal keyset metadata: %w", err)
	}
	return b, nil
}

func (m *metadata) setCreated(keyID uint32, t time.Time) {
	if m.Created == nil {
		m.Created = make(map[string]time.Time)
	}
	m.Created[strconv.FormatUint(uint64(keyID), 10)] = t.UTC()
}

func (m *metadata) created(keyID uint32) time.Time {
	return m.Created[strconv.FormatUint(uint64(keyID), 10)]
}

func (m *metadata) markDestroyed(keyID uint32) {
	if !slices.Contains(m.Destroyed, keyID) {
		m.Destroyed = append(m.Destroyed, keyID)
	}
}
