package gormcrypt_test

import (
	"errors"
	"testing"

	"gorm.io/gorm"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/gormcrypt"
)

// TestRecordErrorsNameEachRecord: a Find of several records, two of which
// were tampered with (a value moved from another row), fails with
// gormcrypt.RecordErrors naming exactly those two by their position; the
// others are decrypted, and the tampered ones keep their stored values,
// so a caller can tell record by record what it may show.
func TestRecordErrorsNameEachRecord(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, _ *crypt.Encryptor) {
		var cs []*Contact
		for range 4 {
			c := newContact("acme")
			c.ID = "re-" + c.ID
			cs = append(cs, c)
			mustCreate(t, db, c)
		}
		// Sorted by ID, as the Find below reads them.
		for i := range cs {
			for j := i + 1; j < len(cs); j++ {
				if cs[j].ID < cs[i].ID {
					cs[i], cs[j] = cs[j], cs[i]
				}
			}
		}
		// A writer copies record 0's notes onto records 1 and 3.
		for _, i := range []int{1, 3} {
			mustExec(t, db, "UPDATE contacts SET notes = (SELECT notes FROM (SELECT notes FROM contacts WHERE id = ?) AS src) WHERE id = ?", cs[0].ID, cs[i].ID)
		}
		var got []Contact
		err := db.Where("tenant_id = ?", "acme").Order("id").Find(&got).Error
		var recs gormcrypt.RecordErrors
		if !errors.As(err, &recs) {
			t.Fatalf("Find err = %v, want gormcrypt.RecordErrors", err)
		}
		if !errors.Is(err, crypt.ErrDecrypt) {
			t.Errorf("Find err = %v, want it to match crypt.ErrDecrypt", err)
		}
		var ge *gormcrypt.Error
		if !errors.As(err, &ge) || ge.Op != "decrypt" {
			t.Errorf("Find err = %v, want a *gormcrypt.Error of op decrypt inside", err)
		}
		if len(recs) != 2 || recs[0].Index != 1 || recs[1].Index != 3 {
			t.Fatalf("RecordErrors = %v, want records 1 and 3", recs)
		}
		if len(got) != 4 {
			t.Fatalf("Find returned %d records, want 4", len(got))
		}
		for _, i := range []int{0, 2} {
			if string(got[i].Notes) != string(cs[i].Notes) || got[i].Email != cs[i].Email {
				t.Errorf("record %d was not decrypted: notes %q", i, got[i].Notes)
			}
		}
		for _, i := range []int{1, 3} {
			if string(got[i].Notes) == string(cs[0].Notes) {
				t.Errorf("record %d shows record 0's notes as its own", i)
			}
		}
	})
}
