package sqlcrypt

import (
	"errors"
	"reflect"
	"strconv"
)

// ErrInvalidLookup means [Lookup] was asked for a condition it cannot
// write: an invalid dialect, a first parameter number below 1, or an index
// or scope field that has no column. A [*LookupError] matches it.
var ErrInvalidLookup = errors.New("sqlcrypt: invalid lookup")

// ColumnError reports a column that a record type and a query do not agree
// on: a result column no field reads, a column the result repeats or
// lacks, or two fields that name one column. It names the type and the
// column, never a value.
type ColumnError struct {
	Type   reflect.Type // the record's struct type
	Column string
	Msg    string
}

func (e *ColumnError) Error() string {
	return "sqlcrypt: " + e.Type.String() + ": column " + strconv.Quote(e.Column) + ": " + e.Msg
}

// LookupError reports why [Lookup] could not write a condition for a
// blind index. It matches [ErrInvalidLookup].
type LookupError struct {
	Type  reflect.Type // the probe's struct type
	Index string       // the index asked for
	Msg   string
}

func (e *LookupError) Error() string {
	return "sqlcrypt: lookup on " + e.Type.String() + "." + e.Index + ": " + e.Msg
}

func (e *LookupError) Unwrap() error { return ErrInvalidLookup }

// RowError reports a row that failed to scan or decrypt. It wraps the
// cause: a [*crypt.FieldError] (matching crypt.ErrDecrypt and the other
// crypt sentinels) names the record type and field, never the value.
type RowError struct {
	Row int // the row's index in the result, from 0
	Err error
}

func (e *RowError) Error() string {
	return "sqlcrypt: row " + strconv.Itoa(e.Row) + ": " + e.Err.Error()
}

func (e *RowError) Unwrap() error { return e.Err }
