package sqlstore_test

import (
	"database/sql"
	"strings"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/keyring/sqlstore"
)

func TestNew(t *testing.T) {
	// sql.Open does not connect, and New does not touch the database.
	db, err := sql.Open("sqlite", "file::memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, tc := range []struct {
		name    string
		db      *sql.DB
		dialect sqlstore.Dialect
		table   string
		ok      bool
	}{
		{"defaults", db, sqlstore.SQLite, "", true},
		{"PostgreSQL", db, sqlstore.Postgres, "keysets", true},
		{"MySQL", db, sqlstore.MySQL, "keysets", true},
		{"qualified", db, sqlstore.Postgres, "crypto.fieldcrypt_keysets", true},
		{"upper case and digits", db, sqlstore.Postgres, "_Keysets2", true},
		{"63 bytes", db, sqlstore.Postgres, strings.Repeat("k", 63), true},
		{"nil db", nil, sqlstore.Postgres, "", false},
		{"zero dialect", db, 0, "", false},
		{"unknown dialect", db, 7, "", false},
		{"64 bytes", db, sqlstore.Postgres, strings.Repeat("k", 64), false},
		{"leading digit", db, sqlstore.Postgres, "1keysets", false},
		{"two dots", db, sqlstore.Postgres, "a.b.c", false},
		{"empty schema", db, sqlstore.Postgres, ".keysets", false},
		{"empty table", db, sqlstore.Postgres, "crypto.", false},
		{"space", db, sqlstore.Postgres, "key sets", false},
		{"hyphen", db, sqlstore.Postgres, "key-sets", false},
		{"double quote", db, sqlstore.Postgres, `keysets"; DROP TABLE x; --`, false},
		{"backtick", db, sqlstore.MySQL, "keysets`", false},
		{"semicolon", db, sqlstore.SQLite, "keysets;", false},
		{"placeholder", db, sqlstore.Postgres, "keysets?", false},
		{"non-ASCII", db, sqlstore.Postgres, "clés", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := sqlstore.New(tc.db, tc.dialect, &sqlstore.Options{Table: tc.table})
			switch {
			case tc.ok && (err != nil || s == nil):
				t.Errorf("New(%v, %q) = %v, %v, want a store", tc.dialect, tc.table, s, err)
			case !tc.ok && err == nil:
				t.Errorf("New(%v, %q) err = nil, want error", tc.dialect, tc.table)
			}
		})
	}
	if _, err := sqlstore.New(db, sqlstore.SQLite, nil); err != nil {
		t.Errorf("New(nil options) err = %v, want nil", err)
	}
}

func TestDialectString(t *testing.T) {
	for d, want := range map[sqlstore.Dialect]string{
		sqlstore.Postgres: "PostgreSQL",
		sqlstore.SQLite:   "SQLite",
		sqlstore.MySQL:    "MySQL",
		9:                 "Dialect(9)",
	} {
		if got := d.String(); got != want {
			t.Errorf("Dialect(%d).String() = %q, want %q", int(d), got, want)
		}
	}
}
