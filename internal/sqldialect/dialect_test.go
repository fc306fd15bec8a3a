package sqldialect_test

import (
	"testing"

	"github.com/fieldcrypt/fieldcrypt/internal/sqldialect"
)

func TestString(t *testing.T) {
	for d, want := range map[sqldialect.Dialect]string{
		sqldialect.Postgres: "PostgreSQL",
		sqldialect.SQLite:   "SQLite",
		sqldialect.MySQL:    "MySQL",
		0:                   "Dialect(0)",
		9:                   "Dialect(9)",
	} {
		if got := d.String(); got != want {
			t.Errorf("Dialect(%d).String() = %q, want %q", int(d), got, want)
		}
	}
}

func TestValid(t *testing.T) {
	for d, want := range map[sqldialect.Dialect]bool{
		sqldialect.Postgres: true,
		sqldialect.SQLite:   true,
		sqldialect.MySQL:    true,
		0:                   false,
		4:                   false,
		-1:                  false,
	} {
		if got := d.Valid(); got != want {
			t.Errorf("%v.Valid() = %v, want %v", d, got, want)
		}
	}
}

func TestParse(t *testing.T) {
	for name, want := range map[string]sqldialect.Dialect{
		"postgres": sqldialect.Postgres, "PostgreSQL": sqldialect.Postgres, "pgx": sqldialect.Postgres,
		"sqlite": sqldialect.SQLite, "SQLite3": sqldialect.SQLite,
		"mysql": sqldialect.MySQL, "MariaDB": sqldialect.MySQL,
	} {
		if got, err := sqldialect.Parse(name); got != want || err != nil {
			t.Errorf("Parse(%q) = %v, %v; want %v", name, got, err, want)
		}
	}
	for _, name := range []string{"", "oracle", "postgres ", "pg"} {
		if got, err := sqldialect.Parse(name); err == nil {
			t.Errorf("Parse(%q) = %v, nil; want an error", name, got)
		}
	}
}
