package crypt_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

// TestUnsupportedVersionNotEchoed: a text value that starts like a stored
// value of another version may be legacy plaintext, such as a card number
// that happens to follow "fc": the error quotes a short version number,
// never a long run of the value's digits, nor anything after them.
func TestUnsupportedVersionNotEchoed(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	stored := e.mustEncrypt(t, secretContact("c-1"))
	tests := []struct {
		value   string
		secrets []string // what no error may hold
		quoted  string   // what the error names, "" for nothing
	}{
		{"fc4111111111111111:card on file", []string{"4111111111111111", "411", "card on file"}, ""},
		{"fc123:" + secretName, []string{"123", secretName}, ""},
		{"fc2:" + stored.Email[len("fc1:"):], []string{stored.Email[len("fc1:"):]}, `"fc2:"`},
		{"fc10:" + secretName, []string{secretName}, `"fc10:"`},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%.8s", tt.value), func(t *testing.T) {
			_, inspectErr := crypt.InspectText(tt.value)
			c := clone(stored)
			c.Name = tt.value
			decryptErr := e.enc.Decrypt(ctx, c)
			c = clone(stored)
			c.Name = tt.value
			legacy, migrateErr := e.enc.DecryptMigrating(ctx, c)
			assert.Nil(t, legacy, "DecryptMigrating legacy fields")
			for what, err := range map[string]error{"InspectText": inspectErr, "Decrypt": decryptErr, "DecryptMigrating": migrateErr} {
				require.ErrorIs(t, err, crypt.ErrMalformed, what)
				// %#v's hex numbers (addresses) are masked, as in
				// assertNoSecrets: "123" turns up in one by chance.
				msg := fmt.Sprintf("%v %+v %s %q", err, err, goSyntaxHex.ReplaceAllString(fmt.Sprintf("%#v", err), "0x…"), err)
				for _, s := range tt.secrets {
					assert.False(t, strings.Contains(msg, s), "%s err = %v: it holds %q of the value", what, err, s)
				}
				if tt.quoted != "" {
					assert.Contains(t, err.Error(), tt.quoted, what)
				}
			}
		})
	}
}

// TestMigratingStoredValueShapes pins what docs/FORMAT.md (section 6)
// says of values that start like a stored value: DecryptMigrating does not
// take them for legacy plaintext (they may be damaged ciphertexts, or of
// a newer version) and leaves the record as it was; Encrypt takes them for
// plaintext, so a record of legacy plaintexts of that shape migrates.
func TestMigratingStoredValueShapes(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.mustEncrypt(t, sampleContact()) // the scope's keysets
	for _, value := range []string{"fc4111111111111111:card on file", "fc1:abcd", "fc1:AQ", "fc1:not base64!"} {
		t.Run(fmt.Sprintf("%.8s", value), func(t *testing.T) {
			c := &Contact{ID: "c-9", TenantID: "acme", Name: value}
			before := clone(c)
			legacy, err := e.enc.DecryptMigrating(ctx, c)
			var fe *crypt.FieldError
			if !errors.As(err, &fe) || !errors.Is(err, crypt.ErrMalformed) || fe.Field != "Name" {
				t.Errorf("DecryptMigrating(Name=%.8q...) err = %v, want a *FieldError for Name matching ErrMalformed", value, err)
			}
			assert.Nil(t, legacy)
			assert.Equal(t, before, c, "record after a failed DecryptMigrating")

			require.NoError(t, e.enc.Encrypt(ctx, c), "Encrypt(legacy plaintext)")
			require.NoError(t, e.enc.Decrypt(ctx, c))
			assert.Equal(t, value, c.Name)
		})
	}
}
