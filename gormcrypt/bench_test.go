package gormcrypt_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/gorm"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/gormcrypt"
)

// BenchContact is the benchmark's record: four encrypted fields, two
// blind indexes.
type BenchContact struct {
	ID       string  `gorm:"primaryKey;size:64" crypt:"id"`
	TenantID string  `gorm:"size:64" crypt:"scope"`
	Name     string  `crypt:"encrypt,class=pii"`
	Email    string  `crypt:"encrypt,class=pii"`
	EmailIdx string  `gorm:"size:16" crypt:"blind=Email,transform=lower+trim,bits=32"`
	Phone    *string `crypt:"encrypt,class=pii"`
	PhoneIdx string  `gorm:"size:16" crypt:"blind=Phone,transform=digits,bits=16"`
	Notes    []byte  `crypt:"encrypt,class=support"`
	Stage    string
}

func openBenchDB(b *testing.B, name string) *gorm.DB {
	b.Helper()
	dsn := filepath.Join(b.TempDir(), name+".db") + "?_pragma=journal_mode(WAL)&_pragma=synchronous(OFF)"
	db, err := gorm.Open(sqlite.Open(dsn), gormConfig())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { closeDB(db) })
	if err := db.AutoMigrate(&BenchContact{}); err != nil {
		b.Fatal(err)
	}
	return db
}

func benchRecord(i int) BenchContact {
	return BenchContact{ID: fmt.Sprintf("b-%08d", i), TenantID: "acme", Name: "Ada Lovelace",
		Email: fmt.Sprintf("ada%d@example.com", i), Phone: ptr("+44 20 7946 0018"), Notes: []byte("asked about invoice 42"), Stage: "lead"}
}

// BenchmarkCreateFirst compares Create then First of one record through the
// plugin with the same GORM calls and crypt.Encrypted / Decrypt written by
// hand, on in-process SQLite. The two run in alternating batches within one
// benchmark, so that load on the machine hits both alike; the metrics are
// each side's ns per Create+First and their ratio.
func BenchmarkCreateFirst(b *testing.B) {
	ctx := context.Background()
	enc := newEncryptor(b)
	pluginDB := openBenchDB(b, "plugin")
	if err := pluginDB.Use(gormcrypt.New(enc)); err != nil {
		b.Fatal(err)
	}
	handDB := openBenchDB(b, "hand")

	viaPlugin := func(i int) {
		c := benchRecord(i)
		if err := pluginDB.Create(&c).Error; err != nil {
			b.Fatal(err)
		}
		var out BenchContact
		if err := pluginDB.First(&out, "id = ?", c.ID).Error; err != nil {
			b.Fatal(err)
		}
	}
	byHand := func(i int) {
		c := benchRecord(i)
		cp, err := crypt.Encrypted(ctx, enc, &c)
		if err != nil {
			b.Fatal(err)
		}
		if err := handDB.Create(cp).Error; err != nil {
			b.Fatal(err)
		}
		c.EmailIdx, c.PhoneIdx = cp.EmailIdx, cp.PhoneIdx
		var out BenchContact
		if err := handDB.First(&out, "id = ?", c.ID).Error; err != nil {
			b.Fatal(err)
		}
		if err := enc.Decrypt(ctx, &out); err != nil {
			b.Fatal(err)
		}
	}
	viaPlugin(-1) // warm the keyring's caches and both schemas
	byHand(-1)

	const batch = 64
	var tPlugin, tHand time.Duration
	var nPlugin, nHand int
	b.ResetTimer()
	for i := 0; i < b.N; {
		n := min(batch, b.N-i)
		first, second := viaPlugin, byHand
		pFirst := (i/batch)%2 == 0
		if !pFirst {
			first, second = byHand, viaPlugin
		}
		start := time.Now()
		for k := range n {
			first(2 * (i + k))
		}
		mid := time.Now()
		for k := range n {
			second(2*(i+k) + 1)
		}
		end := time.Now()
		if pFirst {
			tPlugin, tHand = tPlugin+mid.Sub(start), tHand+end.Sub(mid)
		} else {
			tHand, tPlugin = tHand+mid.Sub(start), tPlugin+end.Sub(mid)
		}
		nPlugin, nHand = nPlugin+n, nHand+n
		i += n
	}
	b.StopTimer()
	p := float64(tPlugin.Nanoseconds()) / float64(nPlugin)
	h := float64(tHand.Nanoseconds()) / float64(nHand)
	b.ReportMetric(p, "plugin-ns/op")
	b.ReportMetric(h, "hand-ns/op")
	b.ReportMetric(p/h, "ratio")
}
