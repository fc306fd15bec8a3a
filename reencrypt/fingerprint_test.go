package reencrypt_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/reencrypt"
)

// stopAfterFirstBatch runs the job until its first batch is about to be
// written, then stops it, as an operator's Ctrl-C does: the job is
// planned and part of it is left.
func stopAfterFirstBatch(t *testing.T, db *testDB, enc *crypt.Encryptor, tab reencrypt.Table, job string) {
	t.Helper()
	stopped, stop := context.WithCancel(context.Background())
	opts := &reencrypt.Options{Job: job, BatchSize: 10, RangeSize: 1000}
	reencrypt.BeforeWrite(opts, func(context.Context, []any) { stop() })
	if sum, err := reencrypt.Run(stopped, db.DB, db.d, enc, tab, opts); err != nil || sum.Outcome != reencrypt.Partial {
		t.Fatalf("Run(stopped) = %s, %v; want partial", js(sum), err)
	}
}

// TestJobFingerprint plays an engineer who edits the table's description
// while a job is half done: the rows already rewritten follow the old
// description, so resuming under the new one is refused, with what
// changed and how to go on. A restart runs under the new description; the
// same description resumes. A job row written before fingerprints were
// kept, in a jobs table without the column (services keep their job
// tables between versions), is upgraded and adopts the current
// description.
func TestJobFingerprint(t *testing.T) {
	eachDB(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		const n = 60
		k := newKeys(t)
		app := k.encryptor(t)
		db.createContacts(t)
		db.seed(t, app, n, 2)
		rotate(t, app.Keyring(), keyring.PurposeData, tenantNames(2), classes...)
		tab, _ := driftConfig(t, "record:", "record:")
		// The same values, described without the phone index: the drift
		// check has nothing against it, the fingerprint has.
		changed, _ := driftConfig(t, "- {column: phone_idx", "# phone_idx left out")
		if tab.Fingerprint() == changed.Fingerprint() {
			t.Fatalf("Fingerprint() is the same for two descriptions")
		}

		stopAfterFirstBatch(t, db, k.encryptor(t), tab, "fp")
		sum, err := reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), changed, &reencrypt.Options{Job: "fp"})
		if !errors.Is(err, reencrypt.ErrJobChanged) || sum.Outcome != reencrypt.Failed || sum.Scanned != 0 {
			t.Fatalf("Run(resumed, changed description) = %s, %v; want failed with ErrJobChanged", js(sum), err)
		}
		for _, want := range []string{`job "fp"`, "changed since the job started", "finish the job with the description it started with", "--restart"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("Run(resumed, changed description) err = %q, want it to say %q", err, want)
			}
		}
		if sum, err := reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), changed, &reencrypt.Options{Job: "fp", Restart: true}); err != nil || sum.Outcome != reencrypt.Done {
			t.Errorf("Run(restarted, changed description) = %s, %v; want done", js(sum), err)
		}

		rotate(t, app.Keyring(), keyring.PurposeData, tenantNames(2), classes...)
		stopAfterFirstBatch(t, db, k.encryptor(t), tab, "fp-same")
		if sum, err := reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), tab, &reencrypt.Options{Job: "fp-same"}); err != nil || sum.Outcome != reencrypt.Done || sum.JobTotals.Rows != n {
			t.Errorf("Run(resumed, same description) = %s, %v; want done, %d rows over both runs", js(sum), err, n)
		}

		// A jobs table from before the fingerprint column.
		rotate(t, app.Keyring(), keyring.PurposeData, tenantNames(2), classes...)
		stopAfterFirstBatch(t, db, k.encryptor(t), tab, "fp-old")
		if _, err := db.Exec("ALTER TABLE " + reencrypt.JobsTable + " DROP COLUMN table_sha256"); err != nil {
			t.Fatalf("dropping the fingerprint column: %v", err)
		}
		if sum, err := reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), changed, &reencrypt.Options{Job: "fp-old"}); err != nil || sum.Outcome != reencrypt.Done {
			t.Errorf("Run(resumed, job from before fingerprints) = %s, %v; want done", js(sum), err)
		}
		var got string
		if err := db.QueryRow("SELECT table_sha256 FROM "+reencrypt.JobsTable+" WHERE name = "+db.ph(1), "fp-old").Scan(&got); err != nil || got != changed.Fingerprint() {
			t.Errorf("fingerprint of the upgraded job = %q, %v; want the adopted %q", got, err, changed.Fingerprint())
		}
	})
}

// TestFingerprintCanonical checks that Fingerprint resolves defaults and
// ignores the order of columns, and that every part of the description
// that decides stored values changes it.
func TestFingerprintCanonical(t *testing.T) {
	base, _ := driftConfig(t, "record:", "record:")
	same := []struct{ from, to string }{
		{"primary_key: id", "primary_key: id\n    key_type: integer"},                                                                       // the default key type
		{"- {column: id, name: ID}", "- {column: id, name: ID} # a comment"},                                                                // formatting
		{"- {column: email_idx", "- {class: pii, bits: 32, column: email_idx, name: EmailIdx, sources: [email], transforms: lower+trim} #"}, // the default index class, keys reordered
	}
	for _, c := range same {
		tab, _ := driftConfig(t, c.from, c.to)
		if tab.Fingerprint() != base.Fingerprint() {
			t.Errorf("Fingerprint() changed when %q became %q, which describes the same values", c.from, c.to)
		}
	}
	differ := []struct{ from, to string }{
		{"- {column: name,", "- {column: name, name: FullName, class: pii} #"},
		{"- {column: notes", "- {column: notes, name: Notes, class: pii, binary: true} #"},
		{"- {column: email_idx", "- {column: email_idx, name: EmailIdx, sources: [email], transforms: lower, bits: 32} #"},
		{"- {column: email_idx", "- {column: email_idx, name: EmailIdx, sources: [email], transforms: lower+trim, bits: 31} #"},
		{"- {column: email_idx", "- {column: email_idx, name: EmailIdx, sources: [email], transforms: lower+trim, bits: 32, slow: true} #"},
		{"- {column: id, name: ID}", "- {column: id, name: Id}"},
		{"record: contact", "record: person"},
		{"primary_key: id", "primary_key: id\n    key_type: text"},
	}
	for _, c := range differ {
		tab, _ := driftConfig(t, c.from, c.to)
		if tab.Fingerprint() == base.Fingerprint() {
			t.Errorf("Fingerprint() unchanged when %q became %q", c.from, c.to)
		}
	}
}
