package testenv

import (
	"errors"
	"fmt"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
)

// Exposed returns everything err shows a caller or a logger that prints
// it whole: its text, and the fields of the driver errors in its chain
// that carry a row's values (a *pgconn.PgError's Detail, Where, Hint,
// InternalQuery and Message, a *mysql.MySQLError's Message, each printed
// with %#v). A test of what an error withholds looks for the secret in it.
func Exposed(err error) string {
	if err == nil {
		return ""
	}
	text := err.Error()
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		text += fmt.Sprintf(" %#v", *pe)
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		text += fmt.Sprintf(" %#v", *me)
	}
	return text
}
