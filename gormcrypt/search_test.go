package gormcrypt_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"gorm.io/gorm"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/gormcrypt"
)

func TestMatching(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, _ *crypt.Encryptor) {
		// Sixteen names under a one-bit index: about half share each
		// index value, so the query finds false positives to drop.
		var cs []*Contact
		for i := range 16 {
			c := newContact("acme")
			c.Name = fmt.Sprintf("Name %02d", i)
			cs = append(cs, c)
		}
		twin := newContact("globex") // another tenant, same e-mail as cs[3]
		twin.Email = cs[3].Email
		if err := db.Create(&cs).Error; err != nil {
			t.Fatal(err)
		}
		mustCreate(t, db, twin)

		var out []Contact
		if err := db.Scopes(gormcrypt.Matching(&Contact{TenantID: "acme", Name: "name 05"}, "NameIdx")).Find(&out).Error; err != nil {
			t.Fatalf("search by a one-bit index: %v", err)
		}
		if len(out) != 1 || out[0].ID != cs[5].ID || out[0].Name != "Name 05" {
			t.Errorf("search for name 05 found %d rows (%v), want contact %s alone", len(out), ids(out), cs[5].ID)
		}
		var raw int64
		if err := db.Raw("SELECT COUNT(*) FROM contacts WHERE tenant_id = ? AND name_idx = ?", "acme", cs[5].NameIdx).Row().Scan(&raw); err != nil {
			t.Fatal(err)
		}
		if raw < 2 {
			t.Errorf("only %d rows share the one-bit index value: the test drops no false positive", raw)
		}

		assertFindsByEmail(t, db, "acme", " "+cs[3].Email+" ", cs[3].ID) // the index's transforms apply
		assertFindsByEmail(t, db, "globex", cs[3].Email, twin.ID)

		// Another tenant's row given acme's index value, its ciphertext
		// broken: the query never reads it, where the filter would drop
		// it only after failing to decrypt it, and fail the search.
		planted := newContact("globex")
		mustCreate(t, db, planted)
		if err := db.Exec("UPDATE contacts SET email_idx = ?, email = ? WHERE id = ?", cs[3].EmailIdx, "x", planted.ID).Error; err != nil {
			t.Fatal(err)
		}
		assertFindsByEmail(t, db, "acme", cs[3].Email, cs[3].ID)
		if err := db.Delete(&Contact{}, "id = ?", planted.ID).Error; err != nil {
			t.Fatal(err)
		}

		var none []Contact
		if err := db.Scopes(gormcrypt.Matching(&Contact{TenantID: "initech", Email: cs[3].Email}, "EmailIdx")).Find(&none).Error; err != nil || len(none) != 0 {
			t.Errorf("search in a tenant with no keys = %d rows, %v; want none", len(none), err)
		}
		var byColumn []*Contact
		if err := db.Scopes(gormcrypt.Matching(&Contact{TenantID: "acme", Email: cs[7].Email}, "email_idx")).Order("id").Find(&byColumn).Error; err != nil || len(byColumn) != 1 {
			t.Errorf("search naming the index by column = %d rows, %v; want 1", len(byColumn), err)
		}

		var withPreload []Contact
		q := db.Scopes(gormcrypt.Matching(&Contact{TenantID: "acme", Email: cs[9].Email}, "EmailIdx"))
		if err := q.Preload("Interactions").Joins("Company").Find(&withPreload).Error; err != nil || len(withPreload) != 1 || withPreload[0].Email != cs[9].Email {
			t.Errorf("search with Preload and Joins = %d rows, %v; want contact %s", len(withPreload), err, cs[9].ID)
		}

		refused := []struct {
			name string
			run  func(q *gorm.DB) error
		}{
			{"First", func(q *gorm.DB) error { var c Contact; return q.First(&c).Error }},
			{"Take", func(q *gorm.DB) error { var c Contact; return q.Take(&c).Error }},
			{"Limit", func(q *gorm.DB) error { var c []Contact; return q.Limit(10).Find(&c).Error }},
			{"Count", func(q *gorm.DB) error { var n int64; return q.Model(&Contact{}).Count(&n).Error }},
			{"Find into a struct", func(q *gorm.DB) error { var c Contact; return q.Find(&c).Error }},
			{"Delete", func(q *gorm.DB) error { return q.Delete(&Contact{}).Error }},
			{"Update", func(q *gorm.DB) error { return q.Model(&Contact{}).Update("stage", "lost").Error }},
			{"Rows", func(q *gorm.DB) error {
				rows, err := q.Model(&Contact{}).Rows()
				if err == nil {
					rows.Close()
				}
				return err
			}},
		}
		for _, tc := range refused {
			t.Run(tc.name, func(t *testing.T) {
				q := db.Scopes(gormcrypt.Matching(&Contact{TenantID: "acme", Name: "name 05"}, "NameIdx"))
				if err := tc.run(q); !errors.Is(err, gormcrypt.ErrUnsupportedSearch) {
					t.Errorf("%s through a search: err = %v, want ErrUnsupportedSearch", tc.name, err)
				}
			})
		}
		if n := countRows(t, db, "contacts"); n != 17 {
			t.Errorf("%d contacts after the refused searches, want 17", n)
		}

		var bad []Contact
		if err := db.Scopes(gormcrypt.Matching(&Contact{Email: cs[3].Email}, "EmailIdx")).Find(&bad).Error; !errors.Is(err, gormcrypt.ErrUnsupportedSearch) {
			t.Errorf("search without a tenant: err = %v, want ErrUnsupportedSearch", err)
		}
		if err := db.Scopes(gormcrypt.Matching(&Contact{TenantID: "acme"}, "NoSuchIdx")).Find(&bad).Error; !errors.Is(err, crypt.ErrUnknownIndex) {
			t.Errorf("search by an unknown index: err = %v, want crypt.ErrUnknownIndex", err)
		}
	})
}

func ids(cs []Contact) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

func TestNotRegistered(t *testing.T) {
	db := openSQLite(t)
	if err := db.AutoMigrate(&Contact{}); err != nil {
		t.Fatal(err)
	}
	var out []Contact
	err := db.Scopes(gormcrypt.Matching(&Contact{TenantID: "acme", Email: "x"}, "EmailIdx")).Find(&out).Error
	if !errors.Is(err, gormcrypt.ErrNotRegistered) {
		t.Errorf("search on a db without the plugin: err = %v, want ErrNotRegistered", err)
	}
	if err := gormcrypt.Scan(db.Table("contacts"), &out).Error; !errors.Is(err, gormcrypt.ErrNotRegistered) {
		t.Errorf("Scan on a db without the plugin: err = %v, want ErrNotRegistered", err)
	}
	if _, err := gormcrypt.Encryptor(db); !errors.Is(err, gormcrypt.ErrNotRegistered) {
		t.Errorf("Encryptor of a db without the plugin: err = %v, want ErrNotRegistered", err)
	}
}

// TestConcurrent writes and reads from several goroutines on one *gorm.DB,
// for the race detector.
func TestConcurrent(t *testing.T) {
	db, _ := setup(t, backends[0])
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				c := &Contact{ID: fmt.Sprintf("g%d-%d", g, i), TenantID: fmt.Sprintf("t%d", g%2), Name: "n", Email: fmt.Sprintf("e%d-%d@x.example", g, i)}
				if err := db.Create(c).Error; err != nil {
					errs <- err
					return
				}
				var out []Contact
				if err := db.Scopes(gormcrypt.Matching(&Contact{TenantID: c.TenantID, Email: c.Email}, "EmailIdx")).Find(&out).Error; err != nil || len(out) != 1 {
					errs <- fmt.Errorf("search for %s: %d rows, %v", c.ID, len(out), err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
