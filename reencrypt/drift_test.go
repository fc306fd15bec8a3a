package reencrypt_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/keyring/filestore"
	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/local"
	"github.com/fieldcrypt/fieldcrypt/reencrypt"
)

// contactsYAML is testdata/contacts.yaml's table, written here so that a
// test can change one line and know where it is. Its encrypted and index
// lines are replaced by driftConfig.
const contactsYAML = `tables:
  - name: contacts
    primary_key: id
    record: contact
    scope: tenant_id
    ids:
      - {column: id, name: ID}
    encrypted:
      - {column: name, name: Name, class: pii}
      - {column: email, name: Email, class: pii}
      - {column: phone, name: Phone, class: pii}
      - {column: notes, name: Notes, class: support, binary: true}
    indexes:
      - {column: email_idx, name: EmailIdx, sources: [email], transforms: lower+trim, bits: 32}
      - {column: phone_idx, name: PhoneIdx, sources: [phone], transforms: digits+last4, bits: 16}
`

// driftConfig parses contactsYAML with the line that starts with from
// (after its indentation) replaced by to, and returns the table and the
// 1-based line of that column's entry.
func driftConfig(t *testing.T, from, to string) (reencrypt.Table, int) {
	t.Helper()
	lines := strings.Split(contactsYAML, "\n")
	line := 0
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), from) {
			lines[i] = strings.Replace(l, from, to, 1)
			line = i + 1
		}
	}
	if line == 0 {
		t.Fatalf("contactsYAML has no line starting with %q", from)
	}
	cfg, err := reencrypt.ParseConfig([]byte(strings.Join(lines, "\n")))
	if err != nil {
		t.Fatalf("ParseConfig err = %v", err)
	}
	tab, _ := cfg.Table("contacts")
	return tab, line
}

// jobTablesExist reports whether the job tables were created.
func (db *testDB) jobTablesExist() bool {
	rows, err := db.Query("SELECT 1 FROM " + reencrypt.JobsTable)
	if err != nil {
		return false
	}
	rows.Close()
	return true
}

// assertDrift checks that err is a *DriftError about column, of kind,
// whose position is line, and that its message says want; and that it
// shows no stored value.
func assertDrift(t *testing.T, what string, err error, column string, kind reencrypt.DriftKind, line int, want string, stored []*Contact) {
	t.Helper()
	var de *reencrypt.DriftError
	if !errors.Is(err, reencrypt.ErrConfigDrift) || !errors.As(err, &de) {
		t.Fatalf("%s err = %v, want a *DriftError matching ErrConfigDrift", what, err)
	}
	if de.Column != column || de.Kind != kind || de.Line() != line || de.Col() == 0 || de.Table != "contacts" || de.Rows == 0 || de.Rows > de.Evidence {
		t.Errorf("%s err = %+v, want column %s, kind %s, line %d, the table and the count of rows", what, de, column, kind, line)
	}
	msg := err.Error()
	if !strings.Contains(msg, want) || !strings.Contains(msg, "line ") || !strings.Contains(msg, column) {
		t.Errorf("%s err = %q, want it to say %q, the line and the column", what, msg, want)
	}
	for _, c := range stored[:min(len(stored), 20)] {
		for _, v := range []string{c.Name, c.Email, c.EmailIdx, c.PhoneIdx} {
			if v != "" && strings.Contains(msg, v) {
				t.Errorf("%s err shows a stored value: %q", what, msg)
			}
		}
	}
}

// refusedUnchanged runs Run, a dry run and Verify with tab and checks that
// each is refused with a *DriftError as assertDrift wants, before any row
// or job table is written.
func refusedUnchanged(t *testing.T, db *testDB, k *keys, enc *crypt.Encryptor, tab reencrypt.Table, column string, kind reencrypt.DriftKind, line int, want string) {
	t.Helper()
	ctx := context.Background()
	before := db.rawDigest(t)
	stored := db.readContacts(t, "")
	sum, err := reencrypt.Run(ctx, db.DB, db.d, enc, tab, jobOptions("drift"))
	assertDrift(t, "Run", err, column, kind, line, want, stored)
	if sum.Outcome != reencrypt.Failed || sum.Scanned != 0 || sum.Error == "" {
		t.Errorf("Run = %s, want failed before any row was scanned", js(sum))
	}
	dry := jobOptions("drift")
	dry.DryRun = true
	_, err = reencrypt.Run(ctx, db.DB, db.d, enc, tab, dry)
	assertDrift(t, "Run(dry run)", err, column, kind, line, want, stored)
	sum, err = reencrypt.Verify(ctx, db.DB, db.d, enc, tab, nil)
	assertDrift(t, "Verify", err, column, kind, line, want, stored)
	if sum.Outcome != reencrypt.Failed || sum.Scanned != 0 {
		t.Errorf("Verify = %s, want failed before any row was scanned", js(sum))
	}
	assertDrift(t, "CheckDrift", reencrypt.CheckDrift(ctx, db.DB, db.d, enc, tab), column, kind, line, want, stored)
	if db.rawDigest(t) != before {
		t.Errorf("a refused run changed the table")
	}
	if got := db.rewriteCounts(t); got[0] != len(stored) {
		t.Errorf("rows by number of writes = %v, want none written", got)
	}
	if db.jobTablesExist() {
		t.Errorf("a refused run created %s: it should stop before the job is opened", reencrypt.JobsTable)
	}
}

// seededTenants is how many tenants seededMidRotation's contacts have.
const seededTenants = 2

// seededMidRotation seeds the contacts table with 150 contacts of two
// tenants and rotates their keysets of the given purpose and classes, so
// that a run has rows to rewrite.
func seededMidRotation(t *testing.T, db *testDB, purpose keyring.Purpose, cls ...string) *keys {
	t.Helper()
	k := newKeys(t)
	app := k.encryptor(t)
	db.createContacts(t)
	db.seed(t, app, 150, seededTenants)
	rotate(t, app.Keyring(), purpose, tenantNames(seededTenants), cls...)
	return k
}

// TestDriftClassTypo plays a security engineer who copied the table
// description by hand and wrote `class: suport` for the notes column,
// which the application encrypts under `support`. Every run mode refuses
// it before reading the table for real, names the column and its line in
// the YAML, and writes nothing: no row, no job table, no keyset of class
// "suport" (not even with a default KEK, under which a keyring would
// create keysets for any class).
func TestDriftClassTypo(t *testing.T) {
	eachDB(t, func(t *testing.T, db *testDB) {
		k := seededMidRotation(t, db, keyring.PurposeData, classes...) // the job has work to do
		tab, line := driftConfig(t, "- {column: notes", "- {column: notes, name: Notes, class: suport, binary: true} #")

		refusedUnchanged(t, db, k, k.encryptor(t), tab, "notes", reencrypt.DriftClass, line, `class "suport"`)

		t.Run("default KEK", func(t *testing.T) {
			enc := crypt.New(k.keyringWithDefault(t, k.KEKs["support"]), nil)
			refusedUnchanged(t, db, k, enc, tab, "notes", reencrypt.DriftClass, line, `no data keyset of class "suport"`)
			store, err := filestore.Open(filepath.Join(k.Dir, "keysets"))
			if err != nil {
				t.Fatal(err)
			}
			for _, tenant := range tenantNames(seededTenants) {
				list, err := store.List(context.Background(), tenant)
				if err != nil {
					t.Fatal(err)
				}
				for _, rec := range list {
					if rec.ID.Class == "suport" {
						t.Errorf("a refused run created keyset %s", rec.ID)
					}
				}
			}
		})
	})
}

// keyringWithDefault opens k's keyring with a default KEK for every class
// not in k.KEKs.
func (k *keys) keyringWithDefault(t *testing.T, defaultKEK string) *keyring.Keyring {
	t.Helper()
	store, err := filestore.Open(filepath.Join(k.Dir, "keysets"))
	if err != nil {
		t.Fatal(err)
	}
	opener := kms.NewOpener()
	opener.Register(local.Scheme, local.OpenFunc(nil))
	kr, err := keyring.New(keyring.Config{Store: store, Opener: opener, KEKs: k.KEKs, DefaultKEK: defaultKEK})
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// TestDriftIndexTransform plays a description that says `lower` where the
// application's struct says `lower+trim`, on data where trimming matters
// (every e-mail address ends with a space), during an index-key rotation
// that would make the job rewrite every index. Before the check, such a
// configuration passed verify and the job rewrote wrong indexes on the
// next rotation; now every mode refuses it.
func TestDriftIndexTransform(t *testing.T) {
	eachDB(t, func(t *testing.T, db *testDB) {
		k := seededMidRotation(t, db, keyring.PurposeIndex, "pii")
		tab, line := driftConfig(t, "- {column: email_idx", "- {column: email_idx, name: EmailIdx, sources: [email], transforms: lower, bits: 32} #")
		refusedUnchanged(t, db, k, k.encryptor(t), tab, "email_idx", reencrypt.DriftIndex, line, `transforms ("lower")`)
	})
}

// TestDriftIndexTransformMinority plays the same wrong transform on real
// data, where trimming matters for a few rows only (3 of 150 addresses end
// with a space). The sample cannot tell such a description from one with a
// few damaged rows, so the check only warns; what protects the data is the
// job's per-row rule: a stored index that equals its recomputation under
// no enabled key is never overwritten. The job rewrites the rows on which
// the transforms agree (their values are right either way) and fails the
// three others with index_mismatch, leaving their indexes as the
// application wrote them.
func TestDriftIndexTransformMinority(t *testing.T) {
	eachDB(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		const n, tenants = 150, 2
		k := newKeys(t)
		app := k.encryptor(t)
		db.createContacts(t)
		var cs []*Contact
		spaced := map[int64]bool{5: true, 55: true, 140: true} // each in a sampled page
		for i := int64(1); i <= n; i++ {
			c := contactFor(i, tenants)
			if !spaced[i] {
				c.Email = strings.TrimSpace(c.Email)
			}
			cs = append(cs, c)
		}
		if err := crypt.EncryptAll(ctx, app, cs); err != nil {
			t.Fatal(err)
		}
		db.insert(t, cs)
		rotate(t, app.Keyring(), keyring.PurposeIndex, tenantNames(tenants), "pii")
		before := map[int64]string{}
		for _, c := range db.readContacts(t, "") {
			before[c.ID] = c.EmailIdx
		}
		tab, _ := driftConfig(t, "- {column: email_idx", "- {column: email_idx, name: EmailIdx, sources: [email], transforms: lower, bits: 32} #")
		if err := reencrypt.CheckDrift(ctx, db.DB, db.d, k.encryptor(t), tab); err != nil {
			t.Fatalf("CheckDrift err = %v, want a warning only (a minority of rows disagree)", err)
		}
		sum, err := reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), tab, jobOptions("minority"))
		if err != nil || sum.Outcome != reencrypt.Partial || sum.Failures["index_mismatch"] != int64(len(spaced)) {
			t.Fatalf("Run = %s, %v; want partial with %d index_mismatch rows", js(sum), err, len(spaced))
		}
		for _, c := range db.readContacts(t, "") {
			if spaced[c.ID] && c.EmailIdx != before[c.ID] {
				t.Errorf("contact %d: its index, on which the transforms disagree, was overwritten", c.ID)
			}
		}
	})
}

// TestDriftIndexWidth plays descriptions whose bits disagree with the
// struct's: one of another byte length (24 for 32: stored values are
// longer than the configuration's) and one of the same length (11 for 16:
// only the bits past the width, which truncation clears, tell). Each is
// refused and its width named from the stored values themselves.
func TestDriftIndexWidth(t *testing.T) {
	eachDB(t, func(t *testing.T, db *testDB) {
		k := seededMidRotation(t, db, keyring.PurposeIndex, "pii")
		for _, c := range []struct {
			name, from, to, column, want string
		}{
			{"24 for 32", "- {column: email_idx", "- {column: email_idx, name: EmailIdx, sources: [email], transforms: lower+trim, bits: 24} #",
				"email_idx", "stored values are 32 bits wide (8 hex digits), the config says 24 bits (6 hex digits)"},
			{"11 for 16", "- {column: phone_idx", "- {column: phone_idx, name: PhoneIdx, sources: [phone], transforms: digits+last4, bits: 11} #",
				"phone_idx", "stored values are 16 bits wide, the config says 11"},
			{"32 for 16", "- {column: phone_idx", "- {column: phone_idx, name: PhoneIdx, sources: [phone], transforms: digits+last4, bits: 32} #",
				"phone_idx", "stored values are 16 bits wide (4 hex digits), the config says 32 bits (8 hex digits)"},
		} {
			t.Run(c.name, func(t *testing.T) {
				tab, line := driftConfig(t, c.from, c.to)
				refusedUnchanged(t, db, k, k.encryptor(t), tab, c.column, reencrypt.DriftWidth, line, c.want)
			})
		}
	})
}

// TestDriftMatchingConfigRunsClean guards against false refusals: the
// configuration that matches the application runs to Done on an empty
// table, on rows whose index sources are NULL or empty (their indexes are
// empty), and on rows caught mid index-key rotation (the job stopped after
// a few batches: some rows under the new index key, the rest under the
// old one, both enabled).
func TestDriftMatchingConfigRunsClean(t *testing.T) {
	eachDB(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		k := newKeys(t)
		app := k.encryptor(t)
		tab, _ := driftConfig(t, "record:", "record:")
		db.createContacts(t)
		for _, tenant := range tenantNames(seededTenants) {
			if err := keyring.NewManager(app.Keyring()).CreateKeysets(ctx, tenant, classes...); err != nil {
				t.Fatal(err)
			}
		}
		runClean := func(stage, job string) {
			t.Helper()
			if err := reencrypt.CheckDrift(ctx, db.DB, db.d, k.encryptor(t), tab); err != nil {
				t.Errorf("%s: CheckDrift err = %v", stage, err)
			}
			if sum, err := reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), tab, jobOptions(job)); err != nil || sum.Outcome != reencrypt.Done {
				t.Errorf("%s: Run = %s, %v; want done", stage, js(sum), err)
			}
			if sum, err := reencrypt.Verify(ctx, db.DB, db.d, k.encryptor(t), tab, nil); err != nil || sum.Outcome != reencrypt.Done {
				t.Errorf("%s: Verify = %s, %v; want done", stage, js(sum), err)
			}
		}
		runClean("empty table", "empty")

		// Rows with no e-mail address and no phone: empty sources, empty
		// indexes.
		var blank []*Contact
		for i := int64(1); i <= 100; i++ {
			c := contactFor(i, 2)
			c.Email, c.Phone = "", nil
			blank = append(blank, c)
		}
		if err := crypt.EncryptAll(ctx, app, blank); err != nil {
			t.Fatal(err)
		}
		db.insert(t, blank)
		runClean("empty sources", "blank")

		// Mid index-key rotation.
		var full []*Contact
		for i := int64(101); i <= 400; i++ {
			full = append(full, contactFor(i, 2))
		}
		if err := crypt.EncryptAll(ctx, app, full); err != nil {
			t.Fatal(err)
		}
		db.insert(t, full)
		rotate(t, app.Keyring(), keyring.PurposeIndex, tenantNames(2), "pii")
		stopCtx, stop := context.WithCancel(ctx)
		opts := jobOptions("rotation")
		opts.Concurrency = 1
		var batches atomic.Int32
		reencrypt.BeforeWrite(opts, func(context.Context, []any) {
			if batches.Add(1) == 3 {
				stop()
			}
		})
		sum, err := reencrypt.Run(stopCtx, db.DB, db.d, k.encryptor(t), tab, opts)
		if err != nil || sum.Outcome != reencrypt.Partial || sum.JobTotals == nil || sum.JobTotals.Rewritten == 0 {
			t.Fatalf("Run(stopped after 3 batches) = %s, %v; want partial with rows rewritten", js(sum), err)
		}
		if err := reencrypt.CheckDrift(ctx, db.DB, db.d, k.encryptor(t), tab); err != nil {
			t.Errorf("mid rotation: CheckDrift err = %v", err)
		}
		if v, err := reencrypt.Verify(ctx, db.DB, db.d, k.encryptor(t), tab, nil); err != nil || v.Outcome != reencrypt.Partial || v.Failed != 0 {
			t.Errorf("mid rotation: Verify = %s, %v; want partial (stale indexes), nothing failed", js(v), err)
		}
		if sum, err := reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), tab, jobOptions("rotation")); err != nil || sum.Outcome != reencrypt.Done {
			t.Errorf("mid rotation: Run(resumed) = %s, %v; want done", js(sum), err)
		}
	})
}
