package reencrypt

import (
	"context"
	"errors"
	"regexp"
	"strconv"
	"strings"

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

// mysqlError matches go-sql-driver/mysql's error text: "Error 1054 (42S22):
// Unknown column ...".
var mysqlError = regexp.MustCompile(`Error (\d+)(?: \(([0-9A-Z]{5})\))?:`)

// permanentSQL reports whether err is an SQL error that a retry cannot
// fix: an undefined column or table, a syntax error, a refused privilege,
// a value the column cannot hold. Serialization failures, deadlocks, lost
// connections and timeouts are not permanent.
func permanentSQL(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	// PostgreSQL (pgx's *pgconn.PgError, and other drivers that report
	// SQLSTATE): class 42 is syntax errors and access rule violations
	// (42703 undefined column, 42P01 undefined table, 42501 insufficient
	// privilege), 22 data exceptions, 0A feature not supported.
	var st interface{ SQLState() string }
	if errors.As(err, &st) {
		return permanentState(st.SQLState())
	}
	msg := err.Error()
	// MySQL and MariaDB: 1054 unknown column, 1146 no such table, 1064
	// syntax, 1142/1143 denied, 1049 unknown database, 1366 incorrect
	// value, 1406 data too long.
	if m := mysqlError.FindStringSubmatch(msg); m != nil {
		if m[2] != "" && permanentState(m[2]) {
			return true
		}
		n, _ := strconv.Atoi(m[1])
		switch n {
		case 1054, 1146, 1064, 1142, 1143, 1049, 1366, 1406:
			return true
		}
		return false
	}
	// SQLite (modernc.org/sqlite).
	for _, s := range []string{"no such column", "no such table", "has no column named", "syntax error"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

func permanentState(code string) bool {
	if len(code) != 5 {
		return false
	}
	switch code[:2] {
	case "42", "22", "0A":
		return true
	}
	return false
}
