package main

import (
	"time"
)

// The field classes of the role table. Each class has its own keysets and,
// in production, its own KEK: the KMS permissions a process holds decide
// which classes it can read.
const (
	classPII     = "pii"     // personal data: name, e-mail, phone
	classSupport = "support" // what support may read: notes, interaction history
)

// Contact is one row of the contacts table. The personal fields are class
// pii; the notes are class support; the company is a business name, kept in
// clear so that it can be listed and sorted.
//
// Every encrypted field and index carries name=, so renaming a Go field
// never changes the associated data of stored values.
type Contact struct {
	_        struct{} `crypt:"record=contact"`
	ID       string   `crypt:"id,name=id"`
	TenantID string   `crypt:"scope"`

	Name  string `crypt:"encrypt,class=pii,name=name"`
	Email string `crypt:"encrypt,class=pii,name=email"`
	Phone string `crypt:"encrypt,class=pii,name=phone"`
	Notes string `crypt:"encrypt,class=support,name=notes"`

	// EmailIdx finds a contact by e-mail, whatever its case and surrounding
	// spaces. Its width is emailIndexBits (see indexes.go).
	EmailIdx string `crypt:"blind=Email,transform=lower+trim,bits=11,name=email_idx"`

	// PhoneLast4Idx finds contacts by the last four digits of their phone
	// number, however it was written. Its width is phoneLast4IndexBits.
	PhoneLast4Idx string `crypt:"blind=Phone,transform=digits+last4,bits=9,name=phone_last4_idx"`

	Company   string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Interaction is one entry of a contact's history: a call, an e-mail, a
// meeting. Its summary is class support. The contact's ID is bound into the
// summary's associated data too, so an interaction moved to another contact
// in the database no longer decrypts.
type Interaction struct {
	_         struct{} `crypt:"record=interaction"`
	ID        string   `crypt:"id,name=id"`
	ContactID string   `crypt:"id,name=contact_id"`
	TenantID  string   `crypt:"scope"`

	Summary string `crypt:"encrypt,class=support,name=summary"`

	Channel string // "email", "phone", "meeting", "chat" or "ticket": kept in clear for reporting
	At      time.Time
}

// channels are the values Interaction.Channel may take.
var channels = []string{"email", "phone", "meeting", "chat", "ticket"}
