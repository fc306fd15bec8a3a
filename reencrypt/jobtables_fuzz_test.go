package reencrypt_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/fieldcrypt/fieldcrypt/reencrypt"
)

// FuzzJobRows replaces what a job reads back of its own state, its range's
// bounds and checkpoint, the range's and the job's state and the
// fingerprint it started with, with arbitrary values, and resumes the job
// (SQLite). The run must not panic or hang, and a refusal is a typed error:
// a *reencrypt.ConfigError naming the key column for a stored key that is
// not one, ErrJobChanged for another fingerprint.
func FuzzJobRows(f *testing.F) {
	ctx := context.Background()
	db := openSQLite(f)
	k := newKeys(f)
	db.createContacts(f)
	db.seed(f, k.encryptor(f), 20, 2)
	tab := contactsTable(f)
	if _, err := reencrypt.Run(ctx, db.DB, db.d, k.encryptor(f), tab, &reencrypt.Options{Job: "j", BatchSize: 8}); err != nil {
		f.Fatal(err)
	}
	enc := k.encryptor(f)
	f.Add("", "", "5", uint8(4), "running", "running", false)
	f.Add("3", "17", "", uint8(0), "pending", "running", false)
	f.Add("x", "", "", uint8(1), "pending", "running", false)
	f.Add("", "", "9223372036854775808", uint8(4), "running", "running", false)
	f.Add("", "1e3", "", uint8(2), "bogus", "bogus", true)
	f.Add("20", "3", "10", uint8(7), "done", "done", false)
	f.Fuzz(func(t *testing.T, lo, hi, last string, nulls uint8, state, jobState string, otherPrint bool) {
		nullable := func(s string, bit uint8) any {
			if nulls&bit == 0 {
				return nil
			}
			return s
		}
		print := any(tab.Fingerprint())
		if otherPrint {
			print = lo + hi
		}
		if _, err := db.ExecContext(ctx, "UPDATE "+reencrypt.RangesTable+" SET lo = ?, hi = ?, last_pk = ?, state = ?, owner = NULL, run_id = NULL, token = NULL, lease_ms = NULL WHERE job = 'j'",
			nullable(lo, 1), nullable(hi, 2), nullable(last, 4), state); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, "UPDATE "+reencrypt.JobsTable+" SET state = ?, table_sha256 = ? WHERE name = 'j'", jobState, print); err != nil {
			t.Fatal(err)
		}
		rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		_, err := reencrypt.Run(rctx, db.DB, db.d, enc, tab, &reencrypt.Options{Job: "j", BatchSize: 8})
		if err == nil {
			return
		}
		if rctx.Err() != nil {
			t.Fatalf("Run() did not finish in 20s: %v", err)
		}
		var ce *reencrypt.ConfigError
		switch {
		case errors.As(err, &ce):
			if ce.Table != tab.Name || ce.Column != tab.PrimaryKey {
				t.Fatalf("Run() err = %v: names %s.%s, not the key column %s.%s", err, ce.Table, ce.Column, tab.Name, tab.PrimaryKey)
			}
		case errors.Is(err, reencrypt.ErrJobChanged):
			if !otherPrint {
				t.Fatalf("Run() err = %v with the job's own fingerprint", err)
			}
		default:
			t.Fatalf("Run() err = %T %v, want a *reencrypt.ConfigError or ErrJobChanged", err, err)
		}
	})
}
