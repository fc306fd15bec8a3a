package reencrypt

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/internal/sqldialect"
)

// ErrMissingColumn means a table or a column that the configuration names
// does not exist in the database. It comes wrapped in a *ConfigError that
// names the table and column.
var ErrMissingColumn = errors.New("does not exist in the database")

// CheckColumns checks, without reading a row, that table t exists and has
// every column its configuration names: the primary key, the scope, the
// identities, the encrypted and the blind-index columns; and that the side
// table of each token index exists with the columns (<primary key>,
// token). A missing one is a *ConfigError (wrapping ErrMissingColumn) that
// names it (for a side table: the table, its columns and the token
// index). A probe the
// database refuses for want of a privilege is an error wrapping
// ErrPrivilegeRefused, never a missing column. Run, Verify
// and Status call it before anything else, so that a configuration that
// disagrees with the database stops them at once.
//
// It also checks that the primary key is one the job can page by (see
// ErrKeyNotUnique), of an integer type unless key_type is text (see
// ErrKeyType).
func CheckColumns(ctx context.Context, db *sql.DB, d Dialect, t Table) error {
	if err := checkDialect(d); err != nil {
		return err
	}
	if err := t.Validate(); err != nil {
		return err
	}
	l := newLayout(d, &t)
	if err := checkColumnCase(d, t, l); err != nil {
		return err
	}
	if err := checkColumnsExist(ctx, db, d, t, l); err != nil {
		return err
	}
	if err := checkKeyUnique(ctx, db, d, t, l); err != nil {
		return err
	}
	if err := checkKeyType(ctx, db, d, t, l); err != nil {
		return err
	}
	return checkTokenTables(ctx, db, d, t, l)
}

// checkColumnCase refuses, on MySQL and SQLite, which compare column
// names without case, two configured names that differ only in case: they
// name one column, which the description would give two roles (an
// encrypted column TENANT that is the scope column tenant would have its
// "plaintext" encrypted over the scope). Table.Validate refuses the same
// name given twice; this is its rule as these databases read names. The
// primary key may be an identity column under another spelling.
func checkColumnCase(d Dialect, t Table, l *layout) error {
	if d == Postgres {
		return nil // quoted names are compared as written
	}
	seen := map[string]string{}
	for _, c := range l.cols {
		folded := strings.ToLower(c)
		prev, ok := seen[folded]
		if !ok {
			seen[folded] = c
			continue
		}
		if prev == t.PrimaryKey && slices.ContainsFunc(t.IDs, func(id crypt.ColumnName) bool { return id.Column == c }) {
			continue
		}
		return &ConfigError{Table: t.Name, Column: c, Pos: t.posOf(c), Msg: fmt.Sprintf(
			"%s (under %s) and %s (under %s) are one column: %s compares column names without case; name each column once",
			prev, columnRoles(t, prev), c, columnRoles(t, c), d)}
	}
	return nil
}

// checkTokenTables checks that the side table of each token index exists
// and has the columns (<primary key>, token).
func checkTokenTables(ctx context.Context, db *sql.DB, d Dialect, t Table, l *layout) error {
	for _, c := range l.tok {
		side := Table{Name: c.table, PrimaryKey: t.PrimaryKey}
		sl := &layout{d: d, t: &side, table: c.quoted, cols: []string{t.PrimaryKey, "token"}}
		err := checkColumnsExist(ctx, db, d, side, sl)
		var ce *ConfigError
		if errors.As(err, &ce) && errors.Is(err, ErrMissingColumn) {
			what := "the side table " + c.table
			if ce.Column != "" {
				what = "column " + ce.Column + " of the side table " + c.table
			}
			return &ConfigError{Table: t.Name, Column: c.name, Pos: t.posOf(c.name), err: ErrMissingColumn,
				Msg: fmt.Sprintf("token index %s: %s %s, but the configuration names it: a token index's side table holds (%s, token BIGINT NOT NULL), "+
					"one row per token (name another under token_tables, or create it)", c.name, what, ErrMissingColumn, t.PrimaryKey)}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// checkColumnsExist is CheckColumns's check that every column exists.
func checkColumnsExist(ctx context.Context, db *sql.DB, d Dialect, t Table, l *layout) error {
	if d == SQLite {
		// SQLite reads a double-quoted name that matches no column as a
		// string literal: a probe would succeed. Ask the catalog instead.
		return checkSQLiteColumns(ctx, db, t, l.cols)
	}
	probe := func(cols []string) error {
		quoted := make([]string, len(cols))
		for i, c := range cols {
			quoted[i] = d.QuoteIdent(c)
		}
		rows, err := db.QueryContext(ctx, "SELECT "+strings.Join(quoted, ", ")+" FROM "+l.table+" WHERE 1 = 0")
		if err != nil {
			return err
		}
		return rows.Close()
	}
	err := probe(l.cols)
	switch sqldialect.Classify(err) {
	case sqldialect.Transient:
		if err != nil {
			return fmt.Errorf("reencrypt: checking the columns of %s: %w", t.Name, err)
		}
		return nil
	case sqldialect.Denied:
		return privilegeRefused(t, err)
	case sqldialect.Permanent:
		return fmt.Errorf("reencrypt: checking the columns of %s: %w", t.Name, err)
	}
	// Find what is missing: the table, or which columns.
	switch terr := probeTable(ctx, db, l); sqldialect.Classify(terr) {
	case sqldialect.Missing:
		return &ConfigError{Table: t.Name, Msg: "the table " + ErrMissingColumn.Error() + ": fix the tables configuration (or the database DSN)", err: ErrMissingColumn}
	case sqldialect.Denied:
		return privilegeRefused(t, terr)
	}
	var missing []string
	for _, c := range l.cols {
		switch cerr := probe([]string{c}); sqldialect.Classify(cerr) {
		case sqldialect.Missing:
			missing = append(missing, c)
		case sqldialect.Denied:
			return privilegeRefused(t, cerr)
		}
	}
	if len(missing) == 0 {
		return fmt.Errorf("reencrypt: checking the columns of %s: %w", t.Name, err)
	}
	return missingColumns(t, missing)
}

// ErrPrivilegeRefused means the database refused this role a privilege
// on a configured table or column (PostgreSQL 42501, MySQL 1142 or 1143):
// the table is there, but this role may not read it. It is not a
// configuration mistake: grant the privilege, or run with a role that has
// it.
var ErrPrivilegeRefused = errors.New("the database refused the privilege")

// privilegeRefused is the error for a probe the database refused.
func privilegeRefused(t Table, err error) error {
	return fmt.Errorf("reencrypt: checking the columns of %s: %w to read them (grant SELECT on the table, and UPDATE for the job, to this database role): %w",
		t.Name, ErrPrivilegeRefused, err)
}

// checkSQLiteColumns checks the columns of an SQLite table in its catalog
// (pragma_table_info). Names compare case-insensitively, as SQLite does.
func checkSQLiteColumns(ctx context.Context, db *sql.DB, t Table, cols []string) error {
	schema, table, qualified := strings.Cut(t.Name, ".")
	if !qualified {
		schema, table = "main", t.Name
	}
	rows, err := db.QueryContext(ctx, "SELECT name FROM pragma_table_info(?, ?)", table, schema)
	if err != nil {
		return fmt.Errorf("reencrypt: checking the columns of %s: %w", t.Name, err)
	}
	defer rows.Close()
	have := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return fmt.Errorf("reencrypt: checking the columns of %s: %w", t.Name, err)
		}
		have[strings.ToLower(name)] = true
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reencrypt: checking the columns of %s: %w", t.Name, err)
	}
	if len(have) == 0 {
		return &ConfigError{Table: t.Name, Msg: "the table " + ErrMissingColumn.Error() + ": fix the tables configuration (or the database DSN)", err: ErrMissingColumn}
	}
	var missing []string
	for _, c := range cols {
		if !have[strings.ToLower(c)] {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return missingColumns(t, missing)
	}
	return nil
}

// missingColumns is the error for configured columns the table lacks.
func missingColumns(t Table, missing []string) error {
	return &ConfigError{Table: t.Name, Column: strings.Join(missing, ", "),
		Msg: fmt.Sprintf("%s, but the configuration names it (under %s): fix the tables configuration or the schema",
			ErrMissingColumn, columnRoles(t, missing[0])), err: ErrMissingColumn}
}

// probeTable reads nothing from the table, only checks it exists.
func probeTable(ctx context.Context, db *sql.DB, l *layout) error {
	rows, err := db.QueryContext(ctx, "SELECT 1 FROM "+l.table+" WHERE 1 = 0")
	if err != nil {
		return err
	}
	return rows.Close()
}

// columnRoles says what the configuration uses column c for.
func columnRoles(t Table, c string) string {
	var roles []string
	if c == t.PrimaryKey {
		roles = append(roles, "primary_key")
	}
	if c == t.Scope {
		roles = append(roles, "scope")
	}
	for _, id := range t.IDs {
		if id.Column == c {
			roles = append(roles, "ids")
		}
	}
	for _, f := range t.Fields {
		if f.Column == c {
			roles = append(roles, "encrypted")
		}
	}
	for _, ix := range t.Indexes {
		if ix.Column == c {
			roles = append(roles, "indexes")
		}
	}
	return strings.Join(roles, ", ")
}
