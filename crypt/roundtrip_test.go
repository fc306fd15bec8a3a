package crypt_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	c := sampleContact()
	want := *sampleContact()
	if err := e.enc.Encrypt(ctx, c); err != nil {
		t.Fatalf("Encrypt() err = %v", err)
	}
	for _, s := range []string{c.Name, c.Email, *c.Phone} {
		if !strings.HasPrefix(s, "fc1:") {
			t.Errorf("encrypted value %q does not start with fc1:", s)
		}
	}
	if len(c.EmailIdx) != 8 || len(c.PhoneIdx) != 4 {
		t.Errorf("index lengths = %d, %d hex digits, want 8 and 4", len(c.EmailIdx), len(c.PhoneIdx))
	}
	if err := e.enc.Decrypt(ctx, c); err != nil {
		t.Fatalf("Decrypt() err = %v", err)
	}
	want.EmailIdx, want.PhoneIdx = c.EmailIdx, c.PhoneIdx
	assert.Equal(t, &want, c, "Decrypt(Encrypt(c))")
}
