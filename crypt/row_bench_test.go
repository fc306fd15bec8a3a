package crypt_test

import (
	"context"
	"testing"
	"time"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

// runRowPaired alternates batches of a row operation and the same
// operation on the equivalent struct, and reports the row path's cost as
// a ratio to the struct path's, measured in one run.
func runRowPaired(b *testing.B, row func() error, strct func() error) {
	var rowNS, structNS int64
	batch := func(op func() error) int64 {
		start := time.Now()
		for range pairedBatch {
			if err := op(); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start).Nanoseconds()
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		rowNS += batch(row)
		structNS += batch(strct)
		n += pairedBatch
	}
	b.ReportMetric(float64(rowNS)/float64(n), "row-ns/op")
	b.ReportMetric(float64(structNS)/float64(n), "struct-ns/op")
	b.ReportMetric(float64(rowNS)/float64(structNS), "ratio")
}

func newRowBench(b *testing.B) (*env, *crypt.Schema, Contact, crypt.Row) {
	e := newEnv(b)
	s, err := crypt.NewSchema(contactSpec)
	if err != nil {
		b.Fatal(err)
	}
	phone := "+1 555 0100"
	plain := Contact{ID: "c-1", TenantID: "acme", Name: "Ada Lovelace", Email: "Ada@Example.com", Phone: &phone, Notes: []byte("met at the analytical engine demo")}
	row := crypt.Row{"id": "c-1", "tenant_id": "acme", "name": plain.Name, "email": plain.Email, "phone": phone, "notes": plain.Notes, "email_idx": "", "phone_idx": ""}
	return e, s, plain, row
}

// BenchmarkEncryptRowPaired: EncryptRow against Encrypt of the same record.
func BenchmarkEncryptRowPaired(b *testing.B) {
	e, s, plain, row := newRowBench(b)
	ctx := context.Background()
	r := crypt.Row{}
	var c Contact
	runRowPaired(b, func() error {
		clear(r)
		for k, v := range row {
			r[k] = v
		}
		return e.enc.EncryptRow(ctx, s, r)
	}, func() error {
		c = plain
		return e.enc.Encrypt(ctx, &c)
	})
}

// BenchmarkDecryptRowPaired: DecryptRow against Decrypt of the same record.
func BenchmarkDecryptRowPaired(b *testing.B) {
	e, s, plain, row := newRowBench(b)
	ctx := context.Background()
	if err := e.enc.EncryptRow(ctx, s, row); err != nil {
		b.Fatal(err)
	}
	stored := plain
	if err := e.enc.Encrypt(ctx, &stored); err != nil {
		b.Fatal(err)
	}
	r := crypt.Row{}
	var c Contact
	runRowPaired(b, func() error {
		clear(r)
		for k, v := range row {
			r[k] = v
		}
		return e.enc.DecryptRow(ctx, s, r)
	}, func() error {
		c = stored
		return e.enc.Decrypt(ctx, &c)
	})
}
