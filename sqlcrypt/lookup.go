package sqlcrypt

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/internal/sqldialect"
)

// Lookup writes the SQL condition that finds the rows whose blind index
// index may hold the value of probe, and its arguments:
//
//	"tenant_id" = $1 AND "email_idx" = ANY($2)                        PostgreSQL: one text[] argument
//	"tenant_id" = ? COLLATE BINARY AND "email_idx" IN (?, ?)          SQLite
//	`tenant_id` = ? AND CAST(CONVERT(`tenant_id` USING utf8mb4) AS BINARY)
//	    = CAST(CONVERT(? USING utf8mb4) AS BINARY)
//	    AND `email_idx` IN (?, ?)                                     MySQL
//
// probe is a pointer to the record type with its scope field and the
// index's source fields set, as [crypt.Encryptor.BlindIndexValues] takes
// it; index is the blind-index field's Go name or its name= option. The
// values are those of every enabled index key, so rows written before and
// after an index-key rotation are both found.
//
// The condition holds the scope (tenant) column: another tenant's row whose
// index column holds the same value is not found. The comparison is
// byte-wise on MySQL and SQLite whatever the column's collation, so a
// tenant whose name differs only in case or trailing spaces is another
// tenant; on PostgreSQL it is exact under any deterministic collation
// (the default). [Match] compares the scope exactly once more, after
// decryption. A record without a scope field is in the default scope, and
// the condition has no scope column.
//
// firstArg is the number of the condition's first parameter on PostgreSQL
// ($firstArg), for a condition that follows other parameters; the other
// dialects number parameters by position, and ignore it. It is at least 1.
// Append further arguments after args.
//
// When the probe can match no row (its scope has no index keyset, or its
// sources are empty) the condition matches nothing and is still valid SQL:
// an empty array on PostgreSQL, "1 = 0" and no arguments elsewhere.
//
// A blind index finds other values too; that is what limits what it
// leaks. Decrypt what the condition finds and keep the records [Match]
// accepts.
//
// Column names follow "Column names" in the package documentation and are
// quoted for the dialect. An invalid dialect or firstArg, or an index or
// scope field without a column, is a [*LookupError]; errors of the index
// computation are crypt's (crypt.ErrUnknownIndex for a name that is no
// blind index of the record, crypt.ErrMissingScope, crypt.ErrNoAccess for
// a process that cannot read the index's class).
func Lookup(ctx context.Context, enc *crypt.Encryptor, d Dialect, probe any, index string, firstArg int) (cond string, args []any, err error) {
	pv := structValue(probe)
	if !pv.IsValid() {
		return "", nil, &crypt.InvalidArgumentError{Type: reflect.TypeOf(probe)}
	}
	t := pv.Type()
	fail := func(format string, a ...any) (string, []any, error) {
		return "", nil, &LookupError{Type: t, Index: index, Msg: fmt.Sprintf(format, a...)}
	}
	if !d.Valid() {
		return fail("invalid dialect %v", d)
	}
	if firstArg < 1 {
		return fail("firstArg is %d; parameters are numbered from 1", firstArg)
	}
	cols, err := columnsOf(t)
	if err != nil {
		return "", nil, err
	}
	values, err := enc.BlindIndexValues(ctx, probe, index)
	if err != nil {
		return "", nil, err
	}
	ix, ok := cols.indexes[index]
	if !ok {
		return fail("the index field has no column: it is neither a field of %v nor of a struct it embeds, or its column is ignored (db:\"-\")", t)
	}
	if err := cols.checkScope(); err != nil {
		return fail("%v", err)
	}
	// Quoting keeps a quote inside the identifier; what it cannot make
	// safe (an empty name, control characters: a NUL ends the statement
	// on PostgreSQL's wire protocol) is refused, as QuoteIdent asks.
	if err := checkColumnName(cols.list[ix].name); err != nil {
		return fail("the column of field %s: %v", cols.list[ix].field, err)
	}

	p := d.Placeholders()
	for range firstArg - 1 {
		p.Next()
	}
	var b strings.Builder
	args = cols.writeScope(&b, d, p, pv)
	col := d.QuoteIdent(cols.list[ix].name)
	switch {
	case d == Postgres:
		if values == nil {
			values = []string{}
		}
		b.WriteString(col + " = ANY(" + p.Next() + ")")
		args = append(args, values)
	case len(values) == 0:
		return "1 = 0", nil, nil
	default:
		b.WriteString(col + " IN (")
		for i, v := range values {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(p.Next())
			args = append(args, v)
		}
		b.WriteString(")")
	}
	return b.String(), args, nil
}

// Match returns a [Filter] that keeps the records that hold the probe's
// value: those in the probe's scope that [crypt.Matches] matches on the
// blind index index, with the index's own transforms. It drops the other
// rows a blind index finds by design:
//
//	found, err := sqlcrypt.CollectRows(ctx, enc, rows, pgx.RowToStructByName[Contact], sqlcrypt.Match(probe, "EmailIdx"))
//
// probe is what [Lookup] was given. The scope is compared exactly, so a
// record of another tenant never matches, even from a query that did not
// keep to the probe's tenant. A probe that is no pointer to a record, or
// an index the record does not have, makes the filter fail on the first
// record, with crypt's error.
func Match(probe any, index string) Filter {
	pv := structValue(probe)
	var cols *columns
	var err error
	if !pv.IsValid() {
		err = &crypt.InvalidArgumentError{Type: reflect.TypeOf(probe)}
	} else {
		cols, err = columnsOf(pv.Type())
	}
	f := &indexFilter{index: index, keep: func(record any) (bool, error) {
		if err != nil {
			return false, err
		}
		ok, err := crypt.Matches(record, probe, index)
		if err != nil || !ok || cols.scopePath == nil {
			return ok, err
		}
		return sameField(structValue(record), pv, cols.scopePath), nil
	}}
	if err == nil {
		if n, ok := cols.indexes[index]; ok {
			ix := cols.list[n].index
			f.cols, f.reads = cols, cols.reads(ix[:len(ix)-1], cols.list[n].sources)
		}
	}
	return f
}

// Matching returns, in order, the records that [Match] keeps: for records
// that were not read by a collector, such as those of sqlc's generated
// queries, once they are decrypted. T is the record type or a pointer to
// it.
//
// Records must have decrypted without error: one whose index sources are
// still encrypted (read without access to their class) cannot be compared,
// and never matches. Nor can a record read without its index's source
// columns or its scope column, which Matching, seeing no result, cannot
// detect: select them.
func Matching[T any](records []T, probe any, index string) ([]T, error) {
	match := Match(probe, index)
	ptr := reflect.TypeFor[T]().Kind() == reflect.Pointer
	out := []T{}
	for i := range records {
		ok, err := match.Keep(addr(&records[i], ptr))
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, records[i])
		}
	}
	return out, nil
}

// checkScope refuses a record type whose scope field has no column, or
// whose scope column's name quoting cannot make safe: a condition could
// not keep to the probe's tenant.
func (c *columns) checkScope() error {
	if c.scopePath != nil && (c.scope < 0 || !slices.Equal(c.list[c.scope].index, c.scopePath)) {
		return errors.New("the scope field has no column (it is ignored, or in a nested struct that is not embedded), so the condition could not keep to the probe's tenant")
	}
	if c.scope >= 0 {
		if err := checkColumnName(c.list[c.scope].name); err != nil {
			return fmt.Errorf("the column of field %s: %w", c.list[c.scope].field, err)
		}
	}
	return nil
}

// writeScope writes the condition on the probe's scope column, followed
// by " AND ", and returns its arguments; nothing for a record without a
// scope. The comparison is byte-wise on MySQL and SQLite whatever the
// column's collation (see Lookup).
func (c *columns) writeScope(b *strings.Builder, d Dialect, p *sqldialect.Placeholders, pv reflect.Value) (args []any) {
	if c.scope < 0 {
		return nil
	}
	col := d.QuoteIdent(c.list[c.scope].name)
	scope := c.field(pv, c.scope).Interface()
	switch d {
	case MySQL:
		// The equality finds the rows through an index on the column;
		// the binary one drops those that a case-insensitive or PAD
		// SPACE collation takes for equal. Both sides are converted to
		// one character set first: a column in another one than the
		// connection's (latin1) holds other bytes for a name that is
		// not ASCII, and the tenant's own rows would not be found.
		b.WriteString(col + " = " + p.Next() + " AND CAST(CONVERT(" + col + " USING utf8mb4) AS BINARY) = CAST(CONVERT(" + p.Next() + " USING utf8mb4) AS BINARY)")
		args = append(args, scope, scope)
	case SQLite:
		b.WriteString(col + " = " + p.Next() + " COLLATE BINARY")
		args = append(args, scope)
	default:
		b.WriteString(col + " = " + p.Next())
		args = append(args, scope)
	}
	b.WriteString(" AND ")
	return args
}

// sameField reports whether the structs a and b hold the same value in the
// field at index; a nil pointer on the way holds none.
func sameField(a, b reflect.Value, index []int) bool {
	fa, err := a.FieldByIndexErr(index)
	if err != nil {
		return false
	}
	fb, err := b.FieldByIndexErr(index)
	return err == nil && fa.Equal(fb)
}

// structValue returns the struct v points to, or the zero Value when v is
// not a non-nil pointer to a struct.
func structValue(v any) reflect.Value {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return reflect.Value{}
	}
	return rv.Elem()
}

// checkColumnName accepts a column name that quoting makes one identifier
// on every dialect: not empty, valid UTF-8, no control characters.
func checkColumnName(name string) error {
	if name == "" {
		return errors.New("empty column name")
	}
	if !utf8.ValidString(name) {
		return fmt.Errorf("column name %q is not valid UTF-8", name)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("column name %q holds a control character", name)
		}
	}
	return nil
}
