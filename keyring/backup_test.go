package keyring_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/kms"
)

// TestExportImportRestoreDrill exports a tenant's keysets, restores them into
// an empty store, and checks that the restored keyring decrypts data
// encrypted before the export — and that the export holds no key in clear.
func TestExportImportRestoreDrill(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	kr := f.keyring(t, nil)
	dk, err := kr.DataKeys(ctx, "acme", "pii")
	if err != nil {
		t.Fatal(err)
	}
	ct, err := dk.Encrypt([]byte("ada@example.com"), []byte("ad"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kr.IndexKeys(ctx, "acme", "pii"); err != nil {
		t.Fatal(err)
	}

	var buf bytes.Buffer
	n, err := keyring.NewManager(kr).Export(ctx, &buf, "acme")
	if err != nil || n != 2 {
		t.Fatalf("Export() = %d, %v; want 2 keysets", n, err)
	}

	// The export must not contain the key material, in any encoding.
	rec, err := f.store.Get(ctx, keyring.KeysetID{Scope: "acme", Class: "pii", Purpose: keyring.PurposeData})
	if err != nil {
		t.Fatal(err)
	}
	handle, err := keyset.ReadWithContext(ctx, keyset.NewBinaryReader(bytes.NewReader(rec.EncryptedKeyset)), f.kek, keyring.WrapAssociatedData(rec.ID, rec.Metadata))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range insecurecleartextkeyset.KeysetMaterial(handle).GetKey() {
		raw := k.GetKeyData().GetValue()
		for _, enc := range []string{string(raw), base64.StdEncoding.EncodeToString(raw), base64.RawURLEncoding.EncodeToString(raw)} {
			if strings.Contains(buf.String(), enc) {
				t.Fatalf("the export contains key material in clear")
			}
		}
	}

	// Restore into an empty store and decrypt.
	restored := &fixture{store: keyring.NewMemoryStore(), opener: f.opener, kek: f.kek, uri: f.uri, clock: f.clock}
	kr2 := restored.keyring(t, func(c *keyring.Config) { c.DisableAutoCreate = true })
	m := keyring.NewManager(kr2)
	got, err := m.Import(ctx, bytes.NewReader(buf.Bytes()), keyring.ImportOptions{Verify: true})
	if err != nil || got != 2 {
		t.Fatalf("Import() = %d, %v; want 2", got, err)
	}
	dk2, err := kr2.DataKeys(ctx, "acme", "pii")
	if err != nil {
		t.Fatal(err)
	}
	pt, err := dk2.Decrypt(ct, []byte("ad"))
	if err != nil || string(pt) != "ada@example.com" {
		t.Errorf("restored keyring Decrypt() = %q, %v", pt, err)
	}

	// A second import without Overwrite refuses, and writes nothing.
	if _, err := m.Import(ctx, bytes.NewReader(buf.Bytes()), keyring.ImportOptions{}); !errors.Is(err, keyring.ErrKeysetExists) {
		t.Errorf("Import(existing) err = %v, want ErrKeysetExists", err)
	}
	if _, err := m.Import(ctx, bytes.NewReader(buf.Bytes()), keyring.ImportOptions{Overwrite: true}); err != nil {
		t.Errorf("Import(Overwrite) err = %v", err)
	}
	for _, bad := range []string{"", "{}", `{"format":"other","keysets":[]}`, `{"format":"fieldcrypt-keysets-v1","keysets":[{"scope":"","class":"x","purpose":"data"}]}`} {
		if _, err := m.Import(ctx, strings.NewReader(bad), keyring.ImportOptions{}); !errors.Is(err, keyring.ErrBadExport) {
			t.Errorf("Import(%q) err = %v, want ErrBadExport", bad, err)
		}
	}
}

func TestRewrapToNewKEK(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	kr := f.keyring(t, nil)
	dk, err := kr.DataKeys(ctx, "acme", "pii")
	if err != nil {
		t.Fatal(err)
	}
	ct, _ := dk.Encrypt([]byte("x"), nil)
	if _, err := kr.IndexKeys(ctx, "globex", "pii"); err != nil {
		t.Fatal(err)
	}

	// A second KEK with its own key.
	newKEK := newFixture(t).kek
	f.opener.Register("test2", func(_ context.Context, uri string) (*kms.Keeper, error) { return kms.NewKeeper(uri, newKEK), nil })
	moved := f.keyring(t, func(c *keyring.Config) {
		c.DefaultKEK = "test2://kek"
		c.AcceptKEKs = map[string][]string{"pii": {f.uri}}
	})
	rep, err := keyring.NewManager(moved).Rewrap(ctx, "")
	if err != nil {
		t.Fatalf("Rewrap() err = %v", err)
	}
	if len(rep.Rewrapped) != 2 || rep.KMSCalls != 4 {
		t.Errorf("Rewrap() = %d keysets, %d KMS calls; want 2 keysets, 4 calls (unwrap + wrap each)", len(rep.Rewrapped), rep.KMSCalls)
	}
	// The old KEK no longer opens the store: only the new one does.
	onlyNew := f.keyring(t, func(c *keyring.Config) { c.DefaultKEK = "test2://kek" })
	dk2, err := onlyNew.DataKeys(ctx, "acme", "pii")
	if err != nil {
		t.Fatalf("DataKeys() with only the new KEK err = %v", err)
	}
	if pt, err := dk2.Decrypt(ct, nil); err != nil || string(pt) != "x" {
		t.Errorf("data encrypted before the rewrap: Decrypt() = %q, %v", pt, err)
	}
	onlyOld := f.keyring(t, nil)
	if _, err := onlyOld.DataKeys(ctx, "acme", "pii"); !errors.Is(err, keyring.ErrKEKNotAllowed) {
		t.Errorf("DataKeys() with only the old KEK err = %v, want ErrKEKNotAllowed", err)
	}
}

func TestMetrics(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	reader := metric.NewManualReader()
	kr := f.keyring(t, func(c *keyring.Config) { c.MeterProvider = metric.NewMeterProvider(metric.WithReader(reader)) })
	defer kr.Close()
	for range 3 {
		if _, err := kr.DataKeys(ctx, "acme", "pii"); err != nil {
			t.Fatal(err)
		}
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if sum, ok := m.Data.(metricdata.Sum[int64]); ok && len(sum.DataPoints) == 1 {
				got[m.Name] = sum.DataPoints[0].Value
			}
		}
	}
	want := kr.Stats()
	if got["fieldcrypt.kms.calls"] != want.KMSCalls || got["fieldcrypt.keyring.cache.hits"] != 2 || got["fieldcrypt.keyring.cache.misses"] != 1 {
		t.Errorf("metrics = %v, want kms.calls %d, cache.hits 2, cache.misses 1", got, want.KMSCalls)
	}
}
