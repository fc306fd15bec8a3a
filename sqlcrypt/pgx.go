package sqlcrypt

import (
	"context"
	"reflect"

	"github.com/jackc/pgx/v5"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

// CollectRows reads every row of rows with scan, decrypts each record,
// keeps those every filter accepts, and closes rows: pgx.CollectRows that
// decrypts. scan is any pgx.RowToFunc that returns a record or a pointer
// to one, such as pgx.RowToStructByName[Contact] or
// pgx.RowToAddrOfStructByNameLax[Contact]. A search passes [Match] as a
// filter, to drop the rows a blind index finds that hold another value.
//
// A record with fields of a class this process cannot read (a
// [*crypt.AccessError]) keeps those fields encrypted and does not stop the
// others: CollectRows returns every record and the first AccessError,
// wrapped in a [*RowError] with its row number. Any other failure (a scan
// error, a value that does not decrypt) is a *RowError too, returned with
// no records; so is an AccessError when there are filters, which could
// not be trusted on fields left encrypted.
func CollectRows[T any](ctx context.Context, enc *crypt.Encryptor, rows pgx.Rows, scan pgx.RowToFunc[T], filters ...Filter) ([]T, error) {
	defer rows.Close()
	_, ptr, err := structType[T]()
	if err != nil {
		return nil, err
	}
	b := &batch{ctx: ctx, enc: enc, decrypt: true, filters: filters}
	out := []T{}
	for i := 0; rows.Next(); i++ {
		v, err := scan(rows)
		if err != nil {
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

// Decrypting returns a pgx.RowToFunc that reads a row with scan and
// decrypts the record, for pgx.CollectOneRow and
// pgx.CollectExactlyOneRow:
//
//	c, err := pgx.CollectExactlyOneRow(rows, sqlcrypt.Decrypting(ctx, enc, pgx.RowToStructByName[Contact]))
//
// On a [*crypt.AccessError] it returns the record, its readable fields
// decrypted, with the error; on any other error, the zero T. Use
// [CollectRows] for many rows: pgx.CollectRows stops at the first error a
// RowToFunc returns, an AccessError included.
func Decrypting[T any](ctx context.Context, enc *crypt.Encryptor, scan pgx.RowToFunc[T]) pgx.RowToFunc[T] {
	return func(row pgx.CollectableRow) (T, error) {
		var zero T
		_, ptr, err := structType[T]()
		if err != nil {
			return zero, err
		}
		v, err := scan(row)
		if err != nil {
			return zero, err
		}
		b := &batch{ctx: ctx, enc: enc, decrypt: true}
		if _, err := b.record(0, addr(&v, ptr)); err != nil {
			return zero, err
		}
		return v, b.access
	}
}

// Copier is what [CopyFrom] copies into: a *pgx.Conn, a *pgxpool.Pool or a
// pgx.Tx.
type Copier interface {
	CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error)
}

// CopyFrom writes records into table with pgx's CopyFrom (COPY ... FROM
// STDIN, the bulk path), each encrypted on the way, and returns the number
// of rows written:
//
//	cols := []string{"id", "tenant_id", "email", "email_idx", "company"}
//	n, err := sqlcrypt.CopyFrom(ctx, enc, pool, pgx.Identifier{"contacts"}, cols, contacts)
//
// Each record is encrypted as a copy ([crypt.Encryptor.EncryptedCopy]), so
// records keep their plaintext, and its blind indexes are computed. A row
// holds the values of the fields whose columns are columnNames, in that
// order (see "Column names" in the package documentation); a name no field
// has is a [*ColumnError], returned before anything is sent. So is a list
// that writes an encrypted column without the scope and identity columns
// (the row would hold ciphertexts bound to values it does not hold, and
// never decrypt), or a blind index's source column without the index
// column (a search would never find the row). A record that
// fails to encrypt aborts the copy, so that no row is written, and is
// returned as a [*RowError] (pgx alone would report it as the server's
// error about the aborted COPY).
func CopyFrom[T any](ctx context.Context, enc *crypt.Encryptor, conn Copier, table pgx.Identifier, columnNames []string, records []T) (int64, error) {
	src := &copySource[T]{ctx: ctx, enc: enc, records: records}
	if err := src.init(columnNames); err != nil {
		return 0, err
	}
	n, err := conn.CopyFrom(ctx, table, columnNames, src)
	if src.err != nil {
		return 0, src.err
	}
	return n, err
}

// copySource is the pgx.CopyFromSource of CopyFrom.
type copySource[T any] struct {
	ctx     context.Context
	enc     *crypt.Encryptor
	records []T

	cols   *columns
	ptr    bool
	fields []int
	next   int
	values []any
	err    error
}

func (s *copySource[T]) Next() bool {
	if s.err != nil || s.next >= len(s.records) {
		return false
	}
	i := s.next
	s.next++
	rec := s.records[i]
	cp, err := s.enc.EncryptedCopy(s.ctx, addr(&rec, s.ptr))
	if err != nil {
		s.err = &RowError{Row: i, Err: err}
		return false
	}
	rv := reflect.ValueOf(cp).Elem()
	s.values = make([]any, len(s.fields))
	for k, f := range s.fields {
		s.values[k] = s.cols.field(rv, f).Interface()
	}
	return true
}

// init maps the column names to the fields of T.
func (s *copySource[T]) init(names []string) error {
	t, ptr, err := structType[T]()
	if err != nil {
		return err
	}
	cols, err := columnsOf(t)
	if err != nil {
		return err
	}
	fields, _, err := cols.fieldsFor(names, false)
	if err != nil {
		return err
	}
	s.cols, s.ptr, s.fields = cols, ptr, fields
	return nil
}

func (s *copySource[T]) Values() ([]any, error) { return s.values, nil }

func (s *copySource[T]) Err() error { return s.err }
