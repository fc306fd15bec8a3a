package keyring_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// gatedAnchor blocks the first Advance of target once armed: it holds a
// load after it read and authenticated the keyset and before it caches it,
// as a preempted goroutine or a slow remote anchor would.
type gatedAnchor struct {
	keyring.MemoryAnchor
	target  keyring.KeysetID
	armed   atomic.Bool
	entered chan struct{}
	release chan struct{}
}

func (a *gatedAnchor) Advance(ctx context.Context, id keyring.KeysetID, v uint64) error {
	if id == a.target && a.armed.CompareAndSwap(true, false) {
		close(a.entered)
		<-a.release
	}
	return a.MemoryAnchor.Advance(ctx, id, v)
}

func newGated(id keyring.KeysetID) *gatedAnchor {
	return &gatedAnchor{target: id, entered: make(chan struct{}), release: make(chan struct{})}
}

// TestLoadRacingShredIsNotCached: a load that read a tenant's keyset
// before a shred and caches it after the shred returned must not make the
// shredded tenant readable again.
func TestLoadRacingShredIsNotCached(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	id := keyring.KeysetID{Scope: "acme", Class: "pii", Purpose: keyring.PurposeData}
	anchor := newGated(id)
	admin := f.keyring(t, func(c *keyring.Config) { c.Anchor = anchor; c.DisableAutoCreate = true })
	if err := keyring.NewManager(admin).CreateKeysets(ctx, "acme", "pii"); err != nil {
		t.Fatal(err)
	}
	dk, _ := admin.DataKeys(ctx, "acme", "pii")
	ct, _ := dk.Encrypt([]byte("ssn=078-05-1120"), nil)

	kr := f.keyring(t, func(c *keyring.Config) { c.Anchor = anchor; c.DisableAutoCreate = true })
	anchor.armed.Store(true)
	done := make(chan error)
	go func() { _, err := kr.ExistingDataKeys(ctx, "acme", "pii"); done <- err }()
	<-anchor.entered // the load has read and authenticated the live keyset
	n, err := keyring.NewManager(kr).Shred(ctx, "acme")
	if err != nil || n != 2 {
		t.Fatalf("Shred = %d, %v", n, err)
	}
	// Shred has returned. Let the in-flight load finish.
	close(anchor.release)
	<-done
	got, err := kr.ExistingDataKeys(ctx, "acme", "pii")
	if errors.Is(err, keyring.ErrScopeShredded) {
		return
	}
	pt, derr := got.Decrypt(ct, nil)
	t.Fatalf("after Shred returned: ExistingDataKeys err=%v; Decrypt = %q, %v (shredded tenant still readable until CacheTTL)", err, pt, derr)
}

// TestLoadRacingDestroyKeyIsNotCached: the same race against DestroyKey
// must not bring the destroyed key back.
func TestLoadRacingDestroyKeyIsNotCached(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	id := keyring.KeysetID{Scope: "acme", Class: "pii", Purpose: keyring.PurposeData}
	anchor := newGated(id)
	kr := f.keyring(t, func(c *keyring.Config) { c.Anchor = anchor })
	m := keyring.NewManager(kr)
	dk, err := kr.DataKeys(ctx, "acme", "pii")
	if err != nil {
		t.Fatal(err)
	}
	old := dk.PrimaryID()
	ct, _ := dk.Encrypt([]byte("secret"), nil)
	nid, _ := m.AddKey(ctx, id)
	if err := m.PromoteKey(ctx, id, nid); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Hour) // cache entry fully expired: next get is a load
	anchor.armed.Store(true)
	done := make(chan error)
	go func() { _, err := kr.DataKeys(ctx, "acme", "pii"); done <- err }()
	<-anchor.entered
	if err := m.DestroyKey(ctx, id, old); err != nil {
		t.Fatal(err)
	}
	close(anchor.release)
	<-done
	dk, _ = kr.DataKeys(ctx, "acme", "pii")
	if pt, err := dk.Decrypt(ct, nil); err == nil {
		t.Fatalf("after DestroyKey(%d) returned, Status=%v and Decrypt = %q: destroyed key still serves", old, dk.Status(old), pt)
	}
}

// TestThrashDetectedBeyondAnyWindow: a cyclic working set 120 times the
// cache makes nearly every lookup a KMS call; every such load counts as a
// reload, however long ago the keyset was evicted, and the keyring warns.
func TestThrashDetectedBeyondAnyWindow(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	kr, logs := thrashKeyring(t, f, 50)
	const W = 6000
	for round := range 3 {
		for i := range W {
			if _, err := kr.DataKeys(ctx, fmt.Sprintf("t%d", i), "pii"); err != nil {
				t.Fatal(err)
			}
		}
		s := kr.Stats()
		t.Logf("round %d: loads=%d kms=%d evictions=%d reloads=%d cached=%d", round, s.Loads, s.KMSCalls, s.Evictions, s.Reloads, s.CachedKeysets)
	}
	s := kr.Stats()
	if s.Reloads < 2*W-2*50 {
		t.Errorf("Loads=%d for %d keysets in 3 rounds, Reloads=%d; want at least %d", s.Loads, W, s.Reloads, 2*W-2*50)
	}
	if !strings.Contains(logs.String(), "thrashing") {
		t.Errorf("no thrash warning:\n%s", logs.String())
	}
}
