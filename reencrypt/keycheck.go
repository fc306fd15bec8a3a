package reencrypt

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/fieldcrypt/fieldcrypt/internal/sqldialect"
)

// ErrKeyNotUnique means the configured primary key is not a column the
// job can page by: no PRIMARY KEY or single-column UNIQUE index holds it,
// or a row has NULL in it. The job walks a table in key order (WHERE key >
// last), so rows sharing a key value across a batch boundary, and rows
// with no key, would be skipped, and the job would report done with rows
// left under old keys. It comes wrapped in a *ConfigError naming the
// column.
var ErrKeyNotUnique = errors.New("is not a unique, non-null key")

// ErrKeyType means the configured key_type is integer (the default) but
// the primary-key column is not of an integer type. The database orders
// such a column as text ("10" before "9") while the job would bound its
// pages with integers, which MySQL compares as numbers and SQLite as text
// of another spelling ("007" read back as 7): rows would be skipped and
// the job, status and a destroy's safety check would report done. It
// comes wrapped in a *ConfigError naming the column: set key_type: text.
var ErrKeyType = errors.New("is not of an integer type")

// checkKeyType refuses an integer key_type on a primary-key column whose
// type, as the database reports it for a query of the column, is not an
// integer (or exact numeric) type. A type the driver does not report (an
// expression column of an SQLite view) is not checked.
func checkKeyType(ctx context.Context, db *sql.DB, d Dialect, t Table, l *layout) error {
	if t.keyType() != KeyInteger {
		return nil
	}
	rows, err := db.QueryContext(ctx, "SELECT "+l.key()+" FROM "+l.table+" WHERE 1 = 0")
	if err != nil {
		return fmt.Errorf("reencrypt: checking the primary key of %s: %w", t.Name, err)
	}
	defer rows.Close()
	types, err := rows.ColumnTypes()
	if err != nil {
		return fmt.Errorf("reencrypt: checking the type of the primary key of %s: %w", t.Name, err)
	}
	if len(types) != 1 {
		return fmt.Errorf("reencrypt: checking the type of the primary key of %s: the query returned %d columns", t.Name, len(types))
	}
	typ := strings.ToUpper(types[0].DatabaseTypeName())
	if typ == "" || strings.Contains(typ, "INT") || strings.Contains(typ, "NUMERIC") || strings.Contains(typ, "DECIMAL") {
		return nil
	}
	if d == SQLite && sqliteNumericAffinity(typ) {
		return nil
	}
	return &ConfigError{Table: t.Name, Column: t.PrimaryKey, Pos: t.posOf(t.PrimaryKey), err: ErrKeyType,
		Msg: fmt.Sprintf("primary_key %s %s (the database says %s) but key_type is %q (the default): the job would page it with integer bounds "+
			"the database does not order it by, skip rows and report done; set key_type: %s", t.PrimaryKey, ErrKeyType, typ, KeyInteger, KeyText)}
}

// sqliteNumericAffinity reports whether SQLite gives a column declared typ
// (upper case) NUMERIC affinity (https://sqlite.org/datatype3.html, 3.1):
// a name with none of the substrings that give TEXT, BLOB or REAL
// affinity (NUMBER, SERIAL, BOOLEAN, ...). Such a column stores integers
// as integers, which it orders as numbers, as integer bounds page them.
func sqliteNumericAffinity(typ string) bool {
	for _, s := range []string{"CHAR", "CLOB", "TEXT", "BLOB", "REAL", "FLOA", "DOUB"} {
		if strings.Contains(typ, s) {
			return false
		}
	}
	return true
}

// checkKeyUnique refuses a primary key the job cannot page by: it asks the
// catalog for a unique index on exactly that column (PostgreSQL pg_index,
// MySQL information_schema.STATISTICS, SQLite pragma_index_list and the
// table's own PRIMARY KEY), or, for a view, which has no constraints,
// looks for a repeated key in its rows; then it looks for a row with no
// key, which a unique index allows (one of them in PostgreSQL and SQLite's
// legacy PRIMARY KEY, any number in MySQL).
func checkKeyUnique(ctx context.Context, db *sql.DB, d Dialect, t Table, l *layout) error {
	fail := func(format string, args ...any) error {
		return &ConfigError{Table: t.Name, Column: t.PrimaryKey, Pos: t.posOf(t.PrimaryKey), err: ErrKeyNotUnique,
			Msg: fmt.Sprintf("primary_key %s %s: %s; the job pages by it (WHERE key > last) and would skip rows sharing a value, or with none, then report done. Name a unique, non-null column, or add a UNIQUE constraint",
				t.PrimaryKey, ErrKeyNotUnique, fmt.Sprintf(format, args...))}
	}
	unique, err := uniqueIndexOn(ctx, db, d, t, l)
	if err != nil {
		if sqldialect.Classify(err) == sqldialect.Denied {
			return privilegeRefused(t, err)
		}
		return fmt.Errorf("reencrypt: checking the primary key of %s in the catalog: %w", t.Name, err)
	}
	if !unique {
		view, err := isView(ctx, db, d, t, l)
		if err != nil {
			return fmt.Errorf("reencrypt: checking the primary key of %s in the catalog: %w", t.Name, err)
		}
		if !view {
			return fail("no PRIMARY KEY or single-column UNIQUE index holds it alone")
		}
		// A view has no constraints to ask for: look for a repeated key
		// in its rows instead (one pass over the key alone).
		var one int
		err = db.QueryRowContext(ctx, "SELECT 1 FROM "+l.table+" GROUP BY "+d.QuoteIdent(t.PrimaryKey)+" HAVING COUNT(*) > 1 LIMIT 1").Scan(&one)
		switch {
		case err == nil:
			return fail("it is a view's column, and rows of the view share a value of it")
		case !errors.Is(err, sql.ErrNoRows):
			if sqldialect.Classify(err) == sqldialect.Denied {
				return privilegeRefused(t, err)
			}
			return fmt.Errorf("reencrypt: checking the primary key of %s: %w", t.Name, err)
		}
	}
	var one int
	err = db.QueryRowContext(ctx, "SELECT 1 FROM "+l.table+" WHERE "+d.QuoteIdent(t.PrimaryKey)+" IS NULL LIMIT 1").Scan(&one)
	switch {
	case err == nil:
		return fail("a row has NULL in it")
	case !errors.Is(err, sql.ErrNoRows):
		if sqldialect.Classify(err) == sqldialect.Denied {
			return privilegeRefused(t, err)
		}
		return fmt.Errorf("reencrypt: checking the primary key of %s: %w", t.Name, err)
	}
	return nil
}

// uniqueIndexOn reports whether a unique index on exactly the primary-key
// column (a PRIMARY KEY or UNIQUE constraint, or a unique index with no
// predicate and no expression) exists. On PostgreSQL the index must be
// valid (a CREATE UNIQUE INDEX CONCURRENTLY that failed on duplicates
// leaves an index marked unique but invalid over a column that has them)
// and use the column's collation, by which the job compares keys: a
// unique index under "C" says nothing of keys that a case-insensitive
// collation holds equal.
func uniqueIndexOn(ctx context.Context, db *sql.DB, d Dialect, t Table, l *layout) (bool, error) {
	schema, table, qualified := strings.Cut(t.Name, ".")
	if !qualified {
		schema, table = "", t.Name
	}
	var found bool
	switch d {
	case Postgres:
		err := db.QueryRowContext(ctx, d.Rebind(`SELECT EXISTS (
			SELECT 1 FROM pg_catalog.pg_index i
			JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
			WHERE i.indrelid = to_regclass(?) AND i.indisunique AND i.indisvalid AND i.indisready AND i.indislive
			  AND i.indnkeyatts = 1 AND i.indcollation[0] = a.attcollation
			  AND i.indpred IS NULL AND i.indexprs IS NULL AND a.attname = ?)`), l.table, t.PrimaryKey).Scan(&found)
		return found, err
	case MySQL:
		var schemaArg any
		if schema != "" {
			schemaArg = schema
		}
		var n int
		err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.STATISTICS s
			WHERE s.TABLE_SCHEMA = COALESCE(?, DATABASE()) AND s.TABLE_NAME = ? AND s.COLUMN_NAME = ? AND s.NON_UNIQUE = 0
			  AND NOT EXISTS (SELECT 1 FROM information_schema.STATISTICS o
			    WHERE o.TABLE_SCHEMA = s.TABLE_SCHEMA AND o.TABLE_NAME = s.TABLE_NAME AND o.INDEX_NAME = s.INDEX_NAME AND o.SEQ_IN_INDEX > 1)`,
			schemaArg, table, t.PrimaryKey).Scan(&n)
		return n > 0, err
	case SQLite:
		if schema == "" {
			schema = "main"
		}
		// The table's own PRIMARY KEY, when it is that one column (an
		// INTEGER PRIMARY KEY is the rowid and has no index of its own).
		var pkCols int
		var pkName sql.NullString
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*), MAX(name) FROM pragma_table_info(?, ?) WHERE pk > 0", table, schema).Scan(&pkCols, &pkName); err != nil {
			return false, err
		}
		if pkCols == 1 && strings.EqualFold(pkName.String, t.PrimaryKey) {
			return true, nil
		}
		rows, err := db.QueryContext(ctx, `SELECT name FROM pragma_index_list(?, ?) WHERE "unique" = 1 AND partial = 0`, table, schema)
		if err != nil {
			return false, err
		}
		var indexes []string
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				rows.Close()
				return false, err
			}
			indexes = append(indexes, name)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return false, err
		}
		for _, ix := range indexes {
			var cols int
			var col sql.NullString
			if err := db.QueryRowContext(ctx, "SELECT COUNT(*), MAX(name) FROM pragma_index_info(?, ?)", ix, schema).Scan(&cols, &col); err != nil {
				return false, err
			}
			if cols == 1 && col.Valid && strings.EqualFold(col.String, t.PrimaryKey) {
				return true, nil
			}
		}
		return false, nil
	}
	return false, fmt.Errorf("reencrypt: unknown dialect %q", d)
}

// isView reports whether the configured table is a view.
func isView(ctx context.Context, db *sql.DB, d Dialect, t Table, l *layout) (bool, error) {
	schema, table, qualified := strings.Cut(t.Name, ".")
	if !qualified {
		schema, table = "", t.Name
	}
	var view bool
	var err error
	switch d {
	case Postgres:
		err = db.QueryRowContext(ctx, d.Rebind("SELECT COALESCE((SELECT relkind IN ('v', 'm') FROM pg_catalog.pg_class WHERE oid = to_regclass(?)), false)"), l.table).Scan(&view)
	case MySQL:
		var schemaArg any
		if schema != "" {
			schemaArg = schema
		}
		var n int
		err = db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? AND TABLE_TYPE = 'VIEW'",
			schemaArg, table).Scan(&n)
		view = n > 0
	case SQLite:
		if schema == "" {
			schema = "main"
		}
		var n int
		err = db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+d.QuoteIdent(schema)+".sqlite_master WHERE type = 'view' AND name = ? COLLATE NOCASE", table).Scan(&n)
		view = n > 0
	}
	return view, err
}
