package crypt_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

// Audit is embedded: its columns are the record's own. (GORM stores the
// fields of exported embedded types only.)
type Audit struct {
	CreatedBy string `crypt:"encrypt,class=support"`
}

type postal struct {
	Street string `crypt:"encrypt,class=pii"`
	Zip    string `crypt:"encrypt,class=pii"`
	ZipIdx string `crypt:"blind=Zip,transform=trim,population=40000"`
}

// schemaCustomer has every shape SchemaOf describes: a scope, an integer
// identity, name=, a binary field, a *string field, a db tag, a gorm
// column, an embedded struct, a gorm-embedded struct with a prefix, a
// compound index, an index sized by population and a slow index.
type schemaCustomer struct {
	_        struct{} `crypt:"record=customer"`
	ID       int64    `crypt:"id"`
	TenantID string   `crypt:"scope"`
	Audit
	FullName string  `crypt:"encrypt,class=pii,name=name" db:"full_name"`
	Email    *string `crypt:"encrypt,class=pii" gorm:"column:email_address;not null"`
	Notes    []byte  `crypt:"encrypt,class=support"`
	Billing  postal  `gorm:"embedded;embeddedPrefix:billing_"`
	EmailIdx string  `crypt:"blind=Email,transform=lower+trim,bits=11,population=50000"`
	NameIdx  string  `crypt:"blind=FullName+Email,transform=lower,bits=9,slow,name=name_email"`
	Company  string
}

func TestSchemaOf(t *testing.T) {
	got, err := crypt.SchemaOf(&schemaCustomer{})
	require.NoError(t, err)
	want := crypt.SchemaSpec{
		Record: "customer",
		Scope:  "tenant_id",
		IDs:    []crypt.ColumnName{{Column: "id", Name: "ID"}},
		Fields: []crypt.FieldSpec{
			{Column: "created_by", Name: "CreatedBy", Class: "support"},
			{Column: "full_name", Name: "name", Class: "pii"},
			{Column: "email_address", Name: "Email", Class: "pii"},
			{Column: "notes", Name: "Notes", Class: "support", Binary: true},
			{Column: "billing_street", Name: "Billing.Street", Class: "pii"},
			{Column: "billing_zip", Name: "Billing.Zip", Class: "pii"},
		},
		Indexes: []crypt.IndexSpec{
			{Column: "billing_zip_idx", Name: "Billing.ZipIdx", Sources: []string{"billing_zip"}, Transforms: "trim", Bits: 11, Population: 40000, Class: "pii"},
			{Column: "email_idx", Name: "EmailIdx", Sources: []string{"email_address"}, Transforms: "lower+trim", Bits: 11, Population: 50000, Class: "pii"},
			{Column: "name_idx", Name: "name_email", Sources: []string{"full_name", "email_address"}, Transforms: "lower", Bits: 9, Slow: true, Class: "pii"},
		},
	}
	assert.Equal(t, want, got)
}

// TestSchemaOfComputesTheStructsValues: the spec SchemaOf derives compiles
// to the struct's own plan. A row encrypted through it decrypts as the
// struct, the struct's values decrypt as a row, and both compute the same
// blind indexes; a value of one column moved to another fails either way.
func TestSchemaOfComputesTheStructsValues(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	spec, err := crypt.SchemaOf(schemaCustomer{})
	require.NoError(t, err)
	s, err := crypt.NewSchema(spec)
	require.NoError(t, err)

	email := "Ada@Example.com "
	rec := schemaCustomer{ID: 42, TenantID: "acme", FullName: "Ada Lovelace", Email: &email, Notes: []byte{0xfc, 1, 2},
		Billing: postal{Street: "12 Analytical Way", Zip: " 1815 "}}
	rec.CreatedBy = "ops"
	plain := rec
	require.NoError(t, e.enc.Encrypt(ctx, &rec))

	row := crypt.Row{"id": "42", "tenant_id": "acme", "created_by": rec.CreatedBy, "full_name": rec.FullName,
		"email_address": *rec.Email, "notes": rec.Notes, "billing_street": rec.Billing.Street, "billing_zip": rec.Billing.Zip,
		"billing_zip_idx": rec.Billing.ZipIdx, "email_idx": rec.EmailIdx, "name_idx": rec.NameIdx}
	require.NoError(t, e.enc.DecryptRow(ctx, s, row))
	assert.Equal(t, crypt.Row{"id": "42", "tenant_id": "acme", "created_by": "ops", "full_name": "Ada Lovelace",
		"email_address": email, "notes": []byte{0xfc, 1, 2}, "billing_street": "12 Analytical Way", "billing_zip": " 1815 ",
		"billing_zip_idx": rec.Billing.ZipIdx, "email_idx": rec.EmailIdx, "name_idx": rec.NameIdx}, row)

	// The other way: a row encrypted through the spec decrypts as the
	// struct, with the struct's index values.
	require.NoError(t, e.enc.EncryptRow(ctx, s, row))
	assert.Equal(t, rec.EmailIdx, row["email_idx"])
	assert.Equal(t, rec.NameIdx, row["name_idx"])
	assert.Equal(t, rec.Billing.ZipIdx, row["billing_zip_idx"])
	back := schemaCustomer{ID: 42, TenantID: "acme", FullName: row["full_name"].(string), Notes: row["notes"].([]byte),
		Billing: postal{Street: row["billing_street"].(string), Zip: row["billing_zip"].(string)}}
	back.CreatedBy = row["created_by"].(string)
	back.EmailIdx, back.NameIdx, back.Billing.ZipIdx = row["email_idx"].(string), row["name_idx"].(string), row["billing_zip_idx"].(string)
	be := row["email_address"].(string)
	back.Email = &be
	require.NoError(t, e.enc.Decrypt(ctx, &back))
	plain.EmailIdx, plain.NameIdx, plain.Billing.ZipIdx = rec.EmailIdx, rec.NameIdx, rec.Billing.ZipIdx
	assert.Equal(t, plain, back)

	// Street and zip share a class: a swap between their columns fails.
	swapped := crypt.Row{"id": "42", "tenant_id": "acme", "billing_street": row["billing_zip"], "billing_zip": row["billing_street"]}
	assert.ErrorIs(t, e.enc.DecryptRow(ctx, s, swapped), crypt.ErrDecrypt)
}

type withSlice struct {
	ID    string `crypt:"id"`
	Items []postal
}

type withNested struct {
	ID      string `crypt:"id"`
	Billing postal
}

type withIgnored struct {
	ID     string `crypt:"id"`
	Secret string `crypt:"encrypt" db:"-"`
}

// withIgnoredLast has gorm's "-" after another setting, where GORM reads
// it too.
type withIgnoredLast struct {
	ID     string `crypt:"id"`
	Secret string `crypt:"encrypt" gorm:"column:secret;-"`
}

type withIgnoredAll struct {
	ID     string `crypt:"id"`
	Secret string `crypt:"encrypt" gorm:"-:all"`
}

// withUnexportedEmbed reaches CreatedBy only through an unexported
// embedded struct, whose fields GORM never stores.
type withUnexportedEmbed struct {
	ID string `crypt:"id"`
	audit
}

type audit struct {
	CreatedBy string `crypt:"encrypt"`
}

// withIgnoredEmbed embeds a struct GORM is told to ignore.
type withIgnoredEmbed struct {
	ID    string `crypt:"id"`
	Audit `gorm:"-"`
}

// withPlainSource indexes a plaintext field: Encrypt computes the index,
// but no column-wise description can, since the job recomputes indexes
// from the encrypted columns it decrypts.
type withPlainSource struct {
	ID       string `crypt:"id"`
	Email    string `crypt:"encrypt"`
	Phone    string
	PhoneIdx string `crypt:"blind=Phone,bits=12"`
}

// withNestedPlainSource has its plaintext-sourced index inside a
// gorm-embedded struct.
type withNestedPlainSource struct {
	ID   string `crypt:"id"`
	Home struct {
		Phone  string `crypt:"encrypt"`
		Zip    string
		ZipIdx string `crypt:"blind=Zip+Phone,bits=12"`
	} `gorm:"embedded"`
}

// TestSchemaOfRefusesWhatColumnsCannotHold: encrypted fields inside a
// slice, inside a nested struct that is not flattened into columns, or in a
// field the database layer never stores (ignored by its own tag or by the
// struct that holds it, or behind an unexported embedded struct, which GORM
// skips) have no column a table description could name; SchemaOf says
// which field, rather than describe a table that leaves them out. So does
// an index over a plaintext field: NewSchema takes only encrypted sources,
// and the plaintext-sourced record's spec would not compile.
//
// Every record here plans for Encrypt: only the column-wise description
// fails.
func TestSchemaOfRefusesWhatColumnsCannotHold(t *testing.T) {
	for _, tt := range []struct {
		v     any
		field string
		msg   string
	}{
		{withSlice{}, "Items", "slice"},
		{withNested{}, "Billing", "no columns of its own"},
		{withIgnored{}, "Secret", "never stored"},
		{withIgnoredLast{}, "Secret", "never stored"},
		{withIgnoredAll{}, "Secret", "never stored"},
		{withUnexportedEmbed{}, "audit", "audit.CreatedBy, but GORM never stores the fields of an unexported embedded struct"},
		{withIgnoredEmbed{}, "Audit", "Audit.CreatedBy, but it is ignored"},
		{withPlainSource{}, "PhoneIdx", "blind index over Phone (column phone), which is not encrypted: a column-wise description such as the re-encryption job's cannot maintain a blind index over a plaintext column"},
		{withNestedPlainSource{}, "Home.ZipIdx", "blind index over Home.Zip (column zip), which is not encrypted"},
	} {
		require.NoError(t, crypt.Validate(tt.v), "%T", tt.v)
		_, err := crypt.SchemaOf(tt.v)
		var pe *crypt.PlanError
		if assert.True(t, errors.As(err, &pe), "SchemaOf(%T) err = %v, want *PlanError", tt.v, err) {
			assert.Equal(t, tt.field, pe.Field, "SchemaOf(%T)", tt.v)
			assert.Contains(t, pe.Error(), tt.msg, "SchemaOf(%T)", tt.v)
		}
	}
	// What SchemaOf would have emitted for withPlainSource does not compile.
	_, err := crypt.NewSchema(crypt.SchemaSpec{Record: "withPlainSource", IDs: []crypt.ColumnName{{Column: "id"}},
		Fields:  []crypt.FieldSpec{{Column: "email"}},
		Indexes: []crypt.IndexSpec{{Column: "phone_idx", Sources: []string{"phone"}, Bits: 12}}})
	assert.Error(t, err, "NewSchema of an index over a plaintext column")

	_, err = crypt.SchemaOf(42)
	var ia *crypt.InvalidArgumentError
	assert.ErrorAs(t, err, &ia)
}

// Contactable is embedded anonymously with an embeddedPrefix, which GORM
// applies to anonymous embedded structs as to gorm:"embedded" fields.
type Contactable struct {
	Phone string `crypt:"encrypt,class=pii"`
	Geo
}

// Geo is embedded in Contactable with a prefix of its own: prefixes
// compose, outermost first.
type Geo struct {
	Zip string `crypt:"encrypt,class=pii" gorm:"column:postcode"`
}

type gormShapes struct {
	ID          string `crypt:"id"`
	Contactable `gorm:"embeddedPrefix:work_"`
	Home        struct {
		Contactable `gorm:"embeddedPrefix:h_"`
	} `gorm:"embedded;embeddedPrefix:home_"`
	// -:migration only keeps the column out of migrations: it is stored.
	Legacy string `crypt:"encrypt,class=pii" gorm:"-:migration"`
}

// TestSchemaOfFollowsGORM: columns are the ones GORM reads and writes.
// Anonymous embedded structs take their embeddedPrefix, prefixes of
// embedded structs within embedded structs compose, and a field tagged
// gorm:"-:migration" keeps its column.
func TestSchemaOfFollowsGORM(t *testing.T) {
	got, err := crypt.SchemaOf(gormShapes{})
	require.NoError(t, err)
	assert.Equal(t, []crypt.FieldSpec{
		{Column: "work_phone", Name: "Phone", Class: "pii"},
		{Column: "work_postcode", Name: "Zip", Class: "pii"},
		{Column: "home_h_phone", Name: "Home.Phone", Class: "pii"},
		{Column: "home_h_postcode", Name: "Home.Zip", Class: "pii"},
		{Column: "legacy", Name: "Legacy", Class: "pii"},
	}, got.Fields)
	_, err = crypt.NewSchema(got)
	require.NoError(t, err)
}

func TestColumnOf(t *testing.T) {
	type names struct {
		TenantID, EmailIdx, ID, HTTPServer, Notes, SSN, PhoneLast4Idx, UserUUID string
		Tagged                                                                  string `db:"tagged_col,omitempty"`
		Gormed                                                                  string `gorm:"type:text;column:g_col"`
		Ignored                                                                 string `gorm:"-"`
		IgnoredLast                                                             string `gorm:"column:x;-"`
		IgnoredAll                                                              string `gorm:"type:text;-:all"`
		IgnoredDB                                                               string `db:"-" gorm:"column:y"`
		Migration                                                               string `gorm:"-:migration;column:m_col"`
		ReadOnly                                                                string `gorm:"->"`
		Escaped                                                                 string `gorm:"column:e_col;default:a\\;column:b"`
	}
	want := map[string]string{"TenantID": "tenant_id", "EmailIdx": "email_idx", "ID": "id", "HTTPServer": "http_server",
		"Notes": "notes", "SSN": "ssn", "PhoneLast4Idx": "phone_last4_idx", "UserUUID": "user_uuid", "Tagged": "tagged_col", "Gormed": "g_col",
		"Migration": "m_col", "ReadOnly": "read_only", "Escaped": "e_col"}
	for f := range reflect.TypeFor[names]().Fields() {
		got, ok := crypt.ColumnOf(f)
		if strings.HasPrefix(f.Name, "Ignored") {
			assert.False(t, ok, "ColumnOf(%s) = %q", f.Name, got)
			continue
		}
		assert.True(t, ok, f.Name)
		assert.Equal(t, want[f.Name], got, "ColumnOf(%s)", f.Name)
	}
}
