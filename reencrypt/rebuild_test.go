package reencrypt_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/reencrypt"
)

// contactPhone11 is the application's Contact after it narrowed PhoneIdx
// from 16 bits to 11.
type contactPhone11 struct {
	_        struct{} `crypt:"record=contact"`
	ID       int64    `crypt:"id"`
	TenantID string   `crypt:"scope"`
	Name     string   `crypt:"encrypt,class=pii"`
	Email    string   `crypt:"encrypt,class=pii"`
	EmailIdx string   `crypt:"blind=Email,transform=lower+trim,bits=32"`
	Phone    *string  `crypt:"encrypt,class=pii"`
	PhoneIdx string   `crypt:"blind=Phone,transform=digits+last4,bits=11"`
	Notes    []byte   `crypt:"encrypt,class=support"`
}

// TestRebuildIndexes plays an application that narrows a blind index
// (phone_idx from 16 bits to 11, as the planner advises for its
// population) and an operator who follows docs/ROTATION.md: the
// description says the new width and lists the column under
// rebuild_indexes. The drift check, which refuses the new width without
// it, lets it through; Verify counts the old values as not current; the
// job rewrites every phone_idx, including rows that have none yet, to
// exactly what the application now computes, and leaves email_idx alone;
// Verify is then done. A rebuild_indexes entry that names no index column
// is refused at its line.
func TestRebuildIndexes(t *testing.T) {
	eachDB(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		const n, tenants = 120, 2
		k := newKeys(t)
		app := k.encryptor(t)
		db.createContacts(t)
		db.seed(t, app, n, tenants)
		if _, err := db.ExecContext(ctx, "UPDATE contacts SET phone_idx = NULL WHERE id <= 10"); err != nil {
			t.Fatal(err)
		}
		before := db.readContacts(t, "")

		narrow := "- {column: phone_idx, name: PhoneIdx, sources: [phone], transforms: digits+last4, bits: 11}\n    rebuild_indexes: [phone_idx] #"
		tab, _ := driftConfig(t, "- {column: phone_idx", narrow)
		if err := reencrypt.CheckDrift(ctx, db.DB, db.d, k.encryptor(t), tab); err != nil {
			t.Fatalf("CheckDrift with phone_idx listed for rebuilding err = %v, want nil", err)
		}
		if sum, err := reencrypt.Verify(ctx, db.DB, db.d, k.encryptor(t), tab, nil); err != nil || sum.Outcome != reencrypt.Partial {
			t.Fatalf("Verify before the rebuild = %s, %v; want partial (old-width indexes are not current)", js(sum), err)
		}
		sum, err := reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), tab, jobOptions("rebuild-phone"))
		if err != nil || sum.Outcome != reencrypt.Done || sum.Rewritten == 0 {
			t.Fatalf("Run = %s, %v; want done with rows rewritten", js(sum), err)
		}
		if sum, err := reencrypt.Verify(ctx, db.DB, db.d, k.encryptor(t), tab, nil); err != nil || sum.Outcome != reencrypt.Done {
			t.Errorf("Verify after the rebuild = %s, %v; want done", js(sum), err)
		}

		after := db.readContacts(t, "")
		plain := db.decryptAll(t, app)
		if len(after) != len(before) || len(plain) != len(after) {
			t.Fatalf("%d rows after, %d before", len(after), len(before))
		}
		for i, c := range after {
			if c.EmailIdx != before[i].EmailIdx {
				t.Errorf("contact %d: email_idx changed by a rebuild of phone_idx", c.ID)
			}
			p := plain[i]
			want := &contactPhone11{ID: p.ID, TenantID: p.TenantID, Phone: p.Phone}
			vals, err := app.BlindIndexValues(ctx, want, "PhoneIdx")
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case p.Phone == nil || *p.Phone == "":
				if c.PhoneIdx != "" {
					t.Errorf("contact %d has no phone but phone_idx %q", c.ID, c.PhoneIdx)
				}
			case len(vals) == 0 || c.PhoneIdx != vals[0]:
				t.Errorf("contact %d: phone_idx %q after the rebuild, want the application's 11-bit value %q", c.ID, c.PhoneIdx, vals)
			}
		}

		bad := strings.Replace(contactsYAML, "      - {column: phone_idx, name: PhoneIdx, sources: [phone], transforms: digits+last4, bits: 16}",
			"      - {column: phone_idx, name: PhoneIdx, sources: [phone], transforms: digits+last4, bits: 16}\n    rebuild_indexes: [email_idx, notes]", 1)
		line := strings.Count(bad[:strings.Index(bad, "rebuild_indexes")], "\n") + 1
		_, err = reencrypt.ParseConfig([]byte(bad))
		var ce *reencrypt.ConfigError
		if !errors.As(err, &ce) || ce.Line() != line || !strings.Contains(err.Error(), `"notes", which is not a blind-index column`) {
			t.Errorf("rebuild_indexes: [email_idx, notes] err = %v, want a ConfigError at line %d", err, line)
		}
	})
}
