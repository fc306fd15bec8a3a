package sqlcrypt_test

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/sqlcrypt"
)

// TestPgx: CopyFrom stores ciphertexts and leaves the caller's records in
// plaintext; CollectRows, with pgx's own RowToFuncs, and Decrypting return
// plaintext; a lookup through the pgx pool (the index values as one
// text[]) finds exactly what a plaintext filter finds.
func TestPgx(t *testing.T) {
	db := openDB(t, sqlcrypt.Postgres)
	e := newEnv(t)
	ctx := t.Context()
	var want []Contact
	for _, c := range sampleContacts("acme", 1, 40) {
		want = append(want, *c)
	}
	want[7].Email = "Shared@Example.com"
	want[30].Email = "shared@example.com "

	n, err := sqlcrypt.CopyFrom(ctx, e.enc, db.pool, pgx.Identifier{"contacts"}, contactColumns, want)
	if err != nil || n != int64(len(want)) {
		t.Fatalf("CopyFrom = %d, %v; want %d rows", n, err, len(want))
	}
	if want[0].Name != "Contact 1" || want[0].EmailIdx != "" {
		t.Errorf("CopyFrom changed the caller's record: %+v", want[0])
	}
	var name string
	var notes []byte
	if err := db.pool.QueryRow(ctx, "SELECT name, notes FROM contacts WHERE id = 1").Scan(&name, &notes); err != nil {
		t.Fatal(err)
	}
	if _, err := crypt.InspectText(name); err != nil || strings.Contains(name, "Contact") {
		t.Errorf("stored name %.20q...: InspectText err = %v, want a ciphertext", name, err)
	}
	if _, err := crypt.InspectBinary(notes); err != nil {
		t.Errorf("stored notes: InspectBinary err = %v, want a ciphertext", err)
	}

	rows, _ := db.pool.Query(ctx, "SELECT * FROM contacts ORDER BY id")
	got, err := sqlcrypt.CollectRows(ctx, e.enc, rows, pgx.RowToStructByName[Contact])
	if err != nil || len(got) != len(want) {
		t.Fatalf("CollectRows = %d records, %v; want %d", len(got), err, len(want))
	}
	for i := range want {
		w := want[i]
		w.EmailIdx = got[i].EmailIdx
		if !reflect.DeepEqual(got[i], w) || got[i].EmailIdx == "" {
			t.Errorf("CollectRows record %d = %+v, want %+v", i, got[i], w)
		}
	}

	rows, _ = db.pool.Query(ctx, "SELECT id, tenant_id, email FROM contacts WHERE id = $1", 2)
	ptrs, err := sqlcrypt.CollectRows(ctx, e.enc, rows, pgx.RowToAddrOfStructByNameLax[Contact])
	if err != nil || len(ptrs) != 1 || ptrs[0].Email != want[1].Email {
		t.Errorf("CollectRows(RowToAddrOfStructByNameLax) = %v, %v; want contact 2", ptrs, err)
	}

	rows, _ = db.pool.Query(ctx, "SELECT * FROM contacts WHERE id = $1", 3)
	one, err := pgx.CollectExactlyOneRow(rows, sqlcrypt.Decrypting(ctx, e.enc, pgx.RowToStructByName[Contact]))
	if err != nil || one.Name != want[2].Name || one.Email != want[2].Email || string(one.Notes) != string(want[2].Notes) {
		t.Errorf("CollectExactlyOneRow(Decrypting) = %+v, %v; want contact 3", one, err)
	}

	falsePositives := 0
	for _, q := range []string{"shared@example.com", "PERSON9@example.com", "nobody@example.com"} {
		probe := &Contact{TenantID: "acme", Email: q}
		cond, args, err := sqlcrypt.Lookup(ctx, e.enc, sqlcrypt.Postgres, probe, "EmailIdx", 1)
		if err != nil {
			t.Fatalf("Lookup(%q) err = %v", q, err)
		}
		rows, _ := db.pool.Query(ctx, "SELECT * FROM contacts WHERE "+cond+" ORDER BY id", args...)
		candidates, err := sqlcrypt.CollectRows(ctx, e.enc, rows, pgx.RowToStructByName[Contact])
		if err != nil {
			t.Fatalf("CollectRows(lookup %q) err = %v", q, err)
		}
		rows, _ = db.pool.Query(ctx, "SELECT * FROM contacts WHERE "+cond+" ORDER BY id", args...)
		found, err := sqlcrypt.CollectRows(ctx, e.enc, rows, pgx.RowToStructByName[Contact], sqlcrypt.Match(probe, "EmailIdx"))
		if err != nil {
			t.Fatalf("CollectRows(lookup %q, Match) err = %v", q, err)
		}
		var wantIDs []int64
		for _, c := range want {
			if normEmail(c.Email) == normEmail(q) {
				wantIDs = append(wantIDs, c.ID)
			}
		}
		if got := ids(found); !slices.Equal(got, wantIDs) {
			t.Errorf("lookup %q found %v, want %v", q, got, wantIDs)
		}
		falsePositives += len(candidates) - len(found)
	}
	if falsePositives == 0 {
		t.Error("the 2-bit index found no false positives; the test proves nothing")
	}
}

// TestCollectRowsErrors: a moved ciphertext stops CollectRows with
// crypt.ErrDecrypt; a class this process cannot read does not, and its
// AccessError comes back with every record.
func TestCollectRowsErrors(t *testing.T) {
	db := openDB(t, sqlcrypt.Postgres)
	e := newEnv(t)
	ctx := t.Context()
	db.insert(t, e.enc, sampleContacts("acme", 1, 4)...)

	piiOnly := crypt.New(e.newKeyring(t, map[string]string{"pii": e.keks["pii"]}), nil)
	rows, _ := db.pool.Query(ctx, "SELECT * FROM contacts ORDER BY id")
	got, err := sqlcrypt.CollectRows(ctx, piiOnly, rows, pgx.RowToStructByName[Contact])
	var access *crypt.AccessError
	var rowErr *sqlcrypt.RowError
	if !errors.As(err, &access) || !errors.As(err, &rowErr) || rowErr.Row != 0 || len(got) != 4 {
		t.Fatalf("CollectRows without the support KEK = %d records, %v; want 4 and an AccessError for row 0", len(got), err)
	}
	if got[3].Name != "Contact 4" {
		t.Errorf("record 3 name = %q, want it decrypted", got[3].Name)
	}
	rows, _ = db.pool.Query(ctx, "SELECT * FROM contacts ORDER BY id")
	probe := &Contact{TenantID: "acme", Email: "person1@example.com"}
	got, err = sqlcrypt.CollectRows(ctx, piiOnly, rows, pgx.RowToStructByName[Contact], sqlcrypt.Match(probe, "EmailIdx"))
	if !errors.As(err, &access) || got != nil {
		t.Errorf("CollectRows(Match) without the support KEK = %d records, %v; want none and the AccessError", len(got), err)
	}
	rows, _ = db.pool.Query(ctx, "SELECT * FROM contacts WHERE id = 1")
	one, err := pgx.CollectOneRow(rows, sqlcrypt.Decrypting(ctx, piiOnly, pgx.RowToStructByName[Contact]))
	if !errors.Is(err, crypt.ErrNoAccess) || one.Email != "person1@example.com" {
		t.Errorf("CollectOneRow(Decrypting) without the support KEK = %q, %v; want the e-mail and crypt.ErrNoAccess", one.Email, err)
	}

	if _, err := db.pool.Exec(ctx, "UPDATE contacts SET name = (SELECT name FROM contacts WHERE id = 1) WHERE id = 3"); err != nil {
		t.Fatal(err)
	}
	rows, _ = db.pool.Query(ctx, "SELECT * FROM contacts ORDER BY id")
	got, err = sqlcrypt.CollectRows(ctx, e.enc, rows, pgx.RowToStructByName[Contact])
	if !errors.Is(err, crypt.ErrDecrypt) || !errors.As(err, &rowErr) || rowErr.Row != 2 || got != nil {
		t.Errorf("CollectRows(moved ciphertext) = %d records, %v; want none and crypt.ErrDecrypt for row 2", len(got), err)
	}
	rows, _ = db.pool.Query(ctx, "SELECT * FROM contacts WHERE id = 3")
	if _, err := pgx.CollectOneRow(rows, sqlcrypt.Decrypting(ctx, e.enc, pgx.RowToStructByName[Contact])); !errors.Is(err, crypt.ErrDecrypt) {
		t.Errorf("CollectOneRow(Decrypting, moved ciphertext) err = %v, want crypt.ErrDecrypt", err)
	}

	rows, _ = db.pool.Query(ctx, "SELECT id, 1 AS extra FROM contacts")
	if _, err := sqlcrypt.CollectRows(ctx, e.enc, rows, pgx.RowToStructByName[Contact]); err == nil {
		t.Error("CollectRows(a column no field has) err = nil, want pgx's error")
	}
}

// TestCopyFromErrors: a column no field has, and a record that does not
// encrypt, fail the copy and write nothing.
func TestCopyFromErrors(t *testing.T) {
	db := openDB(t, sqlcrypt.Postgres)
	e := newEnv(t)
	ctx := t.Context()
	records := []Contact{{ID: 1, TenantID: "acme", Email: "a@example.com"}, {ID: 2, Email: "no-tenant@example.com"}}

	_, err := sqlcrypt.CopyFrom(ctx, e.enc, db.pool, pgx.Identifier{"contacts"}, []string{"id", "mail"}, records)
	var colErr *sqlcrypt.ColumnError
	if !errors.As(err, &colErr) || colErr.Column != "mail" {
		t.Errorf("CopyFrom(column mail) err = %v, want a ColumnError for \"mail\"", err)
	}
	n, err := sqlcrypt.CopyFrom(ctx, e.enc, db.pool, pgx.Identifier{"contacts"}, contactColumns, records)
	var rowErr *sqlcrypt.RowError
	if !errors.Is(err, crypt.ErrMissingScope) || !errors.As(err, &rowErr) || rowErr.Row != 1 || n != 0 {
		t.Errorf("CopyFrom(record without a tenant) = %d, %v; want 0 and crypt.ErrMissingScope for row 1", n, err)
	}
	var rows int
	if err := db.pool.QueryRow(ctx, "SELECT count(*) FROM contacts").Scan(&rows); err != nil || rows != 0 {
		t.Errorf("rows after failed copies = %d, %v; want 0", rows, err)
	}
}
