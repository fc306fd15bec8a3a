package crypt_test

import (
	"context"
	"errors"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

// orderLine has a composite identity: the first line of an order is 0.
type orderLine struct {
	OrderID  int64  `crypt:"id"`
	Line     int64  `crypt:"id"`
	TenantID string `crypt:"scope"`
	Item     string `crypt:"encrypt,class=pii"`
}

// indexOnly has a blind index and no encrypted field: it binds nothing.
type indexOnly struct {
	ID       string `crypt:"id"`
	TenantID string `crypt:"scope"`
	Region   string
	RegIdx   string `crypt:"blind=Region,bits=16"`
}

// TestEncryptRefusesZeroIdentity plays a database writer who copies the
// ciphertext of a record with an empty identity into another such record:
// Encrypt refuses a record of encrypted fields whose identity is zero (an
// empty string or 0, in the record or in a record it holds),
// so no ciphertext binds no row. A composite identity with some zero
// parts names its row; a record with no encrypted field needs no identity.
func TestEncryptRefusesZeroIdentity(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	for name, v := range map[string]any{
		"empty string":      &Contact{TenantID: "acme", Name: "Ada", Email: "ada@example.com"},
		"zero integer":      &company{TenantID: "acme", Name: "Analytical Engines"},
		"held record":       &customer{ID: 1, TenantID: "acme", Email: "ada@example.com", Employer: &company{TenantID: "acme", Name: "Analytical Engines"}},
		"held slice record": &customer{ID: 1, TenantID: "acme", Email: "ada@example.com", Interactions: []interaction{{TenantID: "acme"}}},
	} {
		if err := e.enc.Encrypt(ctx, v); !errors.Is(err, crypt.ErrMissingIdentity) {
			t.Errorf("%s: Encrypt err = %v, want ErrMissingIdentity", name, err)
		}
	}
	c := &Contact{TenantID: "acme", Name: "Ada", Email: "ada@example.com"}
	if err := e.enc.Encrypt(ctx, c); err == nil || c.Email != "ada@example.com" {
		t.Errorf("a refused Encrypt changed the record: %+v", c)
	}
	if err := e.enc.Encrypt(ctx, &indexOnly{TenantID: "acme", Region: "north"}); err != nil {
		t.Errorf("Encrypt(index only, no identity) err = %v", err)
	}
	if err := e.enc.Encrypt(ctx, &orderLine{OrderID: 42, TenantID: "acme", Item: "lamp"}); err != nil {
		t.Errorf("Encrypt(composite identity (42, 0)) err = %v, want it bound", err)
	}
	if err := e.enc.Encrypt(ctx, &orderLine{TenantID: "acme", Item: "lamp"}); !errors.Is(err, crypt.ErrMissingIdentity) {
		t.Errorf("Encrypt(composite identity (0, 0)) err = %v, want ErrMissingIdentity", err)
	}
}
