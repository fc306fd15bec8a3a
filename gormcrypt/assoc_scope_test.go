package gormcrypt_test

import (
	"errors"
	"testing"

	"gorm.io/gorm"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/gormcrypt"
)

// TestRepointedAssociationRefused plays a database writer who repoints
// acme's foreign keys at globex's rows: the contact's company_id at
// globex's company, and a globex interaction's contact_id at acme's
// contact. Each record would decrypt under its own binding, so without a
// check Preload and Joins would hand acme's caller globex's plaintext.
// They fail with crypt.ErrScopeMismatch and return no record.
func TestRepointedAssociationRefused(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, _ *crypt.Encryptor) {
		acme := seedGraph(t, db)
		globex := newContact("globex")
		globex.Company = &Company{ID: "co-" + globex.ID, TenantID: "globex", Name: "Globex Hidden Name"}
		globex.Interactions = []Interaction{{ID: "i-" + globex.ID, TenantID: "globex", Summary: "globex private call"}}
		mustCreate(t, db, globex)

		leaked := func(t *testing.T, what string, v any) {
			t.Helper()
			var cs []Contact
			switch v := v.(type) {
			case Contact:
				cs = []Contact{v}
			case []Contact:
				cs = v
			}
			for _, c := range cs {
				var seen []string
				if c.Company != nil {
					seen = append(seen, c.Company.Name)
				}
				for _, in := range c.Interactions {
					seen = append(seen, in.Summary)
				}
				for _, s := range seen {
					if s == "Globex Hidden Name" || s == "globex private call" {
						t.Errorf("%s returned globex's %q to acme", what, s)
					}
				}
			}
		}
		refused := func(t *testing.T, what string, err error) {
			t.Helper()
			if !errors.Is(err, crypt.ErrScopeMismatch) {
				t.Errorf("%s: err = %v, want crypt.ErrScopeMismatch", what, err)
			}
		}

		// Before the attack, acme reads its own graph.
		var ok Contact
		if err := db.Preload("Company").Preload("Interactions").First(&ok, "id = ?", acme.ID).Error; err != nil {
			t.Fatalf("Preload before the attack: %v", err)
		}

		mustExec(t, db, "UPDATE contacts SET company_id = ? WHERE id = ?", globex.Company.ID, acme.ID)
		t.Run("Preload a belongs-to into First", func(t *testing.T) {
			var got Contact
			err := db.Preload("Company").First(&got, "id = ?", acme.ID).Error
			refused(t, "Preload(Company).First", err)
			leaked(t, "Preload(Company).First", got)
		})
		t.Run("Preload into Find", func(t *testing.T) {
			var got []Contact
			err := db.Preload("Company").Where("tenant_id = ?", "acme").Find(&got).Error
			refused(t, "Preload(Company).Find", err)
			leaked(t, "Preload(Company).Find", got)
			if len(got) != 0 {
				t.Errorf("Preload(Company).Find returned %d records with its error, want none", len(got))
			}
		})
		t.Run("Joins", func(t *testing.T) {
			var got []Contact
			err := db.Joins("Company").Where("contacts.tenant_id = ?", "acme").Find(&got).Error
			refused(t, "Joins(Company).Find", err)
			leaked(t, "Joins(Company).Find", got)
		})
		t.Run("with another association that fails", func(t *testing.T) {
			// The writer also breaks one of acme's interactions: its
			// preload fails first, and the company preloaded before it
			// must not stay in the result.
			kept := storedSummary(t, db, acme.Interactions[1].ID)
			mustExec(t, db, "UPDATE interactions SET summary = ? WHERE id = ?", storedSummary(t, db, acme.Interactions[0].ID), acme.Interactions[1].ID)
			defer mustExec(t, db, "UPDATE interactions SET summary = ? WHERE id = ?", kept, acme.Interactions[1].ID)
			var one Contact
			err := db.Preload("Company").Preload("Interactions").First(&one, "id = ?", acme.ID).Error
			if err == nil {
				t.Fatal("Preload with a broken interaction: no error")
			}
			leaked(t, "Preload(Company).Preload(Interactions).First", one)
			var many []Contact
			err = db.Preload("Company").Preload("Interactions").Where("tenant_id = ?", "acme").Find(&many).Error
			if err == nil {
				t.Fatal("Preload into Find with a broken interaction: no error")
			}
			leaked(t, "Preload(Company).Preload(Interactions).Find", many)
			if !errors.Is(err, crypt.ErrScopeMismatch) {
				// GORM keeps only its last error matchable (AddError
				// formats the ones before it).
				t.Errorf("err = %v, want it to match crypt.ErrScopeMismatch", err)
			}
		})
		mustExec(t, db, "UPDATE contacts SET company_id = ? WHERE id = ?", acme.Company.ID, acme.ID)

		t.Run("a preloaded association's positions are not the result's", func(t *testing.T) {
			// Interaction 1 of the association's query fails; the result
			// holds one contact.
			kept := storedSummary(t, db, acme.Interactions[1].ID)
			mustExec(t, db, "UPDATE interactions SET summary = ? WHERE id = ?", storedSummary(t, db, acme.Interactions[0].ID), acme.Interactions[1].ID)
			defer mustExec(t, db, "UPDATE interactions SET summary = ? WHERE id = ?", kept, acme.Interactions[1].ID)
			var many []Contact
			err := db.Preload("Interactions", func(tx *gorm.DB) *gorm.DB { return tx.Order("id") }).Where("id = ?", acme.ID).Find(&many).Error
			if !errors.Is(err, crypt.ErrDecrypt) {
				t.Errorf("err = %v, want crypt.ErrDecrypt", err)
			}
			var recs gormcrypt.RecordErrors
			if errors.As(err, &recs) {
				t.Errorf("a preloaded association's failure reads as RecordErrors %v: its positions are not the result's", recs)
			}
		})

		mustExec(t, db, "UPDATE interactions SET contact_id = ? WHERE id = ?", acme.ID, globex.Interactions[0].ID)
		t.Run("Preload a has-many", func(t *testing.T) {
			var got Contact
			err := db.Preload("Interactions").First(&got, "id = ?", acme.ID).Error
			refused(t, "Preload(Interactions).First", err)
			leaked(t, "Preload(Interactions).First", got)
		})
		t.Run("association mode", func(t *testing.T) {
			// Association("X").Find runs a query of its own on the held
			// model, keyed by the foreign key alone: nothing of the holder
			// reaches it, so the scope is not checked (the documented
			// limit), and a Where on the tenant is what keeps it out.
			holder := &Contact{ID: acme.ID, TenantID: "acme"}
			var unscoped []Interaction
			if err := db.Model(holder).Association("Interactions").Find(&unscoped); err != nil {
				t.Fatalf("Association(Interactions).Find: %v", err)
			}
			if len(unscoped) != 3 {
				t.Errorf("unscoped association mode loaded %d interactions, want 3 with globex's moved one (the documented limit; update SECURITY.md if this changed)", len(unscoped))
			}
			var scoped []Interaction
			if err := db.Model(holder).Where("tenant_id = ?", "acme").Association("Interactions").Find(&scoped); err != nil {
				t.Fatalf("scoped Association(Interactions).Find: %v", err)
			}
			if len(scoped) != 2 {
				t.Errorf("scoped association mode loaded %d interactions, want acme's 2", len(scoped))
			}
			for _, in := range scoped {
				if in.Summary == "globex private call" {
					t.Error("scoped association mode returned globex's interaction")
				}
			}
		})
		t.Run("scoped Preload", func(t *testing.T) {
			// What SECURITY.md recommends anyway: a Preload scoped to the
			// tenant never loads the moved row.
			var got Contact
			if err := db.Preload("Interactions", "tenant_id = ?", "acme").First(&got, "id = ?", acme.ID).Error; err != nil {
				t.Fatalf("scoped Preload: %v", err)
			}
			if len(got.Interactions) != 2 {
				t.Errorf("scoped Preload loaded %d interactions, want acme's 2", len(got.Interactions))
			}
			leaked(t, "scoped Preload", got)
		})
	})
}

func mustExec(t *testing.T, db *gorm.DB, sql string, args ...any) {
	t.Helper()
	if err := db.Exec(sql, args...).Error; err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// Referral holds another tenant's company on purpose: its field is tagged
// anyscope.
type Referral struct {
	_         struct{} `crypt:"record=referral"`
	ID        string   `gorm:"primaryKey;size:64" crypt:"id"`
	TenantID  string   `gorm:"size:64" crypt:"scope"`
	Note      string   `crypt:"encrypt,class=pii"`
	PartnerID *string  `gorm:"size:64"`
	Partner   *Company `crypt:"anyscope"`
}

// TestAnyScopeAssociation: a field tagged anyscope loads a record of
// another tenant through Preload and Joins, each decrypted as itself.
func TestAnyScopeAssociation(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, _ *crypt.Encryptor) {
		if err := db.AutoMigrate(&Referral{}); err != nil {
			t.Fatal(err)
		}
		partner := &Company{ID: "co-partner", TenantID: "globex", Name: "Globex Partner"}
		for _, v := range []any{partner, &Referral{ID: "r1", TenantID: "acme", Note: "referred by globex", PartnerID: &partner.ID}} {
			if err := db.Create(v).Error; err != nil {
				t.Fatalf("Create %T: %v", v, err)
			}
		}
		for name, q := range map[string]*gorm.DB{"Preload": db.Preload("Partner"), "Joins": db.Joins("Partner")} {
			var got Referral
			if err := q.First(&got, "referrals.id = ?", "r1").Error; err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if got.Note != "referred by globex" || got.Partner == nil || got.Partner.Name != "Globex Partner" {
				t.Errorf("%s: got note %q, partner %+v; want both decrypted", name, got.Note, got.Partner)
			}
		}
	})
}

func storedSummary(t *testing.T, db *gorm.DB, id string) string {
	t.Helper()
	var s string
	if err := db.Raw("SELECT summary FROM interactions WHERE id = ?", id).Scan(&s).Error; err != nil {
		t.Fatal(err)
	}
	return s
}

// M2MAccount and M2MTag are tagged records joined many to many.
type M2MAccount struct {
	_        struct{} `crypt:"record=m2m_account"`
	ID       string   `gorm:"primaryKey;size:64" crypt:"id"`
	TenantID string   `gorm:"size:64" crypt:"scope"`
	Name     string   `crypt:"encrypt,class=pii"`
	Tags     []M2MTag `gorm:"many2many:m2m_account_tags"`
}

type M2MTag struct {
	_        struct{} `crypt:"record=m2m_tag"`
	ID       string   `gorm:"primaryKey;size:64" crypt:"id"`
	TenantID string   `gorm:"size:64" crypt:"scope"`
	Label    string   `crypt:"encrypt,class=pii"`
}

// TestManyToMany: a many-to-many association of tagged records is created,
// appended to and preloaded (GORM's join-table struct, which copies the
// keys' crypt:"id" tags, is no record), and a join row repointed by a
// database writer at another tenant's tag is refused on Preload.
func TestManyToMany(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, _ *crypt.Encryptor) {
		if err := db.AutoMigrate(&M2MAccount{}, &M2MTag{}); err != nil {
			t.Fatal(err)
		}
		acme := &M2MAccount{ID: "a-acme", TenantID: "acme", Name: "Acme account", Tags: []M2MTag{{ID: "t-acme", TenantID: "acme", Label: "acme vip"}}}
		globex := &M2MAccount{ID: "a-globex", TenantID: "globex", Name: "Globex account", Tags: []M2MTag{{ID: "t-globex", TenantID: "globex", Label: "Globex Hidden Label"}}}
		for _, a := range []*M2MAccount{acme, globex} {
			if err := db.Create(a).Error; err != nil {
				t.Fatalf("Create with many-to-many tags: %v", err)
			}
		}
		if err := db.Model(acme).Association("Tags").Append(&M2MTag{ID: "t-acme2", TenantID: "acme", Label: "acme renewal"}); err != nil {
			t.Fatalf("Association(Tags).Append: %v", err)
		}
		var got M2MAccount
		if err := db.Preload("Tags", func(tx *gorm.DB) *gorm.DB { return tx.Order("id") }).First(&got, "id = ?", "a-acme").Error; err != nil {
			t.Fatalf("Preload(Tags): %v", err)
		}
		if got.Name != "Acme account" || len(got.Tags) != 2 || got.Tags[0].Label != "acme vip" || got.Tags[1].Label != "acme renewal" {
			t.Errorf("Preload(Tags) = %q, %+v; want acme's two tags decrypted", got.Name, got.Tags)
		}

		cols, err := db.Migrator().ColumnTypes("m2m_account_tags")
		if err != nil || len(cols) != 2 {
			t.Fatalf("join table columns: %v, %v", cols, err)
		}
		account, tag := cols[0].Name(), cols[1].Name() // the owner's key first, as GORM builds it
		mustExec(t, db, "UPDATE m2m_account_tags SET "+tag+" = ? WHERE "+account+" = ? AND "+tag+" = ?", "t-globex", "a-acme", "t-acme2")
		var after M2MAccount
		err = db.Preload("Tags").First(&after, "id = ?", "a-acme").Error
		if !errors.Is(err, crypt.ErrScopeMismatch) {
			t.Errorf("Preload(Tags) after a join row was repointed at globex's tag: err = %v, want crypt.ErrScopeMismatch", err)
		}
		for _, tag := range after.Tags {
			if tag.Label == "Globex Hidden Label" {
				t.Error("Preload(Tags) returned globex's tag to acme")
			}
		}
	})
}
