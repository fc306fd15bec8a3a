package crypt_test

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"

	"github.com/fieldcrypt/fieldcrypt/internal/testenv"
)

// The Transit comparison uses BenchContact (bench_test.go): an id, a scope,
// 6 encrypted fields and 3 blind indexes.

// transitFieldsOnly has the same 6 encrypted fields and no blind index:
// exactly the work the Transit paths do.
type transitFieldsOnly struct {
	_         struct{} `crypt:"record=contact"`
	ID        string   `crypt:"id"`
	TenantID  string   `crypt:"scope"`
	FirstName string   `crypt:"encrypt,class=pii"`
	LastName  string   `crypt:"encrypt,class=pii"`
	Email     string   `crypt:"encrypt,class=pii"`
	Phone     string   `crypt:"encrypt,class=pii"`
	Address   string   `crypt:"encrypt,class=pii"`
	Notes     []byte   `crypt:"encrypt,class=support"`
}

// transitFields returns the 6 values that fieldcrypt encrypts, by field
// path, as a user of Transit would send them.
func (c *BenchContact) transitFields() [6]struct {
	path  string
	value []byte
} {
	return [6]struct {
		path  string
		value []byte
	}{
		{"FirstName", []byte(c.FirstName)},
		{"LastName", []byte(c.LastName)},
		{"Email", []byte(c.Email)},
		{"Phone", []byte(c.Phone)},
		{"Address", []byte(c.Address)},
		{"Notes", c.Notes},
	}
}

// transitFieldAAD binds a value to its tenant, record and field, as
// fieldcrypt's associated data does: length-prefixed tenant, record type,
// record ID and field path.
func transitFieldAAD(c *BenchContact, path string) []byte {
	var b []byte
	for _, s := range []string{c.TenantID, "contact", c.ID, path} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	return b
}

// BenchmarkFieldcryptEncryptVsTransit compares, in one run, the three ways
// to encrypt the 6 sensitive fields of a Contact before writing it:
//
//	impl=fieldcrypt         Encryptor.Encrypt: 6 AEAD encryptions and 3 blind
//	                        indexes in process, keys cached by the keyring
//	impl=fieldcrypt-fields  the same 6 encryptions without the blind indexes:
//	                        the same work as the Transit paths
//	impl=transit-batched    one Vault Transit call per record (batch_input of 6)
//	impl=transit-per-field  one Vault Transit call per field (6 per record)
//
// The Transit paths send each value with associated_data binding it to its
// tenant, record and field (the key is aes256-gcm96, which authenticates
// it), and compute no blind index, which favours them. Vault is the dev
// server of scripts/vault-dev.sh on the loopback interface, so its figures
// are a floor: a Vault across a network adds a round trip per call. Every
// sub-benchmark reports ns/record; compare them with benchstat:
//
//	go test -run '^$' -bench FieldcryptEncryptVsTransit -count 6 ./crypt/ | tee transit.txt
//	benchstat -col /impl transit.txt
func BenchmarkFieldcryptEncryptVsTransit(b *testing.B) {
	b.Run("impl=fieldcrypt", func(b *testing.B) {
		enc := newEnv(b).enc
		ctx := context.Background()
		plain := benchPlain()
		warm := plain
		if err := enc.Encrypt(ctx, &warm); err != nil {
			b.Fatalf("Encrypt() err = %v", err)
		}
		n := 0
		for b.Loop() {
			c := plain
			if err := enc.Encrypt(ctx, &c); err != nil {
				b.Fatalf("Encrypt() err = %v", err)
			}
			n++
		}
		transitReportPerRecord(b, n, 0)
	})

	b.Run("impl=fieldcrypt-fields", func(b *testing.B) {
		enc := newEnv(b).enc
		ctx := context.Background()
		p := benchPlain()
		plain := transitFieldsOnly{ID: p.ID, TenantID: p.TenantID, FirstName: p.FirstName, LastName: p.LastName,
			Email: p.Email, Phone: p.Phone, Address: p.Address, Notes: p.Notes}
		warm := plain
		if err := enc.Encrypt(ctx, &warm); err != nil {
			b.Fatalf("Encrypt() err = %v", err)
		}
		n := 0
		for b.Loop() {
			c := plain
			if err := enc.Encrypt(ctx, &c); err != nil {
				b.Fatalf("Encrypt() err = %v", err)
			}
			n++
		}
		transitReportPerRecord(b, n, 0)
	})

	b.Run("impl=transit-batched", func(b *testing.B) {
		tr := newTransitBench(b)
		plain := benchPlain()
		n := 0
		for b.Loop() {
			c := plain
			if err := tr.encryptBatched(&c); err != nil {
				b.Fatal(err)
			}
			n++
		}
		transitReportPerRecord(b, n, 1)
	})

	b.Run("impl=transit-per-field", func(b *testing.B) {
		tr := newTransitBench(b)
		plain := benchPlain()
		n := 0
		for b.Loop() {
			c := plain
			if err := tr.encryptPerField(&c); err != nil {
				b.Fatal(err)
			}
			n++
		}
		transitReportPerRecord(b, n, 6)
	})
}

func transitReportPerRecord(b *testing.B, records, callsPerRecord int) {
	if records == 0 {
		return
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(records), "ns/record")
	b.ReportMetric(float64(callsPerRecord), "kms-calls/record")
}

// transitBenchEncryptor returns an Encryptor on a memory store with local
// development KEKs: after warm-up no KEK is called, so which KEK wraps the
// keysets does not change the figure.
// transitBench encrypts Contact fields with Vault Transit, as an
// application without fieldcrypt would.
type transitBench struct {
	client *api.Client
	path   string // transit/encrypt/<key>
}

// newTransitBench creates an aes256-gcm96 Transit key on the Vault dev
// server, deleted when the benchmark ends. An unreachable Vault skips the
// benchmark (fails it under CI).
func newTransitBench(b *testing.B) *transitBench {
	client, name := testenv.TransitKey(b, "bench-contact")
	return &transitBench{client: client, path: "transit/encrypt/" + name}
}

// encryptPerField makes one transit/encrypt call per field and stores the
// ciphertexts in c.
func (tr *transitBench) encryptPerField(c *BenchContact) error {
	ctx := context.Background()
	var out [6]string
	for i, f := range c.transitFields() {
		secret, err := tr.client.Logical().WriteWithContext(ctx, tr.path, map[string]any{
			"plaintext":       base64.StdEncoding.EncodeToString(f.value),
			"associated_data": base64.StdEncoding.EncodeToString(transitFieldAAD(c, f.path)),
		})
		if err != nil {
			return fmt.Errorf("transit encrypt %s: %w", f.path, err)
		}
		if secret == nil {
			return fmt.Errorf("transit encrypt %s: no response data", f.path)
		}
		ct, ok := secret.Data["ciphertext"].(string)
		if !ok || !strings.HasPrefix(ct, "vault:v") {
			return fmt.Errorf("transit encrypt %s: response has no Transit ciphertext", f.path)
		}
		out[i] = ct
	}
	transitStore(c, out)
	return nil
}

// encryptBatched makes one transit/encrypt call with a batch_input of the 6
// fields and stores the ciphertexts in c.
func (tr *transitBench) encryptBatched(c *BenchContact) error {
	fields := c.transitFields()
	batch := make([]map[string]any, len(fields))
	for i, f := range fields {
		batch[i] = map[string]any{
			"plaintext":       base64.StdEncoding.EncodeToString(f.value),
			"associated_data": base64.StdEncoding.EncodeToString(transitFieldAAD(c, f.path)),
		}
	}
	secret, err := tr.client.Logical().WriteWithContext(context.Background(), tr.path, map[string]any{"batch_input": batch})
	if err != nil {
		return fmt.Errorf("transit batch encrypt: %w", err)
	}
	if secret == nil {
		return fmt.Errorf("transit batch encrypt: no response data")
	}
	results, ok := secret.Data["batch_results"].([]any)
	if !ok || len(results) != len(fields) {
		return fmt.Errorf("transit batch encrypt: batch_results is a %T of %d items, want %d", secret.Data["batch_results"], len(results), len(fields))
	}
	var out [6]string
	for i, r := range results {
		item, ok := r.(map[string]any)
		if !ok {
			return fmt.Errorf("transit batch encrypt: result %d is a %T", i, r)
		}
		if msg, _ := item["error"].(string); msg != "" {
			return fmt.Errorf("transit batch encrypt %s: %s", fields[i].path, msg)
		}
		ct, ok := item["ciphertext"].(string)
		if !ok || !strings.HasPrefix(ct, "vault:v") {
			return fmt.Errorf("transit batch encrypt %s: result has no Transit ciphertext", fields[i].path)
		}
		out[i] = ct
	}
	transitStore(c, out)
	return nil
}

// transitStore puts Transit ciphertexts into the record, in the order of
// transitFields.
func transitStore(c *BenchContact, ct [6]string) {
	c.FirstName, c.LastName, c.Email, c.Phone, c.Address = ct[0], ct[1], ct[2], ct[3], ct[4]
	c.Notes = []byte(ct[5])
}
