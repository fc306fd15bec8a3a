package gormcrypt_test

import (
	"errors"
	"fmt"
	"testing"

	"gorm.io/gorm"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/gormcrypt"
	"github.com/fieldcrypt/fieldcrypt/internal/testkeys"
	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// SupportCase is searched by a class support index while one of its
// fields is class pii: a support process can search it, not read it all.
type SupportCase struct {
	_        struct{} `crypt:"record=supportcase"`
	ID       string   `gorm:"primaryKey;size:64" crypt:"id"`
	TenantID string   `gorm:"size:64" crypt:"scope"`
	Topic    string   `crypt:"encrypt,class=support"`
	TopicIdx string   `gorm:"size:8" crypt:"blind=Topic,transform=lower,bits=1"` // one bit: half of all topics collide
	Customer string   `crypt:"encrypt,class=pii"`
}

// encryptorPair returns an Encryptor holding every class's KEK and one
// holding class support's only, over the same keysets.
func encryptorPair(t *testing.T) (all, support *crypt.Encryptor) {
	t.Helper()
	opener, keks := testkeys.KEKs(t, "pii", "support", "default")
	store := keyring.NewMemoryStore()
	all = crypt.New(testkeys.Keyring(t, store, opener, keks), nil)
	support = crypt.New(testkeys.Keyring(t, store, opener, map[string]string{"support": keks["support"]}), nil)
	return all, support
}

// TestMatchingUndecryptable plays a process without access to a class of
// the rows a search finds: it must not get the candidates the blind index
// found unfiltered (false positives, or another tenant's row brought by an
// OR), but an error and no row, on every database.
func TestMatchingUndecryptable(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			db := b.open(t)
			all, support := encryptorPair(t)
			if err := db.Use(gormcrypt.New(all)); err != nil {
				t.Fatal(err)
			}
			if err := db.AutoMigrate(&SupportCase{}); err != nil {
				t.Fatal(err)
			}
			var cases []SupportCase
			for i := range 16 {
				cases = append(cases, SupportCase{ID: fmt.Sprintf("sc-%02d", i), TenantID: "acme", Topic: fmt.Sprintf("Topic %02d", i), Customer: "Zebulon Quartermaine"})
			}
			cases = append(cases, SupportCase{ID: "sc-globex", TenantID: "globex", Topic: "Topic 05", Customer: "Globex customer"})
			if err := db.Create(&cases).Error; err != nil {
				t.Fatal(err)
			}
			// The same database, opened by the support process.
			sdb, err := gorm.Open(db.Dialector, gormConfig())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { closeDB(sdb) })
			if err := sdb.Use(gormcrypt.New(support)); err != nil {
				t.Fatal(err)
			}
			probe := &SupportCase{TenantID: "acme", Topic: "topic 05"}
			queries := map[string]*gorm.DB{
				"Matching":               sdb.Scopes(gormcrypt.Matching(probe, "TopicIdx")),
				"Matching after an OR":   sdb.Where("tenant_id = ?", "globex").Or("1 = 0").Scopes(gormcrypt.Matching(probe, "TopicIdx")),
				"Matching with a Where":  sdb.Where("id <> ?", "none").Scopes(gormcrypt.Matching(probe, "TopicIdx")),
				"Matching, pointer rows": sdb.Scopes(gormcrypt.Matching(probe, "TopicIdx")),
			}
			for name, q := range queries {
				t.Run(name, func(t *testing.T) {
					out := []SupportCase{{ID: "stale"}}
					var res *gorm.DB
					if name == "Matching, pointer rows" {
						var ptrs []*SupportCase
						res = q.Find(&ptrs)
						if len(ptrs) != 0 {
							t.Errorf("search with undecryptable rows returned %d rows, want none", len(ptrs))
						}
					} else {
						res = q.Find(&out)
						if len(out) != 0 {
							t.Errorf("search with undecryptable rows returned %d rows, want none", len(out))
						}
					}
					if !errors.Is(res.Error, crypt.ErrNoAccess) {
						t.Errorf("err = %v, want crypt.ErrNoAccess", res.Error)
					}
					if res.RowsAffected != 0 {
						t.Errorf("RowsAffected = %d, want 0", res.RowsAffected)
					}
				})
			}
			// The process with every KEK finds the one match.
			var out []SupportCase
			if err := db.Scopes(gormcrypt.Matching(probe, "TopicIdx")).Find(&out).Error; err != nil || len(out) != 1 || out[0].ID != "sc-05" {
				t.Errorf("search with every class = %d rows, %v; want sc-05", len(out), err)
			}
		})
	}
}

// TestMatchingTwice: two Matching scopes on one query return the rows that
// match both, whichever comes first, on every database; searches of two
// record types in one query are refused.
func TestMatchingTwice(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, _ *crypt.Encryptor) {
		var cs []*Contact
		for i := range 16 {
			c := newContact("acme")
			c.Name = fmt.Sprintf("Name %02d", i)
			cs = append(cs, c)
		}
		if err := db.Create(&cs).Error; err != nil {
			t.Fatal(err)
		}
		// j shares cs[5]'s one-bit name index: the query finds it, and
		// only the name's filter drops it.
		j := -1
		for i, c := range cs {
			if i != 5 && c.NameIdx == cs[5].NameIdx {
				j = i
				break
			}
		}
		if j < 0 {
			t.Fatal("no contact shares the one-bit index value")
		}
		byName := gormcrypt.Matching(&Contact{TenantID: "acme", Name: "name 05"}, "NameIdx")
		for _, tc := range []struct {
			name  string
			email string
			want  []string
		}{
			{"both match", cs[5].Email, []string{cs[5].ID}},
			{"name matches another row", cs[j].Email, nil},
		} {
			byEmail := gormcrypt.Matching(&Contact{TenantID: "acme", Email: tc.email}, "EmailIdx")
			for order, scopes := range [][]func(*gorm.DB) *gorm.DB{{byName, byEmail}, {byEmail, byName}} {
				var out []Contact
				if err := db.Scopes(scopes...).Find(&out).Error; err != nil {
					t.Fatalf("%s (order %d): %v", tc.name, order, err)
				}
				if got := ids(out); fmt.Sprint(got) != fmt.Sprint(tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
					t.Errorf("%s (order %d): found %v, want %v", tc.name, order, got, tc.want)
				}
			}
		}
		var out []Contact
		err := db.Scopes(byName, gormcrypt.Matching(&Lead{TenantID: "acme", First: "a", Last: "b"}, "FullIdx")).Find(&out).Error
		if !errors.Is(err, gormcrypt.ErrUnsupportedSearch) {
			t.Errorf("searches of two record types: err = %v, want ErrUnsupportedSearch", err)
		}
	})
}

// TestMatchingGroupRefused: GROUP BY, HAVING and DISTINCT would merge or
// drop rows before the false positives are dropped: refused before any
// SQL, on every database.
func TestMatchingGroupRefused(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, _ *crypt.Encryptor) {
		c := newContact("acme")
		mustCreate(t, db, c)
		search := gormcrypt.Matching(&Contact{TenantID: "acme", Name: c.Name}, "NameIdx")
		for name, q := range map[string]*gorm.DB{
			"Group":          db.Scopes(search).Group("name_idx"),
			"Group, Having":  db.Scopes(search).Group("name_idx").Having("COUNT(*) > ?", 1),
			"Distinct":       db.Scopes(search).Distinct(),
			"Distinct(cols)": db.Scopes(search).Distinct("name_idx", "tenant_id", "name"),
		} {
			t.Run(name, func(t *testing.T) {
				out := []Contact{}
				err := q.Find(&out).Error
				if !errors.Is(err, gormcrypt.ErrUnsupportedSearch) {
					t.Errorf("err = %v, want ErrUnsupportedSearch", err)
				}
				if len(out) != 0 {
					t.Errorf("refused search returned %d rows", len(out))
				}
			})
		}
	})
}
