package crypt_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

// A holder whose first field is a held record by value: the holder and
// the record it holds start at one address.
type (
	office struct {
		_        struct{} `crypt:"record=office"`
		ID       int64    `crypt:"id"`
		TenantID string   `crypt:"scope"`
		Street   string   `crypt:"encrypt,class=pii"`
	}
	firm struct {
		HQ       office
		ID       int64  `crypt:"id"`
		TenantID string `crypt:"scope"`
		Name     string `crypt:"encrypt,class=pii"`
	}
	branch struct {
		Office office // first: an element of []branch starts where its office does
		Label  string
	}
	chain struct {
		_        struct{} `crypt:"record=chain"`
		ID       int64    `crypt:"id"`
		TenantID string   `crypt:"scope"`
		Name     string   `crypt:"encrypt,class=pii"`
		Shops    []shop
	}
	shop struct {
		_        struct{} `crypt:"record=shop"`
		Office   office   // first, after the zero-size blank field
		ID       int64    `crypt:"id"`
		TenantID string   `crypt:"scope"`
		Name     string   `crypt:"encrypt,class=pii"`
	}
)

// TestHeldRecordAtTheHoldersAddress: a held record that shares its
// address with its holder (the holder's first field, or the first field
// of a held record) is a record of its own all the same: Encrypt must
// encrypt it, never skip it as if it had been visited.
func TestHeldRecordAtTheHoldersAddress(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	f := &firm{HQ: office{ID: 2, TenantID: "acme", Street: "1 Analytical Row"}, ID: 1, TenantID: "acme", Name: "Engines"}
	require.NoError(t, e.enc.Encrypt(ctx, f))
	assert.True(t, strings.HasPrefix(f.Name, "fc1:"), "holder not encrypted")
	assert.True(t, strings.HasPrefix(f.HQ.Street, "fc1:"), "the held record at the holder's address stayed plaintext: %q", f.HQ.Street)
	require.NoError(t, e.enc.Decrypt(ctx, f))
	assert.Equal(t, "1 Analytical Row", f.HQ.Street)

	c := &chain{ID: 1, TenantID: "acme", Name: "Chain", Shops: []shop{
		{Office: office{ID: 5, TenantID: "acme", Street: "5 Shop St"}, ID: 3, TenantID: "acme", Name: "Shop A"},
	}}
	require.NoError(t, e.enc.Encrypt(ctx, c))
	assert.True(t, strings.HasPrefix(c.Shops[0].Name, "fc1:"))
	assert.True(t, strings.HasPrefix(c.Shops[0].Office.Street, "fc1:"), "the held record at its holder's address stayed plaintext: %q", c.Shops[0].Office.Street)
	require.NoError(t, e.enc.Decrypt(ctx, c))
	assert.Equal(t, "5 Shop St", c.Shops[0].Office.Street)
}

// TestHeldRecordSwaps plays a database writer who moves a held record's
// ciphertext into the holder, into another held record, and into the same
// record type held by another holder: every move fails.
func TestHeldRecordSwaps(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	enc := func() *customer {
		c := newCustomer()
		c.Interactions[0].Contact = nil
		require.NoError(t, e.enc.Encrypt(ctx, c))
		return c
	}
	cases := map[string]func(c, other *customer){
		"held into holder":           func(c, _ *customer) { c.Email = c.Employer.Name },
		"holder into held":           func(c, _ *customer) { c.Employer.Name = c.Email },
		"held into sibling":          func(c, _ *customer) { c.Interactions[1].Note = c.Interactions[0].Note },
		"held into other type":       func(c, _ *customer) { c.HQ.Name = c.Pinned[0].Note },
		"held by value into pointer": func(c, _ *customer) { c.Employer.Name = c.HQ.Name },
		"same type, other holder": func(c, other *customer) {
			c.Employer.Name = other.Employer.Name
		},
	}
	for name, swap := range cases {
		t.Run(name, func(t *testing.T) {
			other := newCustomer()
			other.ID, other.Employer.ID = 2, 70
			other.Interactions[0].Contact = nil
			require.NoError(t, e.enc.Encrypt(ctx, other))
			c := enc()
			swap(c, other)
			before := *c
			err := e.enc.Decrypt(ctx, c)
			require.Error(t, err, "Decrypt of a moved held value err = nil, want error")
			if !errors.Is(err, crypt.ErrKeyNotFound) { // another class's keyset does not know the key
				require.ErrorIs(t, err, crypt.ErrDecrypt)
			}
			assert.Equal(t, before.Email, c.Email, "holder decrypted although the tree failed")
		})
	}
}

// TestHeldRecordsAllOrNothingSecondFails: the second held record fails
// after the first succeeded; neither is written, on Encrypt and Decrypt.
func TestHeldRecordsAllOrNothingSecondFails(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	done := newCustomer()
	done.Interactions[0].Contact = nil
	require.NoError(t, e.enc.Encrypt(ctx, done))

	c := newCustomer()
	c.Pinned[0].Note = done.Pinned[0].Note // the last held record fails
	require.Error(t, e.enc.Encrypt(ctx, c))
	want := newCustomer()
	assert.Equal(t, want.Employer.Name, c.Employer.Name)
	assert.Equal(t, want.HQ.Name, c.HQ.Name)
	assert.Equal(t, want.Interactions[1].Note, c.Interactions[1].Note)
	assert.Equal(t, want.Email, c.Email)

	d := newCustomer()
	d.Interactions[0].Contact = nil
	require.NoError(t, e.enc.Encrypt(ctx, d))
	d.Pinned[0].Note = "fc1:AAAA" // malformed, in the last held record
	before := *d.Employer
	hq := d.HQ.Name
	require.Error(t, e.enc.Decrypt(ctx, d))
	assert.Equal(t, before.Name, d.Employer.Name)
	assert.Equal(t, hq, d.HQ.Name)
}

type node struct {
	_        struct{} `crypt:"record=node"`
	ID       int64    `crypt:"id"`
	TenantID string   `crypt:"scope"`
	Secret   string   `crypt:"encrypt"`
	Next     *node
	Kids     []*node
}

// TestSelfHoldingRecords: a record type that holds itself, in a cycle
// through a pointer and through a slice of pointers, and in a long chain:
// no loop, no stack overflow; every node is encrypted once.
func TestSelfHoldingRecords(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	require.NoError(t, crypt.Validate(&node{}))
	a := &node{ID: 1, TenantID: "acme", Secret: "a"}
	b := &node{ID: 2, TenantID: "acme", Secret: "b"}
	a.Next, b.Next = b, a
	a.Kids = []*node{a, b, nil, a}
	require.NoError(t, e.enc.Encrypt(ctx, a))
	assert.True(t, strings.HasPrefix(b.Secret, "fc1:"))
	require.NoError(t, e.enc.Decrypt(ctx, a))
	assert.Equal(t, "a", a.Secret)
	assert.Equal(t, "b", b.Secret)

	const n = 200000
	head := &node{ID: 1, TenantID: "acme", Secret: "s"}
	cur := head
	for i := 2; i <= n; i++ {
		cur.Next = &node{ID: int64(i), TenantID: "acme", Secret: "s"}
		cur = cur.Next
	}
	require.NoError(t, e.enc.Encrypt(ctx, head))
	assert.True(t, strings.HasPrefix(cur.Secret, "fc1:"))
	require.NoError(t, e.enc.Decrypt(ctx, head))
	assert.Equal(t, "s", cur.Secret)
}

// Mutually recursive record types.
type (
	ping struct {
		_    struct{} `crypt:"record=ping"`
		ID   string   `crypt:"id"`
		Data string   `crypt:"encrypt"`
		Pong *pong
	}
	pong struct {
		_    struct{} `crypt:"record=pong"`
		ID   string   `crypt:"id"`
		Data string   `crypt:"encrypt"`
		Ping []ping
	}
)

func TestValidateMutualRecursion(t *testing.T) {
	require.NoError(t, crypt.Validate(&ping{}))
	require.NoError(t, crypt.Validate(&pong{}))
}

// TestHeldRecordAccessError: the AccessError of a tree names the holder's
// record type and the path of each unreadable field from the holder,
// with the index of the held record in its slice.
func TestHeldRecordAccessError(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	c := newCustomer()
	c.Interactions[0].Contact = nil
	require.NoError(t, e.enc.Encrypt(ctx, c))
	kr := e.newKeyring(t, map[string]string{"support": e.keks["support"]})
	reader := crypt.New(kr, nil)
	err := reader.Decrypt(ctx, c)
	var ae *crypt.AccessError
	require.True(t, errors.As(err, &ae), "Decrypt err = %v, want *AccessError", err)
	assert.Equal(t, "customer", ae.Record)
	assert.ElementsMatch(t, []string{"Email", "Employer.Name", "HQ.Name"}, ae.Fields)
	assert.Equal(t, []string{"pii"}, ae.Classes)
	assert.Equal(t, "VIP", c.Pinned[0].Note, "readable held fields decrypted")
}

// TestHeldRecordLegacyPaths: DecryptMigrating names each legacy field of a
// held record by its place in the holder, with its slice index.
func TestHeldRecordLegacyPaths(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	c := newCustomer()
	c.Interactions[0].Contact = nil
	legacy, err := e.enc.DecryptMigrating(ctx, c)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"Email", "Employer.Name", "HQ.Name", "Interactions[0].Note", "Interactions[1].Note", "Pinned[0].Note"}, legacy)
}

// TestHeldRecordsConcurrentCopies: holders that share a held record are
// copied and encrypted concurrently (run with -race): EncryptedCopy only
// reads what the caller holds.
func TestHeldRecordsConcurrentCopies(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	shared := &company{ID: 7, TenantID: "acme", Name: "Analytical Engines Ltd"}
	done := make(chan error, 8)
	for i := range 8 {
		go func() {
			c := &customer{ID: int64(i + 1), TenantID: "acme", Email: "x@example.com", Employer: shared}
			cp, err := crypt.Encrypted(ctx, e.enc, c)
			if err == nil && !strings.HasPrefix(cp.Employer.Name, "fc1:") {
				err = errors.New("held record not encrypted in the copy")
			}
			done <- err
		}()
	}
	for range 8 {
		require.NoError(t, <-done)
	}
	assert.Equal(t, "Analytical Engines Ltd", shared.Name)
}

// TestSchemaOfHolder: a holder's schema describes its own columns only;
// each held record type is a table of its own, with a schema of its own.
func TestSchemaOfHolder(t *testing.T) {
	spec, err := crypt.SchemaOf(&customer{})
	require.NoError(t, err)
	var cols []string
	for _, f := range spec.Fields {
		cols = append(cols, f.Column)
	}
	assert.Equal(t, []string{"email"}, cols)
	held, err := crypt.SchemaOf(&company{})
	require.NoError(t, err)
	assert.Equal(t, "company", held.Record)
}

// TestZeroHeldRecord: an association that was not loaded (a zero T, a
// pointer to a zero T, zero elements) holds nothing: the holder encrypts
// and decrypts without it, instead of failing on its empty scope.
func TestZeroHeldRecord(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	c := &customer{ID: 1, TenantID: "acme", Email: "x@example.com", Employer: &company{}, Interactions: []interaction{{}}}
	require.NoError(t, e.enc.Encrypt(ctx, c))
	assert.True(t, strings.HasPrefix(c.Email, "fc1:"))
	require.NoError(t, e.enc.Decrypt(ctx, c))
	assert.Equal(t, "x@example.com", c.Email)
	assert.Equal(t, company{}, c.HQ)
}

// TestHeldRecordAccessErrorNamesTheRoot: when only held records have
// unreadable fields, the AccessError still names the record Decrypt was
// given, and each field by its path from it.
func TestHeldRecordAccessErrorNamesTheRoot(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	c := newCustomer()
	c.Interactions[0].Contact = nil
	require.NoError(t, e.enc.Encrypt(ctx, c))
	reader := crypt.New(e.newKeyring(t, map[string]string{"pii": e.keks["pii"]}), nil)
	err := reader.Decrypt(ctx, c)
	var ae *crypt.AccessError
	require.True(t, errors.As(err, &ae), "Decrypt err = %v, want *AccessError", err)
	assert.Equal(t, "customer", ae.Record)
	assert.ElementsMatch(t, []string{"Interactions[0].Note", "Interactions[1].Note", "Pinned[0].Note"}, ae.Fields)
	assert.Equal(t, []string{"support"}, ae.Classes)
	assert.Equal(t, "ada@example.com", c.Email)
	assert.Equal(t, "Analytical Engines Ltd", c.Employer.Name)
}
