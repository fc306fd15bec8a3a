// Package crmmodel holds the record type of the CLI's job tests as an
// application would: in a package of its own, which fieldcrypt schema
// imports. Its tags are those of the tests' contact struct.
package crmmodel

// Contact is a row of the contacts table.
type Contact struct {
	_        struct{} `crypt:"record=contact"`
	ID       string   `crypt:"id"`
	Tenant   string   `crypt:"scope"`
	Email    string   `crypt:"encrypt,class=pii"`
	EmailIdx string   `crypt:"blind=Email,transform=lower,bits=16"`
	Notes    string   `crypt:"encrypt,class=support"`
	Company  string   // plaintext
}

// Line has two identities and no single key to page by.
type Line struct {
	OrderID string `crypt:"id"`
	LineNo  int    `crypt:"id"`
	Memo    string `crypt:"encrypt"`
}

// Caller indexes a plaintext field: Encrypt computes the index, but the
// job, which recomputes indexes from the encrypted columns it decrypts,
// cannot, so fieldcrypt schema refuses it.
type Caller struct {
	ID       string `crypt:"id"`
	Name     string `crypt:"encrypt"`
	Phone    string
	PhoneIdx string `crypt:"blind=Phone,bits=12"`
}
