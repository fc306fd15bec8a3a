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

// Redact returns err, the error of a statement fieldcrypt sent, with the
// values the database or the driver quote in it withheld: a side table's
// rows are tokens, and a record's row holds its blind-index values and
// ciphertexts, and neither appears in an error (docs/SECURITY.md).
// secrets are the statement's values of that kind (tokens, blind-index
// values, ciphertexts), and not its keys, which errors may name.
//
//   - MySQL and MariaDB quote a duplicate row in the message of
//     ER_DUP_ENTRY ("Duplicate entry '7-4411' for key 'PRIMARY'"), which
//     is withheld whatever secrets holds; other messages may quote a
//     secret (a partition's value, a trigger's SIGNAL).
//   - PostgreSQL gives a violated key's values in the error's detail
//     ("Key (id, token)=(7, 4411) already exists."), which a logger that
//     prints the whole error shows: the Detail, Where and InternalQuery of
//     the error (pgx's *pgconn.PgError, lib/pq's *pq.Error: an error
//     with a SQLState method whose struct has those fields) are emptied,
//     and its Message and Hint lose the secrets they quote.
//   - SQLite names the columns of a violated constraint, never the values.
//   - A driver's own error may quote a secret (pgx: "unable to encode 4411
//     into binary format for int4").
//
// The driver's error is never changed: another goroutine may hold it (GORM
// hands a failed prepare's error to every caller waiting on it). When
// something is withheld, the result is a new error with the redacted
// text, which unwraps to a redacted copy of the driver's error, of its
// type (errors.As, [Classify] and [Dialect.IsDuplicate] work on it), and
// not to the wrappers in between, whose texts quote the values (errors.As
// no longer finds them: pgx's ErrPreprocessingBatch, say); errors.Is
// still sees the whole original chain. Otherwise err is returned as it
// is.
//
// A secret is looked for as a driver prints it: an integer (or an element
// of an []int64, crypt.Tokens) in decimal when it has four digits or
// more, and a string or []byte, of any named type and through pointers,
// when it has four bytes or more. A token keeps
// its high bits, so its decimal has 15 to 19 digits; a shorter form would
// withhold characters of unrelated text.
func Redact(err error, secrets ...any) error {
	if err == nil {
		return nil
	}
	forms := secretForms(secrets)
	text := err.Error()
	var (
		driver  error // the driver's error, or a redacted copy
		changed bool  // driver is a copy
	)
	var me *mysql.MySQLError
	var st sqlStateError
	switch {
	case errors.As(err, &me):
		cp := *me
		if me.Number == 1062 || me.Number == 1586 { // ER_DUP_ENTRY, ER_DUP_ENTRY_WITH_KEY_NAME
			cp.Message = "Duplicate entry " + Withheld + " for key"
			if i := strings.LastIndex(me.Message, "' for key "); i >= 0 {
				cp.Message += me.Message[i+len("' for key"):]
			}
		}
		cp.Message = withhold(cp.Message, forms)
		driver, changed = me, cp.Message != me.Message
		if changed {
			driver = &cp
			// fmt.Errorf copies the text of what it wraps when it is called.
			text = strings.ReplaceAll(text, me.Error(), cp.Error())
		}
	case errors.As(err, &st):
		driver = st
		cp, ok := withoutDetail(st, forms)
		if !ok && withhold(st.Error(), forms) != st.Error() {
			// Not a struct it can copy, and its text quotes a secret.
			cp, ok = &stateError{msg: withhold(st.Error(), forms), state: st.SQLState()}, true
		}
		if ok {
			driver, changed = cp, true
			text = strings.ReplaceAll(text, st.Error(), cp.Error())
		}
	}
	if driver != nil {
		// The driver's text is redacted already, and its structure (the
		// error number, a table's name) is not to be matched.
		dt := driver.Error()
		parts := strings.Split(text, dt)
		for i := range parts {
			parts[i] = withhold(parts[i], forms)
		}
		text = strings.Join(parts, dt)
	} else {
		text = withhold(text, forms)
	}
	if !changed && text == err.Error() {
		return err
	}
	return &withheldError{msg: text, driver: driver, orig: err}
}

// withoutDetail returns a copy of a PostgreSQL driver's error without the
// fields that carry a row's values, and whether it differs from e. The
// fields are found by name, so that this package need not import pgx
// (which a GORM program on MySQL or SQLite does not link) or lib/pq; only
// the struct's own exported string fields are read.
func withoutDetail(e error, forms []string) (error, bool) {
	v := reflect.ValueOf(e)
	ptr := v.Kind() == reflect.Pointer
	if ptr {
		if v.IsNil() {
			return nil, false
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return nil, false
	}
	cp := reflect.New(v.Type()).Elem()
	cp.Set(v)
	changed := false
	for _, f := range []struct {
		name  string
		clear bool // or withhold the secrets it quotes
	}{{"Detail", true}, {"Where", true}, {"InternalQuery", true}, {"Message", false}, {"Hint", false}} {
		sf, ok := v.Type().FieldByName(f.name)
		if !ok || len(sf.Index) != 1 || !sf.IsExported() || sf.Type.Kind() != reflect.String {
			continue
		}
		fv := cp.Field(sf.Index[0])
		was, now := fv.String(), ""
		if !f.clear {
			now = withhold(was, forms)
		}
		if now != was {
			fv.SetString(now)
			changed = true
		}
	}
	if !changed {
		return nil, false
	}
	out := cp.Interface()
	if ptr {
		out = cp.Addr().Interface()
	}
	ce, ok := out.(error)
	return ce, ok
}

// secretForms returns the texts of secrets a driver or database would
// print, long enough to withhold (see Redact), the longest first, so that
// a form that holds another is withheld whole.
func secretForms(secrets []any) []string {
	var forms []string
	addInt := func(n int64) {
		if s := strconv.FormatInt(n, 10); len(strings.TrimPrefix(s, "-")) >= 4 {
			forms = append(forms, s)
		}
	}
	addString := func(s string) {
		if len(s) >= 4 {
			forms = append(forms, s)
		}
	}
	for _, a := range secrets {
		// By kind, not type: a field may be a named string or []byte
		// (type Hex string), or a pointer to one.
		v := reflect.ValueOf(a)
		for v.Kind() == reflect.Pointer && !v.IsNil() {
			v = v.Elem()
		}
		switch {
		case v.Kind() == reflect.String:
			addString(v.String())
		case v.Kind() >= reflect.Int && v.Kind() <= reflect.Int64:
			addInt(v.Int())
		case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8:
			addString(string(v.Bytes()))
		case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Int64:
			for i := range v.Len() {
				addInt(v.Index(i).Int())
			}
		}
	}
	slices.SortFunc(forms, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	})
	return slices.Compact(forms)
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
// withheld. It unwraps to the driver's error (a redacted copy, where it
// quoted one), if there is one, and is every error the original chain is
// (errors.Is: context.Canceled, gorm.ErrDuplicatedKey), which says
// nothing of their texts.
type withheldError struct {
	msg    string
	driver error
	orig   error
}

func (e *withheldError) Error() string { return e.msg }

func (e *withheldError) Unwrap() error { return e.driver }

func (e *withheldError) Is(target error) bool { return errors.Is(e.orig, target) }

// stateError is a SQLSTATE error's text, redacted, and its SQLSTATE.
type stateError struct{ msg, state string }

func (e *stateError) Error() string { return e.msg }

// SQLState returns the SQLSTATE of the error it stands for.
func (e *stateError) SQLState() string { return e.state }
