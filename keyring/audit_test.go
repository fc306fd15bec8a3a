package keyring_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	"github.com/tink-crypto/tink-go/v2/keyset"

	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestAuditEvents runs every keyset operation and checks that each emits a
// structured audit event naming the operation, keyset and outcome — and
// that no event holds key material.
func TestAuditEvents(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	var logs syncBuffer
	kr := f.keyring(t, func(c *keyring.Config) { c.Logger = slog.New(slog.NewJSONHandler(&logs, nil)) })
	m := keyring.NewManager(kr)
	id := keyring.KeysetID{Scope: "acme", Class: "pii", Purpose: keyring.PurposeData}

	if err := m.CreateKeysets(ctx, "acme", "pii"); err != nil {
		t.Fatal(err)
	}
	old, err := kr.DataKeys(ctx, "acme", "pii")
	if err != nil {
		t.Fatal(err)
	}
	newID, err := m.AddKey(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []func() error{
		func() error { return m.PromoteKey(ctx, id, newID) },
		func() error { return m.DisableKey(ctx, id, old.PrimaryID()) },
		func() error { return m.EnableKey(ctx, id, old.PrimaryID()) },
		func() error { return m.DestroyKey(ctx, id, old.PrimaryID()) },
		func() error { _, err := m.Rewrap(ctx, "acme"); return err },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	var export bytes.Buffer
	if _, err := m.Export(ctx, &export, "acme"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Import(ctx, bytes.NewReader(export.Bytes()), keyring.ImportOptions{Overwrite: true}); err != nil {
		t.Fatal(err)
	}
	// The key material, read the way only a test may.
	rec, err := f.store.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	handle, err := keyset.ReadWithContext(ctx, keyset.NewBinaryReader(bytes.NewReader(rec.EncryptedKeyset)), f.kek, keyring.WrapAssociatedData(id, rec.Metadata))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.DisableKey(ctx, id, newID); err == nil {
		t.Fatal("DisableKey(primary) err = nil, want a refusal") // a failed operation is audited too
	}
	if _, err := m.Shred(ctx, "acme"); err != nil {
		t.Fatal(err)
	}

	var events []string
	for line := range strings.Lines(logs.String()) {
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("audit line is not JSON: %q", line)
		}
		if ev["scope"] != "acme" || ev["class"] == nil || ev["purpose"] == nil || ev["outcome"] == nil {
			t.Errorf("audit event lacks scope, class, purpose or outcome: %v", ev)
		}
		events = append(events, ev["event"].(string)+":"+ev["outcome"].(string))
	}
	for _, want := range []string{
		"keyset created:ok", "add key:ok", "promote key:ok", "disable key:ok", "enable key:ok",
		"destroy key:ok", "keyset rewrapped:ok", "keyset exported:ok", "keyset imported:ok",
		"disable key:failed", "keyset shredded:ok",
	} {
		if !slices.Contains(events, want) {
			t.Errorf("no %q audit event; got %v", want, events)
		}
	}
	for _, k := range insecurecleartextkeyset.KeysetMaterial(handle).GetKey() {
		raw := k.GetKeyData().GetValue()
		for _, enc := range []string{string(raw), hex.EncodeToString(raw), base64.StdEncoding.EncodeToString(raw), base64.RawURLEncoding.EncodeToString(raw)} {
			if strings.Contains(logs.String(), enc) {
				t.Fatalf("the audit log contains key material")
			}
		}
	}
}
