package sqldialect

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/go-sql-driver/mysql"
)

// ErrorKind is what a database error means to a caller deciding whether to
// try again.
type ErrorKind int

const (
	// Transient is an error not known to be permanent: worth a retry.
	// Serialization failures, deadlocks, lost connections, timeouts,
	// resource limits and every error that is not the driver's own are
	// transient.
	Transient ErrorKind = iota
	// Missing is an undefined table or column.
	Missing
	// Denied is a privilege the database refused.
	Denied
	// Permanent is another error a retry cannot fix: a syntax error, a
	// value the column cannot hold, an unsupported feature.
	Permanent
)

// String returns the kind's name in lower case.
func (k ErrorKind) String() string {
	switch k {
	case Transient:
		return "transient"
	case Missing:
		return "missing"
	case Denied:
		return "denied"
	case Permanent:
		return "permanent"
	}
	return "ErrorKind(" + strconv.Itoa(int(k)) + ")"
}

// Classify says what err means, going only by the drivers' own error types,
// found anywhere in err's chain: go-sql-driver/mysql's *mysql.MySQLError
// (by error number), modernc.org/sqlite's *sqlite.Error (by result code
// and message, through its methods) and any error reporting a SQLSTATE
// (pgx's *pgconn.PgError, lib/pq's *pq.Error). Any other error, whatever
// its text, is [Transient]: a KMS error that happens to say "no such
// table" is not an SQL error. So are context cancellation and deadlines.
func Classify(err error) ErrorKind {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return Transient
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return mysqlKind(me.Number)
	}
	var le sqliteError
	if errors.As(err, &le) {
		return sqliteKind(le)
	}
	var st sqlStateError
	if errors.As(err, &st) {
		return postgresKind(st.SQLState())
	}
	return Transient
}

// sqlStateError is an error that reports its SQLSTATE: pgx's
// *pgconn.PgError, lib/pq's *pq.Error.
type sqlStateError interface {
	error
	SQLState() string
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

// postgresKind classifies a SQLSTATE. Class 42 is syntax errors and access
// rule violations (42P01 undefined table, 42703 undefined column, 42501
// insufficient privilege), 22 data exceptions, 0A feature not supported.
func postgresKind(code string) ErrorKind {
	switch code {
	case "42P01", "42703":
		return Missing
	case "42501":
		return Denied
	}
	if len(code) == 5 {
		switch code[:2] {
		case "42", "22", "0A":
			return Permanent
		}
	}
	return Transient
}

// mysqlKind classifies a MySQL or MariaDB error number. Only the numbers
// listed are permanent. The SQLSTATE is not looked at: 42000 covers syntax
// errors and refused privileges, but also 1203 (max_user_connections) and
// 1226 (a resource limit), which go away.
func mysqlKind(number uint16) ErrorKind {
	switch number {
	case 1146, // ER_NO_SUCH_TABLE
		1054: // ER_BAD_FIELD_ERROR: unknown column
		return Missing
	case 1142, // ER_TABLEACCESS_DENIED_ERROR
		1143, // ER_COLUMNACCESS_DENIED_ERROR
		1044, // ER_DBACCESS_DENIED_ERROR
		1227: // ER_SPECIFIC_ACCESS_DENIED_ERROR
		return Denied
	case 1064, // ER_PARSE_ERROR
		1049, // ER_BAD_DB_ERROR: unknown database
		1048, // ER_BAD_NULL_ERROR
		1264, // ER_WARN_DATA_OUT_OF_RANGE
		1265, // WARN_DATA_TRUNCATED
		1292, // ER_TRUNCATED_WRONG_VALUE
		1366, // ER_TRUNCATED_WRONG_VALUE_FOR_FIELD
		1406: // ER_DATA_TOO_LONG
		return Permanent
	}
	return Transient
}

// sqliteKind classifies a modernc.org/sqlite error. SQLite reports an
// unknown table or column and a syntax error as SQLITE_ERROR (1) with a
// message; SQLITE_AUTH (23) is an authorizer's refusal. SQLITE_BUSY and
// SQLITE_LOCKED, among others, are transient.
func sqliteKind(e sqliteError) ErrorKind {
	const sqliteErr, sqliteAuth = 1, 23
	switch e.Code() & 0xff { // the primary result code of an extended one
	case sqliteAuth:
		return Denied
	case sqliteErr:
		msg := e.Error()
		for _, s := range []string{"no such table", "no such column", "has no column named"} {
			if strings.Contains(msg, s) {
				return Missing
			}
		}
		if strings.Contains(msg, "syntax error") {
			return Permanent
		}
	}
	return Transient
}
