package sqlcrypt

import (
	"context"
	"database/sql"
	"reflect"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

// ScanAll reads every row of rows into a new T (a struct or a pointer to
// one), matching result columns to fields by name (see "Column names" in
// the package documentation), decrypts each record, keeps those every
// filter accepts (such as [Match]), and closes rows.
//
// Every result column needs a field; fields the result lacks keep their
// zero value, except that a result holding an encrypted column must hold
// the scope and identity columns too. A result with no encrypted column
// has nothing to decrypt. A mismatch is a [*ColumnError],
// returned before any row is read.
//
// Errors are handled as [CollectRows] handles them: without filters, every
// record is returned with the first [*crypt.AccessError] in a [*RowError];
// any other failure is a *RowError returned with no records.
func ScanAll[T any](ctx context.Context, enc *crypt.Encryptor, rows *sql.Rows, filters ...Filter) ([]T, error) {
	defer rows.Close()
	t, ptr, err := structType[T]()
	if err != nil {
		return nil, err
	}
	cols, err := columnsOf(t)
	if err != nil {
		return nil, err
	}
	names, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	fields, encrypted, err := cols.fieldsFor(names, true)
	if err != nil {
		return nil, err
	}
	if err := checkFilters(filters, names); err != nil {
		return nil, err
	}
	b := &batch{ctx: ctx, enc: enc, decrypt: encrypted, filters: filters}
	dest := make([]any, len(fields))
	out := []T{}
	for i := 0; rows.Next(); i++ {
		var v T
		rv := reflect.ValueOf(&v).Elem()
		if ptr {
			rv.Set(reflect.New(t))
			rv = rv.Elem()
		}
		for k, f := range fields {
			dest[k] = cols.field(rv, f).Addr().Interface()
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, &RowError{Row: i, Err: err}
		}
		keep, err := b.record(i, addr(&v, ptr))
		if err != nil {
			return nil, err
		}
		if keep {
			out = append(out, v)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, b.access
}
