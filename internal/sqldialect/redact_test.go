package sqldialect

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestRedact: the duplicate entry MySQL quotes, the values of PostgreSQL's
// detail and any argument a message or a driver's own error quotes are
// withheld, while the error's type, number, SQLSTATE and chain, and what
// Classify and IsDuplicate make of them, are kept.
func TestRedact(t *testing.T) {
	const token = int64(-4411093712883957760)
	tok := fmt.Sprint(token)
	const bidx = "q83vEjRWeJC6zg"

	dup := &mysql.MySQLError{Number: 1062, SQLState: [5]byte{'2', '3', '0', '0', '0'}, Message: "Duplicate entry 'n1-" + tok + "' for key 'PRIMARY'"}
	wrapped := fmt.Errorf("writing: %w", dup)
	got := Redact(wrapped) // no arguments: the entry is withheld all the same
	var me *mysql.MySQLError
	if !errors.As(got, &me) || me != dup || me.Number != 1062 {
		t.Fatalf("Redact(MySQL error) = %#v, want it to unwrap to the driver's error", got)
	}
	if got.Error() != "writing: Error 1062 (23000): Duplicate entry (withheld) for key 'PRIMARY'" {
		t.Errorf("the wrapper's copy of the message = %q", got)
	}
	if again := Redact(dup, token); again != dup {
		t.Errorf("Redact(an unwrapped driver error) = %#v, want the same error", again)
	}
	if strings.Contains(got.Error(), tok) || !strings.HasSuffix(got.Error(), "Duplicate entry (withheld) for key 'PRIMARY'") {
		t.Errorf("redacted MySQL error = %q", got)
	}
	if !MySQL.IsDuplicate(got) || Classify(got) != Transient {
		t.Errorf("the redacted MySQL error is classified otherwise")
	}
	signal := &mysql.MySQLError{Number: 1644, Message: "refused " + bidx}
	if got := Redact(signal, bidx); !strings.Contains(got.Error(), "refused (withheld)") {
		t.Errorf("a MySQL message quoting an argument = %q", got)
	}
	other := &mysql.MySQLError{Number: 1146, Message: "Table 'test.x' doesn't exist"}
	if got := Redact(other, token); got != other || other.Message != "Table 'test.x' doesn't exist" {
		t.Errorf("Redact(%v) = %v, want it unchanged", other, got)
	}

	pg := &pgconn.PgError{Severity: "ERROR", Code: "23505", Message: `duplicate key value violates unique constraint "x_pkey"`,
		Detail: "Key (id, token)=(7, " + tok + ") already exists.", Where: "row " + tok, InternalQuery: "SELECT " + tok, ConstraintName: "x_pkey"}
	wrapped = fmt.Errorf("batch: %w", pg)
	got = Redact(wrapped) // a COMMIT's: no arguments
	var pe *pgconn.PgError
	if got != wrapped || !errors.As(got, &pe) || pe.ConstraintName != "x_pkey" {
		t.Fatalf("Redact(PostgreSQL error) = %#v, want the same chain", got)
	}
	if s := fmt.Sprintf("%+v %#v", got, pe); strings.Contains(s, tok) {
		t.Errorf("redacted PostgreSQL error prints the token: %s", s)
	}
	if !Postgres.IsDuplicate(got) || Classify(got) != Transient {
		t.Errorf("redacted PostgreSQL error = %q, duplicate %v", got, Postgres.IsDuplicate(got))
	}

	// pgx's own error, before anything is sent: replaced, the token withheld.
	enc := fmt.Errorf("failed to encode args[1]: unable to encode %d into binary format for int4 (OID 23): %d is less than minimum value", token, token)
	got = Redact(enc, []int64{7, token})
	if strings.Contains(got.Error(), tok) || errors.Unwrap(got) != nil || !strings.Contains(got.Error(), "unable to encode (withheld) into binary format for int4") {
		t.Errorf("Redact(an encoding error) = %q, unwraps to %v", got, errors.Unwrap(got))
	}
	// Short forms are not looked for: they would withhold digits of
	// unrelated text.
	short := errors.New("SQLSTATE 23505 at 7")
	if Redact(short, int64(7), int64(505), "ab") != short {
		t.Error("Redact withheld a short argument")
	}
	plain := errors.New("connection reset")
	if Redact(plain, token) != plain || Redact(nil) != nil {
		t.Error("Redact changed an error that quotes no values")
	}
}
