package sqldialect

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestRedact: the duplicate entry MySQL quotes, the values of PostgreSQL's
// detail and any secret a message or a driver's own error quotes are
// withheld, in a copy: the driver's error is left as it was, and the
// copy keeps its type, number, SQLSTATE and what Classify and
// IsDuplicate make of it.
func TestRedact(t *testing.T) {
	const token = int64(-4411093712883957760)
	tok := fmt.Sprint(token)
	const bidx = "q83vEjRWeJC6zg"

	const dupMsg = "Duplicate entry 'n1-" + "-4411093712883957760" + "' for key 'PRIMARY'"
	dup := &mysql.MySQLError{Number: 1062, SQLState: [5]byte{'2', '3', '0', '0', '0'}, Message: dupMsg}
	got := Redact(fmt.Errorf("writing: %w", dup)) // no secrets: the entry is withheld all the same
	var me *mysql.MySQLError
	if !errors.As(got, &me) || me == dup || me.Number != 1062 || me.SQLState != dup.SQLState {
		t.Fatalf("Redact(MySQL error) = %#v, want it to unwrap to a copy of the driver's error", got)
	}
	if got.Error() != "writing: Error 1062 (23000): Duplicate entry (withheld) for key 'PRIMARY'" || me.Message != "Duplicate entry (withheld) for key 'PRIMARY'" {
		t.Errorf("redacted MySQL error = %q, its copy %q", got, me.Message)
	}
	if dup.Message != dupMsg {
		t.Errorf("Redact changed the driver's error: %q", dup.Message)
	}
	if !MySQL.IsDuplicate(got) || Classify(got) != Transient {
		t.Errorf("the redacted MySQL error is classified otherwise")
	}
	if got := Redact(fmt.Errorf("x: %w", &mysql.MySQLError{Number: 1062})); got.Error() != "x: Error 1062: Duplicate entry (withheld) for key" {
		t.Errorf("Redact(a 1062 without a message) = %q", got)
	}
	signal := &mysql.MySQLError{Number: 1644, Message: "refused " + bidx}
	if got := Redact(signal, bidx); got.Error() != "Error 1644: refused (withheld)" {
		t.Errorf("a MySQL message quoting a secret = %q", got)
	}
	other := &mysql.MySQLError{Number: 1146, Message: "Table 'test.subscribers_name_prefix' doesn't exist"}
	if got := Redact(other, token, "1146"); got != other {
		t.Errorf("Redact(%v) = %v, want it unchanged", other, got)
	}

	pg := &pgconn.PgError{Severity: "ERROR", Code: "23505", Message: `duplicate key value violates unique constraint "x_pkey"`,
		Detail: "Key (id, token)=(7, " + tok + ") already exists.", Where: "row " + tok, InternalQuery: "SELECT " + tok, ConstraintName: "x_pkey"}
	got = Redact(fmt.Errorf("batch: %w", pg)) // a COMMIT's: no secrets
	var pe *pgconn.PgError
	if !errors.As(got, &pe) || pe == pg || pe.ConstraintName != "x_pkey" || pe.Code != "23505" {
		t.Fatalf("Redact(PostgreSQL error) = %#v, want it to unwrap to a copy of the driver's error", got)
	}
	if s := fmt.Sprintf("%+v %#v", got, *pe); strings.Contains(s, tok) {
		t.Errorf("redacted PostgreSQL error prints the token: %s", s)
	}
	if !strings.Contains(pg.Detail, tok) {
		t.Errorf("Redact changed the driver's error: %q", pg.Detail)
	}
	if got.Error() != "batch: "+pg.Error() || !Postgres.IsDuplicate(got) || Classify(got) != Transient {
		t.Errorf("redacted PostgreSQL error = %q, duplicate %v", got, Postgres.IsDuplicate(got))
	}
	// A SQLSTATE error of value type is copied too, and one whose struct
	// embeds a nil pointer is read without a panic.
	if got := Redact(valueStateError{Detail: tok}); strings.Contains(fmt.Sprintf("%#v", errors.Unwrap(got)), tok) {
		t.Errorf("Redact(a value-typed error) = %#v", errors.Unwrap(got))
	}
	if got := Redact(&embeddingStateError{}); got == nil {
		t.Error("Redact(an error embedding a nil pointer) = nil")
	}
	if got := Redact(fmt.Errorf("w: %w", stringStateError("ERROR: refused "+tok)), token); strings.Contains(got.Error(), tok) || !Postgres.IsDuplicate(got) {
		t.Errorf("Redact(a SQLSTATE error that is not a struct) = %q, duplicate %v", got, Postgres.IsDuplicate(got))
	}

	// A sentinel in the chain is still found by errors.Is.
	sentinel := errors.New("duplicated key not allowed")
	if got := Redact(fmt.Errorf("%w: %w", sentinel, pg)); !errors.Is(got, sentinel) || !errors.As(got, &pe) || pe.Detail != "" {
		t.Errorf("Redact(a sentinel wrapping a PostgreSQL error) = %#v", got)
	}

	// pgx's own error, before anything is sent: replaced, the token withheld.
	enc := fmt.Errorf("failed to encode args[1]: unable to encode %d into binary format for int4 (OID 23): %d is less than minimum value", token, token)
	got = Redact(enc, []int64{token})
	if strings.Contains(got.Error(), tok) || errors.Unwrap(got) != nil || !strings.Contains(got.Error(), "unable to encode (withheld) into binary format for int4") {
		t.Errorf("Redact(an encoding error) = %q, unwraps to %v", got, errors.Unwrap(got))
	}
	// Secrets of named types, and through pointers, are looked for too.
	type hex string
	type tokens []int64
	raw := []byte("q83vEjRW")
	hx := hex(bidx)
	for _, c := range []struct {
		secret any
		value  string
	}{{hx, bidx}, {&hx, bidx}, {&raw, string(raw)}, {tokens{token}, tok}, {&[]int64{token}, tok}} {
		if got := Redact(errors.New("refused "+c.value), c.secret).Error(); got != "refused (withheld)" {
			t.Errorf("Redact(a message quoting a %T) = %q", c.secret, got)
		}
	}

	// Short forms are not looked for: they would withhold characters of
	// unrelated text.
	short := errors.New("SQLSTATE 23505 at 7 in abc")
	if Redact(short, int64(7), int64(505), "abc") != short {
		t.Error("Redact withheld a short secret")
	}
	plain := errors.New("connection reset")
	if Redact(plain, token) != plain || Redact(nil) != nil {
		t.Error("Redact changed an error that quotes no values")
	}

	// The driver's error is only read: two goroutines may redact the same
	// one (the race detector watches this).
	shared := &mysql.MySQLError{Number: 1062, Message: dupMsg}
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if s := Redact(shared, token).Error(); strings.Contains(s, tok) {
				t.Errorf("concurrent Redact = %q", s)
			}
		})
	}
	wg.Wait()
}

// valueStateError is a SQLSTATE error of value type with a detail.
type valueStateError struct{ Detail string }

func (e valueStateError) Error() string    { return "ERROR: refused (SQLSTATE 23505)" }
func (e valueStateError) SQLState() string { return "23505" }

// embeddingStateError embeds a nil pointer to a struct with a Detail.
type embeddingStateError struct{ *valueStateErrorFields }

type valueStateErrorFields struct{ Detail string }

func (e *embeddingStateError) Error() string    { return "ERROR: refused (SQLSTATE 23505)" }
func (e *embeddingStateError) SQLState() string { return "23505" }

// stringStateError is a SQLSTATE error that is not a struct.
type stringStateError string

func (e stringStateError) Error() string    { return string(e) }
func (e stringStateError) SQLState() string { return "23505" }
