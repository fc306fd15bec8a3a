package sqldialect

import (
	"errors"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/go-sql-driver/mysql"
)

// Withheld is what a withheld value reads as in a redacted error.
const Withheld = "(withheld)"

// Redact withholds from err, the error of a statement fieldcrypt sent
// with the arguments args, the values the database or the driver quote
// in it: a side table's rows are tokens, and a record's blind-index
// values go with it, and neither appears in an error (docs/SECURITY.md).
//
//   - MySQL and MariaDB quote a duplicate row in the message of
//     ER_DUP_ENTRY ("Duplicate entry '7-4411' for key 'PRIMARY'"), and
//     other messages quote a value too (a partition's, a trigger's
//     SIGNAL): the *mysql.MySQLError's message loses the entry, and any
//     argument it quotes.
//   - PostgreSQL gives a violated key's values in the error's detail
//     ("Key (id, token)=(7, 4411) already exists."), which a logger that
//     prints the whole error shows: the Detail, Where and InternalQuery of
//     the error (pgx's *pgconn.PgError, lib/pq's *pq.Error: any error
//     with a SQLState method whose struct has those fields) are emptied,
//     and its Message and Hint lose any argument they quote.
//   - SQLite names the columns of a violated constraint, never the values.
//
// The driver's error is redacted where it is, so that the chain, the
// error's type, errors.As, [Classify] and [Dialect.IsDuplicate] still
// work. An error whose text still quotes an argument after that (a
// driver's own, such as pgx's "unable to encode 4411 into int4", or one
// wrapped by fmt.Errorf) is replaced by one with that text, the
// arguments withheld, and no chain.
//
// An argument is looked for as the driver prints it: an integer (or an
// element of an []int64) in decimal, when it has four digits or more
// (a token keeps its high bits, so its decimal has 15 to 19; a shorter
// form would withhold digits of unrelated text); a string or []byte when
// it has eight bytes or more. Redact(err) with no arguments redacts the
// driver's error alone (a COMMIT's, whose deferred constraint names the
// values in PostgreSQL's detail too).
func Redact(err error, args ...any) error {
	if err == nil {
		return nil
	}
	forms := argForms(args)
	var (
		driver error           // the driver's error, redacted where it is
		stale  []string        // its texts before, as a wrapper may have copied them
		now    func() []string // the same texts, redacted
	)
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		driver = me
		stale = []string{me.Error(), me.Message}
		now = func() []string { return []string{me.Error(), me.Message} }
		if me.Number == 1062 || me.Number == 1586 { // ER_DUP_ENTRY, ER_DUP_ENTRY_WITH_KEY_NAME
			msg := "Duplicate entry " + Withheld + " for key"
			if i := strings.LastIndex(me.Message, "' for key "); i >= 0 {
				msg += me.Message[i+len("' for key"):]
			}
			me.Message = msg
		}
		me.Message = withhold(me.Message, forms)
	}
	var st sqlStateError
	if driver == nil && errors.As(err, &st) {
		driver = st
		stale = []string{st.Error()}
		now = func() []string { return []string{st.Error()} }
		clearDetail(st, forms)
	}
	text := err.Error()
	if driver != nil {
		// fmt.Errorf copies the text of what it wraps when it is called.
		for i, s := range now() {
			if stale[i] != s {
				text = strings.ReplaceAll(text, stale[i], s)
			}
		}
	}
	if text = withhold(text, forms); text != err.Error() {
		return &withheldError{msg: text, driver: driver}
	}
	return err
}

// clearDetail empties the fields of a PostgreSQL driver's error that
// carry a row's values. The fields are found by name, so that this
// package need not import pgx (which a GORM program on MySQL or SQLite
// does not link) or lib/pq.
func clearDetail(e error, forms []string) {
	v := reflect.ValueOf(e)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return
	}
	s := v.Elem()
	set := func(name string, f func(string) string) {
		if fv := s.FieldByName(name); fv.IsValid() && fv.Kind() == reflect.String && fv.CanSet() {
			fv.SetString(f(fv.String()))
		}
	}
	empty := func(string) string { return "" }
	scrub := func(s string) string { return withhold(s, forms) }
	set("Detail", empty)
	set("Where", empty)
	set("InternalQuery", empty)
	set("Message", scrub)
	set("Hint", scrub)
}

// argForms returns the texts of args a driver or database would print,
// long enough to withhold: see Redact.
func argForms(args []any) []string {
	var forms []string
	addInt := func(n int64) {
		if s := strconv.FormatInt(n, 10); len(strings.TrimPrefix(s, "-")) >= 4 {
			forms = append(forms, s)
		}
	}
	addString := func(s string) {
		if len(s) >= 8 {
			forms = append(forms, s)
		}
	}
	for _, a := range args {
		switch x := a.(type) {
		case int64:
			addInt(x)
		case int:
			addInt(int64(x))
		case []int64:
			for _, n := range x {
				addInt(n)
			}
		case string:
			addString(x)
		case []byte:
			addString(string(x))
		}
	}
	// The longest first: a form that holds another is withheld whole.
	slices.SortFunc(forms, func(a, b string) int { return len(b) - len(a) })
	return forms
}

// withhold returns s with every occurrence of forms replaced by Withheld.
func withhold(s string, forms []string) string {
	for _, f := range forms {
		if strings.Contains(s, f) {
			s = strings.ReplaceAll(s, f, Withheld)
		}
	}
	return s
}

// withheldError is an error whose text quoted a value, with the values
// withheld. It unwraps to the driver's error, redacted, skipping the
// wrappers in between, whose texts still quote them.
type withheldError struct {
	msg    string
	driver error // nil: none
}

func (e *withheldError) Error() string { return e.msg }

func (e *withheldError) Unwrap() error { return e.driver }
