package crypt_test

import (
	"context"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

// TestEncryptedCopyOfCycles: records that hold each other in a cycle,
// through pointers, slices of pointers and slices of values, are copied
// once each (no endless copy), and the original is left as it was.
func TestEncryptedCopyOfCycles(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	mk := func() *node {
		a := &node{ID: 1, TenantID: "acme", Secret: "a"}
		b := &node{ID: 2, TenantID: "acme", Secret: "b"}
		a.Next, b.Next = b, a
		a.Kids = []*node{a, b, nil}
		return a
	}
	a := mk()
	cp, err := crypt.Encrypted(ctx, e.enc, a)
	require.NoError(t, err)
	assert.True(t, reflect.DeepEqual(mk(), a), "EncryptedCopy changed the original")
	assert.Same(t, cp, cp.Next.Next, "the copy keeps the cycle")
	assert.Same(t, cp, cp.Kids[0])
	assert.True(t, strings.HasPrefix(cp.Next.Secret, "fc1:"))
	require.NoError(t, e.enc.Decrypt(ctx, cp))
	assert.Equal(t, "b", cp.Next.Secret)

	type twig struct {
		_      struct{} `crypt:"record=twig"`
		ID     int64    `crypt:"id"`
		Secret string   `crypt:"encrypt"`
		Kids   []twig
	}
	mkTwig := func() *twig {
		r := &twig{ID: 1, Secret: "root", Kids: []twig{{ID: 2, Secret: "kid"}}}
		r.Kids[0].Kids = r.Kids // a cycle through a slice alone
		return r
	}
	r := mkTwig()
	ct, err := crypt.Encrypted(ctx, e.enc, r)
	require.NoError(t, err)
	assert.Equal(t, "kid", r.Kids[0].Secret)
	assert.True(t, strings.HasPrefix(ct.Kids[0].Secret, "fc1:"))
	require.NoError(t, e.enc.Decrypt(ctx, ct))
	assert.Equal(t, "kid", ct.Kids[0].Kids[0].Secret)
}

// Shapes for the property test: every way a tagged field is reached.
type (
	PropInner struct {
		Street string  `crypt:"encrypt,class=pii"`
		Zip    *string `crypt:"encrypt,class=pii"`
	}
	PropBase struct {
		Note []byte `crypt:"encrypt,class=support"`
	}
	propRecord struct {
		_ struct{} `crypt:"record=prop"`
		*PropBase
		ID       string  `crypt:"id"`
		TenantID string  `crypt:"scope"`
		Email    string  `crypt:"encrypt,class=pii"`
		EmailIdx string  `crypt:"blind=Email,transform=lower+trim,bits=32"`
		Phone    *string `crypt:"encrypt,class=pii"`
		Blob     *[]byte `crypt:"encrypt,class=support"`
		Home     *PropInner
		Work     PropInner
		Past     []PropInner
		Also     []PropInner // sometimes the same slice as Past
		Others   []*PropInner
		Employer *company
		Team     []company
		Pinned   []*interaction
		Tags     []string
	}
)

// randRecord builds a record from seed: the same seed, the same record.
func randRecord(seed uint64) *propRecord {
	r := rand.New(rand.NewPCG(seed, 7))
	str := func() string {
		if r.IntN(4) == 0 {
			return ""
		}
		return "v" + strconv.Itoa(r.IntN(1000)) + "\xff"
	}
	sp := func() *string {
		if r.IntN(3) == 0 {
			return nil
		}
		s := str()
		return &s
	}
	inner := func() PropInner { return PropInner{Street: str(), Zip: sp()} }
	v := &propRecord{ID: "p" + strconv.Itoa(r.IntN(100)), TenantID: "acme", Email: str(), Phone: sp(), Work: inner()}
	if r.IntN(2) == 0 {
		v.PropBase = &PropBase{Note: []byte(str())}
	}
	if r.IntN(2) == 0 {
		b := []byte(str())
		v.Blob = &b
	}
	if r.IntN(2) == 0 {
		h := inner()
		v.Home = &h
	}
	for range r.IntN(3) {
		v.Past = append(v.Past, inner())
	}
	if r.IntN(2) == 0 {
		v.Also = v.Past // shared
	}
	for range r.IntN(3) {
		if r.IntN(3) == 0 {
			v.Others = append(v.Others, nil)
			continue
		}
		in := inner()
		v.Others = append(v.Others, &in)
	}
	if len(v.Others) > 1 && r.IntN(2) == 0 {
		v.Others[1] = v.Others[0] // one pointer twice
	}
	if r.IntN(2) == 0 {
		v.Employer = &company{ID: 7, TenantID: "acme", Name: str()}
	}
	for i := range r.IntN(3) {
		v.Team = append(v.Team, company{ID: int64(10 + i), TenantID: "acme", Name: str()})
	}
	for i := range r.IntN(3) {
		v.Pinned = append(v.Pinned, &interaction{ID: int64(20 + i), TenantID: "acme", Note: str()})
	}
	if len(v.Team) > 0 && r.IntN(2) == 0 {
		v.Employer = &v.Team[0] // a held record reached twice
	}
	v.Tags = []string{str()}
	return v
}

// TestEncryptedCopyNeverWritesTheOriginal is a property test: for random
// records of every shape, EncryptedCopy leaves the original deeply equal
// to a fresh build of it, and the copy decrypts back to it.
func TestEncryptedCopyNeverWritesTheOriginal(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	require.NoError(t, crypt.Validate(&propRecord{}))
	for seed := range uint64(300) {
		orig := randRecord(seed)
		cp, err := crypt.Encrypted(ctx, e.enc, orig)
		require.NoError(t, err, "seed %d", seed)
		if !reflect.DeepEqual(randRecord(seed), orig) {
			t.Fatalf("seed %d: EncryptedCopy changed the original", seed)
		}
		require.NoError(t, e.enc.Decrypt(ctx, cp), "seed %d", seed)
		cp.EmailIdx = ""
		want := randRecord(seed)
		if !reflect.DeepEqual(want, cp) {
			t.Fatalf("seed %d: the copy does not decrypt to the original", seed)
		}
	}
}

type hiddenBase struct {
	Note string `crypt:"encrypt"`
}

type hiddenHolder struct {
	_ struct{} `crypt:"record=hidden_holder"`
	*hiddenBase
	ID    string `crypt:"id"`
	inner *hiddenBase
}

// TestEncryptedCopyUnexported: tagged fields reached through an unexported
// embedded pointer, or an unexported pointer field, are copied or refused
// with a typed error: never written in the original, never a panic.
func TestEncryptedCopyUnexported(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	v := &hiddenHolder{hiddenBase: &hiddenBase{Note: "secret"}, ID: "1", inner: &hiddenBase{Note: "inner"}}
	cp, err := crypt.Encrypted(ctx, e.enc, v)
	if err != nil {
		var pe *crypt.PlanError
		require.ErrorAs(t, err, &pe)
		assert.NotContains(t, err.Error(), "secret")
	} else {
		assert.True(t, strings.HasPrefix(cp.Note, "fc1:"))
	}
	assert.Equal(t, "secret", v.Note)
	assert.Equal(t, "inner", v.inner.Note)
}
