package sqlcrypt_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/internal/testenv"
	"github.com/fieldcrypt/fieldcrypt/internal/testkeys"
	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/sqlcrypt"
)

// Contact is the record of the tests. Its e-mail index keeps 2 bits, so
// that a lookup finds other contacts too and Matching has work to do.
type Contact struct {
	_        struct{} `crypt:"record=contact"`
	ID       int64    `db:"id" crypt:"id"`
	TenantID string   `db:"tenant_id" crypt:"scope"`
	Name     string   `db:"name" crypt:"encrypt,class=pii"`
	Email    string   `db:"email" crypt:"encrypt,class=pii"`
	EmailIdx string   `db:"email_idx" crypt:"blind=Email,transform=lower+trim,bits=2"`
	Phone    *string  `db:"phone" crypt:"encrypt,class=pii"`
	Notes    []byte   `db:"notes" crypt:"encrypt,class=support"`
	Company  string   `db:"company"`
}

// contactColumns are the columns of the contacts table, in the order
// insert writes them.
var contactColumns = []string{"id", "tenant_id", "name", "email", "email_idx", "phone", "notes", "company"}

func ptr[T any](v T) *T { return &v }

// env is a keyring on a memory store, with one local development KEK per
// class, and an Encryptor on it.
type env struct {
	store  *keyring.MemoryStore
	opener *kms.Opener
	keks   map[string]string
	kr     *keyring.Keyring
	admin  *keyring.Manager
	enc    *crypt.Encryptor
}

func newEnv(t testing.TB) *env {
	t.Helper()
	e := &env{store: keyring.NewMemoryStore()}
	e.opener, e.keks = testkeys.KEKs(t, "pii", "support")
	e.kr = e.newKeyring(t, e.keks)
	e.admin = keyring.NewManager(e.kr)
	e.enc = crypt.New(e.kr, nil)
	return e
}

// newKeyring returns another keyring (another process) on the same store,
// holding only the given KEKs.
func (e *env) newKeyring(t testing.TB, keks map[string]string) *keyring.Keyring {
	return testkeys.Keyring(t, e.store, e.opener, keks)
}

// rotateIndexKey adds a new key to the scope's pii index keyset and
// promotes it, as an operator does in two steps.
func (e *env) rotateIndexKey(t testing.TB, scope string) {
	t.Helper()
	ctx := context.Background()
	id := keyring.KeysetID{Scope: scope, Class: "pii", Purpose: keyring.PurposeIndex}
	keyID, err := e.admin.AddKey(ctx, id)
	if err != nil {
		t.Fatalf("AddKey(%v) err = %v", id, err)
	}
	if err := e.admin.PromoteKey(ctx, id, keyID); err != nil {
		t.Fatalf("PromoteKey(%v, %d) err = %v", id, keyID, err)
	}
}

// testDB is a database of the test's own, holding an empty contacts table.
type testDB struct {
	d    sqlcrypt.Dialect
	db   *sql.DB
	pool *pgxpool.Pool // PostgreSQL only
}

// forEachDialect runs test on SQLite, PostgreSQL and MariaDB, each in a
// database (or schema) of its own that is dropped afterwards.
func forEachDialect(t *testing.T, test func(t *testing.T, db *testDB)) {
	t.Helper()
	for _, d := range []sqlcrypt.Dialect{sqlcrypt.SQLite, sqlcrypt.Postgres, sqlcrypt.MySQL} {
		t.Run(d.String(), func(t *testing.T) { test(t, openDB(t, d)) })
	}
}

func openDB(t *testing.T, d sqlcrypt.Dialect) *testDB {
	t.Helper()
	var tdb *testDB
	switch d {
	case sqlcrypt.SQLite:
		// Foreign keys on, as token side tables need them to delete a
		// row's tokens with it.
		tdb = &testDB{d: d, db: open(t, "SQLite", "sqlite", "file:"+filepath.Join(t.TempDir(), "crm.db")+"?_pragma=foreign_keys(1)")}
	case sqlcrypt.Postgres:
		tdb = openPostgres(t)
	case sqlcrypt.MySQL:
		tdb = openMySQL(t)
	}
	tdb.exec(t, createTable(d))
	return tdb
}

func createTable(d sqlcrypt.Dialect) string {
	blob, text := "BLOB", "TEXT"
	switch d {
	case sqlcrypt.Postgres:
		blob = "BYTEA"
	case sqlcrypt.MySQL:
		blob, text = "LONGBLOB", "VARCHAR(255)"
	}
	return `CREATE TABLE contacts (
		id BIGINT PRIMARY KEY, tenant_id ` + text + ` NOT NULL, name ` + text + ` NOT NULL,
		email ` + text + ` NOT NULL, email_idx ` + text + ` NOT NULL, phone ` + text + `,
		notes ` + blob + `, company ` + text + ` NOT NULL)`
}

func open(t *testing.T, service, driver, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err == nil {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		err = db.PingContext(ctx)
		cancel()
	}
	testenv.Require(t, service, err)
	t.Cleanup(func() { db.Close() })
	return db
}

// openPostgres creates a schema on the test server and returns a
// database/sql pool and a pgx pool whose search_path is that schema.
func openPostgres(t *testing.T) *testDB {
	t.Helper()
	dsn := testenv.PostgresSchema(t, "sqlcrypt_test")
	pool, err := pgxpool.New(t.Context(), dsn)
	if err != nil {
		t.Fatalf("pgxpool.New: %v", err)
	}
	t.Cleanup(pool.Close) // before the schema is dropped: cleanups run last first
	return &testDB{d: sqlcrypt.Postgres, db: open(t, "PostgreSQL", "pgx", dsn), pool: pool}
}

// openMySQL creates a database on the test server and returns a pool on
// it.
func openMySQL(t *testing.T) *testDB {
	t.Helper()
	cfg := testenv.MySQLDatabase(t, "sqlcrypt_test")
	return &testDB{d: sqlcrypt.MySQL, db: open(t, "MariaDB", "mysql", cfg.FormatDSN())}
}

// exec runs a statement written with ? parameters.
func (db *testDB) exec(t testing.TB, query string, args ...any) {
	t.Helper()
	if _, err := db.db.ExecContext(context.Background(), db.d.Rebind(query), args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// insert writes encrypted copies of contacts; contacts keep their
// plaintext.
func (db *testDB) insert(t testing.TB, enc *crypt.Encryptor, contacts ...*Contact) {
	t.Helper()
	for _, c := range contacts {
		e, err := crypt.Encrypted(context.Background(), enc, c)
		if err != nil {
			t.Fatalf("Encrypted(contact %d) err = %v", c.ID, err)
		}
		db.exec(t, "INSERT INTO contacts ("+strings.Join(contactColumns, ", ")+") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			e.ID, e.TenantID, e.Name, e.Email, e.EmailIdx, e.Phone, e.Notes, e.Company)
	}
}

// query runs a SELECT written with ? parameters (before cond, whose own
// parameters Lookup numbered) and scans it with ScanAll.
func (db *testDB) scanAll(t testing.TB, enc *crypt.Encryptor, query string, args ...any) ([]Contact, error) {
	t.Helper()
	rows, err := db.db.QueryContext(context.Background(), query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return sqlcrypt.ScanAll[Contact](context.Background(), enc, rows)
}

// find searches the tenant's contacts by e-mail the way the package
// documentation says: Lookup, query, decrypt, Matching. It also returns
// how many rows the index found.
func (db *testDB) find(t testing.TB, enc *crypt.Encryptor, tenant, email string) (found []Contact, candidates int) {
	t.Helper()
	ctx := context.Background()
	probe := &Contact{TenantID: tenant, Email: email}
	cond, args, err := sqlcrypt.Lookup(ctx, enc, db.d, probe, "EmailIdx", 1)
	if err != nil {
		t.Fatalf("Lookup(%s) err = %v", tenant, err)
	}
	rows, err := db.scanAll(t, enc, "SELECT * FROM contacts WHERE "+cond+" ORDER BY id", args...)
	if err != nil {
		t.Fatalf("ScanAll(lookup in %s) err = %v", tenant, err)
	}
	found, err = sqlcrypt.Matching(rows, probe, "EmailIdx")
	if err != nil {
		t.Fatalf("Matching(lookup in %s) err = %v", tenant, err)
	}
	return found, len(rows)
}

// ids returns the IDs of contacts.
func ids(contacts []Contact) []int64 {
	out := []int64{}
	for _, c := range contacts {
		out = append(out, c.ID)
	}
	return out
}

// normEmail is the e-mail index's transform, written out for the tests'
// plaintext filter.
func normEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
