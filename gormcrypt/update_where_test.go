package gormcrypt_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/gormcrypt"
)

// TestUpdateWithOrStaysOnItsRow plays a caller whose update of one record
// carries conditions of its own joined by OR (Where(a).Or(b), or SQL text
// with an OR that GORM does not parenthesize). GORM joins the WHERE's
// expressions with AND and the OR between them as written, so a condition
// appended after an OR binds to it alone: "a OR b AND tenant = t AND id =
// i" is "a OR (b AND ...)". The update must still write only the model's
// row, whose identity and scope its ciphertexts bind: another tenant's
// row is left as it was and still decrypts.
func TestUpdateWithOrStaysOnItsRow(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, _ *crypt.Encryptor) {
		for name, where := range map[string]func(tx *gorm.DB) *gorm.DB{
			"Where.Or": func(tx *gorm.DB) *gorm.DB { return tx.Where("stage = ?", "lead").Or("stage = ?", "prospect") },
			"SQL text": func(tx *gorm.DB) *gorm.DB { return tx.Where("stage = 'lead'\nOR stage = 'prospect'") },
		} {
			t.Run(name, func(t *testing.T) {
				mine, theirs := newContact("acme"), newContact("globex")
				mustCreate(t, db, mine)
				mustCreate(t, db, theirs)
				before := stored(t, db, theirs.ID)

				res := where(db.Model(mine)).Updates(map[string]any{"email": "renamed@secret-mail.example"})
				if res.Error != nil {
					t.Fatalf("Updates: %v", res.Error)
				}
				if res.RowsAffected != 1 {
					t.Errorf("the update of one record wrote %d rows", res.RowsAffected)
				}
				if after := stored(t, db, theirs.ID); !reflect.DeepEqual(after, before) {
					t.Errorf("another tenant's row was overwritten: email %q -> %q", before.Email, after.Email)
				}
				assertReadsBack(t, db, theirs)
				mine.Email = "renamed@secret-mail.example"
				assertReadsBack(t, db, mine)
			})
		}
	})
}

// TestUpsertWithOrStaysInScope plays a caller whose upsert has a
// condition of its own on its update, with an OR (clause.Or, as GORM
// spells Where(a).Or(b)): the plugin's restriction of the DO UPDATE to the
// new row's scope must hold whatever that condition says, so a Create
// whose ID another tenant's row holds never overwrites that row.
func TestUpsertWithOrStaysInScope(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, _ *crypt.Encryptor) {
		theirs := newContact("globex")
		mustCreate(t, db, theirs)
		before := stored(t, db, theirs.ID)

		mine := newContact("acme")
		mine.ID = theirs.ID
		err := db.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "id"}},
			UpdateAll: true,
			Where: clause.Where{Exprs: []clause.Expression{
				clause.Expr{SQL: "contacts.stage = 'lead'"},
				clause.Or(clause.Expr{SQL: "contacts.stage = 'prospect'"}),
			}},
		}).Create(mine).Error
		if !errors.Is(err, gormcrypt.ErrUnsupportedWrite) {
			t.Errorf("upsert over another tenant's ID: err = %v, want %v", err, gormcrypt.ErrUnsupportedWrite)
		}
		if after := stored(t, db, theirs.ID); !reflect.DeepEqual(after, before) {
			t.Errorf("another tenant's row was overwritten: tenant %q -> %q", before.Tenant, after.Tenant)
		}
		assertReadsBack(t, db, theirs)
	})
}

// TestUpdateIdentityComparedExactly plays a client that names a record by
// another spelling of its key or tenant (an upper-case ID, a trailing
// space), which a MySQL or MariaDB collation compares equal to the stored
// one. The ciphertexts an update writes bind the model's spelling, so the
// row would never decrypt again: the update must match only the row whose
// identity and scope are byte for byte the model's, and leave the record
// readable.
func TestUpdateIdentityComparedExactly(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, _ *crypt.Encryptor) {
		c := newContact("acme")
		mustCreate(t, db, c)
		before := stored(t, db, c.ID)
		for name, model := range map[string]*Contact{
			"ID in upper case":     {ID: strings.ToUpper(c.ID), TenantID: c.TenantID},
			"ID with a space":      {ID: c.ID + " ", TenantID: c.TenantID},
			"tenant in upper case": {ID: c.ID, TenantID: strings.ToUpper(c.TenantID)},
		} {
			t.Run(name, func(t *testing.T) {
				res := db.Model(model).Updates(map[string]any{"email": "renamed@secret-mail.example"})
				if res.Error != nil {
					t.Fatalf("Updates: %v", res.Error)
				}
				if res.RowsAffected != 0 {
					t.Errorf("an update through %q/%q wrote %d rows of %q/%q", model.TenantID, model.ID, res.RowsAffected, c.TenantID, c.ID)
				}
				if after := stored(t, db, c.ID); !reflect.DeepEqual(after, before) {
					t.Errorf("the row was rewritten under another spelling of its identity")
				}
				assertReadsBack(t, db, c)
			})
		}
	})
}

// ciNote is a record whose key and tenant columns compare two spellings
// equal: a PostgreSQL uuid (any case in, lower case out), SQLite's
// COLLATE NOCASE, MySQL's default collation.
type ciNote struct {
	_        struct{} `crypt:"record=ci_note"`
	ID       string   `gorm:"primaryKey" crypt:"id"`
	TenantID string   `crypt:"scope"`
	Body     string   `crypt:"encrypt,class=pii"`
}

func (ciNote) TableName() string { return "ci_notes" }

// spellingNotes is the DDL of ci_notes, by dialect, with key the primary
// key clause: its key and tenant columns take two spellings for one value
// (a PostgreSQL uuid, SQLite's COLLATE NOCASE, MariaDB's default
// collation), the tenant on PostgreSQL being text.
func spellingNotes(key string) map[string]string {
	return map[string]string{
		"postgres": "CREATE TABLE ci_notes (id uuid, tenant_id text NOT NULL, body text NOT NULL, " + key + ")",
		"sqlite":   "CREATE TABLE ci_notes (id TEXT COLLATE NOCASE, tenant_id TEXT COLLATE NOCASE NOT NULL, body TEXT NOT NULL, " + key + ")",
		"mysql":    "CREATE TABLE ci_notes (id VARCHAR(64), tenant_id VARCHAR(64) NOT NULL, body TEXT NOT NULL, " + key + ")",
	}
}

// upsertKey is the primary key clause of a table an upsert may write on
// db: on MySQL and MariaDB, where ON DUPLICATE KEY UPDATE fires on any
// unique key, it holds the tenant too (else Save of a new row is refused
// there whatever the spelling).
func upsertKey(db *gorm.DB) string {
	if db.Dialector.Name() == "mysql" {
		return "PRIMARY KEY (id, tenant_id)"
	}
	return "PRIMARY KEY (id)"
}

// TestUpdateIdentityComparedExactlyOnEveryDialect is
// TestUpdateIdentityComparedExactly on the columns of PostgreSQL and SQLite
// that compare two spellings equal. A client that sends a UUID in upper
// case (as some platforms print them) names the row PostgreSQL stores in
// lower case; the ciphertexts the update writes would bind the upper-case
// spelling, and the row would never decrypt again.
func TestUpdateIdentityComparedExactlyOnEveryDialect(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, _ *crypt.Encryptor) {
		spellingTable(t, db, spellingNotes("PRIMARY KEY (id)"))
		n := &ciNote{ID: "6f1c2a9e-3b7d-4e52-9a0f-5c8d1e2b4a67", TenantID: "acme", Body: "quartz body"}
		if err := db.Create(n).Error; err != nil {
			t.Fatal(err)
		}
		raw := func() (body string) {
			if err := db.Raw("SELECT body FROM ci_notes").Row().Scan(&body); err != nil {
				t.Fatal(err)
			}
			return body
		}
		before := raw()
		for name, model := range map[string]*ciNote{
			"ID in upper case":     {ID: strings.ToUpper(n.ID), TenantID: n.TenantID},
			"tenant in upper case": {ID: n.ID, TenantID: strings.ToUpper(n.TenantID)},
		} {
			res := db.Model(model).Updates(map[string]any{"body": "rewritten body"})
			if res.Error != nil {
				t.Fatalf("%s: Updates: %v", name, res.Error)
			}
			if res.RowsAffected != 0 || raw() != before {
				t.Errorf("%s: an update through %q/%q rewrote the row of %q/%q (%d rows)", name, model.TenantID, model.ID, n.TenantID, n.ID, res.RowsAffected)
			}
		}
		var got ciNote
		if err := db.First(&got, "id = ?", n.ID).Error; err != nil || got.Body != n.Body {
			t.Errorf("the note after the refused updates: %+v, %v; want its body to read back", got, err)
		}
	})
}

// TestSaveUnderAnotherSpellingOfTheKey: GORM's Save of a record named by
// another spelling of a stored key. Its UPDATE, compared byte for byte,
// matches no row, and GORM falls back to an upsert on the primary key,
// whose conflict compares as the column does: "NOTE-1" conflicts with
// "note-1" (a PostgreSQL uuid, SQLite's COLLATE NOCASE, MySQL's usual
// collations). The row must be left as it was, readable, and the Save must
// not report a write that did not happen.
func TestSaveUnderAnotherSpellingOfTheKey(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, _ *crypt.Encryptor) {
		spellingTable(t, db, spellingNotes(upsertKey(db)))
		n := &ciNote{ID: "6f1c2a9e-3b7d-4e52-9a0f-5c8d1e2b4a67", TenantID: "acme", Body: "quartz body"}
		if err := db.Create(n).Error; err != nil {
			t.Fatal(err)
		}
		for name, other := range map[string]*ciNote{
			"ID in upper case":     {ID: strings.ToUpper(n.ID), TenantID: n.TenantID, Body: "rewritten"},
			"tenant in upper case": {ID: n.ID, TenantID: strings.ToUpper(n.TenantID), Body: "rewritten"},
		} {
			err := db.Save(other).Error
			var got ciNote
			if rerr := db.First(&got, "id = ?", n.ID).Error; rerr != nil || got.Body != n.Body {
				t.Errorf("%s: after Save (err %v) the note reads %q, %v; want %q", name, err, got.Body, rerr, n.Body)
			}
			var count int64
			db.Table("ci_notes").Count(&count)
			if err == nil && count < 2 {
				t.Errorf("%s: Save reported success, but wrote no row of its own (%d rows)", name, count)
			}
		}
	})
}

// TestCreateRefusesUUIDInAnotherForm: a PostgreSQL uuid column stores any
// form it is given (upper case, braces, no hyphens) as lower case with
// hyphens, while the ciphertexts bind the form written: such a Create is
// refused, naming the column, and nothing is written. The canonical form,
// and a text column in any case, are accepted.
func TestCreateRefusesUUIDInAnotherForm(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, _ *crypt.Encryptor) {
		if db.Dialector.Name() != "postgres" {
			return // no uuid type
		}
		spellingTable(t, db, spellingNotes("PRIMARY KEY (id)"))
		const id = "6f1c2a9e-3b7d-4e52-9a0f-5c8d1e2b4a67"
		for _, form := range []string{strings.ToUpper(id), "{" + id + "}", strings.ReplaceAll(id, "-", "")} {
			err := db.Create(&ciNote{ID: form, TenantID: "acme", Body: "quartz body"}).Error
			if !errors.Is(err, gormcrypt.ErrUnsupportedWrite) || !strings.Contains(err.Error(), "uuid") {
				t.Errorf("Create with the ID %q: err = %v, want ErrUnsupportedWrite naming the uuid column", form, err)
			}
			if err := db.CreateInBatches([]*ciNote{{ID: form, TenantID: "acme", Body: "quartz body"}}, 10).Error; !errors.Is(err, gormcrypt.ErrUnsupportedWrite) {
				t.Errorf("CreateInBatches with the ID %q: err = %v, want ErrUnsupportedWrite", form, err)
			}
		}
		var n int64
		db.Table("ci_notes").Count(&n)
		if n != 0 {
			t.Errorf("refused Creates wrote %d rows", n)
		}
		if err := db.Create(&ciNote{ID: id, TenantID: "ACME", Body: "quartz body"}).Error; err != nil {
			t.Fatalf("Create with the canonical ID (and a text tenant in upper case): %v", err)
		}
		var got ciNote
		if err := db.First(&got, "id = ?", id).Error; err != nil || got.Body != "quartz body" {
			t.Errorf("the note reads %+v, %v", got, err)
		}
	})
}
