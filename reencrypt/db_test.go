package reencrypt_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/internal/sqldialect"
	"github.com/fieldcrypt/fieldcrypt/internal/testenv"
	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/reencrypt"
)

// testDB is a database of the test's own: a SQLite file, a PostgreSQL
// schema (the pool's search_path) or a MariaDB database, dropped at the
// end.
type testDB struct {
	*sql.DB
	d   reencrypt.Dialect
	dsn string // to reopen it, in a child process
}

func randomName() string {
	b := make([]byte, 6)
	rand.Read(b)
	return "fc_re_" + hex.EncodeToString(b)
}

func openSQLite(t testing.TB) *testDB {
	t.Helper()
	dsn := "file:" + filepath.Join(t.TempDir(), "crm.db") + "?_pragma=busy_timeout(20000)&_pragma=journal_mode(WAL)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &testDB{DB: db, d: reencrypt.SQLite, dsn: dsn}
}

// openPostgres creates a schema and returns a pool whose search_path is
// it, so that the job tables land there too.
func openPostgres(t testing.TB) *testDB {
	t.Helper()
	admin, err := sql.Open("pgx", testenv.PostgresDSN)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = admin.PingContext(ctx)
		cancel()
	}
	testenv.Require(t, "PostgreSQL", err)
	schema := randomName()
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("CREATE SCHEMA: %v", err)
	}
	dsn := withSearchPath(t, testenv.PostgresDSN, schema)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.Close()
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("DROP SCHEMA %s: %v", schema, err)
		}
		admin.Close()
	})
	return &testDB{DB: db, d: reencrypt.Postgres, dsn: dsn}
}

func withSearchPath(t testing.TB, dsn, schema string) string {
	if !strings.Contains(dsn, "://") {
		return dsn + " search_path=" + schema
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("PostgresDSN: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func openMySQL(t testing.TB) *testDB {
	t.Helper()
	cfg, err := mysql.ParseDSN(testenv.MySQLDSN)
	if err != nil {
		t.Fatalf("MySQLDSN: %v", err)
	}
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = admin.PingContext(ctx)
		cancel()
	}
	testenv.Require(t, "MariaDB", err)
	name := randomName()
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("CREATE DATABASE: %v", err)
	}
	cfg.DBName = name
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.Close()
		if _, err := admin.Exec("DROP DATABASE " + name); err != nil {
			t.Errorf("DROP DATABASE %s: %v", name, err)
		}
		admin.Close()
	})
	return &testDB{DB: db, d: reencrypt.MySQL, dsn: cfg.FormatDSN()}
}

// eachDB runs f on SQLite, PostgreSQL and MariaDB.
func eachDB(t *testing.T, f func(t *testing.T, db *testDB)) {
	for _, c := range []struct {
		name string
		open func(testing.TB) *testDB
	}{{"SQLite", openSQLite}, {"PostgreSQL", openPostgres}, {"MariaDB", openMySQL}} {
		t.Run(c.name, func(t *testing.T) { f(t, c.open(t)) })
	}
}

// createContacts creates the contacts table, with a rewrites column that a
// trigger increments on every UPDATE: it counts how often each row was
// written.
func (db *testDB) createContacts(t testing.TB) {
	t.Helper()
	var stmts []string
	switch db.d {
	case reencrypt.Postgres:
		stmts = []string{
			`CREATE TABLE contacts (id BIGINT PRIMARY KEY, tenant_id TEXT NOT NULL, name TEXT, email TEXT, email_idx TEXT,
				phone TEXT, phone_idx TEXT, notes BYTEA, rewrites INTEGER NOT NULL DEFAULT 0)`,
			`CREATE FUNCTION count_rewrite() RETURNS trigger LANGUAGE plpgsql AS $$
				BEGIN NEW.rewrites := OLD.rewrites + 1; RETURN NEW; END $$`,
			`CREATE TRIGGER contacts_rewrites BEFORE UPDATE ON contacts FOR EACH ROW EXECUTE FUNCTION count_rewrite()`,
		}
	case reencrypt.MySQL:
		stmts = []string{
			`CREATE TABLE contacts (id BIGINT PRIMARY KEY, tenant_id VARCHAR(64) NOT NULL, name TEXT, email TEXT, email_idx VARCHAR(64),
				phone TEXT, phone_idx VARCHAR(64), notes BLOB, rewrites INT NOT NULL DEFAULT 0) ENGINE=InnoDB`,
			`CREATE TRIGGER contacts_rewrites BEFORE UPDATE ON contacts FOR EACH ROW SET NEW.rewrites = OLD.rewrites + 1`,
		}
	case reencrypt.SQLite:
		stmts = []string{
			`CREATE TABLE contacts (id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL, name TEXT, email TEXT, email_idx TEXT,
				phone TEXT, phone_idx TEXT, notes BLOB, rewrites INTEGER NOT NULL DEFAULT 0)`,
			`CREATE TRIGGER contacts_rewrites AFTER UPDATE OF name, email, email_idx, phone, phone_idx, notes ON contacts
				BEGIN UPDATE contacts SET rewrites = rewrites + 1 WHERE id = NEW.id; END`,
		}
	}
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// ph returns the i-th (1-based) parameter marker.
func (db *testDB) ph(i int) string {
	if db.d == reencrypt.Postgres {
		return "$" + strconv.Itoa(i)
	}
	return "?"
}

// contactFor returns contact i in its plaintext form. Tenants are
// "tenant-0" to "tenant-<tenants-1>".
func contactFor(i int64, tenants int) *Contact {
	c := &Contact{
		ID:       i,
		TenantID: "tenant-" + strconv.Itoa(int(i%int64(tenants))),
		Name:     fmt.Sprintf("Name %d", i),
		Email:    fmt.Sprintf("User%d@Example.com ", i),
	}
	if i%7 != 0 {
		p := fmt.Sprintf("+1 555 %04d %03d", i%10000, i%1000)
		c.Phone = &p
	}
	if i%5 != 0 {
		c.Notes = []byte(fmt.Sprintf("note %d: called about invoice", i))
	}
	return c
}

func tenantNames(tenants int) []string {
	var out []string
	for i := range tenants {
		out = append(out, "tenant-"+strconv.Itoa(i))
	}
	return out
}

var contactColumns = []string{"id", "tenant_id", "name", "email", "email_idx", "phone", "phone_idx", "notes"}

func (c *Contact) values() []any {
	var phone, notes any
	if c.Phone != nil {
		phone = *c.Phone
	}
	if c.Notes != nil {
		notes = c.Notes
	}
	return []any{c.ID, c.TenantID, c.Name, c.Email, c.EmailIdx, phone, c.PhoneIdx, notes}
}

// seed encrypts contacts 1..n with enc and inserts them: COPY on
// PostgreSQL, multi-row INSERTs elsewhere.
func (db *testDB) seed(t testing.TB, enc *crypt.Encryptor, n, tenants int) {
	t.Helper()
	ctx := context.Background()
	for _, tenant := range tenantNames(tenants) {
		if err := keyring.NewManager(enc.Keyring()).CreateKeysets(ctx, tenant, classes...); err != nil {
			t.Fatal(err)
		}
	}
	const chunk = 500
	for start := 1; start <= n; start += chunk {
		var cs []*Contact
		for i := start; i < start+chunk && i <= n; i++ {
			cs = append(cs, contactFor(int64(i), tenants))
		}
		if err := crypt.EncryptAll(ctx, enc, cs); err != nil {
			t.Fatalf("EncryptAll: %v", err)
		}
		db.insert(t, cs)
	}
}

// insert writes already encrypted (or, for legacy rows, plaintext)
// contacts.
func (db *testDB) insert(t testing.TB, cs []*Contact) {
	t.Helper()
	ctx := context.Background()
	if db.d == reencrypt.Postgres {
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		err = conn.Raw(func(dc any) error {
			rows := make([][]any, len(cs))
			for i, c := range cs {
				rows[i] = c.values()
			}
			_, err := dc.(*stdlib.Conn).Conn().CopyFrom(ctx, pgx.Identifier{"contacts"}, contactColumns, pgx.CopyFromRows(rows))
			return err
		})
		if err != nil {
			t.Fatalf("COPY contacts: %v", err)
		}
		return
	}
	var b strings.Builder
	var args []any
	b.WriteString("INSERT INTO contacts (" + strings.Join(contactColumns, ", ") + ") VALUES ")
	for i, c := range cs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?)")
		args = append(args, c.values()...)
	}
	if _, err := db.ExecContext(ctx, b.String(), args...); err != nil {
		t.Fatalf("INSERT contacts: %v", err)
	}
}

// update writes an encrypted contact over its row, as the application
// does (no compare-and-swap).
func (db *testDB) update(ctx context.Context, c *Contact) error {
	v := c.values()
	q := "UPDATE contacts SET tenant_id = " + db.ph(1) + ", name = " + db.ph(2) + ", email = " + db.ph(3) + ", email_idx = " + db.ph(4) +
		", phone = " + db.ph(5) + ", phone_idx = " + db.ph(6) + ", notes = " + db.ph(7) + " WHERE id = " + db.ph(8)
	_, err := db.ExecContext(ctx, q, v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[0])
	return err
}

// readContacts reads every contact as stored, in key order.
func (db *testDB) readContacts(t testing.TB, where string, args ...any) []*Contact {
	t.Helper()
	rows, err := db.Query("SELECT "+strings.Join(contactColumns, ", ")+" FROM contacts "+where+" ORDER BY id", args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []*Contact
	for rows.Next() {
		var c Contact
		var name, email, emailIdx, phone, phoneIdx sql.NullString
		if err := rows.Scan(&c.ID, &c.TenantID, &name, &email, &emailIdx, &phone, &phoneIdx, &c.Notes); err != nil {
			t.Fatal(err)
		}
		c.Name, c.Email, c.EmailIdx, c.PhoneIdx = name.String, email.String, emailIdx.String, phoneIdx.String
		if phone.Valid {
			c.Phone = &phone.String
		}
		out = append(out, &c)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// decryptAll reads and decrypts every contact; any failure fails t.
func (db *testDB) decryptAll(t testing.TB, enc *crypt.Encryptor) []*Contact {
	t.Helper()
	cs := db.readContacts(t, "")
	for _, c := range cs {
		if err := enc.Decrypt(context.Background(), c); err != nil {
			t.Fatalf("Decrypt(contact %d) err = %v", c.ID, err)
		}
	}
	return cs
}

// digest hashes every contact's identity and plaintexts.
func digest(cs []*Contact) string {
	h := sha256.New()
	field := func(present bool, s string) {
		var n [9]byte
		if present {
			n[0] = 1
		}
		binary.BigEndian.PutUint64(n[1:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	for _, c := range cs {
		field(true, strconv.FormatInt(c.ID, 10))
		field(true, c.TenantID)
		field(true, c.Name)
		field(true, c.Email)
		field(c.Phone != nil, deref(c.Phone))
		field(c.Notes != nil, string(c.Notes))
	}
	return hex.EncodeToString(h.Sum(nil))
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// rawDigest hashes the table's stored bytes, every column.
func (db *testDB) rawDigest(t testing.TB) string {
	t.Helper()
	h := sha256.New()
	for _, c := range db.readContacts(t, "") {
		fmt.Fprintf(h, "%d|%s|%q|%q|%q|%q|%q|%x\n", c.ID, c.TenantID, c.Name, c.Email, c.EmailIdx, deref(c.Phone), c.PhoneIdx, c.Notes)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// rewriteCounts returns how many rows were written 0, 1, 2... times.
func (db *testDB) rewriteCounts(t testing.TB) map[int]int {
	t.Helper()
	rows, err := db.Query("SELECT rewrites, COUNT(*) FROM contacts GROUP BY rewrites")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[int]int{}
	for rows.Next() {
		var k, n int
		if err := rows.Scan(&k, &n); err != nil {
			t.Fatal(err)
		}
		out[k] = n
	}
	return out
}

// rangeRow is one row of the job's range table.
type rangeRow struct {
	no, claims, rowsDone int64
	state                string
}

func (db *testDB) ranges(t testing.TB, job string) []rangeRow {
	t.Helper()
	rows, err := db.Query("SELECT range_no, claims, rows_done, state FROM "+reencrypt.RangesTable+" WHERE job = "+db.ph(1)+" ORDER BY range_no", job)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []rangeRow
	for rows.Next() {
		var r rangeRow
		if err := rows.Scan(&r.no, &r.claims, &r.rowsDone, &r.state); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// contactsTable loads testdata/contacts.yaml.
func contactsTable(t testing.TB) reencrypt.Table {
	t.Helper()
	cfg, err := reencrypt.LoadConfig(filepath.Join("testdata", "contacts.yaml"))
	if err != nil {
		t.Fatalf("LoadConfig err = %v", err)
	}
	tab, ok := cfg.Table("contacts")
	if !ok {
		t.Fatal("testdata/contacts.yaml has no contacts table")
	}
	return tab
}

// assertUnder checks with Status that every encrypted value sits under the
// given keys.
func assertUnder(t testing.TB, db *testDB, tab reencrypt.Table, want primaries) {
	t.Helper()
	rep, err := reencrypt.Status(context.Background(), db.DB, db.d, tab)
	if err != nil {
		t.Fatalf("Status err = %v", err)
	}
	for _, col := range rep.Columns {
		for _, k := range col.Keys {
			if w := want[[2]string{k.Scope, col.Class}]; k.KeyID != w {
				t.Errorf("Status: column %s has %d values of scope %s under key %d, want all under %d", col.Column, k.Values, k.Scope, k.KeyID, w)
			}
		}
		if col.Legacy+col.Malformed > 0 {
			t.Errorf("Status: column %s has %d legacy and %d malformed values, want none", col.Column, col.Legacy, col.Malformed)
		}
	}
}

// sideTable is the token side table name of parent, keyed by its BIGINT
// id column, as the data layer lays it out.
func sideTable(parent, name string) sqldialect.TokenTable {
	return sqldialect.TokenTable{Parent: parent, Name: name, Key: "id", IntKey: true}
}

// createSideTable creates the side table name of parent in the layout of
// db's dialect, as sqlcrypt and gormcrypt create it.
func (db *testDB) createSideTable(t testing.TB, parent, name string) {
	t.Helper()
	for _, s := range db.d.CreateTokenTable(sideTable(parent, name)) {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// execer is a *sql.DB or a *sql.Tx.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// writeSideTokens replaces the tokens of the rows keys in the side table
// name of parent through q, each key's tokens (sorted) those of toks, as
// the data layer writes them.
func (db *testDB) writeSideTokens(ctx context.Context, q execer, parent, name string, keys []int64, toks [][]int64) error {
	rows := sqldialect.TokenRows{Tokens: toks}
	for _, k := range keys {
		rows.Keys = append(rows.Keys, k)
	}
	for _, s := range db.d.ReplaceTokens(sideTable(parent, name), rows, db.d == reencrypt.Postgres, false) {
		if _, err := q.ExecContext(ctx, s.SQL, s.Args...); err != nil {
			return fmt.Errorf("%s: %w", s.SQL, err)
		}
	}
	return nil
}

// sideRows is the side table name of parent, quoted, to read its (id,
// token) rows in a FROM clause with an alias.
func (db *testDB) sideRows(parent, name string) string {
	return db.d.QuoteTable(sideTable(parent, name).Name)
}
