package crypt_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

// The swap attack: someone with write access to the database copies a
// ciphertext into another row, field or tenant, hoping the application
// decrypts it for a user who may read the destination. The associated data
// binds every value to (scope, record type, identity, field path), so each
// such copy must fail to decrypt, with a typed error, leaving the record as
// it was.

// assertFieldErr checks that err is a *FieldError on field that matches one
// of wants.
func assertFieldErr(t *testing.T, call string, err error, field string, wants ...error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s err = nil, want one of %v", call, wants)
	}
	matched := false
	for _, w := range wants {
		matched = matched || errors.Is(err, w)
	}
	if !matched {
		t.Errorf("%s err = %v, want one of %v", call, err, wants)
	}
	var fe *crypt.FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("%s err = %T (%v), want *crypt.FieldError", call, err, err)
	}
	if fe.Field != field {
		t.Errorf("%s FieldError.Field = %q, want %q", call, fe.Field, field)
	}
}

func TestSwapAttackContact(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	// globex's keysets exist, so a value moved there meets a real keyset.
	if err := e.admin.CreateKeysets(ctx, "globex", "pii", "support"); err != nil {
		t.Fatal(err)
	}
	// shared holds acme and globex keysets with the same key bytes and key
	// IDs, so that only the associated data tells the tenants apart.
	shared := fixedEnv(t, sharedTenantKeysets())

	tests := []struct {
		name  string
		enc   *crypt.Encryptor
		src   *Contact // encrypted, then a value is taken from it
		dst   *Contact // encrypted, then the value is put into it
		move  func(src, dst *Contact)
		field string
		want  []error
	}{
		{
			name:  "email into another contact of the same tenant",
			enc:   e.enc,
			src:   secretContact("c-1"),
			dst:   secretContact("c-2"), // differs from src only in ID
			move:  func(src, dst *Contact) { dst.Email = src.Email },
			field: "Email",
			want:  []error{crypt.ErrDecrypt},
		},
		{
			name:  "binary notes into another contact",
			enc:   e.enc,
			src:   secretContact("c-1"),
			dst:   secretContact("c-2"),
			move:  func(src, dst *Contact) { dst.Notes = src.Notes },
			field: "Notes",
			want:  []error{crypt.ErrDecrypt},
		},
		{
			name:  "email into name of the same contact",
			enc:   e.enc,
			src:   secretContact("c-1"),
			dst:   nil, // the same record
			move:  func(src, _ *Contact) { src.Name = src.Email },
			field: "Name",
			want:  []error{crypt.ErrDecrypt},
		},
		{
			name:  "email into phone (a *string) of the same contact",
			enc:   e.enc,
			src:   secretContact("c-1"),
			move:  func(src, _ *Contact) { src.Phone = ptr(src.Email) },
			field: "Phone",
			want:  []error{crypt.ErrDecrypt},
		},
		{
			name:  "email into the same contact ID in another tenant",
			enc:   e.enc,
			src:   secretContact("c-1"),
			dst:   withTenant(secretContact("c-1"), "globex"),
			move:  func(src, dst *Contact) { dst.Email = src.Email },
			field: "Email",
			// globex's keyset has other key IDs: scope selects the keyset.
			want: []error{crypt.ErrKeyNotFound, crypt.ErrDecrypt},
		},
		{
			name:  "email into the same contact ID in another tenant with the same keys",
			enc:   shared.enc,
			src:   secretContact("c-1"),
			dst:   withTenant(secretContact("c-1"), "globex"),
			move:  func(src, dst *Contact) { dst.Email = src.Email },
			field: "Email",
			want:  []error{crypt.ErrDecrypt}, // the key is found: only the associated data differs
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := tt.src
			if err := tt.enc.Encrypt(ctx, src); err != nil {
				t.Fatalf("Encrypt(src) err = %v", err)
			}
			dst := src
			if tt.dst != nil {
				dst = tt.dst
				if err := tt.enc.Encrypt(ctx, dst); err != nil {
					t.Fatalf("Encrypt(dst) err = %v", err)
				}
			}
			tt.move(src, dst)
			before := clone(dst)
			err := tt.enc.Decrypt(ctx, dst)
			assertFieldErr(t, "Decrypt(swapped)", err, tt.field, tt.want...)
			assert.Equal(t, before, dst, "record after a failed Decrypt")
			assertNoSecrets(t, err, plaintextSecrets()...)
		})
	}
}

func withTenant(c *Contact, tenant string) *Contact {
	c.TenantID = tenant
	return c
}

// sharedTenantKeysets gives acme and globex the same data key bytes and key
// IDs. Real keysets never share keys; this isolates the associated data.
func sharedTenantKeysets() []fixedKeyset {
	var sets []fixedKeyset
	for _, scope := range []string{"acme", "globex"} {
		sets = append(sets,
			fixedKeyset{Scope: scope, Class: "pii", Purpose: "data", Algorithm: algAESGCM, PrimaryID: 0x5a5a0001,
				Keys: []fixedKey{{ID: 0x5a5a0001, Status: "ENABLED", KeyHex: testKeyHex("shared pii data")}}},
			fixedKeyset{Scope: scope, Class: "support", Purpose: "data", Algorithm: algAESGCM, PrimaryID: 0x5a5a0002,
				Keys: []fixedKey{{ID: 0x5a5a0002, Status: "ENABLED", KeyHex: testKeyHex("shared support data")}}},
			fixedKeyset{Scope: scope, Class: "pii", Purpose: "index", Algorithm: algHMACPRF, PrimaryID: 0x5a5a0003,
				Keys: []fixedKey{{ID: 0x5a5a0003, Status: "ENABLED", KeyHex: testKeyHex("shared pii index")}}},
		)
	}
	return sets
}

// The record types below have the same fields; only their record names
// (bound into associated data) differ, or only their Go names.

type swapContact struct {
	_        struct{} `crypt:"record=contact"`
	ID       string   `crypt:"id"`
	TenantID string   `crypt:"scope"`
	Email    string   `crypt:"encrypt,class=pii"`
	Notes    []byte   `crypt:"encrypt,class=support"`
}

type swapLead struct {
	_        struct{} `crypt:"record=lead"`
	ID       string   `crypt:"id"`
	TenantID string   `crypt:"scope"`
	Email    string   `crypt:"encrypt,class=pii"`
	Notes    []byte   `crypt:"encrypt,class=support"`
}

// swapContactRenamed is swapContact after a Go rename: record= keeps it the
// same record type.
type swapContactRenamed struct {
	_        struct{} `crypt:"record=contact"`
	ID       string   `crypt:"id"`
	TenantID string   `crypt:"scope"`
	Email    string   `crypt:"encrypt,class=pii"`
	Notes    []byte   `crypt:"encrypt,class=support"`
}

// swapContactIDName binds its identity field under another name.
type swapContactIDName struct {
	_        struct{} `crypt:"record=contact"`
	ID       string   `crypt:"id,name=contact_id"`
	TenantID string   `crypt:"scope"`
	Email    string   `crypt:"encrypt,class=pii"`
	Notes    []byte   `crypt:"encrypt,class=support"`
}

// swapContactFieldName binds Email under another field name.
type swapContactFieldName struct {
	_        struct{} `crypt:"record=contact"`
	ID       string   `crypt:"id"`
	TenantID string   `crypt:"scope"`
	Email    string   `crypt:"encrypt,class=pii,name=email"`
	Notes    []byte   `crypt:"encrypt,class=support"`
}

func TestSwapAttackRecordType(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	src := &swapContact{ID: "c-1", TenantID: "acme", Email: secretEmail, Notes: []byte(secretNotes)}
	if err := e.enc.Encrypt(ctx, src); err != nil {
		t.Fatalf("Encrypt(swapContact) err = %v", err)
	}
	tests := []struct {
		name string
		dst  func() any // a record of another type holding src's values
		want error      // nil: it must decrypt
	}{
		{"record= renamed (contact to lead)", func() any {
			return &swapLead{ID: src.ID, TenantID: src.TenantID, Email: src.Email, Notes: src.Notes}
		}, crypt.ErrDecrypt},
		{"identity bound under another name", func() any {
			return &swapContactIDName{ID: src.ID, TenantID: src.TenantID, Email: src.Email, Notes: src.Notes}
		}, crypt.ErrDecrypt},
		{"field bound under another name", func() any {
			return &swapContactFieldName{ID: src.ID, TenantID: src.TenantID, Email: src.Email}
		}, crypt.ErrDecrypt},
		{"Go type renamed, record= kept (control)", func() any {
			return &swapContactRenamed{ID: src.ID, TenantID: src.TenantID, Email: src.Email, Notes: src.Notes}
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := tt.dst()
			err := e.enc.Decrypt(ctx, dst)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Decrypt(%T) err = %v, want nil", dst, err)
				}
				assert.Equal(t, &swapContactRenamed{ID: "c-1", TenantID: "acme", Email: secretEmail, Notes: []byte(secretNotes)}, dst)
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Decrypt(%T) err = %v, want %v", dst, err, tt.want)
			}
			assert.Equal(t, tt.dst(), dst, "record after a failed Decrypt")
			assertNoSecrets(t, err, plaintextSecrets()...)
		})
	}
}
