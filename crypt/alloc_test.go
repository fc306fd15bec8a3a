package crypt_test

import (
	"context"
	"testing"
)

// TestAllocsMatchByHand checks that Encrypt and Decrypt allocate no more
// than the same Tink and HMAC calls written by hand (bench_test.go): the
// library's own bookkeeping must stay allocation-free. The
// fieldcrypt_purego build may add only its copies (purego_on_test.go).
func TestAllocsMatchByHand(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates; make test runs this without it")
	}
	ctx := context.Background()
	be := newBenchEnv(t)
	c := new(BenchContact)
	measure := func(src *BenchContact, op func(*BenchContact) error) float64 {
		return testing.AllocsPerRun(200, func() {
			*c = *src
			if err := op(c); err != nil {
				t.Fatal(err)
			}
		})
	}
	const textFields = 5 // BenchContact's encrypted string fields
	for _, tc := range []struct {
		name      string
		src       *BenchContact
		lib, hand func(*BenchContact) error
		copies    float64
	}{
		{"Encrypt", &be.plain, func(c *BenchContact) error { return be.enc.Encrypt(ctx, c) }, be.h.encrypt, encryptCopies * textFields},
		{"Decrypt", &be.stored, func(c *BenchContact) error { return be.enc.Decrypt(ctx, c) }, be.h.decrypt, decryptCopies * textFields},
	} {
		lib, hand := measure(tc.src, tc.lib), measure(tc.src, tc.hand)
		if lib > hand+tc.copies {
			t.Errorf("%s allocates %.0f times per record, the same calls by hand %.0f (+%.0f copies allowed)", tc.name, lib, hand, tc.copies)
		}
	}
}
