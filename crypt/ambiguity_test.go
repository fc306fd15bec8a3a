package crypt_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

// No ambiguity: a value is never encrypted twice, plaintext is never
// returned as if it had been decrypted, and legacy plaintext is read only on
// purpose.

func TestDecryptPlaintext(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	enc := e.mustEncrypt(t, secretContact("c-1"))
	tests := []struct {
		name  string
		rec   func() *Contact
		field string
	}{
		{"every field plaintext", func() *Contact { return secretContact("c-1") }, "Name"},
		{"one text field plaintext", func() *Contact { c := clone(enc); c.Email = secretEmail; return c }, "Email"},
		{"pointer field plaintext", func() *Contact { c := clone(enc); c.Phone = ptr(secretPhone); return c }, "Phone"},
		{"binary field plaintext", func() *Contact { c := clone(enc); c.Notes = []byte(secretNotes); return c }, "Notes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.rec()
			before := clone(c)
			err := e.enc.Decrypt(ctx, c)
			assertFieldErr(t, "Decrypt(plaintext)", err, tt.field, crypt.ErrNotEncrypted)
			assert.Equal(t, before, c, "record after a failed Decrypt")
			assertNoSecrets(t, err, plaintextSecrets()...)
		})
	}
}

func TestEncryptTwice(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	enc := e.mustEncrypt(t, secretContact("c-1"))
	tests := []struct {
		name  string
		rec   func() *Contact
		field string
	}{
		{"whole record again", func() *Contact { return clone(enc) }, "EmailIdx"}, // indexes are computed first
		{"one text field encrypted", func() *Contact { c := secretContact("c-1"); c.Name = enc.Name; return c }, "Name"},
		{"index source encrypted", func() *Contact { c := secretContact("c-1"); c.Email = enc.Email; return c }, "EmailIdx"},
		{"binary field encrypted", func() *Contact { c := secretContact("c-1"); c.Notes = enc.Notes; return c }, "Notes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.rec()
			before := clone(c)
			err := e.enc.Encrypt(ctx, c)
			assertFieldErr(t, "Encrypt(encrypted)", err, tt.field, crypt.ErrAlreadyEncrypted)
			assert.Equal(t, before, c, "record after a failed Encrypt")
			assertNoSecrets(t, err, plaintextSecrets()...)
		})
	}
}

func TestDecryptMigrating(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	enc := e.mustEncrypt(t, secretContact("c-1"))
	tests := []struct {
		name       string
		rec        func() *Contact
		wantLegacy []string
	}{
		{"every field plaintext", func() *Contact { return secretContact("c-1") }, []string{"Name", "Email", "Phone", "Notes"}},
		{"name and notes plaintext", func() *Contact {
			c := clone(enc)
			c.Name, c.Notes = secretName, []byte(secretNotes)
			return c
		}, []string{"Name", "Notes"}},
		{"every field encrypted", func() *Contact { return clone(enc) }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.rec()
			legacy, err := e.enc.DecryptMigrating(ctx, c)
			require.NoError(t, err, "DecryptMigrating()")
			assert.Equal(t, tt.wantLegacy, legacy, "legacy fields")
			want := secretContact("c-1")
			want.EmailIdx, want.PhoneIdx = c.EmailIdx, c.PhoneIdx
			assert.Equal(t, want, c, "record after DecryptMigrating")

			// Finishing the migration: encrypt and read back normally.
			require.NoError(t, e.enc.Encrypt(ctx, c), "Encrypt(migrated)")
			require.NoError(t, e.enc.Decrypt(ctx, c), "Decrypt(migrated)")
			want.EmailIdx, want.PhoneIdx = c.EmailIdx, c.PhoneIdx
			assert.Equal(t, want, c)
		})
	}
	t.Run("malformed value is not legacy", func(t *testing.T) {
		c := clone(enc)
		c.Email = "fc2:" + c.Email[len("fc1:"):]
		before := clone(c)
		legacy, err := e.enc.DecryptMigrating(ctx, c)
		assertFieldErr(t, "DecryptMigrating(fc2)", err, "Email", crypt.ErrMalformed)
		assert.Nil(t, legacy)
		assert.Equal(t, before, c)
	})
	t.Run("tampered value is not legacy", func(t *testing.T) {
		c := clone(enc)
		c.Notes[len(c.Notes)-1] ^= 1
		before := clone(c)
		_, err := e.enc.DecryptMigrating(ctx, c)
		assertFieldErr(t, "DecryptMigrating(tampered)", err, "Notes", crypt.ErrDecrypt)
		assert.Equal(t, before, c)
	})
}
