package sqldialect

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestRedact: the duplicate entry MySQL quotes and the key values of
// PostgreSQL's detail are withheld, while the error number, the SQLSTATE
// and what Classify and IsDuplicate make of them are kept.
func TestRedact(t *testing.T) {
	const token = "4411093712"
	dup := &mysql.MySQLError{Number: 1062, SQLState: [5]byte{'2', '3', '0', '0', '0'}, Message: "Duplicate entry 'n1-" + token + "' for key 'PRIMARY'"}
	got := Redact(fmt.Errorf("writing: %w", dup))
	var me *mysql.MySQLError
	if !errors.As(got, &me) || me.Number != 1062 || me.SQLState != dup.SQLState {
		t.Fatalf("redacted MySQL error = %#v, want a *mysql.MySQLError 1062", got)
	}
	if strings.Contains(got.Error(), token) || !strings.HasSuffix(got.Error(), "Duplicate entry (withheld) for key 'PRIMARY'") {
		t.Errorf("redacted MySQL error = %q", got)
	}
	if !MySQL.IsDuplicate(got) || Classify(got) != Classify(dup) {
		t.Errorf("the redacted MySQL error is classified otherwise")
	}
	if dup.Message != "Duplicate entry 'n1-"+token+"' for key 'PRIMARY'" {
		t.Errorf("Redact changed the driver's error: %q", dup.Message)
	}
	other := &mysql.MySQLError{Number: 1146, Message: "Table 'test.x' doesn't exist"}
	if got := Redact(other); got != other {
		t.Errorf("Redact(%v) = %v, want it unchanged", other, got)
	}

	pg := &pgconn.PgError{Severity: "ERROR", Code: "23505", Message: `duplicate key value violates unique constraint "x_pkey"`, Detail: "Key (id, token)=(7, " + token + ") already exists."}
	got = Redact(fmt.Errorf("batch: %w", pg))
	if s := fmt.Sprintf("%+v %#v", got, got); strings.Contains(s, token) {
		t.Errorf("redacted PostgreSQL error prints the token: %s", s)
	}
	if got.Error() != pg.Error() || !Postgres.IsDuplicate(got) || Classify(got) != Classify(pg) {
		t.Errorf("redacted PostgreSQL error = %q, duplicate %v", got, Postgres.IsDuplicate(got))
	}

	plain := errors.New("connection reset")
	if Redact(plain) != plain || Redact(nil) != nil {
		t.Error("Redact changed an error that quotes no values")
	}
}
