package gormcrypt_test

import (
	"errors"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

// HdSecret has an encrypted field; stored behind an interface, nothing
// would encrypt it.
type HdSecret struct {
	SSN string `crypt:"encrypt,class=pii"`
}

// HdPerson keeps free-form attributes in a JSON column.
type HdPerson struct {
	_        struct{}       `crypt:"record=hd_person"`
	ID       string         `gorm:"primaryKey;size:64" crypt:"id"`
	TenantID string         `gorm:"size:64" crypt:"scope"`
	Name     string         `crypt:"encrypt,class=pii"`
	Stage    string         `gorm:"size:32"`
	Extra    map[string]any `gorm:"serializer:json"`
}

// HdAudit has no crypt tags at all; its payload is any value, as JSON.
type HdAudit struct {
	ID      string `gorm:"primaryKey;size:64"`
	Payload any    `gorm:"serializer:json"`
}

// TestHiddenTaggedValueNeverWritten: every way GORM writes a value that
// holds a struct with crypt tags behind an interface is refused with
// crypt.ErrHiddenTagged, and nothing of it reaches the table.
func TestHiddenTaggedValueNeverWritten(t *testing.T) {
	const ssn = "078-05-1120"
	secret := HdSecret{SSN: ssn}
	eachDB(t, func(t *testing.T, db *gorm.DB, _ *crypt.Encryptor) {
		if err := db.AutoMigrate(&HdPerson{}, &HdAudit{}); err != nil {
			t.Fatal(err)
		}
		if err := db.Create(&HdPerson{ID: "p1", TenantID: "acme", Name: "Ada", Extra: map[string]any{"tier": "gold"}}).Error; err != nil {
			t.Fatalf("Create with plain attributes: %v", err)
		}
		writes := map[string]func() error{
			"Create": func() error {
				return db.Create(&HdPerson{ID: "p2", TenantID: "acme", Name: "Bob", Extra: map[string]any{"s": secret}}).Error
			},
			"Updates(struct)": func() error {
				return db.Model(&HdPerson{ID: "p1", TenantID: "acme"}).Updates(HdPerson{Stage: "won", Extra: map[string]any{"s": secret}}).Error
			},
			"Save": func() error {
				var got HdPerson
				if err := db.First(&got, "id = ?", "p1").Error; err != nil {
					return err
				}
				got.Extra = map[string]any{"s": &secret}
				return db.Save(&got).Error
			},
			"Update(column)": func() error {
				return db.Model(&HdPerson{ID: "p1", TenantID: "acme"}).Update("extra", map[string]any{"s": []any{secret}}).Error
			},
			"Updates(map)": func() error {
				return db.Model(&HdPerson{ID: "p1", TenantID: "acme"}).Updates(map[string]any{"stage": "lost", "extra": map[string]any{"s": secret}}).Error
			},
			"Create of a model without tags": func() error {
				return db.Create(&HdAudit{ID: "a1", Payload: map[string]any{"before": secret}}).Error
			},
			"Table create from a map": func() error {
				return db.Table("hd_audits").Create(map[string]any{"id": "a2", "payload": secret}).Error
			},
		}
		for name, write := range writes {
			t.Run(name, func(t *testing.T) {
				err := write()
				if !errors.Is(err, crypt.ErrHiddenTagged) {
					t.Errorf("err = %v, want crypt.ErrHiddenTagged", err)
				}
				if err != nil && strings.Contains(err.Error(), ssn) {
					t.Errorf("the error quotes the value: %v", err)
				}
			})
		}
		var raw []string
		if err := db.Raw("SELECT COALESCE(extra, '') FROM hd_people UNION ALL SELECT COALESCE(payload, '') FROM hd_audits").Scan(&raw).Error; err != nil {
			t.Fatal(err)
		}
		for _, v := range raw {
			if strings.Contains(v, ssn) {
				t.Errorf("a column holds the plaintext: %q", v)
			}
		}
		if len(raw) != 1 {
			t.Errorf("%d rows stored, want only the first person", len(raw))
		}
	})
}
