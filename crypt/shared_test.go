package crypt_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

type sharedPlace struct {
	Street string `crypt:"encrypt,class=pii"`
}

type sharedContact struct {
	_        struct{} `crypt:"record=shared_contact"`
	ID       string   `crypt:"id"`
	TenantID string   `crypt:"scope"`
	Home     *sharedPlace
	Work     *sharedPlace
	Past     []sharedPlace
	Also     []sharedPlace
}

// TestEncryptRefusesSharedValues: two fields that reach the same memory
// would get one value bound to two paths, and the path written first would
// never decrypt. Encrypt refuses the record, naming both paths, and leaves
// it unchanged; an encrypted copy gives each field its own value.
func TestEncryptRefusesSharedValues(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	for _, tc := range []struct {
		name string
		c    func() *sharedContact
		want []string
	}{
		{"one pointer in two fields", func() *sharedContact {
			p := &sharedPlace{Street: "12 St James's Square"}
			return &sharedContact{ID: "c-1", TenantID: "acme", Home: p, Work: p}
		}, []string{"Home.Street", "Work.Street"}},
		{"one slice in two fields", func() *sharedContact {
			s := []sharedPlace{{Street: "3 Old Lane"}}
			return &sharedContact{ID: "c-1", TenantID: "acme", Past: s, Also: s}
		}, []string{"Past[].Street", "Also[].Street"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.c()
			err := e.enc.Encrypt(ctx, c)
			require.ErrorIs(t, err, crypt.ErrSharedValue, "Encrypt(shared) err = %v, want ErrSharedValue", err)
			for _, path := range tc.want {
				assert.Contains(t, err.Error(), path)
			}
			assert.Equal(t, tc.c(), c, "a refused Encrypt changed the record")

			cp, err := crypt.Encrypted(ctx, e.enc, c)
			require.NoError(t, err, "EncryptedCopy gives each field its own copy")
			require.NoError(t, e.enc.Decrypt(ctx, cp))
			assert.Equal(t, tc.c(), cp)
		})
	}
}
