package crypt_test

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

// TestDecryptKeyStates walks the old key of a rotated data keyset through
// disable, enable and destroy, and checks what values under it do.
func TestDecryptKeyStates(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	old := e.mustEncrypt(t, secretContact("c-old"))
	oldKey := textKeyID(t, old.Name)

	id := dataID("acme", "pii")
	newKey, err := e.admin.AddKey(ctx, id)
	if err != nil {
		t.Fatalf("AddKey(%v) err = %v", id, err)
	}
	if err := e.admin.PromoteKey(ctx, id, newKey); err != nil {
		t.Fatalf("PromoteKey(%v, %d) err = %v", id, newKey, err)
	}
	cur := e.mustEncrypt(t, secretContact("c-new"))
	if got := textKeyID(t, cur.Name); got != newKey {
		t.Fatalf("key ID after PromoteKey = %d, want the new key %d", got, newKey)
	}

	steps := []struct {
		name   string
		change func() error
		want   error // for values under the old key; nil: they decrypt
	}{
		{"old key enabled", func() error { return nil }, nil},
		{"old key disabled", func() error { return e.admin.DisableKey(ctx, id, oldKey) }, crypt.ErrKeyDisabled},
		{"old key enabled again", func() error { return e.admin.EnableKey(ctx, id, oldKey) }, nil},
		{"old key destroyed", func() error { return e.admin.DestroyKey(ctx, id, oldKey) }, crypt.ErrKeyDestroyed},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if err := st.change(); err != nil {
				t.Fatalf("changing key %d: err = %v", oldKey, err)
			}
			c := clone(old)
			err := e.enc.Decrypt(ctx, c)
			if st.want == nil {
				if err != nil {
					t.Fatalf("Decrypt(old) err = %v, want nil", err)
				}
				assert.Equal(t, secretName, c.Name)
			} else {
				assertFieldErr(t, "Decrypt(old)", err, "Name", st.want)
				var fe *crypt.FieldError
				if errors.As(err, &fe) && fe.KeyID != oldKey {
					t.Errorf("FieldError.KeyID = %d, want %d", fe.KeyID, oldKey)
				}
				assert.Equal(t, old, c, "record after a failed Decrypt")
				assertNoSecrets(t, err, plaintextSecrets()...)
			}
			// Values under the new primary key are unaffected.
			n := clone(cur)
			if err := e.enc.Decrypt(ctx, n); err != nil {
				t.Fatalf("Decrypt(new) err = %v, want nil", err)
			}
			assert.Equal(t, secretEmail, n.Email)
		})
	}
}

func TestDecryptDestroyedBinaryKey(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	old := e.mustEncrypt(t, secretContact("c-1"))
	id := dataID("acme", "support")
	info, err := crypt.InspectBinary(old.Notes)
	if err != nil {
		t.Fatal(err)
	}
	newKey, err := e.admin.AddKey(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.admin.PromoteKey(ctx, id, newKey); err != nil {
		t.Fatal(err)
	}
	if err := e.admin.DestroyKey(ctx, id, info.KeyID); err != nil {
		t.Fatalf("DestroyKey(%v, %d) err = %v", id, info.KeyID, err)
	}
	c := clone(old)
	err = e.enc.Decrypt(ctx, c)
	assertFieldErr(t, "Decrypt(notes under destroyed key)", err, "Notes", crypt.ErrKeyDestroyed)
	assert.Equal(t, old, c, "record after a failed Decrypt")
}

func TestDecryptUnknownKeyID(t *testing.T) {
	e := newEnv(t)
	good := e.mustEncrypt(t, secretContact("c-1"))
	ct, err := base64.RawURLEncoding.DecodeString(good.Email[len("fc1:"):])
	if err != nil {
		t.Fatal(err)
	}
	binary.BigEndian.PutUint32(ct[1:5], binary.BigEndian.Uint32(ct[1:5])+1)
	c := clone(good)
	c.Email = "fc1:" + base64.RawURLEncoding.EncodeToString(ct)
	before := clone(c)
	err = e.enc.Decrypt(context.Background(), c)
	assertFieldErr(t, "Decrypt(unknown key ID)", err, "Email", crypt.ErrKeyNotFound)
	assert.Equal(t, before, c, "record after a failed Decrypt")
}
