package sqlcrypt_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/sqlcrypt"
)

// TestFilterRefusesResultWithoutItsColumns plays a service whose SELECT
// leaves out a column a search's filter compares: the index's source, or
// the scope. The filter would read the field's zero value, drop every
// candidate, and the search would miss every row silently. Both
// collectors refuse the result, naming the column, before any row is
// read; the same search with the column selected finds the rows.
func TestFilterRefusesResultWithoutItsColumns(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		e := newEnv(t)

		// Equality: Match over the blind index EmailIdx, whose source is
		// the encrypted email column.
		probe, cond, args := lookupThird(t, db, e)
		// Token index: Search over NamePrefix (source name) and the
		// shared set index reach (sources home, work, emails).
		db.createPersons(t)
		lovelace := &Person{ID: 1, TenantID: "acme", Name: "Ada Lovelace", Born: "1915-12-10", Home: "h1", Work: "w1"}
		other := &Person{ID: 2, TenantID: "acme", Name: "Grace Hopper", Born: "1906-12-09", Home: "h2", Work: "w2"}
		db.writePersons(t, e.enc, "sql", lovelace, other)
		searchOf := func(index string, term crypt.Term) (string, []any, sqlcrypt.Filter) {
			cond, args, match, err := sqlcrypt.Search(ctx, e.enc, db.d, "persons", &Person{TenantID: "acme"}, index, term, 1)
			if err != nil {
				t.Fatalf("Search(%s): %v", index, err)
			}
			return cond, args, match
		}

		cases := []filterCase{
			{"equality without its source", "id, tenant_id, email_idx FROM contacts", cond, args, sqlcrypt.Match(probe, "EmailIdx"), false, "email", nil},
			{"equality without the scope", "id, name, email, email_idx FROM contacts", cond, args, sqlcrypt.Match(probe, "EmailIdx"), false, "tenant_id", nil},
			{"equality with both", "id, tenant_id, email FROM contacts", cond, args, sqlcrypt.Match(probe, "EmailIdx"), false, "", []int64{3}},
		}
		pc, pa, pm := searchOf("NamePrefix", crypt.HasPrefix("ada"))
		cases = append(cases,
			filterCase{"prefix without its source", "id, tenant_id, born FROM persons", pc, pa, pm, true, "name", nil},
			filterCase{"prefix with its source", "id, tenant_id, name FROM persons", pc, pa, pm, true, "", []int64{1}},
		)
		sc, sa, sm := searchOf("reach", crypt.Equals("W1"))
		cases = append(cases,
			filterCase{"shared set without one of its sources", "id, tenant_id, home, emails FROM persons", sc, sa, sm, true, "work", nil},
			filterCase{"shared set with its sources", "id, tenant_id, home, work, emails FROM persons", sc, sa, sm, true, "", []int64{1}},
		)

		for _, tc := range cases {
			q := "SELECT " + tc.query + " WHERE " + tc.cond + " ORDER BY id"
			check := func(t *testing.T, got []int64, err error) {
				t.Helper()
				if tc.missing == "" {
					if err != nil || !slices.Equal(got, tc.want) {
						t.Errorf("%s: found %v, %v; want %v", q, got, err, tc.want)
					}
					return
				}
				var ce *sqlcrypt.ColumnError
				if !errors.As(err, &ce) || ce.Column != tc.missing || got != nil {
					t.Errorf("%s: found %v, %v; want no records and a *sqlcrypt.ColumnError naming %q", q, got, err, tc.missing)
				}
			}
			t.Run(tc.name+"/ScanAll", func(t *testing.T) {
				rows, err := db.db.QueryContext(ctx, db.d.Rebind(q), tc.args...)
				if err != nil {
					t.Fatal(err)
				}
				if tc.person {
					got, err := sqlcrypt.ScanAll[Person](ctx, e.enc, rows, tc.filter)
					check(t, personIDs(got), err)
				} else {
					got, err := sqlcrypt.ScanAll[Contact](ctx, e.enc, rows, tc.filter)
					check(t, nilIDs(got), err)
				}
			})
			if db.pool == nil {
				continue
			}
			t.Run(tc.name+"/CollectRows", func(t *testing.T) {
				rows, err := db.pool.Query(ctx, q, tc.args...)
				if err != nil {
					t.Fatal(err)
				}
				if tc.person {
					got, err := sqlcrypt.CollectRows(ctx, e.enc, rows, pgx.RowToStructByNameLax[Person], tc.filter)
					check(t, personIDs(got), err)
				} else {
					got, err := sqlcrypt.CollectRows(ctx, e.enc, rows, pgx.RowToStructByNameLax[Contact], tc.filter)
					check(t, nilIDs(got), err)
				}
			})
		}
	})
}

// lookupThird inserts six contacts of acme and returns the probe for the
// third one's e-mail, with the condition of its lookup by EmailIdx (whose
// two bits find others too: only its filter keeps the third alone).
func lookupThird(t *testing.T, db *testDB, e *env) (probe *Contact, cond string, args []any) {
	t.Helper()
	contacts := sampleContacts("acme", 1, 6)
	db.insert(t, e.enc, contacts...)
	probe = &Contact{TenantID: "acme", Email: contacts[2].Email}
	cond, args, err := sqlcrypt.Lookup(context.Background(), e.enc, db.d, probe, "EmailIdx", 1)
	if err != nil {
		t.Fatal(err)
	}
	return probe, cond, args
}

// filterCase is a search whose result may lack a column its filter reads.
type filterCase struct {
	name    string
	query   string // the SELECT's column list and table
	cond    string
	args    []any
	filter  sqlcrypt.Filter
	person  bool    // a search of persons (token indexes), not contacts
	missing string  // the column the refusal names; "" for a result that holds them all
	want    []int64 // the IDs found when nothing is missing
}

// nilIDs is ids, keeping nil for no records.
func nilIDs(cs []Contact) []int64 {
	if cs == nil {
		return nil
	}
	return ids(cs)
}

func personIDs(ps []Person) []int64 {
	if ps == nil {
		return nil
	}
	out := []int64{}
	for _, p := range ps {
		out = append(out, p.ID)
	}
	return out
}

// TestFilterColumnsOfPositionalScan reads a search's result by position,
// with pgx.RowToStructByPos or a function of the caller's, under column
// names that are not the struct's: an alias, an expression. Such a result
// holds every column the filter compares, whatever they are called, and
// CollectRows takes any pgx.RowToFunc: the search finds the row.
func TestFilterColumnsOfPositionalScan(t *testing.T) {
	db := openDB(t, sqlcrypt.Postgres)
	ctx := context.Background()
	e := newEnv(t)
	probe, cond, args := lookupThird(t, db, e)
	byHand := func(row pgx.CollectableRow) (Contact, error) {
		var c Contact
		err := row.Scan(&c.ID, &c.TenantID, &c.Email, &c.EmailIdx)
		return c, err
	}
	for _, tc := range []struct {
		name, query string
		scan        pgx.RowToFunc[Contact]
	}{
		{"RowToStructByPos, an alias", "id, tenant_id, name, email AS contact_email, email_idx, phone, notes, company", pgx.RowToStructByPos[Contact]},
		{"RowToStructByPos, an expression", "id, tenant_id AS tenant, name, coalesce(email, ''), email_idx, phone, notes, company", pgx.RowToStructByPos[Contact]},
		{"a function of the caller's", "c.id, c.tenant_id AS t, c.email AS e, c.email_idx FROM contacts c WHERE true", byHand},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := "SELECT " + tc.query
			if !strings.Contains(q, "FROM") {
				q += " FROM contacts WHERE true"
			}
			q += " AND " + cond + " ORDER BY id"
			rows, err := db.pool.Query(ctx, q, args...)
			if err != nil {
				t.Fatal(err)
			}
			got, err := sqlcrypt.CollectRows(ctx, e.enc, rows, tc.scan, sqlcrypt.Match(probe, "EmailIdx"))
			if err != nil || !slices.Equal(nilIDs(got), []int64{3}) {
				t.Errorf("CollectRows(%s) found %v, %v; want [3]", q, nilIDs(got), err)
			}
		})
	}
}
