package keyring_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// BenchmarkDataKeysHit is the cost of a keyset lookup served by the cache,
// which every Encrypt and Decrypt pays once per field class: alone, and from
// every core at once (the cache's reads take no lock).
func BenchmarkDataKeysHit(b *testing.B) {
	ctx := context.Background()
	kr := populatedKeyring(b)
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			if _, err := kr.DataKeys(ctx, "tenant-042", "pii"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := kr.DataKeys(ctx, "tenant-042", "pii"); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

// BenchmarkScopeKeysHit is the cost of the lookups of a record with two
// classes, as Encrypt and Decrypt make them: one Scope per record, then one
// lookup per class in it; against "per-class", two keyring lookups.
func BenchmarkScopeKeysHit(b *testing.B) {
	ctx := context.Background()
	kr := populatedKeyring(b)
	b.Run("scope", func(b *testing.B) {
		for b.Loop() {
			s := kr.Scope("tenant-042")
			if _, err := s.ExistingDataKeys(ctx, "pii"); err != nil {
				b.Fatal(err)
			}
			if _, err := s.ExistingDataKeys(ctx, "support"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("per-class", func(b *testing.B) {
		for b.Loop() {
			if _, err := kr.ExistingDataKeys(ctx, "tenant-042", "pii"); err != nil {
				b.Fatal(err)
			}
			if _, err := kr.ExistingDataKeys(ctx, "tenant-042", "support"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// populatedKeyring returns a keyring on the production clock whose cache
// holds 100 tenants with two data keysets each; it is closed with b.
func populatedKeyring(b *testing.B) *keyring.Keyring {
	ctx := context.Background()
	f := newFixture(b)
	kr, err := keyring.New(keyring.Config{Store: f.store, Opener: f.opener, DefaultKEK: f.uri})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { kr.Close() })
	for i := range 100 {
		for _, class := range []string{"pii", "support"} {
			if _, err := kr.DataKeys(ctx, fmt.Sprintf("tenant-%03d", i), class); err != nil {
				b.Fatal(err)
			}
		}
	}
	return kr
}
