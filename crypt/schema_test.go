package crypt_test

import (
	"context"
	"errors"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

// contactSchema describes the Contact test type by columns.
var contactSpec = crypt.SchemaSpec{
	Record: "Contact",
	Scope:  "tenant_id",
	IDs:    []crypt.ColumnName{{Column: "id", Name: "ID"}},
	Fields: []crypt.FieldSpec{
		{Column: "name", Name: "Name", Class: "pii"},
		{Column: "email", Name: "Email", Class: "pii"},
		{Column: "phone", Name: "Phone", Class: "pii"},
		{Column: "notes", Name: "Notes", Class: "support", Binary: true},
	},
	Indexes: []crypt.IndexSpec{
		{Column: "email_idx", Name: "EmailIdx", Sources: []string{"email"}, Transforms: "lower+trim", Bits: 32},
		{Column: "phone_idx", Name: "PhoneIdx", Sources: []string{"phone"}, Transforms: "digits+last4", Bits: 16},
	},
}

// TestSchemaMatchesStruct checks that a row encrypted through a schema
// decrypts through the equivalent struct, and the other way round, with the
// same blind-index values: the re-encryption job depends on it.
func TestSchemaMatchesStruct(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	s, err := crypt.NewSchema(contactSpec)
	if err != nil {
		t.Fatalf("NewSchema() err = %v", err)
	}

	c := sampleContact()
	if err := e.enc.Encrypt(ctx, c); err != nil {
		t.Fatal(err)
	}
	row := crypt.Row{"id": c.ID, "tenant_id": c.TenantID, "name": c.Name, "email": c.Email,
		"email_idx": c.EmailIdx, "phone": *c.Phone, "phone_idx": c.PhoneIdx, "notes": c.Notes}
	if err := e.enc.DecryptRow(ctx, s, row); err != nil {
		t.Fatalf("DecryptRow(struct-encrypted row) err = %v", err)
	}
	want := sampleContact()
	if row["name"] != want.Name || row["email"] != want.Email || row["phone"] != *want.Phone || string(row["notes"].([]byte)) != string(want.Notes) {
		t.Errorf("DecryptRow() = %v, want the sample contact", row)
	}

	if err := e.enc.EncryptRow(ctx, s, row); err != nil {
		t.Fatalf("EncryptRow() err = %v", err)
	}
	if row["email_idx"] != c.EmailIdx || row["phone_idx"] != c.PhoneIdx {
		t.Errorf("EncryptRow() indexes = %v, %v; want the struct's %v, %v", row["email_idx"], row["phone_idx"], c.EmailIdx, c.PhoneIdx)
	}
	back := &Contact{ID: "c-1", TenantID: "acme", Name: row["name"].(string), Email: row["email"].(string),
		Phone: ptr(row["phone"].(string)), Notes: row["notes"].([]byte)}
	if err := e.enc.Decrypt(ctx, back); err != nil {
		t.Fatalf("Decrypt(schema-encrypted contact) err = %v", err)
	}
	if back.Email != want.Email || *back.Phone != *want.Phone {
		t.Errorf("Decrypt(schema-encrypted contact) = %+v", back)
	}

	// The row's identity is bound: the same ciphertexts under another ID fail.
	if err := e.enc.EncryptRow(ctx, s, row); err == nil {
		t.Errorf("EncryptRow(already encrypted) err = nil, want ErrAlreadyEncrypted")
	}
	row["id"] = "c-2"
	if err := e.enc.DecryptRow(ctx, s, row); !errors.Is(err, crypt.ErrDecrypt) {
		t.Errorf("DecryptRow(row with another id) err = %v, want ErrDecrypt", err)
	}
}

func TestSchemaNullsAndErrors(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	s, err := crypt.NewSchema(contactSpec)
	if err != nil {
		t.Fatal(err)
	}
	row := crypt.Row{"id": "c-9", "tenant_id": "acme", "name": "N", "email": nil, "phone": nil, "notes": nil}
	if err := e.enc.EncryptRow(ctx, s, row); err != nil {
		t.Fatalf("EncryptRow(NULLs) err = %v", err)
	}
	if row["email"] != nil || row["notes"] != nil || row["email_idx"] != "" {
		t.Errorf("EncryptRow(NULLs) = %v; want NULLs kept and empty indexes", row)
	}
	if err := e.enc.EncryptRow(ctx, s, crypt.Row{"tenant_id": "acme", "name": 42}); err == nil {
		t.Errorf("EncryptRow(int column) err = nil, want error")
	}
	for _, bad := range []crypt.SchemaSpec{
		{},
		{Record: "r", Fields: []crypt.FieldSpec{{Column: "a"}, {Column: "a"}}},
		{Record: "r", Indexes: []crypt.IndexSpec{{Column: "i", Sources: []string{"missing"}}}},
		{Record: "r", Fields: []crypt.FieldSpec{{Column: "a", Name: `x",class=evil`}}},
		{Record: "r", Fields: []crypt.FieldSpec{{Column: "a"}}, Indexes: []crypt.IndexSpec{{Column: "i", Sources: []string{"a"}, Transforms: "rot13"}}},
	} {
		if _, err := crypt.NewSchema(bad); err == nil {
			t.Errorf("NewSchema(%+v) err = nil, want error", bad)
		}
	}
}
