package sqldialect_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"

	"github.com/fieldcrypt/fieldcrypt/internal/sqldialect"
)

// The drivers' error types are recognised by their methods, without
// importing pgx or modernc.org/sqlite: they must keep them.
var (
	_ interface{ SQLState() string } = (*pgconn.PgError)(nil)
	_ interface {
		error
		Code() int
	} = (*sqlite.Error)(nil)
)

// sqlStateError is a driver error that reports its SQLSTATE, as pgx's
// *pgconn.PgError does.
type sqlStateError struct{ code string }

func (e sqlStateError) Error() string    { return "ERROR: something (SQLSTATE " + e.code + ")" }
func (e sqlStateError) SQLState() string { return e.code }

// mysqlError is an error as go-sql-driver/mysql returns it.
func mysqlError(number uint16, state, msg string) error {
	return &mysql.MySQLError{Number: number, SQLState: [5]byte([]byte(state)), Message: msg}
}

// TestClassify: errors are told apart by the driver's own error types:
// PostgreSQL by SQLSTATE, MySQL by error number (never by SQLSTATE 42000
// alone), SQLite by modernc's *sqlite.Error; another error is transient
// whatever its text says. (These were the re-encryption job's
// TestPermanentSQL cases; the job retries exactly the Transient ones.)
func TestClassify(t *testing.T) {
	const (
		transient = sqldialect.Transient
		missing   = sqldialect.Missing
		denied    = sqldialect.Denied
		permanent = sqldialect.Permanent
	)
	cases := []struct {
		name string
		err  error
		want sqldialect.ErrorKind
	}{
		{"PostgreSQL undefined column, wrapped", fmt.Errorf("reencrypt: updating contacts row 4: %w", sqlStateError{"42703"}), missing},
		{"PostgreSQL undefined table", sqlStateError{"42P01"}, missing},
		{"PostgreSQL insufficient privilege", sqlStateError{"42501"}, denied},
		{"PostgreSQL syntax error", sqlStateError{"42601"}, permanent},
		{"PostgreSQL invalid text representation", sqlStateError{"22P02"}, permanent},
		{"PostgreSQL feature not supported", sqlStateError{"0A000"}, permanent},
		{"PostgreSQL unique violation", sqlStateError{"23505"}, transient},
		{"PostgreSQL serialization failure", sqlStateError{"40001"}, transient},
		{"PostgreSQL deadlock", sqlStateError{"40P01"}, transient},
		{"PostgreSQL admin shutdown", sqlStateError{"57P01"}, transient},
		{"PostgreSQL connection failure", sqlStateError{"08006"}, transient},
		{"PostgreSQL malformed SQLSTATE", sqlStateError{"42"}, transient},

		{"MySQL unknown column, wrapped", fmt.Errorf("reencrypt: reading contacts: %w", mysqlError(1054, "42S22", "Unknown column 'notes' in 'field list'")), missing},
		{"MySQL no such table", mysqlError(1146, "42S02", "Table 'test.contacts' doesn't exist"), missing},
		{"MySQL syntax error", mysqlError(1064, "42000", "You have an error in your SQL syntax"), permanent},
		{"MySQL table access denied", mysqlError(1142, "42000", "SELECT command denied to user"), denied},
		{"MySQL column access denied", mysqlError(1143, "42000", "SELECT command denied to user for column"), denied},
		{"MySQL database access denied", mysqlError(1044, "42000", "Access denied for user to database"), denied},
		{"MySQL out of range", mysqlError(1264, "22003", "Out of range value for column"), permanent},
		{"MySQL incorrect value", mysqlError(1366, "HY000", "Incorrect string value"), permanent},
		{"MySQL data too long", mysqlError(1406, "22001", "Data too long for column"), permanent},
		{"MySQL truncated wrong value", mysqlError(1292, "22007", "Truncated incorrect DOUBLE value"), permanent},
		{"MySQL max_user_connections (42000)", mysqlError(1203, "42000", "User has already more than 'max_user_connections' active connections"), transient},
		{"MySQL resource limit (42000)", mysqlError(1226, "42000", "User has exceeded the 'max_queries_per_hour' resource"), transient},
		{"MySQL deadlock", mysqlError(1213, "40001", "Deadlock found when trying to get lock"), transient},
		{"MySQL lock wait timeout", mysqlError(1205, "HY000", "Lock wait timeout exceeded"), transient},
		{"MySQL duplicate entry", mysqlError(1062, "23000", "Duplicate entry 'a' for key 'PRIMARY'"), transient},
		{"MySQL text in a plain error", errors.New("Error 1054 (42S22): Unknown column 'notes' in 'field list'"), transient},

		{"SQLite text in a KMS error", errors.New(`kms: decrypt: rpc error: code = NotFound desc = no such table "keys"`), transient},
		{"SQLite text in a plain error", errors.New("SQL logic error: no such column: notes (1)"), transient},
		{"driver: bad connection", errors.New("driver: bad connection"), transient},
		{"context canceled", context.Canceled, transient},
		{"deadline, wrapping an SQL error", fmt.Errorf("%w: %w", context.DeadlineExceeded, sqlStateError{"42P01"}), transient},
		{"nil", nil, transient},
	}
	for name, c := range sqliteErrors(t) {
		cases = append(cases, struct {
			name string
			err  error
			want sqldialect.ErrorKind
		}{"SQLite " + name, c.err, c.want})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := sqldialect.Classify(tc.err); got != tc.want {
				t.Errorf("Classify(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

// sqliteErrors returns real modernc.org/sqlite errors: an unknown column,
// an unknown table (missing), a syntax error (permanent), and a busy
// database (transient).
func sqliteErrors(t *testing.T) map[string]struct {
	err  error
	want sqldialect.ErrorKind
} {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "crm.db")
	db := openSQLite(t, "file:"+path+"?_pragma=busy_timeout(20000)&_pragma=journal_mode(WAL)")
	if _, err := db.ExecContext(ctx, "CREATE TABLE contacts (id INTEGER PRIMARY KEY, email TEXT)"); err != nil {
		t.Fatal(err)
	}
	sqlErr := func(q string) error {
		_, err := db.ExecContext(ctx, q)
		if err == nil {
			t.Fatalf("%s: no error", q)
		}
		return fmt.Errorf("reencrypt: reading contacts: %w", err)
	}
	errs := map[string]struct {
		err  error
		want sqldialect.ErrorKind
	}{
		"no such column":  {sqlErr("SELECT notes FROM contacts"), sqldialect.Missing},
		"no such table":   {sqlErr("SELECT id FROM leads"), sqldialect.Missing},
		"no column named": {sqlErr("INSERT INTO contacts (notes) VALUES ('x')"), sqldialect.Missing},
		"syntax error":    {sqlErr("SELEKT id FROM contacts"), sqldialect.Permanent},
	}
	// A busy database: a second connection that will not wait for the
	// first one's write lock.
	hold, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	if _, err := hold.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	defer hold.ExecContext(ctx, "ROLLBACK")
	other := openSQLite(t, "file:"+path+"?_pragma=busy_timeout(0)&_pragma=journal_mode(WAL)")
	_, busy := other.ExecContext(ctx, "INSERT INTO contacts (email) VALUES ('a')")
	if busy == nil {
		t.Fatal("a write while another connection holds the write lock: no error")
	}
	errs["busy"] = struct {
		err  error
		want sqldialect.ErrorKind
	}{busy, sqldialect.Transient}
	return errs
}

func openSQLite(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
