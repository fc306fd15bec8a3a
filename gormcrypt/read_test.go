package gormcrypt_test

import (
	"errors"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/gormcrypt"
)

// seedGraph stores a company, a contact that belongs to it and has two
// interactions, all of tenant acme, through GORM's association saving.
func seedGraph(t *testing.T, db *gorm.DB) *Contact {
	t.Helper()
	c := newContact("acme")
	c.Company = &Company{ID: "co-" + c.ID, TenantID: "acme", Name: "Initech Secret Holdings"}
	c.Interactions = []Interaction{
		{ID: "i1-" + c.ID, TenantID: "acme", Summary: "secret call about invoice 42"},
		{ID: "i2-" + c.ID, TenantID: "acme", Summary: "secret visit at the office"},
	}
	if err := db.Create(c).Error; err != nil {
		t.Fatalf("Create with associations: %v", err)
	}
	if c.Company.Name != "Initech Secret Holdings" || c.Interactions[0].Summary != "secret call about invoice 42" {
		t.Errorf("Create left ciphertext in the caller's associations: %q, %q", c.Company.Name, c.Interactions[0].Summary)
	}
	return c
}

func TestReadPaths(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, _ *crypt.Encryptor) {
		c := seedGraph(t, db)
		other := newContact("acme")
		mustCreate(t, db, other)
		assertStoredEncrypted(t, db, c)
		var raw []string
		if err := db.Raw("SELECT name FROM companies UNION ALL SELECT summary FROM interactions").Scan(&raw).Error; err != nil {
			t.Fatal(err)
		}
		for _, v := range raw {
			if !strings.HasPrefix(v, "fc1:") || strings.Contains(v, "secret") {
				t.Errorf("association column holds %q, want a ciphertext", v)
			}
		}

		t.Run("First", func(t *testing.T) {
			var got Contact
			if err := db.First(&got, "id = ?", c.ID).Error; err != nil {
				t.Fatal(err)
			}
			assertSamePlaintext(t, &got, c)
		})
		t.Run("Take", func(t *testing.T) {
			var got Contact
			if err := db.Where("id = ?", other.ID).Take(&got).Error; err != nil {
				t.Fatal(err)
			}
			assertSamePlaintext(t, &got, other)
		})
		t.Run("Last", func(t *testing.T) {
			var got Contact
			if err := db.Where("id = ?", other.ID).Last(&got).Error; err != nil {
				t.Fatal(err)
			}
			assertSamePlaintext(t, &got, other)
		})
		t.Run("Find", func(t *testing.T) {
			var got []*Contact
			if err := db.Order("id").Find(&got).Error; err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 {
				t.Fatalf("Find got %d contacts, want 2", len(got))
			}
			for _, g := range got {
				want := c
				if g.ID == other.ID {
					want = other
				}
				assertSamePlaintext(t, g, want)
			}
		})
		t.Run("Scan", func(t *testing.T) {
			var got Contact
			if err := gormcrypt.Scan(db.Table("contacts").Where("id = ?", c.ID), &got).Error; err != nil {
				t.Fatal(err)
			}
			assertSamePlaintext(t, &got, c)
			var all []Contact
			if err := gormcrypt.Scan(db.Raw("SELECT * FROM contacts ORDER BY id"), &all).Error; err != nil {
				t.Fatal(err)
			}
			if len(all) != 2 || all[0].Email == "" || strings.HasPrefix(all[0].Email, "fc1:") || strings.HasPrefix(all[1].Email, "fc1:") {
				t.Errorf("Scan of Raw into []Contact = %d rows, emails %q; want 2 decrypted", len(all), emails(all))
			}
			// GORM's own Scan runs no query callbacks: it hands back the
			// ciphertext, never something that passes for plaintext.
			var bare Contact
			if err := db.Table("contacts").Where("id = ?", c.ID).Scan(&bare).Error; err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(bare.Email, "fc1:") {
				t.Errorf("db.Scan gave email %q, want the stored ciphertext", bare.Email)
			}
		})
		t.Run("Find with Raw", func(t *testing.T) {
			var got []Contact
			if err := db.Raw("SELECT * FROM contacts WHERE id = ?", c.ID).Find(&got).Error; err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 {
				t.Fatalf("got %d rows", len(got))
			}
			assertSamePlaintext(t, &got[0], c)
		})
		t.Run("Preload", func(t *testing.T) {
			var got Contact
			if err := db.Preload("Interactions").Preload("Company").First(&got, "id = ?", c.ID).Error; err != nil {
				t.Fatal(err)
			}
			assertSamePlaintext(t, &got, c)
			if got.Company == nil || got.Company.Name != "Initech Secret Holdings" {
				t.Errorf("preloaded company = %+v, want its plaintext name", got.Company)
			}
			if len(got.Interactions) != 2 || !strings.HasPrefix(got.Interactions[0].Summary, "secret ") || !strings.HasPrefix(got.Interactions[1].Summary, "secret ") {
				t.Errorf("preloaded interactions = %+v, want 2 in plaintext", got.Interactions)
			}
		})
		t.Run("Joins", func(t *testing.T) {
			var got []Contact
			if err := db.Joins("Company").Where("contacts.id = ?", c.ID).Find(&got).Error; err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].Company == nil || got[0].Company.Name != "Initech Secret Holdings" {
				t.Fatalf("joined = %+v, want one contact with its company in plaintext", got)
			}
			assertSamePlaintext(t, &got[0], c)
		})
		t.Run("Joins with no joined row", func(t *testing.T) {
			var got []Contact
			if err := db.Joins("Company").Where("contacts.id = ?", other.ID).Find(&got).Error; err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].Company != nil {
				t.Fatalf("joined = %+v, want one contact and no company", got)
			}
			assertSamePlaintext(t, &got[0], other)
		})
		t.Run("Joins and Preload", func(t *testing.T) {
			var got Contact
			if err := db.Joins("Company").Preload("Interactions").First(&got, "contacts.id = ?", c.ID).Error; err != nil {
				t.Fatal(err)
			}
			if got.Company == nil || got.Company.Name != "Initech Secret Holdings" || len(got.Interactions) != 2 || !strings.HasPrefix(got.Interactions[0].Summary, "secret ") {
				t.Errorf("got company %+v, interactions %+v; want both in plaintext", got.Company, got.Interactions)
			}
		})
		t.Run("not found", func(t *testing.T) {
			var got Contact
			if err := db.First(&got, "id = ?", "nobody").Error; !errors.Is(err, gorm.ErrRecordNotFound) {
				t.Errorf("First(nobody) err = %v, want gorm.ErrRecordNotFound", err)
			}
		})
	})
}

func emails(cs []Contact) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Email)
	}
	return out
}

// TestSwappedCiphertext plays an attacker who can write the database: a
// ciphertext copied into another row, or into another tenant's row, fails
// to decrypt through GORM's reads with crypt.ErrDecrypt.
func TestSwappedCiphertext(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, _ *crypt.Encryptor) {
		victim, mallory, foreign := newContact("acme"), newContact("acme"), newContact("globex")
		for _, c := range []*Contact{victim, mallory, foreign} {
			mustCreate(t, db, c)
		}
		swap := func(t *testing.T, from, to *Contact) {
			t.Helper()
			if err := db.Exec("UPDATE contacts SET email = (SELECT email FROM (SELECT email FROM contacts WHERE id = ?) AS src) WHERE id = ?", from.ID, to.ID).Error; err != nil {
				t.Fatalf("raw swap: %v", err)
			}
		}
		// Within a tenant the value's key is found and authentication
		// fails (ErrDecrypt); in another tenant's keyset its key ID is
		// not even present (ErrKeyNotFound, which crypt reports instead).
		cases := []struct {
			name     string
			from, to *Contact
			want     error
		}{
			{"another row", victim, mallory, crypt.ErrDecrypt},
			{"another tenant", victim, foreign, crypt.ErrKeyNotFound},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				swap(t, tc.from, tc.to)
				var got []Contact
				err := db.Where("id = ?", tc.to.ID).Find(&got).Error
				if !errors.Is(err, tc.want) {
					t.Errorf("Find of the row holding a moved ciphertext: err = %v, want %v", err, tc.want)
				}
				if len(got) == 1 && got[0].Email == tc.from.Email {
					t.Errorf("the moved ciphertext decrypted to the victim's e-mail")
				}
				var one Contact
				if err := db.First(&one, "id = ?", tc.to.ID).Error; !errors.Is(err, tc.want) {
					t.Errorf("First: err = %v, want %v", err, tc.want)
				}
				if strings.Contains(err.Error(), tc.from.Email) {
					t.Errorf("error quotes a plaintext")
				}
			})
		}
	})
}
