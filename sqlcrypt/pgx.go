package sqlcrypt

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/internal/sqldialect"
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
	if fds := rows.FieldDescriptions(); len(fds) > 0 {
		names := make([]string, len(fds))
		for i, fd := range fds {
			names[i] = fd.Name
		}
		if err := checkFilters(filters, names); err != nil {
			return nil, err
		}
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
//
// Records with token indexes get their tokens copied too, into each
// index's side table (see [TokenTableDDL]; the side tables are named
// after the last part of table), once the records are: all of it in one
// transaction, which CopyFrom begins on conn (a *pgxpool.Pool, a
// *pgx.Conn, or a pgx.Tx, in which it is a savepoint) and commits, so
// that no record is written without its tokens. The records are new rows:
// their keys have no tokens yet. columnNames must then hold the identity
// column, which the side tables refer to, and conn must have a Begin
// method (every pgx type does); otherwise a [*TokenStorageError]. The
// tokens are held in memory until the records are copied.
func CopyFrom[T any](ctx context.Context, enc *crypt.Encryptor, conn Copier, table pgx.Identifier, columnNames []string, records []T) (int64, error) {
	src := &copySource[T]{ctx: ctx, enc: enc, records: records}
	if err := src.init(columnNames); err != nil {
		return 0, err
	}
	if len(src.cols.tokens) == 0 {
		n, err := conn.CopyFrom(ctx, table, columnNames, src)
		if src.err != nil {
			return 0, src.err
		}
		return n, src.redact(err)
	}
	if err := src.initTokens(table, columnNames); err != nil {
		return 0, err
	}
	b, ok := conn.(interface {
		Begin(context.Context) (pgx.Tx, error)
	})
	if !ok {
		return 0, &TokenStorageError{Type: src.cols.typ, Msg: fmt.Sprintf("%T has no Begin method: the records and their tokens are copied in one transaction; pass a *pgxpool.Pool, *pgx.Conn or pgx.Tx", conn)}
	}
	tx, err := b.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	n, err := tx.CopyFrom(ctx, table, columnNames, src)
	if src.err != nil {
		return 0, src.err
	}
	if err != nil {
		return 0, src.redact(err)
	}
	for j, tt := range src.tokens.tables {
		side := append(pgx.Identifier(nil), table...)
		side[len(side)-1] = sqldialect.TokenTableName(side[len(side)-1], src.cols.tokens[j].suffix)
		rows := src.tokens.rows[j]
		var copyRows [][]any
		for i, toks := range rows.Tokens {
			for _, tk := range toks {
				copyRows = append(copyRows, []any{rows.Keys[i], tk})
			}
		}
		if len(copyRows) == 0 {
			continue
		}
		if _, err := tx.CopyFrom(ctx, side, []string{tt.Key, sqldialect.TokenColumn}, pgx.CopyFromRows(copyRows)); err != nil {
			return 0, sideStmt{table: strings.Join(side, ".")}.err(err, slices.Concat(rows.Tokens...))
		}
	}
	if err := tx.Commit(ctx); err != nil {
		// A deferred constraint is checked here, and PostgreSQL's
		// detail would quote the row: a token or a blind-index value.
		return 0, sqldialect.Redact(err)
	}
	return n, nil
}

// ReplaceTokensPgx is [ReplaceTokens] for pgx, on PostgreSQL: in the
// transaction tx, it replaces the tokens of records (encrypted records of
// a type T, or pointers to them) in the side tables of their token
// indexes, with the statements of ReplaceTokens sent in one batch (two
// per index with integer keys, whatever the number of records and
// tokens):
//
//	e, err := crypt.Encrypted(ctx, enc, &contact)
//	tx, err := pool.Begin(ctx)
//	_, err = tx.Exec(ctx, "INSERT INTO contacts (...) VALUES (...)", e.ID, ...)
//	err = sqlcrypt.ReplaceTokensPgx(ctx, tx, "contacts", e)
//	err = tx.Commit(ctx)
//
// Errors are those of ReplaceTokens. On an error the transaction holds
// part of the writes: roll it back.
func ReplaceTokensPgx[T any](ctx context.Context, tx pgx.Tx, table string, records ...T) error {
	stmts, err := prepareTokens(Postgres, table, records, true)
	if err != nil || len(stmts) == 0 {
		return err
	}
	batch := &pgx.Batch{}
	for _, s := range stmts {
		batch.Queue(s.SQL, s.Args...)
	}
	br := tx.SendBatch(ctx, batch)
	for _, s := range stmts {
		if _, err := br.Exec(); err != nil {
			br.Close() //nolint:errcheck // the error is the statement's
			// pgx prepares and encodes the whole batch first: a failure
			// there is the first result's, whichever statement it was
			// (its SQL names it, when no other has the same).
			var all []int64
			for _, t := range stmts {
				all = append(all, t.tokens...)
			}
			var pre pgx.ErrPreprocessingBatch
			if errors.As(err, &pre) {
				for _, t := range stmts {
					if t.SQL == pre.SQL() {
						return t.err(err, all)
					}
				}
			}
			return s.err(err, all)
		}
	}
	return br.Close()
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

	tokens   *tokenWrite // the records' tokens, for records with token indexes
	tokenKey int         // the identity column's index in cols.list
}

// redact withholds from the copy's error the values of the row pgx was
// encoding, its last, and those PostgreSQL quotes in the error's detail
// (a unique blind index's value): see sqldialect.Redact.
func (s *copySource[T]) redact(err error) error {
	if err == nil {
		return nil
	}
	var secrets []any
	for k, f := range s.fields {
		if c := s.cols.list[f]; (c.encrypted || c.sources != nil) && k < len(s.values) {
			secrets = append(secrets, s.values[k])
		}
	}
	return sqldialect.Redact(err, secrets...)
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
	if s.tokens != nil {
		if err := s.tokens.add(s.cols, s.tokenKey, i, rv); err != nil {
			s.err = err
			return false
		}
	}
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

// initTokens prepares the write of the records' tokens into the side
// tables of table: the column list must hold the identity column.
func (s *copySource[T]) initTokens(table pgx.Identifier, names []string) error {
	if len(table) == 0 {
		return &TokenStorageError{Type: s.cols.typ, Msg: "empty table name"}
	}
	w, key, err := newTokenWrite(s.cols, strings.Join(table, "."))
	if err != nil {
		return err
	}
	if !slices.Contains(s.fields, key) {
		return &TokenStorageError{Type: s.cols.typ, Msg: "the column list lacks the identity column " + strconv.Quote(s.cols.list[key].name) +
			", which the side tables of the record's token indexes refer to"}
	}
	s.tokens, s.tokenKey = w, key
	return nil
}

func (s *copySource[T]) Values() ([]any, error) { return s.values, nil }

func (s *copySource[T]) Err() error { return s.err }

// PgxExecer is what [CreateTokenTablesPgx] reads the catalogue and
// creates tables through: a *pgxpool.Pool, *pgx.Conn or pgx.Tx.
type PgxExecer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// CreateTokenTablesPgx is [CreateTokenTables] for pgx, on PostgreSQL.
func CreateTokenTablesPgx(ctx context.Context, db PgxExecer, table string, record any, indexes ...string) error {
	return createTokenTables(Postgres, table, record, indexes, func(q string, args []any, dest ...any) error {
		return db.QueryRow(ctx, q, args...).Scan(dest...)
	}, func(q string) error {
		_, err := db.Exec(ctx, q)
		return err
	})
}
