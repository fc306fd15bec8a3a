package sqldialect

import (
	"errors"
	"strings"

	"github.com/go-sql-driver/mysql"
)

// Redact returns the error of a statement over a token side table with
// the values the database quotes in it withheld, for a side table's rows
// are tokens, which never appear in an error (docs/SECURITY.md):
//
//   - MySQL and MariaDB quote a duplicate row in their message ("Duplicate
//     entry '7-4411' for key 'PRIMARY'"): the result is a copy of the
//     *mysql.MySQLError, its number and SQLSTATE kept, with the entry
//     withheld.
//   - PostgreSQL gives a violated key's values in the error's detail
//     ("Key (id, token)=(7, 4411) already exists."), which a logger that
//     prints the whole *pgconn.PgError shows: the result is an error with
//     the primary message and SQLSTATE alone (its SQLState method keeps
//     [Classify] and [Dialect.IsDuplicate] working), and no detail.
//   - SQLite names the columns of a violated constraint, never the values:
//     its errors, and every other error, are returned as they are.
func Redact(err error) error {
	if err == nil {
		return nil
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1062, // ER_DUP_ENTRY: Duplicate entry '%s' for key '%s'
			1586: // ER_DUP_ENTRY_WITH_KEY_NAME, the same
			c := *me
			c.Message = "Duplicate entry (withheld) for key"
			if i := strings.LastIndex(me.Message, "' for key "); i >= 0 {
				c.Message += me.Message[i+len("' for key"):]
			}
			return &c
		}
		return err
	}
	var st sqlStateError
	if errors.As(err, &st) {
		return &redactedError{msg: st.Error(), state: st.SQLState()}
	}
	return err
}

// redactedError is a PostgreSQL error without its detail.
type redactedError struct {
	msg, state string
}

func (e *redactedError) Error() string { return e.msg }

// SQLState returns the SQLSTATE of the error it replaces.
func (e *redactedError) SQLState() string { return e.state }
