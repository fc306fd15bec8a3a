package gormcrypt_test

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/mysql"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/gormcrypt"
	"github.com/fieldcrypt/fieldcrypt/internal/testenv"
	"github.com/fieldcrypt/fieldcrypt/internal/testkeys"
	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// Company is a record of its own that a Contact belongs to.
type Company struct {
	_        struct{} `crypt:"record=company"`
	ID       string   `gorm:"primaryKey;size:64" crypt:"id"`
	TenantID string   `gorm:"size:64" crypt:"scope"`
	Name     string   `crypt:"encrypt,class=pii"`
}

// Interaction is a record of its own that a Contact has many of.
type Interaction struct {
	_         struct{} `crypt:"record=interaction"`
	ID        string   `gorm:"primaryKey;size:64" crypt:"id"`
	TenantID  string   `gorm:"size:64" crypt:"scope"`
	ContactID string   `gorm:"size:64;index"`
	Summary   string   `crypt:"encrypt,class=support"`
}

// Contact is the model most tests write and read.
type Contact struct {
	_            struct{} `crypt:"record=contact"`
	ID           string   `gorm:"primaryKey;size:64" crypt:"id"`
	TenantID     string   `gorm:"size:64;index" crypt:"scope"`
	Name         string   `crypt:"encrypt,class=pii"`
	NameIdx      string   `gorm:"size:8" crypt:"blind=Name,transform=lower,bits=1"` // one bit: half of all names collide
	Email        string   `crypt:"encrypt,class=pii"`
	EmailIdx     string   `gorm:"size:16;index" crypt:"blind=Email,transform=lower+trim,bits=32"`
	Phone        *string  `crypt:"encrypt,class=pii"`
	Notes        []byte   `crypt:"encrypt,class=support"`
	Stage        string   `gorm:"size:32"`
	CompanyID    *string  `gorm:"size:64"`
	Company      *Company
	Interactions []Interaction
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Ticket has a key the database assigns: fieldcrypt refuses to create it
// without one.
type Ticket struct {
	_        struct{} `crypt:"record=ticket"`
	ID       int64    `gorm:"primaryKey;autoIncrement" crypt:"id"`
	TenantID string   `gorm:"size:64" crypt:"scope"`
	Body     string   `crypt:"encrypt"`
}

// Lead has a compound blind index.
type Lead struct {
	_        struct{} `crypt:"record=lead"`
	ID       string   `gorm:"primaryKey;size:64" crypt:"id"`
	TenantID string   `gorm:"size:64" crypt:"scope"`
	First    string   `crypt:"encrypt"`
	Last     string   `crypt:"encrypt"`
	FullIdx  string   `gorm:"size:16" crypt:"blind=First+Last,transform=lower,bits=32"`
}

// newEncryptor builds an Encryptor on a memory keyset store with one local
// development KEK per class.
func newEncryptor(t testing.TB) *crypt.Encryptor {
	t.Helper()
	opener, keks := testkeys.KEKs(t, "pii", "support", "default")
	return crypt.New(testkeys.Keyring(t, keyring.NewMemoryStore(), opener, keks), nil)
}

// backend opens a fresh, empty database of one kind.
type backend struct {
	name string
	open func(t *testing.T) *gorm.DB
}

var backends = []backend{
	{"sqlite", openSQLite},
	{"postgres", openPostgres},
	{"mariadb", openMariaDB},
}

func gormConfig() *gorm.Config {
	return &gorm.Config{Logger: logger.Discard}
}

func openSQLite(t *testing.T) *gorm.DB {
	db, err := gorm.Open(sqlite.Open(filepath.Join(t.TempDir(), "test.db")+"?_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)"), gormConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeDB(db) })
	return db
}

func openPostgres(t *testing.T) *gorm.DB {
	db, err := gorm.Open(postgres.Open(testenv.PostgresSchema(t, "fcgorm")), gormConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeDB(db) })
	return db
}

func openMariaDB(t *testing.T) *gorm.DB {
	cfg := testenv.MySQLDatabase(t, "fcgorm")
	cfg.ParseTime, cfg.Loc = true, time.UTC
	db, err := gorm.Open(mysql.Open(cfg.FormatDSN()), gormConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeDB(db) })
	return db
}

func closeDB(db *gorm.DB) {
	if sqlDB, err := db.DB(); err == nil {
		_ = sqlDB.Close()
	}
}

// setup opens a database of kind b, registers the plugin and migrates the
// test models.
func setup(t *testing.T, b backend) (*gorm.DB, *crypt.Encryptor) {
	t.Helper()
	db := b.open(t)
	enc := newEncryptor(t)
	if err := db.Use(gormcrypt.New(enc)); err != nil {
		t.Fatal(err)
	}
	if err := db.AutoMigrate(&Company{}, &Contact{}, &Interaction{}, &Ticket{}, &Lead{}); err != nil {
		t.Fatal(err)
	}
	return db, enc
}

// eachDB runs f on every database, in a subtest each.
func eachDB(t *testing.T, f func(t *testing.T, db *gorm.DB, enc *crypt.Encryptor)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			db, enc := setup(t, b)
			f(t, db, enc)
		})
	}
}

func ptr[T any](v T) *T { return &v }

var seq int

// newContact returns a Contact of tenant with distinctive plaintexts.
func newContact(tenant string) *Contact {
	seq++
	return &Contact{
		ID:       fmt.Sprintf("c-%d", seq),
		TenantID: tenant,
		Name:     fmt.Sprintf("Zebulon Quartermaine %d", seq),
		Email:    fmt.Sprintf("zebulon.q%d@secret-mail.example", seq),
		Phone:    ptr(fmt.Sprintf("+1 555 0100 %04d", seq)),
		Notes:    []byte(fmt.Sprintf("quartz notes %d", seq)),
		Stage:    "lead",
	}
}

// storedRow is a contacts row as raw SQL reads it.
type storedRow struct {
	Name, Email, EmailIdx, Phone, Tenant string
	Notes                                []byte
}

// stored reads the contacts row id with raw SQL, bypassing the plugin.
func stored(t *testing.T, db *gorm.DB, id string) storedRow {
	t.Helper()
	var r storedRow
	var phone sql.NullString
	err := db.Raw("SELECT name, email, email_idx, phone, notes, tenant_id FROM contacts WHERE id = ?", id).
		Row().Scan(&r.Name, &r.Email, &r.EmailIdx, &phone, &r.Notes, &r.Tenant)
	if err != nil {
		t.Fatalf("raw SELECT of contact %s: %v", id, err)
	}
	r.Phone = phone.String
	return r
}

// assertStoredEncrypted checks that contact c's row holds ciphertexts, and
// none of c's plaintexts.
func assertStoredEncrypted(t *testing.T, db *gorm.DB, c *Contact) {
	t.Helper()
	r := stored(t, db, c.ID)
	for col, v := range map[string]string{"name": r.Name, "email": r.Email, "phone": r.Phone} {
		if !strings.HasPrefix(v, "fc1:") {
			t.Errorf("column %s of %s holds %q, want a fc1: ciphertext", col, c.ID, v)
		}
	}
	if len(r.Notes) < 2 || r.Notes[0] != 0xFC || r.Notes[1] != 0x01 {
		t.Errorf("column notes of %s is not a binary ciphertext", c.ID)
	}
	all := r.Name + r.Email + r.Phone + string(r.Notes)
	for _, pt := range []string{c.Name, c.Email, string(c.Notes)} {
		if pt != "" && strings.Contains(all, pt) {
			t.Errorf("row %s holds the plaintext %q", c.ID, pt)
		}
	}
	if c.Phone != nil && strings.Contains(all, *c.Phone) {
		t.Errorf("row %s holds the phone's plaintext", c.ID)
	}
	if r.EmailIdx == "" || r.EmailIdx != c.EmailIdx {
		t.Errorf("email_idx of %s = %q, caller's struct has %q; want the same non-empty value", c.ID, r.EmailIdx, c.EmailIdx)
	}
}

// assertReadsBack reads contact want.ID through GORM and compares its
// plaintext fields.
func assertReadsBack(t *testing.T, db *gorm.DB, want *Contact) {
	t.Helper()
	var got Contact
	if err := db.First(&got, "id = ?", want.ID).Error; err != nil {
		t.Fatalf("First(%s): %v", want.ID, err)
	}
	assertSamePlaintext(t, &got, want)
}

func assertSamePlaintext(t *testing.T, got, want *Contact) {
	t.Helper()
	if got.Name != want.Name || got.Email != want.Email || string(got.Notes) != string(want.Notes) ||
		(got.Phone == nil) != (want.Phone == nil) || (got.Phone != nil && *got.Phone != *want.Phone) || got.TenantID != want.TenantID {
		t.Errorf("read back %s = {%q %q %v %q}, want {%q %q %v %q}", want.ID, got.Name, got.Email, got.Phone, got.Notes, want.Name, want.Email, want.Phone, want.Notes)
	}
}

// assertCallerPlain checks that the caller's struct still holds plaintext.
func assertCallerPlain(t *testing.T, c *Contact, name, email string) {
	t.Helper()
	if c.Name != name || c.Email != email {
		t.Errorf("caller's struct holds {%q %q} after the write, want the plaintext {%q %q}", c.Name, c.Email, name, email)
	}
	if c.Phone != nil && strings.HasPrefix(*c.Phone, "fc1:") || strings.HasPrefix(string(c.Notes), "\xfc\x01") {
		t.Errorf("caller's struct holds ciphertext after the write")
	}
}

// countRows counts the rows of a table with raw SQL.
func countRows(t *testing.T, db *gorm.DB, table string) int64 {
	t.Helper()
	var n int64
	if err := db.Raw("SELECT COUNT(*) FROM " + table).Row().Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
