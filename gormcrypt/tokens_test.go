package gormcrypt_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/gormcrypt"
	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/sqlcrypt"
)

// Subscriber has token indexes of every kind but suffix (prefix is the same
// code), with narrow tokens so that searches find other rows too. Its
// Tokens fields are tagged db:"-" too, for sqlcrypt, which searches the
// same side tables.
type Subscriber struct {
	_          struct{}     `crypt:"record=subscriber"`
	ID         string       `gorm:"primaryKey;size:64" crypt:"id"`
	TenantID   string       `gorm:"size:64;index" crypt:"scope"`
	Name       string       `crypt:"encrypt,class=pii"`
	Born       string       `crypt:"encrypt,class=pii"`
	Home       string       `crypt:"encrypt,class=pii"`
	Work       string       `gorm:"size:128"` // a plaintext source
	Stage      string       `gorm:"size:32"`
	NamePrefix crypt.Tokens `gorm:"-" db:"-" crypt:"prefix=Name,len=2..6,bits=8,transform=lower"`
	NameSub    crypt.Tokens `gorm:"-" db:"-" crypt:"substring=Name,transform=lower,tokens=12"`
	BornRange  crypt.Tokens `gorm:"-" db:"-" crypt:"range=Born,type=date,min=1900-01-01,max=2030-12-31,step=30"`
	Reach      crypt.Tokens `gorm:"-" db:"-" crypt:"set=Home+Work,transform=lower,bits=10,class=pii,name=reach"`
}

var subscriberSides = []string{"subscribers_name_prefix", "subscribers_name_sub", "subscribers_born_range", "subscribers_reach"}

func setupSubscribers(t *testing.T, b backend) (*gorm.DB, *crypt.Encryptor) {
	t.Helper()
	db, enc := setup(t, b)
	if err := db.AutoMigrate(&Subscriber{}); err != nil {
		t.Fatal(err)
	}
	if err := gormcrypt.MigrateTokens(db, &Subscriber{}); err != nil {
		t.Fatalf("MigrateTokens: %v", err)
	}
	if err := gormcrypt.MigrateTokens(db, &Subscriber{}, &Contact{}); err != nil { // again, and a model without token indexes
		t.Fatalf("MigrateTokens again: %v", err)
	}
	return db, enc
}

func subscribers(r *rand.Rand, tenant string, n int) []*Subscriber {
	syll := []string{"lo", "ve", "la", "ce", "an", "na", "ri", "e", "tur", "ing", "ada"}
	word := func(min, max int) string {
		var b strings.Builder
		for range min + r.IntN(max-min+1) {
			b.WriteString(syll[r.IntN(len(syll))])
		}
		return b.String()
	}
	emails := []string{"ada@example.com", "Alan@Example.com", "grace@mail.test", "ken@example.org"}
	var out []*Subscriber
	for i := range n {
		name := word(1, 4)
		if r.IntN(8) == 0 {
			name = word(10, 12)
		}
		out = append(out, &Subscriber{
			ID: fmt.Sprintf("%s-%03d", tenant, i), TenantID: tenant, Name: strings.ToUpper(name[:1]) + name[1:],
			Born: fmt.Sprintf("%04d-%02d-%02d", 1950+r.IntN(61), 1+r.IntN(12), 1+r.IntN(28)),
			Home: emails[r.IntN(len(emails))], Work: emails[r.IntN(len(emails))], Stage: "lead",
		})
	}
	return out
}

// find runs a token search through the plugin and returns the IDs found,
// sorted.
func find(t *testing.T, db *gorm.DB, tenant, index string, term crypt.Term) []string {
	t.Helper()
	var out []Subscriber
	if err := db.Scopes(gormcrypt.Search(&Subscriber{TenantID: tenant}, index, term)).Find(&out).Error; err != nil {
		t.Fatalf("Search(%s, %v): %v", index, term, err)
	}
	ids := []string{}
	for _, m := range out {
		if m.TenantID != tenant {
			t.Fatalf("search in %s returned a row of %s", tenant, m.TenantID)
		}
		ids = append(ids, m.ID)
	}
	slices.Sort(ids)
	return ids
}

// sideCount counts the tokens a side table holds for key.
func sideCount(t *testing.T, db *gorm.DB, table, key string) int64 {
	t.Helper()
	var n int64
	if err := db.Raw("SELECT COUNT(*) FROM "+table+" WHERE id = ?", key).Row().Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestTokenSearch: subscribers written by Create and CreateInBatches, across
// an index-key rotation, then changed by Updates, Update and Save, are
// found by every kind of search exactly as a plaintext filter finds them,
// never in another tenant; deleting a row deletes its tokens.
func TestTokenSearch(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			db, enc := setupSubscribers(t, b)
			ctx := context.Background()
			r := rand.New(rand.NewPCG(7, 7))
			acme := subscribers(r, "acme", 90)
			globex := subscribers(rand.New(rand.NewPCG(7, 7)), "globex", 90) // the same values
			if err := db.CreateInBatches(globex, 25).Error; err != nil {
				t.Fatal(err)
			}
			for _, m := range acme[:45] {
				if err := db.Create(m).Error; err != nil {
					t.Fatal(err)
				}
			}
			if len(acme[0].NamePrefix) == 0 {
				t.Error("the caller's record holds no tokens after Create")
			}
			admin := keyring.NewManager(enc.Keyring())
			id := keyring.KeysetID{Scope: "acme", Class: "pii", Purpose: keyring.PurposeIndex}
			keyID, err := admin.AddKey(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if err := admin.PromoteKey(ctx, id, keyID); err != nil {
				t.Fatal(err)
			}
			if err := db.CreateInBatches(acme[45:], 20).Error; err != nil {
				t.Fatal(err)
			}
			// Changes, each of which rewrites tokens.
			acme[3].Name = "Lovelace"
			if err := db.Model(acme[3]).Updates(map[string]any{"name": acme[3].Name}).Error; err != nil {
				t.Fatalf("Updates(name): %v", err)
			}
			acme[4].Home, acme[4].Work = "new@example.com", "other@example.com"
			if err := db.Model(acme[4]).Updates(Subscriber{Home: acme[4].Home, Work: acme[4].Work}).Error; err != nil {
				t.Fatalf("Updates(home, work): %v", err)
			}
			acme[5].Born = "2001-02-03"
			acme[5].Name = "Turing"
			if err := db.Save(acme[5]).Error; err != nil {
				t.Fatalf("Save: %v", err)
			}
			if err := db.Model(acme[6]).Update("stage", "customer").Error; err != nil { // no source: no token written
				t.Fatalf("Update(stage): %v", err)
			}

			type q struct {
				index string
				term  crypt.Term
				want  func(m *Subscriber) bool
			}
			var qs []q
			for range 120 {
				m := acme[r.IntN(len(acme))]
				switch r.IntN(4) {
				case 0:
					p := strings.ToLower(m.Name[:min(len(m.Name), 2+r.IntN(6))])
					if len(p) < 2 {
						continue
					}
					qs = append(qs, q{"NamePrefix", crypt.HasPrefix(p), func(x *Subscriber) bool { return strings.HasPrefix(strings.ToLower(x.Name), p) }})
				case 1:
					if len(m.Name) < 3 {
						continue
					}
					l := 3 + r.IntN(min(len(m.Name), 18)-2)
					s := r.IntN(len(m.Name) - l + 1)
					sub := strings.ToLower(m.Name[s : s+l])
					qs = append(qs, q{"NameSub", crypt.Contains(sub), func(x *Subscriber) bool { return strings.Contains(strings.ToLower(x.Name), sub) }})
				case 2:
					lo, hi := m.Born, acme[r.IntN(len(acme))].Born
					if lo > hi {
						lo, hi = hi, lo
					}
					if r.IntN(6) == 0 {
						hi = lo
					}
					qs = append(qs, q{"BornRange", crypt.Between(lo, hi), func(x *Subscriber) bool { return x.Born >= lo && x.Born <= hi }})
				case 3:
					v := []string{m.Home, m.Work}[r.IntN(2)]
					qs = append(qs, q{"reach", crypt.Equals(strings.ToUpper(v)), func(x *Subscriber) bool {
						return strings.EqualFold(x.Home, v) || strings.EqualFold(x.Work, v)
					}})
				}
			}
			qs = append(qs, q{"BornRange", crypt.Between("2000-01-01", "1999-01-01"), func(*Subscriber) bool { return false }})
			for _, c := range qs {
				want := []string{}
				for _, m := range acme {
					if c.want(m) {
						want = append(want, m.ID)
					}
				}
				slices.Sort(want)
				if got := find(t, db, "acme", c.index, c.term); !slices.Equal(got, want) {
					t.Errorf("%s %v: found %v, want %v", c.index, c.term, got, want)
				}
			}

			// The side tables are sqlcrypt's: its Search over the same
			// database finds the same rows.
			if sqlDB, err := db.DB(); err == nil {
				d, _ := sqlcrypt.Postgres, 0
				switch b.name {
				case "sqlite":
					d = sqlcrypt.SQLite
				case "mariadb":
					d = sqlcrypt.MySQL
				}
				cond, args, match, err := sqlcrypt.Search(ctx, enc, d, "subscribers", &Subscriber{TenantID: "acme"}, "NamePrefix", crypt.HasPrefix("lov"), 1)
				if err != nil {
					t.Fatal(err)
				}
				rows, err := sqlDB.QueryContext(ctx, "SELECT * FROM subscribers WHERE "+cond, args...)
				if err != nil {
					t.Fatal(err)
				}
				got, err := sqlcrypt.ScanAll[Subscriber](ctx, enc, rows, match)
				if err != nil {
					t.Fatal(err)
				}
				var ids []string
				for _, m := range got {
					ids = append(ids, m.ID)
				}
				slices.Sort(ids)
				if want := find(t, db, "acme", "NamePrefix", crypt.HasPrefix("lov")); !slices.Equal(ids, want) || len(want) == 0 {
					t.Errorf("sqlcrypt.Search found %v, gormcrypt.Search %v", ids, want)
				}
			}

			// Deleting a row deletes its tokens.
			if sideCount(t, db, "subscribers_reach", acme[0].ID) == 0 {
				t.Fatal("no tokens written for the first member")
			}
			if err := db.Delete(acme[0]).Error; err != nil {
				t.Fatal(err)
			}
			for _, side := range subscriberSides {
				if n := sideCount(t, db, side, acme[0].ID); n != 0 {
					t.Errorf("%s holds %d tokens of a deleted row", side, n)
				}
			}
		})
	}
}

// TestTokenSearchPlanted: tokens copied into a row's side table from
// another row make it a candidate, and the filter drops it; copied into a
// row of another tenant, they do not make it a candidate.
func TestTokenSearchPlanted(t *testing.T) {
	eachTokenDB(t, func(t *testing.T, db *gorm.DB) {
		victim := &Subscriber{ID: "v", TenantID: "acme", Name: "Turing", Born: "1954-06-07", Home: "alan@example.com"}
		target := &Subscriber{ID: "t", TenantID: "acme", Name: "Lovelace", Born: "1990-12-10", Home: "ada@example.com"}
		foreign := &Subscriber{ID: "f", TenantID: "globex", Name: "Lovelace", Born: "1990-12-10", Home: "ada@example.com"}
		for _, m := range []*Subscriber{victim, target, foreign} {
			if err := db.Create(m).Error; err != nil {
				t.Fatal(err)
			}
		}
		for _, side := range subscriberSides {
			if err := db.Exec("INSERT INTO "+side+" (id, token) SELECT ?, token FROM "+side+" WHERE id = ? AND token NOT IN (SELECT token FROM "+side+" WHERE id = ?)", "v", "t", "v").Error; err != nil {
				t.Fatal(err)
			}
		}
		// The plant took: the victim's rows hold every token of the
		// target's.
		for _, side := range subscriberSides {
			var missing, planted int64
			if err := db.Raw("SELECT COUNT(*) FROM "+side+" t WHERE t.id = ? AND t.token NOT IN (SELECT v.token FROM "+side+" v WHERE v.id = ?)", "t", "v").Row().Scan(&missing); err != nil {
				t.Fatal(err)
			}
			if planted = sideCount(t, db, side, "t"); missing != 0 || planted == 0 {
				t.Fatalf("%s: %d of the target's %d tokens missing from the victim's after the plant", side, missing, planted)
			}
		}
		for _, c := range []struct {
			index string
			term  crypt.Term
		}{
			{"NamePrefix", crypt.HasPrefix("love")},
			{"NameSub", crypt.Contains("velac")},
			{"BornRange", crypt.Between("1990-12-01", "1990-12-31")},
			{"reach", crypt.Equals("ADA@example.com")},
		} {
			var candidates int64
			// The candidates, counted without the plugin's filter.
			cond := "id IN (SELECT id FROM subscribers_" + map[string]string{"NamePrefix": "name_prefix", "NameSub": "name_sub", "BornRange": "born_range", "reach": "reach"}[c.index] + ") AND tenant_id = 'acme'"
			if err := db.Raw("SELECT COUNT(*) FROM subscribers WHERE " + cond).Row().Scan(&candidates); err != nil || candidates != 2 {
				t.Fatalf("%d rows of acme with %s tokens, %v", candidates, c.index, err)
			}
			if got := find(t, db, "acme", c.index, c.term); !slices.Equal(got, []string{"t"}) {
				t.Errorf("%s %v = %v, want [t]", c.index, c.term, got)
			}
		}
		// The same plant in another tenant's row, whose ciphertext is then
		// broken: the search never reads it (it is not a candidate of
		// acme's), where the filter would drop it only after failing to
		// decrypt it, and fail the search.
		for _, side := range subscriberSides {
			if err := db.Exec("INSERT INTO "+side+" (id, token) SELECT ?, token FROM "+side+" WHERE id = ? AND token NOT IN (SELECT token FROM "+side+" WHERE id = ?)", "f", "t", "f").Error; err != nil {
				t.Fatal(err)
			}
		}
		if err := db.Exec("UPDATE subscribers SET name = ?, born = ?, home = ? WHERE id = ?", "x", "x", "x", "f").Error; err != nil {
			t.Fatal(err)
		}
		if got := find(t, db, "acme", "NamePrefix", crypt.HasPrefix("love")); !slices.Equal(got, []string{"t"}) {
			t.Errorf("with another tenant's row planted and broken, acme's search finds %v, want [t]", got)
		}
	})
}

func eachTokenDB(t *testing.T, f func(t *testing.T, db *gorm.DB)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			db, _ := setupSubscribers(t, b)
			f(t, db)
		})
	}
}

type subscribersBadColumn struct {
	_          struct{}     `crypt:"record=bad"`
	ID         string       `gorm:"primaryKey;size:64" crypt:"id"`
	Name       string       `crypt:"encrypt"`
	NamePrefix crypt.Tokens `crypt:"prefix=Name,len=2..4,bits=8"`
}

type membersSerialized struct {
	_          struct{}     `crypt:"record=bad"`
	ID         string       `gorm:"primaryKey;size:64" crypt:"id"`
	Name       string       `crypt:"encrypt"`
	NamePrefix crypt.Tokens `gorm:"serializer:json" crypt:"prefix=Name,len=2..4,bits=8"`
}

type membersTwoIDs struct {
	_          struct{}     `crypt:"record=two"`
	Org        string       `gorm:"primaryKey;size:64" crypt:"id"`
	ID         string       `gorm:"primaryKey;size:64" crypt:"id"`
	Name       string       `crypt:"encrypt"`
	NamePrefix crypt.Tokens `gorm:"-" crypt:"prefix=Name,len=2..4,bits=8"`
}

// withAddressBook holds its e-mail addresses as a has-many association: a
// set index over them would be computed before GORM writes them, without
// them.
type withAddressBook struct {
	_         struct{}      `crypt:"record=book"`
	ID        string        `gorm:"primaryKey;size:64" crypt:"id"`
	Addresses []bookAddress `gorm:"foreignKey:BookID"`
	Reach     crypt.Tokens  `gorm:"-" crypt:"set=Addresses[].Email,bits=16"`
}

type bookAddress struct {
	ID     string `gorm:"primaryKey;size:64"`
	BookID string `gorm:"size:64"`
	Email  string `crypt:"encrypt"`
}

// withJSONMails holds its addresses in a JSON column: a write of that
// column could not keep a set index over them in step.
type withJSONMails struct {
	_      struct{}     `crypt:"record=jsonmails"`
	ID     string       `gorm:"primaryKey;size:64" crypt:"id"`
	Emails []jsonMail   `gorm:"serializer:json"`
	Reach  crypt.Tokens `gorm:"-" crypt:"set=Emails[].Address,bits=16"`
}

type jsonMail struct {
	Address string `json:"address" crypt:"encrypt"`
}

// twoSideTables has two token indexes whose side tables would be one
// (<table>_id_prefix): each write of one would replace the other's tokens.
type twoSideTables struct {
	_        struct{}     `crypt:"record=cities"`
	ID       string       `gorm:"primaryKey;size:64" crypt:"id"`
	City     string       `crypt:"encrypt"`
	IDPrefix crypt.Tokens `gorm:"-" crypt:"prefix=City,len=3..5,bits=8"`
	IdPrefix crypt.Tokens `gorm:"-" crypt:"suffix=City,len=3..5,bits=8"`
}

// TestTokenRefusals: models and writes that would leave tokens apart from
// their rows are refused, with nothing written.
func TestTokenRefusals(t *testing.T) {
	for _, tt := range []struct {
		model any
		field string
	}{{&subscribersBadColumn{}, "NamePrefix"}, {&membersSerialized{}, "NamePrefix"}, {&membersTwoIDs{}, "NamePrefix"}, {&withAddressBook{}, "Reach"},
		{&withJSONMails{}, "Reach"}, {&twoSideTables{}, "IdPrefix"}} {
		db := openSQLite(t)
		err := db.Use(gormcrypt.New(newEncryptor(t), tt.model))
		var e *gormcrypt.Error
		if !errors.As(err, &e) || !errors.Is(err, gormcrypt.ErrUnsupportedModel) || e.Field != tt.field {
			t.Errorf("registering %T: %v, want an Error naming %s", tt.model, err, tt.field)
		}
		if _, book := tt.model.(*withAddressBook); book && (err == nil || !strings.Contains(err.Error(), "association Addresses")) {
			t.Errorf("registering %T: %v, want it to name the association", tt.model, err)
		}
	}
	{
		db := openSQLite(t)
		if err := db.Use(gormcrypt.New(newEncryptor(t))); err != nil {
			t.Fatal(err)
		}
		var out []subscribersBadColumn
		err := db.Scopes(gormcrypt.Search(&subscribersBadColumn{}, "NamePrefix", crypt.HasPrefix("ab"))).Find(&out).Error
		// GORM's own parse error of the destination follows, and
		// GORM's AddError keeps only the last error's chain.
		if err == nil || !strings.Contains(err.Error(), "gormcrypt: model not supported") || !strings.Contains(err.Error(), `gorm:"-"`) {
			t.Errorf("Search of a model with a Tokens column: %v", err)
		}
		// A first use, unregistered: GORM fails to parse the model, and
		// the plugin says why.
		err = db.Create(&subscribersBadColumn{ID: "x", Name: "abc"}).Error
		var e *gormcrypt.Error
		if !errors.As(err, &e) || !errors.Is(err, gormcrypt.ErrUnsupportedModel) || e.Field != "NamePrefix" {
			t.Errorf("Create of a model with a Tokens column: %v", err)
		}
	}

	eachTokenDB(t, func(t *testing.T, db *gorm.DB) {
		m := &Subscriber{ID: "m1", TenantID: "acme", Name: "Lovelace", Born: "1990-12-10", Home: "ada@example.com", Work: "ada@work.test", Stage: "lead"}
		if err := db.Create(m).Error; err != nil {
			t.Fatal(err)
		}
		before := map[string]int64{}
		for _, side := range subscriberSides {
			before[side] = sideCount(t, db, side, "m1")
		}
		refused := func(what string, err error, sentinel error) {
			t.Helper()
			if !errors.Is(err, sentinel) {
				t.Errorf("%s: %v, want %v", what, err, sentinel)
			}
		}
		// An update of some of a shared index's sources.
		refused("Updates(home) of set=Home+Work", db.Model(m).Updates(map[string]any{"home": "x@example.com"}).Error, gormcrypt.ErrUnsupportedWrite)
		// A plaintext source, through a model that names no row.
		refused("Update(work) of many rows", db.Model(&Subscriber{}).Where("stage = ?", "lead").Updates(map[string]any{"work": "w", "home": "h"}).Error, gormcrypt.ErrUnknownIdentity)
		refused("db.Table Update(work)", db.Table("subscribers").Where("id = ?", "m1").Update("work", "w").Error, gormcrypt.ErrUnknownIdentity)
		refused("Create from a map", db.Model(&Subscriber{}).Create(map[string]any{"id": "m2", "tenant_id": "acme", "work": "w"}).Error, gormcrypt.ErrUnsupportedWrite)
		refused("Create omitting a source", db.Omit("work").Create(&Subscriber{ID: "m3", TenantID: "acme", Name: "A", Born: "1990-01-01", Home: "h"}).Error, gormcrypt.ErrUnsupportedWrite)
		// An upsert that may keep the old row's values.
		up := &Subscriber{ID: "m1", TenantID: "acme", Name: "Hopper", Born: "1990-12-10", Home: "ada@example.com", Work: "w", Stage: "customer"}
		refused("upsert of stage only", db.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "id"}}, DoUpdates: clause.AssignmentColumns([]string{"stage"})}).Create(up).Error, gormcrypt.ErrUnsupportedWrite)
		refused("upsert doing nothing for two records", db.Clauses(clause.OnConflict{DoNothing: true}).Create([]*Subscriber{up, {ID: "m4", TenantID: "acme", Name: "B", Born: "1990-01-01"}}).Error, gormcrypt.ErrUnsupportedWrite)
		refused("upsert with a condition on its update", db.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "id"}},
			Where: clause.Where{Exprs: []clause.Expression{clause.Expr{SQL: "1 = 0"}}}, UpdateAll: true}).Create(up).Error, gormcrypt.ErrUnsupportedWrite)
		refused("upsert setting a plaintext source to another value", db.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "id"}},
			DoUpdates: append(clause.AssignmentColumns([]string{"name", "born", "home", "stage"}), clause.Assignments(map[string]any{"work": "x"})...)}).Create(up).Error, gormcrypt.ErrUnsupportedWrite)
		// Without a transaction.
		refused("Create with SkipDefaultTransaction", db.Session(&gorm.Session{SkipDefaultTransaction: true}).Create(&Subscriber{ID: "m5", TenantID: "acme", Name: "C", Born: "1990-01-01"}).Error, gormcrypt.ErrUnsupportedWrite)
		// Searches that would answer before the filter.
		var out []Subscriber
		var n int64
		s := gormcrypt.Search(&Subscriber{TenantID: "acme"}, "NamePrefix", crypt.HasPrefix("lov"))
		refused("Search with First", db.Scopes(s).First(&out).Error, gormcrypt.ErrUnsupportedSearch)
		refused("Search with Limit", db.Scopes(s).Limit(1).Find(&out).Error, gormcrypt.ErrUnsupportedSearch)
		refused("Search with Count", db.Model(&Subscriber{}).Scopes(s).Count(&n).Error, gormcrypt.ErrUnsupportedSearch)
		refused("Search with Group", db.Scopes(s).Group("stage").Find(&out).Error, gormcrypt.ErrUnsupportedSearch)
		refused("Search omitting the source", db.Scopes(s).Omit("name").Find(&out).Error, gormcrypt.ErrUnsupportedSearch)
		refused("Search in Delete", db.Scopes(s).Delete(&Subscriber{}).Error, gormcrypt.ErrUnsupportedSearch)
		refused("Search without a scope", db.Scopes(gormcrypt.Search(&Subscriber{}, "NamePrefix", crypt.HasPrefix("lov"))).Find(&out).Error, gormcrypt.ErrUnsupportedSearch)
		if err := db.Scopes(gormcrypt.Search(&Subscriber{TenantID: "acme"}, "NamePrefix", crypt.Contains("lov"))).Find(&out).Error; !errors.Is(err, crypt.ErrWrongTerm) {
			t.Errorf("Search with a term of another kind: %v", err)
		}
		if err := db.Scopes(gormcrypt.Search(&Subscriber{TenantID: "acme"}, "Nope", crypt.HasPrefix("lov"))).Find(&out).Error; !errors.Is(err, crypt.ErrUnknownIndex) {
			t.Errorf("Search of an unknown index: %v", err)
		}
		for _, side := range subscriberSides {
			if n := sideCount(t, db, side, "m1"); n != before[side] {
				t.Errorf("%s: %d tokens for m1 after the refusals, %d before", side, n, before[side])
			}
		}
		if got := find(t, db, "acme", "NamePrefix", crypt.HasPrefix("lov")); !slices.Equal(got, []string{"m1"}) {
			t.Errorf("after the refusals, the search finds %v", got)
		}
		// An upsert of one record that does nothing on conflict leaves
		// the row and its tokens; one that updates every source rewrites
		// them.
		if err := db.Clauses(clause.OnConflict{DoNothing: true}).Create(up).Error; err != nil {
			t.Fatalf("upsert doing nothing: %v", err)
		}
		// The filter after decryption would hide tokens rewritten for
		// Hopper ("hop" finds nothing either way): the old row's must
		// still be there, every one of them.
		if got := find(t, db, "acme", "NamePrefix", crypt.HasPrefix("lov")); !slices.Equal(got, []string{"m1"}) {
			t.Errorf("after an upsert that did nothing, the row's own value finds %v", got)
		}
		for _, side := range subscriberSides {
			if n := sideCount(t, db, side, "m1"); n != before[side] {
				t.Errorf("%s: %d tokens for m1 after an upsert that did nothing, %d before", side, n, before[side])
			}
		}
		if db.Dialector.Name() == "mysql" {
			// ON DUPLICATE KEY UPDATE of a model whose primary key does
			// not hold its scope is refused there: update through Save.
			if err := db.Save(up).Error; err != nil {
				t.Fatalf("Save: %v", err)
			}
		} else if err := db.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "id"}}, UpdateAll: true}).Create(up).Error; err != nil {
			t.Fatalf("upsert updating all: %v", err)
		}
		if got := find(t, db, "acme", "NamePrefix", crypt.HasPrefix("hop")); !slices.Equal(got, []string{"m1"}) {
			t.Errorf("after an upsert of every column, the search finds %v", got)
		}
		if got := find(t, db, "acme", "NamePrefix", crypt.HasPrefix("lov")); len(got) != 0 {
			t.Errorf("after an upsert of every column, the old value is found: %v", got)
		}
	})
}

// TestTokenWriteRollsBack: when the tokens cannot be written, the row is
// not either.
func TestTokenWriteRollsBack(t *testing.T) {
	eachTokenDB(t, func(t *testing.T, db *gorm.DB) {
		if err := db.Migrator().DropTable("subscribers_reach"); err != nil {
			t.Fatal(err)
		}
		err := db.Create(&Subscriber{ID: "r1", TenantID: "acme", Name: "Lovelace", Born: "1990-12-10", Home: "ada@example.com"}).Error
		var e *gormcrypt.Error
		if !errors.As(err, &e) || e.Field != "Reach" {
			t.Errorf("Create without a side table: %v, want an Error naming Reach", err)
		}
		if n := countRows(t, db, "subscribers"); n != 0 {
			t.Errorf("%d rows written without their tokens", n)
		}
		if n := countRows(t, db, "subscribers_name_prefix"); n != 0 {
			t.Errorf("%d tokens written without their row", n)
		}
	})
}

// TestTokenSearchShape: the SQL a search writes carries the index's token
// width to the condition. On PostgreSQL a range index (64-bit tokens)
// gathers its candidates first, = ANY(ARRAY(...)), and a prefix index
// (8 bits here) keeps IN; MySQL and SQLite use IN for both. The rows
// found are TestTokenSearch's business: both shapes find the same.
func TestTokenSearchShape(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			db, _ := setupSubscribers(t, b)
			// A record, so that the scope has keysets and a search tokens
			// (a scope without them gets "1 = 0").
			if err := db.Create(subscribers(rand.New(rand.NewPCG(3, 3)), "acme", 1)).Error; err != nil {
				t.Fatal(err)
			}
			sqlOf := func(index string, term crypt.Term) string {
				var out []Subscriber
				res := db.Session(&gorm.Session{DryRun: true}).
					Scopes(gormcrypt.Search(&Subscriber{TenantID: "acme"}, index, term)).Find(&out)
				if res.Error != nil {
					t.Fatalf("Search(%s) dry run: %v", index, res.Error)
				}
				return res.Statement.SQL.String()
			}
			wide := sqlOf("BornRange", crypt.Between("1980-01-01", "1980-03-31"))
			narrow := sqlOf("NamePrefix", crypt.HasPrefix("lov"))
			if strings.Contains(narrow, "ANY(ARRAY(") || !strings.Contains(narrow, " IN (SELECT ") {
				t.Errorf("prefix search, 8-bit tokens: %s\nwant IN (SELECT ...)", narrow)
			}
			wantAny := b.name == "postgres"
			if got := strings.Contains(wide, "= ANY(ARRAY(SELECT "); got != wantAny {
				t.Errorf("range search, 64-bit tokens, on %s: %s\nwant ANY(ARRAY(...)) %v", b.name, wide, wantAny)
			}
			if !wantAny && !strings.Contains(wide, " IN (SELECT ") {
				t.Errorf("range search on %s: %s\nwant IN (SELECT ...)", b.name, wide)
			}
		})
	}
}
