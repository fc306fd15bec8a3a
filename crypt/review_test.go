package crypt_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Tagged structs the planner cannot walk are refused, never left as
// plaintext.
type hiddenSecret struct {
	SSN string `crypt:"encrypt"`
}

type hiddenInMap struct {
	ID string `crypt:"id"`
	H  struct{ M map[string]hiddenSecret }
}

type hiddenInSliceOfSlices struct {
	ID string `crypt:"id"`
	S  [][]hiddenSecret
}

type hiddenInSliceOfMaps struct {
	ID string `crypt:"id"`
	S  []map[string]hiddenSecret
}

type hiddenBehindTwoPointers struct {
	ID string `crypt:"id"`
	P  **hiddenSecret
}

func TestTaggedStructsOutOfReachAreRefused(t *testing.T) {
	for _, v := range []any{&hiddenInMap{}, &hiddenInSliceOfSlices{}, &hiddenInSliceOfMaps{}, &hiddenBehindTwoPointers{}} {
		var pe *crypt.PlanError
		if err := crypt.Validate(v); !errors.As(err, &pe) {
			t.Errorf("Validate(%T) err = %v, want a *PlanError: its tagged struct would stay plaintext", v, err)
		}
	}
}

type tagSpaceOption struct {
	ID    string `crypt:"id"`
	Email string `crypt:"encrypt,name class=pii"`
}

func TestTagOptionsAreWholeWords(t *testing.T) {
	if err := crypt.Validate(&tagSpaceOption{}); err == nil {
		t.Errorf(`Validate(encrypt,name class=pii) err = nil, want the option refused`)
	}
}

// TestSchemaNamesAreBoundLiterally: a SchemaSpec compiles without
// generating struct tags, so a name holding tag syntax (a comma, "class=",
// a backslash, a newline) is bound as it is spelt: it can neither smuggle in
// an option nor leave its column plaintext. A class no keyset can have is
// refused at plan time.
func TestSchemaNamesAreBoundLiterally(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	ids := []crypt.ColumnName{{Column: "id", Name: "ID"}}
	for _, f := range []crypt.FieldSpec{{Column: "secret", Name: "Email,class=support"}, {Column: "secret", Name: `a\q`},
		{Column: `se\cret`}, {Column: "secret", Name: "a\nb"}} {
		s, err := crypt.NewSchema(crypt.SchemaSpec{Record: "r", IDs: ids, Fields: []crypt.FieldSpec{f}})
		require.NoError(t, err, "NewSchema(field %+v)", f)
		row := crypt.Row{"id": "1", f.Column: "plaintext"}
		require.NoError(t, e.enc.EncryptRow(ctx, s, row))
		assert.NotEqual(t, "plaintext", row[f.Column], "field %+v left plaintext", f)
		// Bound under the literal name: a schema that spells the name
		// another way does not decrypt it.
		other, err := crypt.NewSchema(crypt.SchemaSpec{Record: "r", IDs: ids, Fields: []crypt.FieldSpec{{Column: f.Column, Name: "Email", Class: f.Class}}})
		require.NoError(t, err)
		swapped := crypt.Row{"id": "1", f.Column: row[f.Column]}
		assert.ErrorIs(t, e.enc.DecryptRow(ctx, other, swapped), crypt.ErrDecrypt, "field %+v", f)
		require.NoError(t, e.enc.DecryptRow(ctx, s, row))
		assert.Equal(t, "plaintext", row[f.Column])
	}
	for _, class := range []string{"pii/x", "a\nb", ""} {
		_, err := crypt.NewSchema(crypt.SchemaSpec{Record: "r", IDs: ids, Fields: []crypt.FieldSpec{{Column: "secret"}},
			Indexes: []crypt.IndexSpec{{Column: "secret_idx", Sources: []string{"secret"}, Bits: 8, Class: class}}})
		if class == "" {
			require.NoError(t, err)
			continue
		}
		var pe *crypt.PlanError
		if assert.ErrorAs(t, err, &pe, "class %q", class) {
			assert.Equal(t, "secret_idx", pe.Field)
		}
	}
}

// TestRowIndexValuesByColumn: an index named like another's generated
// field still answers for its own column.
func TestRowIndexValuesByColumn(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	s, err := crypt.NewSchema(crypt.SchemaSpec{Record: "r", Scope: "tenant", IDs: []crypt.ColumnName{{Column: "id", Name: "ID"}},
		Fields: []crypt.FieldSpec{{Column: "email"}, {Column: "phone"}},
		Indexes: []crypt.IndexSpec{
			{Column: "email_idx", Name: "EmailIdx", Sources: []string{"email"}, Bits: 16},
			{Column: "phone_idx", Name: "F4", Sources: []string{"phone"}, Bits: 16},
		}})
	if err != nil {
		t.Fatal(err)
	}
	newRow := func() crypt.Row {
		return crypt.Row{"tenant": "acme", "id": "1", "email": "ada@example.com", "phone": "555"}
	}
	stored := newRow()
	if err := e.enc.EncryptRow(ctx, s, stored); err != nil {
		t.Fatal(err)
	}
	vals, err := e.enc.RowIndexValues(ctx, s, newRow(), "email_idx")
	if err != nil {
		t.Fatal(err)
	}
	if len(vals) == 0 || vals[0] != stored["email_idx"] || vals[0] == stored["phone_idx"] {
		t.Errorf("RowIndexValues(email_idx) = %v; EncryptRow wrote email_idx %v, phone_idx %v", vals, stored["email_idx"], stored["phone_idx"])
	}
}

// TestGuardRefusesStoredValuesOfEveryKind: values under a disabled or a
// destroyed key, and values copied from a field of another class, are
// still stored values and are refused; a well-formed value too short to
// be a ciphertext is plaintext even when its key ID is known.
func TestGuardRefusesStoredValuesOfEveryKind(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	old := e.mustEncrypt(t, secretContact("c-1"))
	id := dataID("acme", "pii")
	newKey, err := e.admin.AddKey(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.admin.PromoteKey(ctx, id, newKey); err != nil {
		t.Fatal(err)
	}
	oldKey := textKeyID(t, old.Name)

	// Across classes: a pii ciphertext pasted into a support field.
	m := &twoClassMemo{ID: "m-1", TenantID: "acme", Name: "x", Memo: old.Name}
	if err := e.enc.Encrypt(ctx, m); !errors.Is(err, crypt.ErrAlreadyEncrypted) {
		t.Errorf("Encrypt(support field holding a pii ciphertext) err = %v, want ErrAlreadyEncrypted", err)
	}

	// Short: "fc1:" and 20 bytes that start like a Tink prefix of a known key.
	short := []byte{0x01, byte(oldKey >> 24), byte(oldKey >> 16), byte(oldKey >> 8), byte(oldKey)}
	short = append(short, make([]byte, 15)...)
	c := secretContact("c-3")
	c.Notes = append([]byte{0xFC, 0x01}, short...)
	want := string(c.Notes)
	if err := e.enc.Encrypt(ctx, c); err != nil {
		t.Fatalf("Encrypt(a short value naming a known key) err = %v, want it encrypted as plaintext", err)
	}
	if err := e.enc.Decrypt(ctx, c); err != nil || string(c.Notes) != want {
		t.Errorf("round trip of a short value = %q, %v", c.Notes, err)
	}

	for _, step := range []struct {
		name string
		do   func() error
	}{
		{"disabled", func() error { return e.admin.DisableKey(ctx, id, oldKey) }},
		{"destroyed", func() error { return e.admin.DestroyKey(ctx, id, oldKey) }},
	} {
		if err := step.do(); err != nil {
			t.Fatal(err)
		}
		c := secretContact("c-4")
		c.Name = old.Name
		err := e.enc.Encrypt(ctx, c)
		if !errors.Is(err, crypt.ErrAlreadyEncrypted) || !strings.Contains(err.Error(), "Name") {
			t.Errorf("Encrypt(Name under a %s key) err = %v, want ErrAlreadyEncrypted", step.name, err)
		}
	}
}

// twoClassMemo has text fields in two classes.
type twoClassMemo struct {
	ID       string `crypt:"id"`
	TenantID string `crypt:"scope"`
	Name     string `crypt:"encrypt,class=pii"`
	Memo     string `crypt:"encrypt,class=support"`
}
