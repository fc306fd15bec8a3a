package sqlcrypt

import (
	"context"
	"errors"
	"strings"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

// A Filter decides whether a collector ([CollectRows], [ScanAll]) keeps a
// record, after it is decrypted. Keep's record is a pointer to it. An
// error stops the collector, which returns it in a [*RowError].
//
// The filters of [Match] and [Search] compare fields the result must
// hold: the index's source columns and the scope column. Given a result
// read by name that lacks one of them (a SELECT that leaves out the
// column searched), a collector returns a [*ColumnError] naming it before
// any row is read, where the filter would have compared the field's zero
// value and dropped every row that holds the value sought. A result with
// a column that names no field of the record (an alias, an expression,
// read by position through pgx.RowToStructByPos or a function of the
// caller's) is not checked.
type Filter interface {
	Keep(record any) (bool, error)
}

// FilterFunc adapts a function to a [Filter].
type FilterFunc func(record any) (bool, error)

// Keep returns f(record).
func (f FilterFunc) Keep(record any) (bool, error) { return f(record) }

// indexFilter is the Filter of Match and Search: keep, and the columns
// of typ it reads.
type indexFilter struct {
	keep  func(record any) (bool, error)
	cols  *columns // the columns of the probe's type; nil when unknown
	reads []int    // indexes in cols.list of the columns keep reads
	index string   // the index, for errors
}

func (f *indexFilter) Keep(record any) (bool, error) { return f.keep(record) }

// checkFilters refuses a result, whose columns are names, that lacks a
// column one of filters reads. A result column counts as the field's
// when their names are equal once underscores are removed and case is
// ignored, as pgx's RowToStructByName matches them (ScanAll's own match
// is narrower, and refuses a result column no field reads).
//
// Only a result read by name is checked: one whose every column names a
// field of the filter's record, as RowToStructByName and ScanAll demand.
// CollectRows takes any pgx.RowToFunc, and one that reads by position
// (pgx.RowToStructByPos, a function of the caller's) fills the fields
// whatever the columns are called: an alias or an expression there says
// nothing of a field left out.
func checkFilters(filters []Filter, names []string) error {
	fold := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, "_", "")) }
	held := make(map[string]bool, len(names))
	for _, n := range names {
		held[fold(n)] = true
	}
	for _, f := range filters {
		ix, ok := f.(*indexFilter)
		if !ok || ix.cols == nil {
			continue
		}
		fields := make(map[string]bool, len(ix.cols.list))
		for _, col := range ix.cols.list {
			fields[fold(col.name)] = true
		}
		byName := true
		for n := range held {
			byName = byName && fields[n]
		}
		if !byName {
			continue
		}
		for _, i := range ix.reads {
			if col := ix.cols.list[i]; !held[fold(col.name)] {
				return &ColumnError{Type: ix.cols.typ, Column: col.name, Msg: "the result lacks it, and the filter of index " +
					ix.index + " compares " + col.field + ": every row would read as its zero value and be dropped; select it too"}
			}
		}
	}
	return nil
}

// batch decrypts and filters the records of one result as they are read,
// with the semantics of crypt.DecryptAll: an AccessError does not stop it
// and is returned at the end; any other failure stops it. The keyring's
// cache loads each keyset once, whatever the number of rows.
type batch struct {
	ctx     context.Context
	enc     *crypt.Encryptor
	decrypt bool // false for a result with no encrypted column
	filters []Filter
	access  error // the first AccessError, as a *RowError
}

// record decrypts and filters the record v points to, read as row number
// row. keep says whether the collector keeps it; an error stops the batch.
//
// With filters, an AccessError stops the batch too: a filter that reads a
// field still encrypted (such as Match on an index whose source this
// process cannot read) would drop a record that holds the value sought,
// and a search must never miss a row silently.
func (b *batch) record(row int, v any) (keep bool, err error) {
	if b.decrypt {
		err := b.enc.Decrypt(b.ctx, v)
		var access *crypt.AccessError
		switch {
		case err == nil:
		case errors.As(err, &access) && len(b.filters) == 0:
			if b.access == nil {
				b.access = &RowError{Row: row, Err: err}
			}
		default:
			return false, &RowError{Row: row, Err: err}
		}
	}
	for _, f := range b.filters {
		ok, err := f.Keep(v)
		if err != nil {
			return false, &RowError{Row: row, Err: err}
		}
		if !ok {
			return false, nil
		}
	}
	return true, nil
}
