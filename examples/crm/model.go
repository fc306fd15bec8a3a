package main

import (
	"time"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

// The field classes of the role table. Each class has its own keysets and,
// in production, its own KEK: the KMS permissions a process holds decide
// which classes it can read.
const (
	classPII     = "pii"     // personal data: name, e-mail, phone
	classSupport = "support" // what support may read: notes, interaction history
)

// Contact is one row of the contacts table, and its GORM model. The
// personal fields are class pii; the notes are class support; the company
// is a business name, kept in clear so that it can be listed and sorted.
//
// The primary key is the ID alone: IDs are random and globally unique
// (newID), generated before the INSERT because every ciphertext is bound to
// them, and a single-column key is what the re-encryption job pages by. The
// tenant is an indexed column and the scope of every ciphertext, so a row
// moved to another tenant no longer decrypts.
//
// Every encrypted field and index carries name=, so renaming a Go field
// never changes the associated data of stored values.
type Contact struct {
	_        struct{} `crypt:"record=contact"`
	ID       string   `gorm:"primaryKey;index:contacts_by_tenant,priority:2" crypt:"id,name=id"`
	TenantID string   `gorm:"not null;index:contacts_by_tenant,priority:1;index:contacts_by_email,priority:1;index:contacts_by_phone_last4,priority:1" crypt:"scope"`

	Name  string `gorm:"not null" crypt:"encrypt,class=pii,name=name"`
	Email string `gorm:"not null" crypt:"encrypt,class=pii,name=email"`
	Phone string `gorm:"not null" crypt:"encrypt,class=pii,name=phone"`
	Notes string `gorm:"not null" crypt:"encrypt,class=support,name=notes"`

	// EmailIdx finds a contact by e-mail, whatever its case and surrounding
	// spaces. Its width is emailIndexBits (see indexes.go).
	EmailIdx string `gorm:"not null;index:contacts_by_email,priority:2" crypt:"blind=Email,transform=lower+trim,bits=11,name=email_idx"`

	// PhoneLast4Idx finds contacts by the last four digits of their phone
	// number, however it was written. Its width is phoneLast4IndexBits.
	PhoneLast4Idx string `gorm:"not null;index:contacts_by_phone_last4,priority:2" crypt:"blind=Phone,transform=digits+last4,bits=9,name=phone_last4_idx"`

	// Birthday is the contact's date of birth, "2006-01-02", or empty.
	Birthday string `gorm:"not null" crypt:"encrypt,class=pii,name=birthday"`

	// NamePrefix finds contacts by the first letters of their name (3 to
	// 10 of them, whatever their case and surrounding spaces), and
	// BirthdayRange by a range of birth dates, to the day. They are token
	// indexes of class pii: their tokens live in the side tables
	// contacts_name_prefix and contacts_birthday_range (gorm:"-": not
	// columns of contacts), which gormcrypt writes in the transaction of
	// every write of the contact and which lose a contact's rows with it.
	// Their widths and domains are explained in indexes.go.
	NamePrefix    crypt.Tokens `gorm:"-" crypt:"prefix=Name,len=3..10,transform=lower+trim,bits=12,name=name_prefix"`
	BirthdayRange crypt.Tokens `gorm:"-" crypt:"range=Birthday,type=date,min=1900-01-01,max=2099-12-31,name=birthday_range"`

	Company   string    `gorm:"not null"`
	CreatedAt time.Time `gorm:"not null"`
	UpdatedAt time.Time `gorm:"not null"`

	// Interactions is the contact's history (has-many). Each interaction
	// is a record of its own, encrypted under its own binding when GORM
	// saves it; deleting the contact deletes them (ON DELETE CASCADE).
	Interactions []Interaction `gorm:"constraint:OnDelete:CASCADE"`
}

// Interaction is one entry of a contact's history: a call, an e-mail, a
// meeting. Its summary is class support. The contact's ID is bound into the
// summary's associated data too, so an interaction moved to another contact
// in the database no longer decrypts.
type Interaction struct {
	_         struct{} `crypt:"record=interaction"`
	ID        string   `gorm:"primaryKey" crypt:"id,name=id"`
	ContactID string   `gorm:"not null;index:interactions_by_contact,priority:2" crypt:"id,name=contact_id"`
	TenantID  string   `gorm:"not null;index:interactions_by_contact,priority:1" crypt:"scope"`

	Summary string `gorm:"not null" crypt:"encrypt,class=support,name=summary"`

	Channel string    `gorm:"not null"` // "email", "phone", "meeting", "chat" or "ticket": kept in clear for reporting
	At      time.Time `gorm:"not null;index:interactions_by_contact,priority:3"`
}

// channels are the values Interaction.Channel may take.
var channels = []string{"email", "phone", "meeting", "chat", "ticket"}
