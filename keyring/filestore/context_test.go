package filestore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/keyring"
)

func TestCanceledContext(t *testing.T) {
	s := open(t, t.TempDir())
	rec := &keyring.Record{ID: keyring.KeysetID{Scope: "acme", Class: "pii", Purpose: keyring.PurposeData}, KEKURI: "local://one"}
	if err := s.Create(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	other := &keyring.Record{ID: keyring.KeysetID{Scope: "acme", Class: "pii", Purpose: keyring.PurposeIndex}}
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"Get", func() error { _, err := s.Get(ctx, rec.ID); return err }},
		{"List", func() error { _, err := s.List(ctx, ""); return err }},
		{"Create", func() error { return s.Create(ctx, other) }},
		{"Update", func() error { return s.Update(ctx, &keyring.Record{ID: rec.ID, KEKURI: "local://two"}, 1) }},
		{"Delete", func() error { return s.Delete(ctx, rec.ID) }},
	} {
		if err := tc.call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s(canceled context) err = %v, want context.Canceled", tc.name, err)
		}
	}
	recs, err := s.List(t.Context(), "")
	if err != nil || len(recs) != 1 || recs[0].KEKURI != "local://one" || recs[0].Version != 1 {
		t.Errorf("after calls with a canceled context, List = %v, %v, want the one record unchanged", recs, err)
	}
}
