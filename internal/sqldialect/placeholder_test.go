package sqldialect_test

import (
	"testing"

	"github.com/fieldcrypt/fieldcrypt/internal/sqldialect"
)

func TestRebind(t *testing.T) {
	const q = "UPDATE t SET a = ?, b = ? WHERE k = ? AND v = ?"
	if got, want := sqldialect.Postgres.Rebind(q), "UPDATE t SET a = $1, b = $2 WHERE k = $3 AND v = $4"; got != want {
		t.Errorf("Postgres.Rebind = %q, want %q", got, want)
	}
	for _, d := range []sqldialect.Dialect{sqldialect.SQLite, sqldialect.MySQL} {
		if got := d.Rebind(q); got != q {
			t.Errorf("%v.Rebind = %q, want it unchanged", d, got)
		}
	}
	// Runes other than '?' are copied as they are; ten markers and more
	// take two digits.
	q2 := "SELECT 'é' " + "?,?,?,?,?,?,?,?,?,?,?"
	if got, want := sqldialect.Postgres.Rebind(q2), "SELECT 'é' $1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11"; got != want {
		t.Errorf("Postgres.Rebind = %q, want %q", got, want)
	}
	if got := sqldialect.Postgres.Rebind("SELECT 1"); got != "SELECT 1" {
		t.Errorf("Postgres.Rebind without markers = %q", got)
	}
}

func TestPlaceholders(t *testing.T) {
	for d, want := range map[sqldialect.Dialect][]string{
		sqldialect.Postgres: {"$1", "$2", "$3"},
		sqldialect.SQLite:   {"?", "?", "?"},
		sqldialect.MySQL:    {"?", "?", "?"},
	} {
		p := d.Placeholders()
		for i, w := range want {
			if got := p.Next(); got != w {
				t.Errorf("%v: marker %d = %q, want %q", d, i+1, got, w)
			}
		}
		if got := d.Placeholders().Next(); got != want[0] {
			t.Errorf("%v: a new statement starts at %q, want %q", d, got, want[0])
		}
	}
}
