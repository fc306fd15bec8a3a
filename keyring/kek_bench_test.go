package keyring_test

import (
	"bytes"
	"context"
	"math"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkkms "github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	"github.com/tink-crypto/tink-go/v2/keyset"

	"github.com/fieldcrypt/fieldcrypt/internal/fakekms"
	"github.com/fieldcrypt/fieldcrypt/internal/testenv"
	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/awskms"
	"github.com/fieldcrypt/fieldcrypt/kms/gcpkms"
	"github.com/fieldcrypt/fieldcrypt/kms/local"
	"github.com/fieldcrypt/fieldcrypt/kms/vault"
)

// BenchmarkKEKCacheMiss measures what a keyring cache miss costs on each KEK
// backend, so that the price of CacheTTL is known:
//
//	op=wrap    the KEK's EncryptWithContext of one serialized keyset (one
//	           AES-256-GCM key in Tink's binary format, 108 bytes) under
//	           the keyring's associated data: a keyset creation or rewrap
//	op=unwrap  the KEK's DecryptWithContext of it
//	op=load    a whole keyring load of a data keyset with an empty cache:
//	           store read, unwrap, Tink parse, AEAD primitive
//
// Backends:
//
//	backend=local          a development key file (no KMS: the floor)
//	backend=vault-transit  the Vault dev server (scripts/vault-dev.sh), over HTTP on loopback
//	backend=aws-local-kms  local-kms, a third-party AWS KMS emulator (scripts/local-kms.sh)
//	backend=gcp-fakekms    fakekms, the project's in-process FAKE of Google Cloud KMS,
//	                       dialled by the real client library over gRPC on loopback; its
//	                       figure is the client and gRPC cost, not Google's service
//
// Every server is on the loopback interface, so the figures are a floor: a
// real KMS adds a network round trip (typically 1–10 ms in-region). A
// backend whose server is unreachable is skipped (a failure under CI).
//
//	go test -run '^$' -bench KEKCacheMiss -count 6 ./keyring/
func BenchmarkKEKCacheMiss(b *testing.B) {
	backends := []struct {
		name string
		open func(b *testing.B) (uri string, kek *kms.Keeper)
	}{
		{"local", benchLocalKEK},
		{"vault-transit", benchVaultKEK},
		{"aws-local-kms", benchAWSKEK},
		{"gcp-fakekms", benchGCPFakeKEK},
	}
	plaintext := benchSerializedKeyset(b)
	id := keyring.KeysetID{Scope: "acme", Class: "pii", Purpose: keyring.PurposeData}
	ad := keyring.WrapAssociatedData(id, []byte(`{"format":"fieldcrypt-keyset-state-v2","version":1}`))
	for _, be := range backends {
		b.Run("backend="+be.name, func(b *testing.B) {
			_, kek := be.open(b)
			ctx := context.Background()

			b.Run("op=wrap", func(b *testing.B) {
				for b.Loop() {
					if _, err := kek.EncryptWithContext(ctx, plaintext, ad); err != nil {
						b.Fatalf("EncryptWithContext() err = %v", err)
					}
				}
			})

			b.Run("op=unwrap", func(b *testing.B) {
				ct, err := kek.EncryptWithContext(ctx, plaintext, ad)
				if err != nil {
					b.Fatalf("EncryptWithContext() err = %v", err)
				}
				for b.Loop() {
					pt, err := kek.DecryptWithContext(ctx, ct, ad)
					if err != nil || !bytes.Equal(pt, plaintext) {
						b.Fatalf("DecryptWithContext() = %d bytes, %v; want the keyset back", len(pt), err)
					}
				}
			})

			// The keyring closes its KEK, so each run opens its own: with
			// -count, a sub-benchmark runs again under the same parent.
			b.Run("op=load", func(b *testing.B) {
				uri, kek := be.open(b)
				benchKeyringLoad(b, uri, kek, 0)
			})

			b.Run("op=reload-unchanged", func(b *testing.B) {
				uri, kek := be.open(b)
				benchKeyringLoad(b, uri, kek, math.MaxInt64)
			})
		})
	}
}

// benchKeyringLoad times keyring lookups that all miss the cache: a manual
// clock moves past CacheTTL before each, and stale serving is off. With a
// kekCheck longer than the run, every load after the first finds the
// stored keyset unchanged and keeps it: a store read and no KMS call.
func benchKeyringLoad(b *testing.B, uri string, kek *kms.Keeper, kekCheck time.Duration) {
	ctx := context.Background()
	opener := kms.NewOpener()
	// The keyring closes kek when the benchmark ends.
	opener.Register(kms.Scheme(uri), func(context.Context, string) (*kms.Keeper, error) { return kek, nil })
	var elapsed atomic.Int64
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	kr, err := keyring.NewWithClock(keyring.Config{
		Store: keyring.NewMemoryStore(), Opener: opener, DefaultKEK: uri,
		CacheTTL: time.Minute, StalePeriod: -1, KEKCheckInterval: kekCheck,
	}, func() time.Time { return start.Add(time.Duration(elapsed.Load())) })
	if err != nil {
		b.Fatalf("keyring.New() err = %v", err)
	}
	b.Cleanup(func() { kr.Close() })
	if err := keyring.NewManager(kr).CreateKeysets(ctx, "acme", "pii"); err != nil {
		b.Fatalf("CreateKeysets() err = %v", err)
	}
	before := kr.Stats()
	n := int64(0)
	for b.Loop() {
		elapsed.Add(int64(2 * time.Minute))
		if _, err := kr.DataKeys(ctx, "acme", "pii"); err != nil {
			b.Fatalf("DataKeys() err = %v", err)
		}
		n++
	}
	after := kr.Stats()
	if got := after.Loads - before.Loads; got != n {
		b.Fatalf("%d lookups made %d loads, want one each (a cache miss)", n, got)
	}
	b.ReportMetric(float64(after.KMSCalls-before.KMSCalls)/float64(n), "kms-calls/op")
}

// benchSerializedKeyset returns a fresh data keyset in Tink's binary
// format: what the keyring hands its KEK to wrap.
func benchSerializedKeyset(b *testing.B) []byte {
	h, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	if err := insecurecleartextkeyset.Write(h, keyset.NewBinaryWriter(&buf)); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

func benchLocalKEK(b *testing.B) (string, *kms.Keeper) {
	uri, err := local.CreateInsecureKeyFile(filepath.Join(b.TempDir(), "kek.json"))
	if err != nil {
		b.Fatal(err)
	}
	path, err := local.PathOf(uri)
	if err != nil {
		b.Fatal(err)
	}
	kek, err := local.OpenInsecure(path, nil)
	if err != nil {
		b.Fatal(err)
	}
	return uri, kek
}

// benchVaultKEK creates a Transit key on the Vault dev server, deleted when
// the benchmark ends.
func benchVaultKEK(b *testing.B) (string, *kms.Keeper) {
	_, name := testenv.TransitKey(b, "bench-kek")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := vault.Dial(ctx, &vault.Options{Address: testenv.VaultAddr, Token: testenv.VaultToken})
	if err != nil {
		b.Fatalf("vault.Dial() err = %v", err)
	}
	b.Cleanup(func() { conn.Close() })
	uri := vault.Scheme + "://transit/keys/" + name
	kek, err := conn.Open(uri)
	if err != nil {
		b.Fatalf("Open(%s) err = %v", uri, err)
	}
	return uri, kek
}

// benchAWSKEK creates a symmetric key on local-kms.
func benchAWSKEK(b *testing.B) (string, *kms.Keeper) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	client, err := awskms.NewClient(ctx, "eu-west-1", &awskms.Options{
		Endpoint:    testenv.AWSKMSEndpoint,
		Credentials: awskms.StaticCredentials("AKIDFIELDCRYPTBENCH", "fieldcrypt-bench-secret", ""),
	})
	if err != nil {
		b.Fatalf("awskms.NewClient() err = %v", err)
	}
	_, err = client.ListKeys(ctx, &sdkkms.ListKeysInput{Limit: aws.Int32(1)})
	testenv.Require(b, "local-kms", err)
	out, err := client.CreateKey(ctx, &sdkkms.CreateKeyInput{Description: aws.String("fieldcrypt KEK benchmark")})
	if err != nil {
		b.Fatalf("CreateKey() err = %v", err)
	}
	uri := awskms.URI(aws.ToString(out.KeyMetadata.Arn))
	kek, err := awskms.New(client, uri, nil)
	if err != nil {
		b.Fatalf("awskms.New(%s) err = %v", uri, err)
	}
	return uri, kek
}

// benchGCPFakeKEK starts fakekms, the in-process fake of Google Cloud KMS,
// and opens a key on it through the real client library over gRPC.
func benchGCPFakeKEK(b *testing.B) (string, *kms.Keeper) {
	srv, err := fakekms.Start()
	if err != nil {
		b.Fatalf("fakekms.Start() err = %v", err)
	}
	b.Cleanup(srv.Close)
	name := "projects/fieldcrypt-bench/locations/europe-west1/keyRings/crm/cryptoKeys/kek"
	if err := srv.CreateKey(name); err != nil {
		b.Fatalf("CreateKey() err = %v", err)
	}
	client, err := gcpkms.NewClient(context.Background(), &gcpkms.Options{
		Endpoint: srv.Addr(), WithoutAuthentication: true, Insecure: true,
	})
	if err != nil {
		b.Fatalf("gcpkms.NewClient() err = %v", err)
	}
	b.Cleanup(func() { client.Close() })
	uri := gcpkms.URI(name)
	kek, err := gcpkms.New(client, uri, nil)
	if err != nil {
		b.Fatalf("gcpkms.New(%s) err = %v", uri, err)
	}
	return uri, kek
}
