package reencrypt_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/reencrypt"
)

// TestDriftSampleSpansTheKeyOrder: the drift check samples four pages of
// 16 rows spread over the key order, integer and text keys alike: the
// first rows, the last, and the rows after the points a third and two
// thirds of the way. A sample of the first rows alone would, on a resumed
// job, see only rows the job rewrote from the description itself.
func TestDriftSampleSpansTheKeyOrder(t *testing.T) {
	eachDB(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		text := "TEXT"
		if db.d == reencrypt.MySQL {
			text = "VARCHAR(64)"
		}
		for _, kt := range []reencrypt.KeyType{reencrypt.KeyInteger, reencrypt.KeyText} {
			t.Run(string(kt), func(t *testing.T) {
				table := "sample_" + string(kt)
				keyDecl := "BIGINT PRIMARY KEY"
				if kt == reencrypt.KeyText {
					keyDecl = text + " PRIMARY KEY"
					if db.d == reencrypt.MySQL {
						keyDecl = "VARCHAR(16) PRIMARY KEY"
					}
				}
				if _, err := db.ExecContext(ctx, fmt.Sprintf("CREATE TABLE %s (id %s, tenant_id %s NOT NULL, name TEXT, email TEXT, email_idx %s, phone TEXT, phone_idx %s, notes TEXT)",
					table, keyDecl, text, text, text)); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Exec("DROP TABLE " + table) })
				const n = 900
				key := func(i int) any {
					if kt == reencrypt.KeyText {
						return fmt.Sprintf("k%04d", i)
					}
					return int64(i)
				}
				tx, err := db.BeginTx(ctx, nil)
				if err != nil {
					t.Fatal(err)
				}
				for i := range n {
					if _, err := tx.ExecContext(ctx, "INSERT INTO "+table+" (id, tenant_id) VALUES ("+db.ph(1)+", 'acme')", key(i)); err != nil {
						t.Fatal(err)
					}
				}
				if err := tx.Commit(); err != nil {
					t.Fatal(err)
				}
				tab := contactsTable(t)
				tab.Name, tab.KeyType = table, kt
				got, err := reencrypt.SampleKeys(ctx, db.DB, db.d, tab)
				if err != nil {
					t.Fatal(err)
				}
				var want []string
				page := func(from int) {
					for i := from; i < from+16; i++ {
						want = append(want, fmt.Sprint(key(i)))
					}
				}
				page(0)
				for i := n - 1; i >= n-16; i-- {
					want = append(want, fmt.Sprint(key(i)))
				}
				if kt == reencrypt.KeyInteger {
					// MIN 0, MAX 899: the points are 899/3 = 299 and
					// 2×299 = 598, and the pages the keys after them.
					page(300)
					page(599)
				} else {
					page(300) // after the 300th key in order
					page(600)
				}
				slices.Sort(got)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Errorf("sampled keys:\n%v\nwant:\n%v", got, want)
				}
			})
		}
	})
}
