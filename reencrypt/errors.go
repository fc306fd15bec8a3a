package reencrypt

import (
	"context"
	"errors"
	"strings"

	"github.com/go-sql-driver/mysql"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// KEKError means the job's keyring cannot open a keyset the table needs:
// the class's configured KEK cannot unwrap it or refuses to (permission
// denied, a key that is not the one that wrapped it), or the keyset is not
// trusted (wrapped by a KEK not configured for its class, failing its
// integrity check, rolled back). Every row under that keyset would fail
// the same way, so the run stops at the first one, with outcome Failed and
// this error, instead of counting each row as failed. Progress is kept:
// fix the configuration or the keyset and run again. Err is the keyring's
// error, which names the keyset.
//
// A class for which the keyring has no KEK at all is the role table's
// case (a process that may not read the class): its rows are counted as
// failed with reason "no_access" and the run goes on. So are the rows of
// a shredded scope ("scope_shredded"), of a scope without keysets, and
// under a destroyed or disabled key: those are about the rows, not the
// run.
type KEKError struct {
	Table string
	Err   error
}

func (e *KEKError) Error() string {
	return "reencrypt: table " + e.Table + ": stopped at a keyset the keyring cannot open (every row under it would fail; progress is kept): " + e.Err.Error()
}

func (e *KEKError) Unwrap() error { return e.Err }

// kekFailure reports whether err means a keyset cannot be opened at all
// (see KEKError), as opposed to one row being unreadable. kr is the job's
// keyring: ErrNoAccess is a KEK failure when kr has a KEK for the class
// (the KEK refused), and the per-row "no_access" case when it has none.
func kekFailure(err error, kr *keyring.Keyring) bool {
	if errors.Is(err, keyring.ErrNoAccess) {
		var classes []string
		var ae *crypt.AccessError
		var ke *keyring.Error
		switch {
		case errors.As(err, &ae):
			classes = ae.Classes
		case errors.As(err, &ke):
			classes = []string{ke.ID.Class}
		}
		if len(classes) == 0 {
			return true
		}
		for _, class := range classes {
			if _, noKEK := kr.KEKURI(class); noKEK == nil {
				return true // the class has a KEK, and it refused
			}
		}
		return false
	}
	for _, target := range []error{keyring.ErrKEKNotAllowed, keyring.ErrKEKMismatch,
		keyring.ErrCorruptKeyset, keyring.ErrIntegrity, keyring.ErrRollback} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// permanent reports whether err cannot go away by trying again: a bad
// configuration, a keyset the keyring cannot open, or a permanent SQL
// error. The job does not retry those.
func permanent(err error) bool {
	var ce *ConfigError
	var ke *KEKError
	return errors.As(err, &ce) || errors.As(err, &ke) || permanentSQL(err)
}

// sqlKind is what an SQL error means to the job.
type sqlKind int

const (
	sqlTransient sqlKind = iota // not known to be permanent: worth a retry
	sqlMissing                  // an undefined table or column
	sqlDenied                   // a privilege the database refused
	sqlPermanent                // another error a retry cannot fix
)

// classifySQL says what err means, going only by the driver's own error
// types: pgx's *pgconn.PgError (or any error reporting a SQLSTATE),
// go-sql-driver/mysql's *mysql.MySQLError (by error number) and
// modernc.org/sqlite's *sqlite.Error (by result code and message, through
// the methods it has). Any
// other error, whatever its text, is transient: a KMS error that happens to
// say "no such table" is not an SQL error.
func classifySQL(err error) sqlKind {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return sqlTransient
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return mysqlKind(me.Number)
	}
	var le sqliteError
	if errors.As(err, &le) {
		return sqliteKind(le)
	}
	var st interface{ SQLState() string }
	if errors.As(err, &st) {
		return postgresKind(st.SQLState())
	}
	return sqlTransient
}

// permanentSQL reports whether err is an SQL error that a retry cannot
// fix: an undefined column or table, a syntax error, a refused privilege,
// a value the column cannot hold. Serialization failures, deadlocks, lost
// connections, timeouts and resource limits are not permanent.
func permanentSQL(err error) bool { return classifySQL(err) != sqlTransient }

// postgresKind classifies a SQLSTATE. Class 42 is syntax errors and access
// rule violations (42P01 undefined table, 42703 undefined column, 42501
// insufficient privilege), 22 data exceptions, 0A feature not supported.
func postgresKind(code string) sqlKind {
	switch code {
	case "42P01", "42703":
		return sqlMissing
	case "42501":
		return sqlDenied
	}
	if len(code) == 5 {
		switch code[:2] {
		case "42", "22", "0A":
			return sqlPermanent
		}
	}
	return sqlTransient
}

// mysqlKind classifies a MySQL or MariaDB error number. Only the numbers
// listed are permanent. The SQLSTATE is not looked at: 42000 covers syntax
// errors and refused privileges, but also 1203 (max_user_connections) and
// 1226 (a resource limit), which go away.
func mysqlKind(number uint16) sqlKind {
	switch number {
	case 1146, // ER_NO_SUCH_TABLE
		1054: // ER_BAD_FIELD_ERROR: unknown column
		return sqlMissing
	case 1142, // ER_TABLEACCESS_DENIED_ERROR
		1143, // ER_COLUMNACCESS_DENIED_ERROR
		1044, // ER_DBACCESS_DENIED_ERROR
		1227: // ER_SPECIFIC_ACCESS_DENIED_ERROR
		return sqlDenied
	case 1064, // ER_PARSE_ERROR
		1049, // ER_BAD_DB_ERROR: unknown database
		1048, // ER_BAD_NULL_ERROR
		1264, // ER_WARN_DATA_OUT_OF_RANGE
		1265, // WARN_DATA_TRUNCATED
		1292, // ER_TRUNCATED_WRONG_VALUE
		1366, // ER_TRUNCATED_WRONG_VALUE_FOR_FIELD
		1406: // ER_DATA_TOO_LONG
		return sqlPermanent
	}
	return sqlTransient
}

// sqliteError is how modernc.org/sqlite's *sqlite.Error is recognised
// without importing the driver (which would register "sqlite" in every
// program that uses this package, and clash with another driver of that
// name): a result code and a message. A test asserts that *sqlite.Error
// has this method set.
type sqliteError interface {
	error
	Code() int
}

// sqliteKind classifies a modernc.org/sqlite error. SQLite reports an
// unknown table or column and a syntax error as SQLITE_ERROR (1) with a
// message; SQLITE_AUTH (23) is an authorizer's refusal. SQLITE_BUSY and
// SQLITE_LOCKED, among others, are transient.
func sqliteKind(e sqliteError) sqlKind {
	const sqliteError, sqliteAuth = 1, 23
	switch e.Code() & 0xff { // the primary result code of an extended one
	case sqliteAuth:
		return sqlDenied
	case sqliteError:
		msg := e.Error()
		for _, s := range []string{"no such table", "no such column", "has no column named"} {
			if strings.Contains(msg, s) {
				return sqlMissing
			}
		}
		if strings.Contains(msg, "syntax error") {
			return sqlPermanent
		}
	}
	return sqlTransient
}
