package gormcrypt_test

import (
	"strings"
	"testing"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

func spellingTable(t *testing.T, db *gorm.DB, ddl map[string]string) {
	t.Helper()
	if err := db.Exec(ddl[db.Dialector.Name()]).Error; err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Exec("DROP TABLE ci_notes") })
}

// TestSaveSliceUnderAnotherSpellingOfTheKey: Save of a slice (and CreateInBatches with UpdateAll) under another
// spelling of the key.
func TestSaveSliceUnderAnotherSpellingOfTheKey(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, _ *crypt.Encryptor) {
		spellingTable(t, db, spellingNotes(upsertKey(db)))
		n := &ciNote{ID: "6f1c2a9e-3b7d-4e52-9a0f-5c8d1e2b4a67", TenantID: "acme", Body: "quartz body"}
		if err := db.Create(n).Error; err != nil {
			t.Fatal(err)
		}
		err := db.Save([]*ciNote{{ID: strings.ToUpper(n.ID), TenantID: n.TenantID, Body: "rewritten"}}).Error
		var got ciNote
		if rerr := db.First(&got, "tenant_id = ?", n.TenantID).Error; rerr != nil || got.Body != n.Body {
			t.Errorf("after Save of a slice (err %v) the note reads %q, %v; want %q", err, got.Body, rerr, n.Body)
		}
	})
}

type NoteID string

type typedNote struct {
	_        struct{} `crypt:"record=ci_note"`
	ID       NoteID   `gorm:"primaryKey" crypt:"id"`
	TenantID string   `crypt:"scope"`
	Body     string   `crypt:"encrypt,class=pii"`
}

func (typedNote) TableName() string { return "ci_notes" }

// TestUpsertOfATypedKey: an upsert of one existing record, and Save of a
// slice, whose ID is a custom string type spelled as stored: accepted
// (VARBINARY and utf8mb4_nopad_bin on MariaDB).
func TestUpsertOfATypedKey(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, _ *crypt.Encryptor) {
		spellingTable(t, db, map[string]string{
			"postgres": "CREATE TABLE ci_notes (id text PRIMARY KEY, tenant_id text NOT NULL, body text NOT NULL)",
			"sqlite":   "CREATE TABLE ci_notes (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, body TEXT NOT NULL)",
			"mysql":    "CREATE TABLE ci_notes (id VARBINARY(64), tenant_id VARCHAR(64) COLLATE utf8mb4_nopad_bin NOT NULL, body TEXT NOT NULL, PRIMARY KEY (id, tenant_id))",
		})
		id := func() NoteID { return "n-1" }
		n := &typedNote{ID: id(), TenantID: "acme", Body: "quartz body"}
		if err := db.Create(n).Error; err != nil {
			t.Fatal(err)
		}
		if err := db.Clauses(clause.OnConflict{UpdateAll: true}).Create(&typedNote{ID: id(), TenantID: "acme", Body: "rewritten"}).Error; err != nil {
			t.Fatalf("upsert: %v", err)
		}
		if err := db.Save(&[]typedNote{{ID: id(), TenantID: "acme", Body: "again"}}).Error; err != nil {
			t.Fatalf("Save of a slice: %v", err)
		}
		var got typedNote
		if err := db.First(&got, "id = ?", "n-1").Error; err != nil || got.Body != "again" {
			t.Errorf("read back %q, %v", got.Body, err)
		}
	})
}

// TestSaveSliceNumericAffinity: on SQLite a column of numeric affinity stores "0123" as 123, and
// excluded.id then equals the row "123".
func TestSaveSliceNumericAffinity(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, _ *crypt.Encryptor) {
		if db.Dialector.Name() != "sqlite" {
			t.Skip("SQLite's affinity")
		}
		spellingTable(t, db, map[string]string{"sqlite": "CREATE TABLE ci_notes (id NUMERIC PRIMARY KEY, tenant_id TEXT NOT NULL, body TEXT NOT NULL)"})
		n := &ciNote{ID: "123", TenantID: "acme", Body: "quartz body"}
		if err := db.Create(n).Error; err != nil {
			t.Fatal(err)
		}
		err := db.Save([]ciNote{{ID: "0123", TenantID: "acme", Body: "rewritten"}}).Error
		var got ciNote
		if rerr := db.First(&got, "tenant_id = ?", "acme").Error; rerr != nil || got.Body != n.Body {
			t.Errorf("after Save of a slice (err %v) the note reads %q, %v; want %q", err, got.Body, rerr, n.Body)
		}
	})
}

// TestSaveSliceTwoSpellings: two spellings of one uuid in one upsert of several records: the
// second affects the row a second time, which PostgreSQL refuses.
func TestSaveSliceTwoSpellings(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, _ *crypt.Encryptor) {
		if db.Dialector.Name() != "postgres" {
			t.Skip("a uuid column")
		}
		spellingTable(t, db, map[string]string{"postgres": "CREATE TABLE ci_notes (id uuid PRIMARY KEY, tenant_id text NOT NULL, body text NOT NULL)"})
		n := &ciNote{ID: "6f1c2a9e-3b7d-4e52-9a0f-5c8d1e2b4a67", TenantID: "acme", Body: "quartz body"}
		if err := db.Create(n).Error; err != nil {
			t.Fatal(err)
		}
		err := db.Save([]ciNote{{ID: strings.ToUpper(n.ID), TenantID: "acme", Body: "upper"}, {ID: n.ID, TenantID: "acme", Body: "lower"}}).Error
		var got ciNote
		if rerr := db.First(&got, "tenant_id = ?", "acme").Error; rerr != nil || (got.Body != n.Body && got.Body != "lower") {
			t.Errorf("after Save of a slice (err %v) the note reads %q, %v", err, got.Body, rerr)
		}
		if err == nil {
			t.Errorf("Save of two spellings of one key reported success")
		}
	})
}

// TestUpsertOfTheScopeAloneUnderAnotherSpelling: an upsert that updates only the scope column, under a collation
// that takes "ACME" for "acme".
func TestUpsertOfTheScopeAloneUnderAnotherSpelling(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, _ *crypt.Encryptor) {
		if db.Dialector.Name() == "postgres" {
			t.Skip("text compares bytes")
		}
		spellingTable(t, db, map[string]string{
			"sqlite": "CREATE TABLE ci_notes (id TEXT, tenant_id TEXT COLLATE NOCASE NOT NULL, body TEXT NOT NULL, PRIMARY KEY (id, tenant_id))",
			"mysql":  "CREATE TABLE ci_notes (id VARCHAR(64), tenant_id VARCHAR(64) NOT NULL, body TEXT NOT NULL, PRIMARY KEY (id, tenant_id))",
		})
		n := &ciNote{ID: "n-1", TenantID: "acme", Body: "quartz body"}
		if err := db.Create(n).Error; err != nil {
			t.Fatal(err)
		}
		err := db.Clauses(clause.OnConflict{DoUpdates: clause.AssignmentColumns([]string{"tenant_id"})}).
			Create(&ciNote{ID: "n-1", TenantID: "ACME", Body: "other"}).Error
		var got ciNote
		if rerr := db.First(&got, "id = ?", n.ID).Error; rerr != nil || got.Body != n.Body {
			var tenant string
			db.Raw("SELECT tenant_id FROM ci_notes").Row().Scan(&tenant)
			t.Errorf("after the upsert (err %v) the note (tenant %q) reads %q, %v; want %q", err, tenant, got.Body, rerr, n.Body)
		}
	})
}
