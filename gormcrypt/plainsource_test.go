package gormcrypt_test

import (
	"errors"
	"reflect"
	"slices"
	"testing"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/gormcrypt"
)

// Shop has blind indexes over plaintext columns: one over Region alone,
// and a compound one over an encrypted and a plaintext column.
type Shop struct {
	_         struct{} `crypt:"record=shop"`
	ID        string   `gorm:"primaryKey;size:64" crypt:"id"`
	TenantID  string   `gorm:"size:64" crypt:"scope"`
	Owner     string   `crypt:"encrypt,class=pii"`
	Country   string   `gorm:"size:8"`
	OwnerIdx  string   `gorm:"size:16" crypt:"blind=Owner+Country,transform=lower,bits=32"`
	Region    string   `gorm:"size:32"`
	RegionIdx string   `gorm:"size:16" crypt:"blind=Region,transform=lower,bits=32"`
	Stage     string   `gorm:"size:32"`
}

// shopRow is a shops row as raw SQL reads it.
type shopRow struct{ Tenant, Owner, Country, OwnerIdx, Region, RegionIdx, Stage string }

func storedShop(t *testing.T, db *gorm.DB, id string) shopRow {
	t.Helper()
	var r shopRow
	err := db.Raw("SELECT tenant_id, owner, country, owner_idx, region, region_idx, stage FROM shops WHERE id = ?", id).
		Row().Scan(&r.Tenant, &r.Owner, &r.Country, &r.OwnerIdx, &r.Region, &r.RegionIdx, &r.Stage)
	if err != nil {
		t.Fatalf("raw SELECT of shop %s: %v", id, err)
	}
	return r
}

// shopsMatching searches shops of tenant by one blind index of probe and
// returns the IDs found.
func shopsMatching(t *testing.T, db *gorm.DB, probe *Shop, index string) []string {
	t.Helper()
	var out []Shop
	if err := db.Scopes(gormcrypt.Matching(probe, index)).Find(&out).Error; err != nil {
		t.Fatalf("Matching(%s): %v", index, err)
	}
	ids := []string{}
	for _, s := range out {
		ids = append(ids, s.ID)
	}
	slices.Sort(ids)
	return ids
}

// assertShopFound wants both blind indexes to find shop id by the values
// it holds, and the stored index values to be the record's.
func assertShopFound(t *testing.T, db *gorm.DB, enc *crypt.Encryptor, id string) {
	t.Helper()
	var got Shop
	if err := db.First(&got, "id = ?", id).Error; err != nil {
		t.Fatalf("First(shop %s): %v", id, err)
	}
	if ids := shopsMatching(t, db, &Shop{TenantID: got.TenantID, Region: got.Region}, "RegionIdx"); !slices.Equal(ids, []string{id}) {
		t.Errorf("Matching(RegionIdx, region %q) found %v, want [%s]", got.Region, ids, id)
	}
	if ids := shopsMatching(t, db, &Shop{TenantID: got.TenantID, Owner: got.Owner, Country: got.Country}, "OwnerIdx"); !slices.Equal(ids, []string{id}) {
		t.Errorf("Matching(OwnerIdx, country %q) found %v, want [%s]", got.Country, ids, id)
	}
	want := got
	if err := enc.Encrypt(t.Context(), &want); err != nil {
		t.Fatal(err)
	}
	if r := storedShop(t, db, id); r.RegionIdx != want.RegionIdx || r.OwnerIdx != want.OwnerIdx {
		t.Errorf("shop %s stores region_idx %s and owner_idx %s, want %s and %s", id, r.RegionIdx, r.OwnerIdx, want.RegionIdx, want.OwnerIdx)
	}
}

func setupShops(t *testing.T, db *gorm.DB) *Shop {
	t.Helper()
	if err := db.AutoMigrate(&Shop{}); err != nil {
		t.Fatal(err)
	}
	s := &Shop{ID: "s-1", TenantID: "acme", Owner: "Ada Lovelace", Country: "FR", Region: "north", Stage: "lead"}
	if err := db.Create(s).Error; err != nil {
		t.Fatalf("Create: %v", err)
	}
	return s
}

// TestPlainSourceUpdate: an update that writes every source of a blind
// index recomputes it, whether its sources are encrypted or not: the
// searches find the record by its new values.
func TestPlainSourceUpdate(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, enc *crypt.Encryptor) {
		s := setupShops(t, db)
		steps := []struct {
			name string
			run  func() error
		}{
			{"Update(region)", func() error { return db.Model(s).Update("region", "south").Error }},
			{"Updates(map) of a compound index's sources", func() error {
				return db.Model(s).Updates(map[string]any{"Owner": "Ada King", "country": "DE"}).Error
			}},
			{"Updates(struct)", func() error { return db.Model(s).Updates(&Shop{Region: "West"}).Error }},
			{"UpdateColumn(region)", func() error { return db.Model(s).UpdateColumn("region", "east").Error }},
			{"Save", func() error {
				s.Country, s.Region = "ES", "centre"
				return db.Save(s).Error
			}},
		}
		for _, step := range steps {
			t.Run(step.name, func(t *testing.T) {
				if err := step.run(); err != nil {
					t.Fatalf("%s: %v", step.name, err)
				}
				assertShopFound(t, db, enc, s.ID)
				if r := storedShop(t, db, s.ID); r.RegionIdx != s.RegionIdx || r.OwnerIdx != s.OwnerIdx {
					t.Errorf("the model holds index values %s, %s; the row %s, %s", s.RegionIdx, s.OwnerIdx, r.RegionIdx, r.OwnerIdx)
				}
			})
		}
		if ids := shopsMatching(t, db, &Shop{TenantID: "acme", Region: "north"}, "RegionIdx"); len(ids) != 0 {
			t.Errorf("Matching(RegionIdx) by the old region found %v", ids)
		}
		up := &Shop{ID: s.ID, TenantID: "acme", Owner: "Ada King", Country: "ES", Region: "south-west"}
		err := db.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "id"}}, DoUpdates: clause.AssignmentColumns([]string{"tenant_id", "owner", "country", "owner_idx", "region", "region_idx"})}).Create(up).Error
		if mysqlLike(db) {
			// ON DUPLICATE KEY UPDATE fires on any unique key: an upsert
			// that updates a blind index is refused there.
			if !errors.Is(err, gormcrypt.ErrUnsupportedWrite) {
				t.Errorf("upsert of region and its index on MariaDB: %v, want ErrUnsupportedWrite", err)
			}
			assertShopFound(t, db, enc, s.ID)
			return
		}
		if err != nil {
			t.Fatalf("upsert of region and its index: %v", err)
		}
		assertShopFound(t, db, enc, s.ID)
	})
}

// TestPlainSourceRefused: a write to some but not all of a blind index's
// sources, or to a plaintext source where the plugin cannot recompute the
// index (no single record, a map, db.Table, a hand-written SET, an SQL
// expression), is refused like one to an encrypted source, and leaves the
// row as it was.
func TestPlainSourceRefused(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, enc *crypt.Encryptor) {
		s := setupShops(t, db)
		up := &Shop{ID: s.ID, TenantID: "acme", Owner: "Ada King", Country: "DE", Region: "south"}
		cases := []struct {
			name     string
			run      func() error
			sentinel error
			column   string
		}{
			{"Update of one source of a compound index", func() error {
				return db.Model(s).Update("country", "DE").Error
			}, gormcrypt.ErrUnsupportedWrite, "owner_idx"},
			{"Updates(struct) of one source of a compound index", func() error {
				return db.Model(s).Updates(&Shop{Country: "DE", Stage: "won"}).Error
			}, gormcrypt.ErrUnsupportedWrite, "owner_idx"},
			{"Update through a model that names no record", func() error {
				return db.Model(&Shop{}).Where("tenant_id = ?", "acme").Update("region", "south").Error
			}, gormcrypt.ErrUnknownIdentity, "region"},
			{"Update of a slice of models", func() error {
				return db.Model(&[]Shop{*s}).Update("region", "south").Error
			}, gormcrypt.ErrUnknownIdentity, "region"},
			{"Update with an SQL expression", func() error {
				return db.Model(s).Update("region", gorm.Expr("UPPER(region)")).Error
			}, gormcrypt.ErrUnsupportedWrite, "region"},
			{"SET clause given by hand", func() error {
				return db.Model(s).Clauses(clause.Set{{Column: clause.Column{Name: "region"}, Value: "south"}}).Update("stage", "won").Error
			}, gormcrypt.ErrUnsupportedWrite, "region"},
			{"db.Table Update", func() error {
				return db.Table("shops").Where("id = ?", s.ID).Update("country", "DE").Error
			}, gormcrypt.ErrUnknownIdentity, "country"},
			{"db.Table Updates(map)", func() error {
				return db.Table("shops").Where("id = ?", s.ID).Updates(map[string]any{"Region": "south"}).Error
			}, gormcrypt.ErrUnknownIdentity, "region"},
			{"db.Table Create(map)", func() error {
				return db.Table("shops").Create(map[string]any{"id": "s-2", "tenant_id": "acme", "region": "south"}).Error
			}, gormcrypt.ErrUnknownIdentity, "region"},
			{"Create from a map", func() error {
				return db.Model(&Shop{}).Create(map[string]any{"id": "s-2", "tenant_id": "acme", "region": "south"}).Error
			}, gormcrypt.ErrUnsupportedWrite, "region"},
			{"Create whose Omit leaves out a source of a written index", func() error {
				return db.Omit("country").Create(&Shop{ID: "s-2", TenantID: "acme", Owner: "Grace Hopper", Country: "US", Region: "south"}).Error
			}, gormcrypt.ErrUnsupportedWrite, "owner_idx"},
			{"upsert of a source without its index", func() error {
				return db.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "id"}}, DoUpdates: clause.AssignmentColumns([]string{"region"})}).Create(up).Error
			}, gormcrypt.ErrUnsupportedWrite, "region_idx"},
			{"upsert of an index without one of its sources", func() error {
				return db.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "id"}},
					DoUpdates: clause.AssignmentColumns([]string{"tenant_id", "owner", "owner_idx", "region", "region_idx"})}).Create(up).Error
			}, gormcrypt.ErrUnsupportedWrite, "owner_idx"},
			{"upsert of a source to another value than the record's", func() error {
				return db.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "id"}},
					DoUpdates: append(clause.AssignmentColumns([]string{"tenant_id", "owner", "country", "owner_idx", "region_idx"}),
						clause.Assignment{Column: clause.Column{Name: "region"}, Value: "south"})}).Create(up).Error
			}, gormcrypt.ErrUnsupportedWrite, "region"},
			{"upsert of an index to an expression", func() error {
				return db.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "id"}},
					DoUpdates: append(clause.AssignmentColumns([]string{"tenant_id", "owner", "country", "owner_idx", "region"}),
						clause.Assignment{Column: clause.Column{Name: "region_idx"}, Value: gorm.Expr("region_idx")})}).Create(up).Error
			}, gormcrypt.ErrUnsupportedWrite, "region_idx"},
		}
		before := storedShop(t, db, s.ID)
		model := *s
		// reset puts back what a write wrongly let through, for the next
		// case to start from the same row.
		reset := func() {
			*s = model
			if err := db.Exec("DELETE FROM shops WHERE id <> ?", s.ID).Error; err != nil {
				t.Fatal(err)
			}
			err := db.Exec("UPDATE shops SET tenant_id = ?, owner = ?, country = ?, owner_idx = ?, region = ?, region_idx = ?, stage = ? WHERE id = ?",
				before.Tenant, before.Owner, before.Country, before.OwnerIdx, before.Region, before.RegionIdx, before.Stage, s.ID).Error
			if err != nil {
				t.Fatal(err)
			}
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				defer reset()
				assertRefused(t, tc.run(), tc.sentinel, tc.column)
				if after := storedShop(t, db, s.ID); after != before {
					t.Errorf("refused write changed the row: %+v, want %+v", after, before)
				}
				if !reflect.DeepEqual(*s, model) {
					t.Errorf("refused write changed the model: %+v, want %+v", *s, model)
				}
				if n := countRows(t, db, "shops"); n != 1 {
					t.Errorf("refused write left %d rows, want 1", n)
				}
			})
		}
		assertShopFound(t, db, enc, s.ID)
	})
}

// TestIndexSourceSpellings: a source of a blind or token index named
// other than by its column name (qualified, quoted), which GORM passes to
// the database as written, is refused like an encrypted column so named:
// the index would not be recomputed.
func TestIndexSourceSpellings(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, enc *crypt.Encryptor) {
		if err := db.AutoMigrate(&Subscriber{}); err != nil {
			t.Fatal(err)
		}
		if err := gormcrypt.MigrateTokens(db, &Subscriber{}); err != nil {
			t.Fatal(err)
		}
		sub := &Subscriber{ID: "m1", TenantID: "acme", Name: "Lovelace", Born: "1990-12-10", Home: "ada@example.com", Work: "ada@work.test", Stage: "lead"}
		if err := db.Create(sub).Error; err != nil {
			t.Fatal(err)
		}
		s := setupShops(t, db)
		quoted := `"work"`
		if mysqlLike(db) {
			quoted = "`work`"
		}
		for _, key := range []string{"subscribers.work", quoted, " work"} {
			t.Run("Subscriber "+key, func(t *testing.T) {
				model := *sub
				err := db.Model(&model).Updates(map[string]any{key: "new@work.test"}).Error
				assertRefused(t, err, gormcrypt.ErrUnsupportedWrite, "work")
				if !reflect.DeepEqual(model, *sub) {
					t.Errorf("refused write changed the model: %+v, want %+v", model, *sub)
				}
				var work string
				if err := db.Raw("SELECT work FROM subscribers WHERE id = 'm1'").Row().Scan(&work); err != nil || work != "ada@work.test" {
					t.Errorf("refused write left work %q (%v), want ada@work.test", work, err)
				}
				if ids := find(t, db, "acme", "reach", crypt.Equals("ada@work.test")); !slices.Equal(ids, []string{"m1"}) {
					t.Errorf("Search(reach) by the stored value found %v, want [m1]", ids)
				}
			})
		}
		for _, key := range []string{"shops.region", "shops.country"} {
			t.Run("Shop "+key, func(t *testing.T) {
				before := storedShop(t, db, s.ID)
				model := *s
				err := db.Model(&model).Updates(map[string]any{key: "south"}).Error
				assertRefused(t, err, gormcrypt.ErrUnsupportedWrite, key[len("shops."):])
				up := &Shop{ID: s.ID, TenantID: "acme", Owner: "Ada Lovelace", Country: "FR", Region: "south"}
				err = db.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "id"}},
					DoUpdates: clause.Assignments(map[string]any{key: "south"})}).Create(up).Error
				assertRefused(t, err, gormcrypt.ErrUnsupportedWrite, key[len("shops."):])
				if after := storedShop(t, db, s.ID); after != before {
					t.Errorf("refused write changed the row: %+v, want %+v", after, before)
				}
				assertShopFound(t, db, enc, s.ID)
			})
		}
		// A name in another case GORM resolves itself, through its naming
		// strategy, to the column: the index is recomputed.
		if err := db.Model(s).Updates(map[string]any{"REGION": "south"}).Error; err != nil {
			t.Fatalf("Updates(REGION): %v", err)
		}
		assertShopFound(t, db, enc, s.ID)
		if ids := shopsMatching(t, db, &Shop{TenantID: "acme", Region: "south"}, "RegionIdx"); !slices.Equal(ids, []string{s.ID}) {
			t.Errorf("Matching(RegionIdx, south) after Updates(REGION) found %v, want [%s]", ids, s.ID)
		}
	})
}
